//! The dual digest (SHA-256 and BLAKE3) that identifies a receipt.

use std::fmt;

use sha2::{Digest, Sha256};

/// One of the two hash algorithms of a [`DigestSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// BLAKE3 with 32-byte output, unkeyed.
    Blake3,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
        })
    }
}

/// Both digests of the same bytes. A receipt verifier requires both to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DigestSet {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// BLAKE3 of the bytes.
    pub blake3: [u8; 32],
}

impl DigestSet {
    /// Hashes `bytes` with both algorithms.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: Sha256::digest(bytes).into(),
            blake3: *blake3::hash(bytes).as_bytes(),
        }
    }

    /// The algorithms whose digests differ between `self` and `other`.
    pub fn mismatches(&self, other: &DigestSet) -> Vec<Algorithm> {
        let mut out = Vec::new();
        if self.sha256 != other.sha256 {
            out.push(Algorithm::Sha256);
        }
        if self.blake3 != other.blake3 {
            out.push(Algorithm::Blake3);
        }
        out
    }

    /// The digest produced by `algorithm`.
    pub fn get(&self, algorithm: Algorithm) -> &[u8; 32] {
        match algorithm {
            Algorithm::Sha256 => &self.sha256,
            Algorithm::Blake3 => &self.blake3,
        }
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Parses exactly 64 lowercase hexadecimal characters into 32 bytes.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = DigestSet::of(b"abc");
        assert_eq!(
            hex::encode(d.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(d.blake3),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn mismatches_name_the_algorithm() {
        let a = DigestSet::of(b"a");
        let mut b = a;
        b.blake3[0] ^= 1;
        assert_eq!(a.mismatches(&b), vec![Algorithm::Blake3]);
        assert!(a.mismatches(&a).is_empty());
    }

    #[test]
    fn hex32_is_strict() {
        let h = "ab".repeat(32);
        assert_eq!(parse_hex32(&h), Some([0xab; 32]));
        assert_eq!(parse_hex32(&h.to_uppercase()), None);
        assert_eq!(parse_hex32(&h[..62]), None);
    }
}
