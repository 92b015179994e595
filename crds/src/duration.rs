//! Durations written as strings such as `"500ms"`, `"30s"`, `"5m"`, parsed strictly.
//!
//! Grammar: one or more `<digits><unit>` groups, units `ms`, `s`, `m`, `h` (for example
//! `"1m30s"`). No sign, no fraction, no spaces, no bare number. `"0s"` is zero. The same
//! strings are valid Go/Kubernetes durations, so the CRD declares `format: duration`.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest duration accepted anywhere in a spec (30 days); longer values are typos.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration; write a number and a unit such as \"500ms\", \"30s\", \"5m\"")]
    Empty,
    /// A group has digits but no unit, or a unit without digits.
    #[error("{0:?} is not a duration: each number needs a unit (ms, s, m, h), as in \"500ms\", \"30s\", \"5m\"")]
    Malformed(String),
    /// A unit that is not one of `ms`, `s`, `m`, `h`.
    #[error("{value:?} has unknown unit {unit:?}; use ms, s, m or h")]
    UnknownUnit {
        /// The whole string.
        value: String,
        /// The unit that was not recognised.
        unit: String,
    },
    /// The duration exceeds [`MAX_DURATION`].
    #[error("{0:?} is longer than 30 days")]
    TooLong(String),
}

/// A non-negative duration with millisecond resolution, written as a string in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// The value as a standard library duration.
    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }

    /// The value in whole milliseconds.
    pub fn as_millis(self) -> u128 {
        self.0.as_millis()
    }

    /// True when the duration is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s)
    }
}

/// Parses a duration string strictly (see the module documentation for the grammar).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let malformed = || DurationError::Malformed(s.to_owned());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u128 = 0;
    while i < bytes.len() {
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start || i - digits_start > 12 {
            return Err(malformed());
        }
        let number: u128 = s[digits_start..i].parse().map_err(|_| malformed())?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let factor: u128 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(malformed()),
            other => {
                return Err(DurationError::UnknownUnit {
                    value: s.to_owned(),
                    unit: other.to_owned(),
                })
            }
        };
        total_ms = total_ms.saturating_add(number.saturating_mul(factor));
    }
    if total_ms > MAX_DURATION.as_millis() {
        return Err(DurationError::TooLong(s.to_owned()));
    }
    // Bounded by MAX_DURATION above, so the cast cannot truncate.
    Ok(Duration::from_millis(total_ms as u64))
}

impl fmt::Display for Duration {
    /// Canonical form: the largest units first, zero groups left out, `"0s"` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "duration",
            "maxLength": 32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_groups() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::from_millis(0)));
    }

    #[test]
    fn rejects_sloppy_input() {
        for bad in [
            "", "5", "s", "1.5s", "-1s", " 1s", "1s ", "1 s", "1S", "1sec", "1d", "ms5",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(
            parse_duration("3d"),
            Err(DurationError::UnknownUnit {
                value: "3d".into(),
                unit: "d".into()
            })
        );
    }

    #[test]
    fn rejects_overlong_and_huge_numbers() {
        assert!(matches!(
            parse_duration("31d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert_eq!(
            parse_duration("721h"),
            Err(DurationError::TooLong("721h".into()))
        );
        assert!(parse_duration("99999999999999999999999s").is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["0s", "500ms", "1m30s", "2h", "1h1m1s1ms"] {
            let parsed = parse_duration(text).expect("valid literal");
            assert_eq!(parsed.to_string(), text);
        }
    }
}
