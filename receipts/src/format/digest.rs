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
    parse_hex32_bytes(text.as_bytes())
}

/// Value of each byte as a lowercase hex digit, or `0xff` for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Parses exactly 64 lowercase hexadecimal characters (as bytes) into 32 bytes.
pub fn parse_hex32_bytes(text: &[u8]) -> Option<[u8; 32]> {
    let text: &[u8; 64] = text.try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let hi = HEX_VALUE[usize::from(pair[0])];
        let lo = HEX_VALUE[usize::from(pair[1])];
        bad |= (hi | lo) & 0xf0;
        *byte = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
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
        let all: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
        for chunk in all.as_bytes().chunks(64) {
            let text = std::str::from_utf8(chunk).unwrap();
            assert_eq!(
                parse_hex32(text).unwrap().to_vec(),
                hex::decode(text).unwrap()
            );
        }
        for bad in [b'g', b'G', b'A', b'F', b'/', b':', b'`', b' ', 0x80, 0xff] {
            let mut t = h.clone().into_bytes();
            t[17] = bad;
            assert_eq!(parse_hex32_bytes(&t), None, "{bad:#x}");
        }
    }
}
