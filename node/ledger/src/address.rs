//! Account addresses: the first 20 bytes of BLAKE3 over the ed25519 public key,
//! written as 40 hex digits.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::crypto::{parse_hex_array, HexError, PublicKey};

/// Number of bytes in an address.
pub const ADDRESS_LEN: usize = 20;

/// Domain tag hashed in front of the public key when deriving an address.
const ADDRESS_DOMAIN: &[u8] = b"netwright/address/v1";

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid address {text:?}: {reason}")]
pub struct AddressError {
    /// The text as given (cut to 80 characters).
    pub text: String,
    /// What is wrong with it.
    pub reason: HexError,
}

/// The identity of an account: derived from its owner's public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Address(pub [u8; ADDRESS_LEN]);

impl Address {
    /// Derives the address owned by `key`: BLAKE3(domain || key)[..20].
    pub fn from_public_key(key: &PublicKey) -> Address {
        let mut hasher = blake3::Hasher::new();
        hasher.update(ADDRESS_DOMAIN);
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let mut out = [0u8; ADDRESS_LEN];
        out.copy_from_slice(&digest.as_bytes()[..ADDRESS_LEN]);
        Address(out)
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; ADDRESS_LEN] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;
    /// Accepts exactly 40 hex digits (either case, no `0x` prefix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<ADDRESS_LEN>(s)
            .map(Address)
            .map_err(|reason| AddressError {
                text: s.chars().take(80).collect(),
                reason,
            })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    #[test]
    fn derivation_is_stable_and_key_specific() {
        let a = Address::from_public_key(&key(1));
        assert_eq!(a, Address::from_public_key(&key(1)));
        assert_ne!(a, Address::from_public_key(&key(2)));
        let mut expected = blake3::Hasher::new();
        expected.update(b"netwright/address/v1");
        expected.update(key(1).as_bytes());
        assert_eq!(&a.0[..], &expected.finalize().as_bytes()[..20]);
    }

    #[test]
    fn text_round_trip_and_case() {
        let a = Address::from_public_key(&key(3));
        let text = a.to_string();
        assert_eq!(text.len(), 40);
        assert_eq!(text.parse::<Address>(), Ok(a));
        assert_eq!(text.to_uppercase().parse::<Address>(), Ok(a));
    }

    #[test]
    fn bad_text_is_rejected_with_reason() {
        let err = "0x1234".parse::<Address>().unwrap_err();
        assert_eq!(
            err.reason,
            HexError::Length {
                expected: 40,
                got: 6
            }
        );
        assert!(err.to_string().contains("0x1234"));
        let mut bad = "a".repeat(40);
        bad.replace_range(39..40, "z");
        let err = bad.parse::<Address>().unwrap_err();
        assert_eq!(
            err.reason,
            HexError::Char {
                ch: 'z',
                position: 39
            }
        );
        assert!("".parse::<Address>().is_err());
    }

    #[test]
    fn serde_uses_hex_text() {
        let a = Address::from_public_key(&key(4));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Address>("\"xyz\"").is_err());
    }
}
