//! 32-byte BLAKE3 digests written as 64 lowercase hex digits: the names of plans, genesis
//! documents, genesis recipes and configurations.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A BLAKE3 digest of some canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// BLAKE3 of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// The first 12 hex digits, for compact human-readable output only.
    pub fn short(&self) -> String {
        let mut text = self.to_string();
        text.truncate(12);
        text
    }
}

/// Why a text is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid digest {text:?}: {reason}")]
pub struct DigestError {
    /// The text as given (cut to 80 characters).
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Digest {
    type Err = DigestError;

    /// Accepts exactly 64 hex digits, either case, no prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| DigestError {
            text: s.chars().take(80).collect(),
            reason,
        };
        let count = s.chars().count();
        if count != 64 {
            return Err(fail(format!(
                "expected 64 hex digits, got {count} characters"
            )));
        }
        if let Some((position, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(fail(format!(
                "character {ch:?} at position {position} is not a hex digit"
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| fail(e.to_string()))?;
        Ok(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_case() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        assert_eq!(d.to_string().to_uppercase().parse::<Digest>(), Ok(d));
        assert_eq!(d.short(), "6437b3ac3846");
    }

    #[test]
    fn bad_text_is_named() {
        let err = "abc".parse::<Digest>().unwrap_err();
        assert_eq!(err.text, "abc");
        assert!(err.reason.contains("got 3"), "{err}");
        let mut text = "0".repeat(63);
        text.push('g');
        let err = text.parse::<Digest>().unwrap_err();
        assert!(err.reason.contains("'g' at position 63"), "{err}");
    }

    #[test]
    fn serde_uses_hex() {
        let d = Digest::of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"zz\"").is_err());
    }
}
