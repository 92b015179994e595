//! The one canonical binary encoding (borsh) and the domain-separated bytes that are hashed or
//! signed. Every signature covers `borsh((SIGN_DOMAIN, chain_id, kind, payload))`, so a
//! signature made for one chain or one message kind can never be replayed as another.

use borsh::BorshSerialize;

/// Prefix of every signed message.
pub const SIGN_DOMAIN: &str = "netwright/consensus/sign/v1";

/// What a hash or signature is about; part of the hashed/signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Domain {
    /// A block header (the block hash).
    BlockHeader = 1,
    /// A Merkle leaf over a transaction hash.
    TxLeaf = 2,
    /// A Merkle inner node.
    MerkleNode = 3,
    /// The validator set hash.
    ValidatorSet = 4,
    /// The evidence list root.
    Evidence = 5,
    /// A signed proposal.
    Proposal = 16,
    /// A signed prevote.
    Prevote = 17,
    /// A signed precommit.
    Precommit = 18,
}

/// BLAKE3 over `borsh((domain, value))`.
pub fn hash_domain<T: BorshSerialize + ?Sized>(domain: Domain, value: &T) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    let mut w = HashWriter(&mut hasher);
    // Writing into a hasher cannot fail; borsh only fails on writer errors or
    // on types (like HashMap with NaN floats) that we never encode.
    let _ = domain.serialize(&mut w);
    let _ = value.serialize(&mut w);
    *hasher.finalize().as_bytes()
}

struct HashWriter<'a>(&'a mut blake3::Hasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The exact bytes a validator signs for `payload` of kind `domain` on chain `chain_id`.
pub fn sign_bytes<T: BorshSerialize>(chain_id: &str, domain: Domain, payload: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Serialising into a Vec cannot fail.
    let _ = (SIGN_DOMAIN, chain_id, domain, payload).serialize(&mut out);
    out
}

/// BLAKE3 hash of a transaction's bytes (its id).
pub fn tx_hash(tx: &[u8]) -> [u8; 32] {
    *blake3::hash(tx).as_bytes()
}

/// Binary Merkle root over the transactions, in order.
///
/// Leaves are `H(TxLeaf, tx_hash)`, inner nodes `H(MerkleNode, (left, right))`; an odd node at
/// the end of a level is carried up unchanged; the empty list has root `H(TxLeaf, [])`.
pub fn tx_root(txs: &[Vec<u8>]) -> [u8; 32] {
    if txs.is_empty() {
        return hash_domain(Domain::TxLeaf, &Vec::<u8>::new());
    }
    let mut level: Vec<[u8; 32]> = txs
        .iter()
        .map(|t| hash_domain(Domain::TxLeaf, &tx_hash(t)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => hash_domain(Domain::MerkleNode, &(l, r)),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_bytes_separate_chain_and_kind() {
        let a = sign_bytes("a", Domain::Prevote, &7u64);
        assert_ne!(a, sign_bytes("b", Domain::Prevote, &7u64));
        assert_ne!(a, sign_bytes("a", Domain::Precommit, &7u64));
        assert_eq!(a, sign_bytes("a", Domain::Prevote, &7u64));
    }

    #[test]
    fn tx_root_depends_on_order_and_content() {
        let t = |s: &str| s.as_bytes().to_vec();
        let r1 = tx_root(&[t("a"), t("b"), t("c")]);
        assert_ne!(r1, tx_root(&[t("b"), t("a"), t("c")]));
        assert_ne!(r1, tx_root(&[t("a"), t("b")]));
        assert_ne!(tx_root(&[]), tx_root(&[t("")]));
        assert_eq!(r1, tx_root(&[t("a"), t("b"), t("c")]));
    }
}
