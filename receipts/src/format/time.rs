//! Receipt timestamps: RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.

use std::fmt;

/// A validated UTC timestamp string (`YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(String);

/// Why a timestamp string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {value:?}: {reason}")]
pub struct TimestampError {
    /// The rejected text.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// Validates `text` as `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        match check(text) {
            Ok(()) => Ok(Self(text.to_owned())),
            Err(reason) => Err(TimestampError {
                value: text.to_owned(),
                reason,
            }),
        }
    }

    /// The current time from the system clock, with second precision.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_unix_seconds(secs)
    }

    /// Formats seconds since the Unix epoch as a timestamp.
    pub fn from_unix_seconds(secs: u64) -> Self {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        Self(format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        ))
    }

    /// The timestamp text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks `text` as `YYYY-MM-DDTHH:MM:SS[.fraction]Z` without allocating; the error
/// is the reason [`Timestamp::parse`] reports.
pub fn check(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return Err("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z (UTC)");
    }
    let shape_ok = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape_ok {
        return Err("expected YYYY-MM-DDTHH:MM:SS[.fraction]Z (UTC)");
    }
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty()
        && (rest[0] != b'.'
            || rest.len() < 2
            || rest.len() > 10
            || !rest[1..].iter().all(u8::is_ascii_digit))
    {
        return Err("fraction must be '.' followed by 1 to 9 digits");
    }
    let num = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if num(11, 13) > 23 || num(14, 16) > 59 || num(17, 19) > 59 {
        return Err("time of day out of range");
    }
    Ok(())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_utc_with_optional_fraction() {
        assert!(Timestamp::parse("2024-02-29T23:59:59Z").is_ok());
        assert!(Timestamp::parse("2025-01-01T00:00:00.123456789Z").is_ok());
    }

    #[test]
    fn rejects_bad_shapes_and_ranges() {
        for bad in [
            "2025-01-01T00:00:00+00:00",
            "2025-01-01 00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00.1234567890Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_unix_seconds() {
        assert_eq!(
            Timestamp::from_unix_seconds(0).as_str(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(1_709_251_199).as_str(),
            "2024-02-29T23:59:59Z"
        );
    }
}
