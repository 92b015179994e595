//! The signed transaction envelope and its canonical encoding.
//!
//! Encoding (borsh layout, little-endian integers):
//!
//! ```text
//! payload   = chain_id: u32 length + UTF-8 bytes
//!             signer:   32 bytes (ed25519 public key)
//!             nonce:    u64
//!             fee:      u64
//!             body:     u8 kind + kind-specific fields
//! signed tx = payload || signature (64 bytes)
//! ```
//!
//! The signature covers `TX_SIGN_DOMAIN || payload`. The transaction hash is
//! BLAKE3 over the complete signed bytes.

use borsh::BorshSerialize;
use ed25519_dalek::{Signer, SigningKey};

use crate::address::Address;
use crate::crypto::{Hash, PublicKey};

/// Bytes prefixed to the payload before signing, so that a transaction
/// signature can never be mistaken for a signature over anything else.
pub const TX_SIGN_DOMAIN: &[u8] = b"netwright/tx/v1\0";

/// Largest encoded transaction accepted, in bytes.
pub const MAX_TX_BYTES: usize = 16 * 1024;

/// Longest chain id accepted, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Body kind tags. Tags not listed in [`TxBody`] are either reserved (see
/// [`reserved_body_kind`]) or unknown; both are rejected when decoding.
pub mod kind {
    /// [`super::TxBody::Transfer`].
    pub const TRANSFER: u8 = 0;
    /// [`super::TxBody::Stake`].
    pub const STAKE: u8 = 1;
    /// [`super::TxBody::Unstake`].
    pub const UNSTAKE: u8 = 2;
}

/// Names the purpose a body kind tag is set aside for, if it is reserved.
///
/// Kinds 3..=31 belong to the relay-network actors and their economics; they
/// are rejected until the rules for them exist.
pub fn reserved_body_kind(tag: u8) -> Option<&'static str> {
    Some(match tag {
        3 => "servicer stake",
        4 => "servicer unstake",
        5 => "application stake",
        6 => "application unstake",
        7 => "fisherman stake",
        8 => "fisherman unstake",
        9 => "relay claim",
        10 => "relay proof",
        11 => "fisherman test result",
        12 => "misbehaviour evidence",
        13 => "parameter change",
        14..=31 => "future use",
        _ => return None,
    })
}

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxBody {
    /// Moves `amount` from the signer's balance to `to`.
    Transfer {
        /// Receiving account.
        to: Address,
        /// Amount moved, in base units; must be positive.
        amount: u64,
    },
    /// Bonds `amount` from the signer's balance as validator stake; the
    /// signer's key becomes a validator or increases its stake.
    Stake {
        /// Amount bonded; must be positive.
        amount: u64,
    },
    /// Starts unbonding `amount` of the signer's validator stake; the funds
    /// return to the balance after the unbonding period.
    Unstake {
        /// Amount unbonded; must be positive.
        amount: u64,
    },
}

impl TxBody {
    /// The kind tag written in the encoding.
    pub fn kind(&self) -> u8 {
        match self {
            TxBody::Transfer { .. } => kind::TRANSFER,
            TxBody::Stake { .. } => kind::STAKE,
            TxBody::Unstake { .. } => kind::UNSTAKE,
        }
    }

    /// The amount moved, bonded or unbonded.
    pub fn amount(&self) -> u64 {
        match *self {
            TxBody::Transfer { amount, .. }
            | TxBody::Stake { amount }
            | TxBody::Unstake { amount } => amount,
        }
    }
}

impl BorshSerialize for TxBody {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&[self.kind()])?;
        match self {
            TxBody::Transfer { to, amount } => {
                to.serialize(w)?;
                amount.serialize(w)
            }
            TxBody::Stake { amount } | TxBody::Unstake { amount } => amount.serialize(w),
        }
    }
}

/// Everything a signer commits to.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize)]
pub struct TxPayload {
    /// The chain this transaction is valid on (replay protection across chains).
    pub chain_id: String,
    /// The signing key; the sending account is its address.
    pub signer: PublicKey,
    /// The signer's account nonce this transaction consumes (0 for the first).
    pub nonce: u64,
    /// Fee paid into the fee pool, in base units (may be 0).
    pub fee: u64,
    /// The operation.
    pub body: TxBody,
}

impl TxPayload {
    /// Canonical payload bytes (without the signing domain).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        // Writing into a Vec cannot fail.
        let _ = self.serialize(&mut out);
        out
    }

    /// The exact bytes the signature covers: `TX_SIGN_DOMAIN || payload`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = TX_SIGN_DOMAIN.to_vec();
        out.extend_from_slice(&self.encode());
        out
    }

    /// Signs the payload. `key` must be the secret key of `self.signer`,
    /// otherwise the result does not verify.
    pub fn sign(self, key: &SigningKey) -> SignedTx {
        let signature = key.sign(&self.signing_bytes()).to_bytes();
        SignedTx {
            payload: self,
            signature,
        }
    }
}

/// A payload with its ed25519 signature: what travels and what blocks hold.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize)]
pub struct SignedTx {
    /// The signed content.
    pub payload: TxPayload,
    /// ed25519 signature over [`TxPayload::signing_bytes`].
    pub signature: [u8; SIGNATURE_LEN],
}

impl SignedTx {
    /// Canonical encoding: payload followed by the 64 signature bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        let _ = self.serialize(&mut out);
        out
    }

    /// BLAKE3 over the canonical encoding.
    pub fn hash(&self) -> Hash {
        Hash::of(&self.encode())
    }

    /// Verifies the signature alone (the ZIP-215 rule of [`crate::signature`]).
    pub fn verify_signature(&self) -> bool {
        self.payload
            .signer
            .verification_key()
            .verify(
                &ed25519_zebra::Signature::from(self.signature),
                &self.payload.signing_bytes(),
            )
            .is_ok()
    }

    /// The account that sends this transaction.
    pub fn sender(&self) -> Address {
        Address::from_public_key(&self.payload.signer)
    }
}

/// Hash of raw transaction bytes as they appear in a block (equal to
/// [`SignedTx::hash`] for well-formed bytes; defined for any bytes).
pub fn tx_hash(bytes: &[u8]) -> Hash {
    Hash::of(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn payload(sk: &SigningKey) -> TxPayload {
        TxPayload {
            chain_id: "test".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce: 5,
            fee: 1,
            body: TxBody::Transfer {
                to: Address([9; 20]),
                amount: 300,
            },
        }
    }

    #[test]
    fn payload_layout_is_exact() {
        let sk = signer(1);
        let p = payload(&sk);
        let bytes = p.encode();
        let mut expected = vec![4, 0, 0, 0];
        expected.extend_from_slice(b"test");
        expected.extend_from_slice(sk.verifying_key().as_bytes());
        expected.extend_from_slice(&5u64.to_le_bytes());
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.push(kind::TRANSFER);
        expected.extend_from_slice(&[9; 20]);
        expected.extend_from_slice(&300u64.to_le_bytes());
        assert_eq!(bytes, expected);
        let mut signing = TX_SIGN_DOMAIN.to_vec();
        signing.extend_from_slice(&expected);
        assert_eq!(p.signing_bytes(), signing);
    }

    #[test]
    fn signature_verifies_and_binds_every_field() {
        let sk = signer(2);
        let tx = payload(&sk).sign(&sk);
        assert!(tx.verify_signature());
        let mut changed = tx.clone();
        changed.payload.fee = 2;
        assert!(!changed.verify_signature());
        let mut changed = tx.clone();
        changed.payload.chain_id = "other".into();
        assert!(!changed.verify_signature());
        let wrong_key = payload(&sk).sign(&signer(3));
        assert!(!wrong_key.verify_signature());
    }

    #[test]
    fn hash_is_blake3_of_encoding() {
        let sk = signer(4);
        let tx = payload(&sk).sign(&sk);
        assert_eq!(tx.hash(), Hash(*blake3::hash(&tx.encode()).as_bytes()));
        assert_eq!(tx.encode().len(), 4 + 4 + 32 + 8 + 8 + 1 + 20 + 8 + 64);
    }

    #[test]
    fn reserved_kinds_do_not_overlap_live_ones() {
        for tag in [kind::TRANSFER, kind::STAKE, kind::UNSTAKE] {
            assert_eq!(reserved_body_kind(tag), None);
        }
        assert_eq!(reserved_body_kind(3), Some("servicer stake"));
        assert_eq!(reserved_body_kind(32), None);
    }
}
