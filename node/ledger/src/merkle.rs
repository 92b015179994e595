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

use std::sync::Arc;

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

/// The state tree kept from block to block: leaf keys in order and every level of the tree,
/// so that a block changing `k` existing entries costs `O(k log n)` hashes instead of
/// rehashing all `n`, and a copy for speculative execution shares the tree until it changes.
/// Its root is [`root`] over the leaves in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    keys: Arc<Vec<Vec<u8>>>,
    /// `levels[0]` are the leaf hashes in key order; `levels[i + 1][j]` pairs `levels[i][2j]`
    /// with `levels[i][2j + 1]`, or carries `levels[i][2j]` up when it has no neighbour.
    levels: Arc<Vec<Vec<[u8; 32]>>>,
}

impl Tree {
    /// The tree over `leaves`: (key, leaf hash) pairs with distinct keys, in any order.
    pub fn new(mut leaves: Vec<(Vec<u8>, [u8; 32])>) -> Tree {
        leaves.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (keys, hashes) = leaves.into_iter().unzip();
        Tree {
            keys: Arc::new(keys),
            levels: Arc::new(build_levels(hashes)),
        }
    }

    /// The commitment to every leaf.
    pub fn root(&self) -> Hash {
        match self.levels.last() {
            Some(top) if !top.is_empty() => Hash(top[0]),
            _ => Hash::of(b""),
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Sets (`Some(leaf hash)`) or removes (`None`) the leaves of `changes`, whose keys are
    /// distinct and in ascending order.
    pub fn update(&mut self, changes: &[(Vec<u8>, Option<[u8; 32]>)]) {
        let mut positions = Vec::with_capacity(changes.len());
        for (key, hash) in changes {
            match (self.keys.binary_search(key), hash) {
                (Ok(i), Some(h)) => positions.push((i, *h)),
                // A leaf appears or disappears: the positions after it shift.
                _ => return self.rebuild(changes),
            }
        }
        if positions.is_empty() {
            return;
        }
        let levels = Arc::make_mut(&mut self.levels);
        let mut dirty: Vec<usize> = Vec::with_capacity(positions.len());
        for (i, h) in positions {
            levels[0][i] = h;
            dirty.push(i);
        }
        for level in 0..levels.len() - 1 {
            let mut parents: Vec<usize> = dirty.iter().map(|i| i / 2).collect();
            parents.dedup();
            let (below, above) = levels.split_at_mut(level + 1);
            let (below, above) = (&below[level], &mut above[0]);
            for &p in &parents {
                above[p] = match below.get(2 * p + 1) {
                    Some(right) => node_hash(&below[2 * p], right),
                    None => below[2 * p],
                };
            }
            dirty = parents;
        }
    }

    fn rebuild(&mut self, changes: &[(Vec<u8>, Option<[u8; 32]>)]) {
        let old_hashes = self.levels.first().map(Vec::as_slice).unwrap_or(&[]);
        let mut keys = Vec::with_capacity(self.keys.len() + changes.len());
        let mut hashes = Vec::with_capacity(self.keys.len() + changes.len());
        let mut old = self.keys.iter().zip(old_hashes).peekable();
        let mut new = changes.iter().peekable();
        loop {
            let take_old = match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((ok, _)), Some((nk, _))) => ok < &nk,
            };
            if take_old {
                if let Some((k, h)) = old.next() {
                    keys.push(k.clone());
                    hashes.push(*h);
                }
                continue;
            }
            if let Some((k, h)) = new.next() {
                // A changed key replaces the old leaf of the same key, if any.
                if old.peek().is_some_and(|(ok, _)| *ok == k) {
                    old.next();
                }
                if let Some(h) = h {
                    keys.push(k.clone());
                    hashes.push(*h);
                }
            }
        }
        self.keys = Arc::new(keys);
        self.levels = Arc::new(build_levels(hashes));
    }
}

fn build_levels(leaves: Vec<[u8; 32]>) -> Vec<Vec<[u8; 32]>> {
    let mut levels = vec![leaves];
    while let Some(last) = levels.last().filter(|l| l.len() > 1) {
        let next = last
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node_hash(l, r),
                _ => pair[0],
            })
            .collect();
        levels.push(next);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

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

    fn full_root(map: &BTreeMap<Vec<u8>, [u8; 32]>) -> Hash {
        root(map.values().copied())
    }

    proptest! {
        /// Whatever sequence of blocks sets and removes leaves, the kept tree has the root of
        /// a tree built from scratch over the same leaves, and so does a copy taken midway.
        #[test]
        fn kept_tree_matches_a_full_rebuild(
            start in proptest::collection::btree_map(0u16..300, any::<u8>(), 0..60),
            blocks in proptest::collection::vec(
                proptest::collection::btree_map(0u16..300, proptest::option::of(any::<u8>()), 0..12),
                1..8,
            ),
        ) {
            let leaf = |k: &u16, v: u8| leaf_hash(&k.to_be_bytes(), &[v]);
            let mut reference: BTreeMap<Vec<u8>, [u8; 32]> = start
                .iter()
                .map(|(k, v)| (k.to_be_bytes().to_vec(), leaf(k, *v)))
                .collect();
            let mut tree = Tree::new(reference.clone().into_iter().collect());
            prop_assert_eq!(tree.root(), full_root(&reference));
            for block in &blocks {
                let before = tree.clone();
                let changes: Vec<(Vec<u8>, Option<[u8; 32]>)> = block
                    .iter()
                    .map(|(k, v)| (k.to_be_bytes().to_vec(), v.map(|v| leaf(k, v))))
                    .collect();
                let before_root = full_root(&reference);
                for (k, h) in &changes {
                    match h {
                        Some(h) => reference.insert(k.clone(), *h),
                        None => reference.remove(k),
                    };
                }
                tree.update(&changes);
                prop_assert_eq!(tree.root(), full_root(&reference));
                prop_assert_eq!(tree.len(), reference.len());
                prop_assert_eq!(before.root(), before_root, "a copy keeps its own root");
            }
        }
    }

    #[test]
    fn updates_in_place_and_rebuilds_agree() {
        let leaves: Vec<(Vec<u8>, [u8; 32])> =
            (0..9u8).map(|i| (vec![i], leaf_hash(&[i], b"a"))).collect();
        let mut tree = Tree::new(leaves.clone());
        assert_eq!(tree.root(), root(leaves.iter().map(|(_, h)| *h)));
        let changed = leaf_hash(&[8], b"b");
        tree.update(&[(vec![8], Some(changed))]);
        let mut expected = leaves.clone();
        expected[8].1 = changed;
        assert_eq!(tree, Tree::new(expected.clone()));
        tree.update(&[(vec![3], None), (vec![20], Some(changed))]);
        expected.remove(3);
        expected.push((vec![20], changed));
        assert_eq!(tree, Tree::new(expected));
        let mut empty = Tree::new(Vec::new());
        assert_eq!(empty.root(), Hash::of(b""));
        empty.update(&[(vec![1], None)]);
        assert!(empty.is_empty());
        assert_eq!(empty.root(), Hash::of(b""));
    }
}
