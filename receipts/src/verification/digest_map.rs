//! Hash maps keyed by 32-byte digests, with a hash cheaper than SipHash.
//!
//! The verifier indexes every line by digests, some of which (claimed parent
//! links) are chosen by whoever wrote the log. The hash is NH (a sum of
//! products of key-offset 64-bit words, as in UMAC) under random keys drawn per
//! map, so a log cannot be written to make many keys collide without knowing
//! those keys; it costs two multiplications per digest.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A map from digests (or anything hashed as bytes) to `V`.
pub type DigestMap<K, V> = HashMap<K, V, RandomKeys>;

/// Creates an empty map with room for `capacity` entries and fresh keys.
pub fn with_capacity<K, V>(capacity: usize) -> DigestMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, RandomKeys::new())
}

/// The per-map random keys.
#[derive(Debug, Clone)]
pub struct RandomKeys([u64; 8]);

impl RandomKeys {
    /// Draws fresh keys.
    pub fn new() -> Self {
        Self(rand::random())
    }
}

impl Default for RandomKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for RandomKeys {
    type Hasher = Nh;

    fn build_hasher(&self) -> Nh {
        Nh {
            keys: self.0,
            sum: 0,
            words: 0,
        }
    }
}

/// NH over the bytes written, 16 bytes (two words) per product.
#[derive(Debug)]
pub struct Nh {
    keys: [u64; 8],
    sum: u128,
    words: usize,
}

impl Nh {
    fn pair(&mut self, a: u64, b: u64) {
        let k = self.words % 8;
        let x = a.wrapping_add(self.keys[k]);
        let y = b.wrapping_add(self.keys[k + 1]);
        self.sum = self.sum.wrapping_add(u128::from(x) * u128::from(y));
        self.words += 2;
    }
}

impl Hasher for Nh {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(16);
        for c in chunks.by_ref() {
            let (a, b) = c.split_at(8);
            self.pair(word(a), word(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut padded = [0u8; 16];
            padded[..rest.len()].copy_from_slice(rest);
            // The length keeps "x" and "x\0" apart.
            padded[15] ^= rest.len() as u8;
            let (a, b) = padded.split_at(8);
            self.pair(word(a), word(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.pair(n as u64, 0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        (self.sum as u64) ^ ((self.sum >> 64) as u64)
    }
}

/// Eight bytes as a little-endian word.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_between_maps_and_hash_all_bytes() {
        let a = RandomKeys::new();
        let b = RandomKeys::new();
        assert_ne!(a.0, b.0);
        let d = [5u8; 32];
        assert_eq!(a.hash_one(d), a.hash_one(d));
        // A change in any byte changes the hash (for these keys, with
        // overwhelming probability).
        for i in 0..32 {
            let mut e = d;
            e[i] ^= 1;
            assert_ne!(a.hash_one(d), a.hash_one(e), "byte {i}");
        }
        let mut m = with_capacity(4);
        m.insert([1u8; 32], 1);
        m.insert([2u8; 32], 2);
        assert_eq!(m.get(&[1u8; 32]), Some(&1));
        assert_eq!(m.get(&[3u8; 32]), None);
    }
}
