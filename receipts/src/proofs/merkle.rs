//! RFC 9162 Merkle tree over receipt lines, with inclusion and consistency proofs.
//!
//! Hash: SHA-256. Leaf hash: `SHA-256(0x00 || line)` where `line` is the log line
//! without its newline. Node hash: `SHA-256(0x01 || left || right)`. The root of
//! the empty tree is `SHA-256("")`.

use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 tree hash.
pub type Hash = [u8; 32];

/// The byte before a line in its leaf hash (RFC 9162 domain separation).
pub const LEAF_PREFIX: [u8; 1] = [0x00];

/// The hash of a leaf (a log line without its newline).
pub fn leaf_hash(line: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(LEAF_PREFIX);
    h.update(line);
    h.finalize().into()
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash (RFC 9162 MTH) of the given leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Proof that one leaf is in a tree of a given size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Zero-based index of the leaf (equals the receipt's seq in a sound log).
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up to the root (RFC 9162 PATH).
    pub path: Vec<Hash>,
}

/// Proof that a tree of `old_size` is a prefix of a tree of `new_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// RFC 9162 PROOF nodes.
    pub path: Vec<Hash>,
}

/// A proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The requested index or sizes do not fit the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof has the wrong number of nodes for the sizes it claims.
    #[error("proof has a wrong number of nodes for the claimed sizes")]
    WrongLength,
    /// The recomputed root differs from the expected one.
    #[error("recomputed root {computed} differs from expected root {expected}")]
    RootMismatch {
        /// Hex of the expected root.
        expected: String,
        /// Hex of the recomputed root.
        computed: String,
    },
}

/// The inclusion proof for leaf `index` in the tree over `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<InclusionProof, ProofError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf index {index} is not in a tree of size {size}"
        )));
    }
    let mut path = Vec::new();
    path_into(&mut path, index as usize, leaves);
    Ok(InclusionProof {
        leaf_index: index,
        tree_size: size,
        path,
    })
}

fn path_into(out: &mut Vec<Hash>, m: usize, leaves: &[Hash]) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path_into(out, m, &leaves[..k]);
        out.push(root(&leaves[k..]));
    } else {
        path_into(out, m - k, &leaves[k..]);
        out.push(root(&leaves[..k]));
    }
}

/// The consistency proof between the first `old_size` leaves and all of `leaves`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<ConsistencyProof, ProofError> {
    let new_size = leaves.len() as u64;
    if old_size > new_size {
        return Err(ProofError::OutOfRange(format!(
            "old size {old_size} is larger than new size {new_size}"
        )));
    }
    let mut path = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(&mut path, old_size as usize, leaves, true);
    }
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

fn subproof(out: &mut Vec<Hash>, m: usize, leaves: &[Hash], complete: bool) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(out, m, &leaves[..k], complete);
        out.push(root(&leaves[k..]));
    } else {
        subproof(out, m - k, &leaves[k..], false);
        out.push(root(&leaves[..k]));
    }
}

fn mismatch(expected: &Hash, computed: &Hash) -> ProofError {
    ProofError::RootMismatch {
        expected: hex::encode(expected),
        computed: hex::encode(computed),
    }
}

/// Verifies that `leaf` is at `proof.leaf_index` in the tree with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), ProofError> {
    if proof.leaf_index >= proof.tree_size {
        return Err(ProofError::OutOfRange(format!(
            "leaf index {} is not in a tree of size {}",
            proof.leaf_index, proof.tree_size
        )));
    }
    let mut f = proof.leaf_index;
    let mut s = proof.tree_size - 1;
    let mut r = *leaf;
    for p in &proof.path {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(mismatch(root, &r));
    }
    Ok(())
}

/// Verifies that the tree with `old_root` is a prefix of the tree with `new_root`.
pub fn verify_consistency(
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), ProofError> {
    let (m, n) = (proof.old_size, proof.new_size);
    if m > n {
        return Err(ProofError::OutOfRange(format!(
            "old size {m} is larger than new size {n}"
        )));
    }
    if m == 0 || m == n {
        if !proof.path.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if m == n && old_root != new_root {
            return Err(mismatch(old_root, new_root));
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.path.len() + 1);
    if m.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(&proof.path);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength);
    };
    let mut f = m - 1;
    let mut s = n - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root {
        return Err(mismatch(old_root, &fr));
    }
    if &sr != new_root {
        return Err(mismatch(new_root, &sr));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(i.to_string().as_bytes()))
            .collect()
    }

    #[test]
    fn small_trees_by_hand() {
        let l = leaves(3);
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let p = inclusion_proof(&l, 2).unwrap();
        assert_eq!(p.path, vec![node_hash(&l[0], &l[1])]);
    }

    #[test]
    fn roots_of_power_of_two_chunks_combine_into_the_root() {
        // The verifier hashes the log in chunks of a power of two lines and
        // combines the chunks' roots with `root`; that must equal the root over
        // all leaves, including a short last chunk.
        for chunk in [1usize, 2, 4, 8] {
            for n in 0..70 {
                let l = leaves(n);
                let roots: Vec<Hash> = l.chunks(chunk).map(root).collect();
                assert_eq!(root(&roots), root(&l), "{n} leaves in chunks of {chunk}");
            }
        }
        // A chunk size that is not a power of two does not combine this way.
        let l = leaves(6);
        let roots: Vec<Hash> = l.chunks(3).map(root).collect();
        assert_ne!(root(&roots), root(&l));
    }

    // The test tree of the Certificate Transparency reference implementations:
    // eight leaves of 0, 1, 1, 2, 2, 4, 8 and 16 bytes, with the roots of its
    // prefixes and proofs published in google/trillian
    // merkle/log_verifier_test.go (commit 046133338f74123a69fbdf2434eba4ec4f4e5e0d).
    // Leaf hashes are RFC 9162's: SHA-256(0x00 || data).
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    /// `CT_ROOTS[i]`: the root of the tree over the first `i + 1` leaves.
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    /// (0-based leaf index, tree size, path); the source numbers leaves from 1.
    const CT_INCLUSION: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    /// (old size, new size, proof).
    const CT_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn ct_leaves() -> Vec<Hash> {
        CT_LEAVES
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect()
    }

    fn hashes(hex_list: &[&str]) -> Vec<Hash> {
        hex_list
            .iter()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap())
            .collect()
    }

    #[test]
    fn ct_reference_roots() {
        let l = ct_leaves();
        for (i, expected) in CT_ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(&l[..=i])), *expected, "size {}", i + 1);
        }
    }

    #[test]
    fn ct_reference_inclusion_proofs() {
        let l = ct_leaves();
        for (index, size, path) in CT_INCLUSION {
            let tree = &l[..size as usize];
            let proof = inclusion_proof(tree, index).unwrap();
            assert_eq!(proof.path, hashes(path), "leaf {index} of {size}");
            let r = hashes(&[CT_ROOTS[size as usize - 1]])[0];
            assert!(verify_inclusion(&l[index as usize], &proof, &r).is_ok());
            // The published proof does not hold for a neighbouring index or a
            // doubled size (the mutations the reference tests make).
            for (wrong_index, wrong_size) in [(index ^ 1, size), (index, size * 2)] {
                let wrong = InclusionProof {
                    leaf_index: wrong_index,
                    tree_size: wrong_size,
                    path: proof.path.clone(),
                };
                if wrong_index < wrong_size && (wrong_index, wrong_size) != (index, size) {
                    assert!(verify_inclusion(&l[index as usize], &wrong, &r).is_err());
                }
            }
        }
    }

    #[test]
    fn ct_reference_consistency_proofs() {
        let l = ct_leaves();
        for (old, new, path) in CT_CONSISTENCY {
            let proof = consistency_proof(&l[..new as usize], old).unwrap();
            assert_eq!(proof.path, hashes(path), "{old} -> {new}");
            let old_root = hashes(&[CT_ROOTS[old as usize - 1]])[0];
            let new_root = hashes(&[CT_ROOTS[new as usize - 1]])[0];
            assert!(verify_consistency(&old_root, &new_root, &proof).is_ok());
            if !proof.path.is_empty() {
                // Swapped roots fail.
                assert!(verify_consistency(&new_root, &old_root, &proof).is_err());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn inclusion_holds_and_detects_tampering(n in 1usize..300, pick in any::<u64>(), flip in any::<u8>()) {
            let l = leaves(n);
            let r = root(&l);
            let i = pick % n as u64;
            let proof = inclusion_proof(&l, i).unwrap();
            prop_assert!(verify_inclusion(&l[i as usize], &proof, &r).is_ok());
            // Another leaf at the same position fails.
            prop_assert!(verify_inclusion(&leaf_hash(b"other"), &proof, &r).is_err());
            // A claimed index off by one fails (unless the tree has a single leaf).
            if n > 1 {
                let mut wrong = proof.clone();
                wrong.leaf_index = (i + 1) % n as u64;
                prop_assert!(verify_inclusion(&l[i as usize], &wrong, &r).is_err());
            }
            // A flipped bit in any path node fails.
            if !proof.path.is_empty() {
                let mut bad = proof.clone();
                let at = usize::from(flip) % bad.path.len();
                bad.path[at][0] ^= 1;
                prop_assert!(verify_inclusion(&l[i as usize], &bad, &r).is_err());
            }
        }

        #[test]
        fn consistency_holds_and_detects_rewrites(n in 1usize..300, pick in any::<u64>(), victim in any::<u64>()) {
            let l = leaves(n);
            let m = (pick % (n as u64 + 1)) as usize;
            let proof = consistency_proof(&l, m as u64).unwrap();
            let old_root = root(&l[..m]);
            let new_root = root(&l);
            prop_assert!(verify_consistency(&old_root, &new_root, &proof).is_ok());
            // Rewriting history inside the old prefix breaks consistency.
            if m > 0 {
                let mut rewritten = l.clone();
                rewritten[(victim % m as u64) as usize] = leaf_hash(b"rewritten");
                let forged_new = root(&rewritten);
                prop_assert!(verify_consistency(&old_root, &forged_new, &proof).is_err());
                if m < n {
                    let forged_proof = consistency_proof(&rewritten, m as u64).unwrap();
                    prop_assert!(verify_consistency(&old_root, &forged_new, &forged_proof).is_err());
                }
            }
        }
    }
}
