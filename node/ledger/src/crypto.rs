//! Fixed-size cryptographic values: 32-byte BLAKE3 digests and ed25519 public keys,
//! with their canonical hex text forms.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::VerifyingKey;
use ed25519_zebra::VerificationKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a hex text could not be turned into fixed-size bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The text has the wrong number of characters.
    #[error("expected {expected} hex characters, got {got}")]
    Length {
        /// Characters required.
        expected: usize,
        /// Characters found.
        got: usize,
    },
    /// A character is not a hex digit.
    #[error("invalid hex character {ch:?} at position {position}")]
    Char {
        /// The offending character.
        ch: char,
        /// Its zero-based character position.
        position: usize,
    },
}

/// Parses exactly `N` bytes from `2 * N` hex digits (either case, no prefix).
pub(crate) fn parse_hex_array<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let count = text.chars().count();
    if count != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: count,
        });
    }
    if let Some((position, ch)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(HexError::Char { ch, position });
    }
    let mut out = [0u8; N];
    // Only ASCII hex digits remain, so the text is exactly 2 * N bytes long.
    hex::decode_to_slice(text, &mut out).map_err(|_| HexError::Length {
        expected: 2 * N,
        got: count,
    })?;
    Ok(out)
}

/// A 32-byte BLAKE3 digest (transaction hashes, state roots).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Plain BLAKE3 of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<32>(s).map(Hash)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why 32 bytes are not an acceptable ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublicKeyError {
    /// The text form is not 64 hex digits.
    #[error("public key: {0}")]
    Hex(#[from] HexError),
    /// The bytes are not the encoding of a curve point.
    #[error("public key {0} is not a valid ed25519 point")]
    NotAPoint(String),
    /// The point has small order; signatures under it prove nothing.
    #[error("public key {0} is a weak (small-order) ed25519 key")]
    Weak(String),
}

/// An ed25519 public key that decodes to a curve point of large order.
///
/// Account addresses and validator identities are derived from it. Small-order keys are
/// refused here, where keys enter the ledger: the signature rule itself (ZIP-215, see
/// [`crate::signature`]) accepts them, and under it one signature by a small-order key is
/// valid for every message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    key: VerificationKey,
}

impl PublicKey {
    /// Validates 32 bytes as a usable (on-curve, not small-order) ed25519 key.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, PublicKeyError> {
        let point = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| PublicKeyError::NotAPoint(hex::encode(bytes)))?;
        if point.is_weak() {
            return Err(PublicKeyError::Weak(hex::encode(bytes)));
        }
        let key = VerificationKey::try_from(bytes)
            .map_err(|_| PublicKeyError::NotAPoint(hex::encode(bytes)))?;
        Ok(PublicKey { bytes, key })
    }

    /// The 32-byte compressed encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The decoded key signatures are verified with (ZIP-215, [`crate::signature`]).
    pub fn verification_key(&self) -> &VerificationKey {
        &self.key
    }
}

impl From<VerifyingKey> for PublicKey {
    /// The public half of a signing key. Both libraries decode the same 32 bytes to the same
    /// point, so a key `ed25519-dalek` holds always decodes here.
    fn from(key: VerifyingKey) -> Self {
        let bytes = key.to_bytes();
        let key = VerificationKey::try_from(bytes)
            .expect("an ed25519-dalek verifying key is a curve point ed25519-zebra decodes");
        PublicKey { bytes, key }
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = PublicKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::from_bytes(parse_hex_array::<32>(s)?)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl BorshSerialize for PublicKey {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trip() {
        let h = Hash::of(b"abc");
        let text = h.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Hash>(), Ok(h));
    }

    #[test]
    fn hex_errors_name_the_problem() {
        assert_eq!(
            "abc".parse::<Hash>(),
            Err(HexError::Length {
                expected: 64,
                got: 3
            })
        );
        let mut bad = "0".repeat(64);
        bad.replace_range(5..6, "g");
        assert_eq!(
            bad.parse::<Hash>(),
            Err(HexError::Char {
                ch: 'g',
                position: 5
            })
        );
        // Non-ASCII characters are counted as characters, not bytes.
        let mut uni = "0".repeat(63);
        uni.push('é');
        assert!(matches!(
            uni.parse::<Hash>(),
            Err(HexError::Char {
                ch: 'é',
                position: 63
            })
        ));
    }

    #[test]
    fn weak_and_invalid_keys_are_rejected() {
        // The identity point encodes as 1 followed by zeros: small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(identity),
            Err(PublicKeyError::Weak(_))
        ));
        // y = 2 is not on the curve.
        let mut not_point = [0u8; 32];
        not_point[0] = 2;
        assert!(matches!(
            PublicKey::from_bytes(not_point),
            Err(PublicKeyError::NotAPoint(_))
        ));
    }

    #[test]
    fn public_key_text_round_trip() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let pk = PublicKey::from(sk.verifying_key());
        assert_eq!(pk.to_string().parse::<PublicKey>(), Ok(pk));
    }
}
