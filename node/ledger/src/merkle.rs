//! The state commitment: a binary Merkle tree over the state's (key, value)
//! pairs in ascending key order, hashed with BLAKE3 and domain-separated
//! leaves and inner nodes (the tree shape of RFC 9162).
//!
//! ```text
//! leaf(k, v)  = BLAKE3(0x00 || u32_le(len(k)) || k || v)
//! node(l, r)  = BLAKE3(0x01 || l || r)
//! root([])    = BLAKE3("")
//! root([h])   = h
//! root(hs)    = node(root(hs[..m]), root(hs[m..]))  with m the largest power of two < len
//! ```

use crate::crypto::Hash;

/// Hash of one state entry.
pub fn leaf_hash(key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[0x00]);
    // Keys are short (at most a few dozen bytes); the cast cannot truncate.
    h.update(&(key.len() as u32).to_le_bytes());
    h.update(key);
    h.update(value);
    *h.finalize().as_bytes()
}

/// Hash of an inner node.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    *blake3::hash(&buf).as_bytes()
}

/// Root over leaf hashes given in key order.
///
/// Pairs neighbours level by level and carries an unpaired last node up
/// unchanged, which yields the same tree as the recursive definition above.
pub fn root(leaves: impl IntoIterator<Item = [u8; 32]>) -> Hash {
    let mut level: Vec<[u8; 32]> = leaves.into_iter().collect();
    if level.is_empty() {
        return Hash::of(b"");
    }
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            match pair {
                [l, r] => next.push(node_hash(l, r)),
                [single] => next.push(*single),
                _ => {}
            }
        }
        level = next;
    }
    Hash(level[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recursive definition, as a reference.
    fn reference(hs: &[[u8; 32]]) -> [u8; 32] {
        match hs.len() {
            0 => *blake3::hash(b"").as_bytes(),
            1 => hs[0],
            n => {
                let mut m = 1;
                while m * 2 < n {
                    m *= 2;
                }
                node_hash(&reference(&hs[..m]), &reference(&hs[m..]))
            }
        }
    }

    #[test]
    fn iterative_matches_recursive_definition() {
        for n in 0..40u32 {
            let hs: Vec<[u8; 32]> = (0..n).map(|i| leaf_hash(&i.to_be_bytes(), b"v")).collect();
            assert_eq!(root(hs.clone()).0, reference(&hs), "n = {n}");
        }
    }

    #[test]
    fn domain_separation_and_sensitivity() {
        let a = leaf_hash(b"k", b"v");
        assert_ne!(a, leaf_hash(b"kv", b""));
        assert_ne!(a, leaf_hash(b"k", b"w"));
        let two = root([a, leaf_hash(b"l", b"v")]);
        let swapped = root([leaf_hash(b"l", b"v"), a]);
        assert_ne!(two, swapped);
        assert_eq!(root([a]).0, a);
    }
}
