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

use crate::actors::{ActorRole, RelayChain};
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
    /// [`super::TxBody::ServicerStake`].
    pub const SERVICER_STAKE: u8 = 3;
    /// [`super::TxBody::ServicerUnstake`].
    pub const SERVICER_UNSTAKE: u8 = 4;
    /// [`super::TxBody::ApplicationStake`].
    pub const APPLICATION_STAKE: u8 = 5;
    /// [`super::TxBody::ApplicationUnstake`].
    pub const APPLICATION_UNSTAKE: u8 = 6;
    /// [`super::TxBody::FishermanStake`].
    pub const FISHERMAN_STAKE: u8 = 7;
    /// [`super::TxBody::FishermanUnstake`].
    pub const FISHERMAN_UNSTAKE: u8 = 8;
    /// [`super::TxBody::ServicerPause`].
    pub const SERVICER_PAUSE: u8 = 14;
    /// [`super::TxBody::ServicerUnpause`].
    pub const SERVICER_UNPAUSE: u8 = 15;
    /// [`super::TxBody::Unjail`].
    pub const UNJAIL: u8 = 16;
}

/// Names the purpose a body kind tag is set aside for, if it is reserved.
///
/// Kinds 9..=13 and 17..=31 belong to the relay economy's later parts; they
/// are rejected until the rules for them exist.
pub fn reserved_body_kind(tag: u8) -> Option<&'static str> {
    Some(match tag {
        9 => "relay claim",
        10 => "relay proof",
        11 => "fisherman test result",
        12 => "misbehaviour evidence",
        13 => "parameter change",
        17..=31 => "future use",
        _ => return None,
    })
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Stakes the signer as a servicer, or edits its servicer record: the
    /// stake becomes `stake` (a raise is bonded from the balance, a decrease
    /// unbonds), and the chains and URL are replaced.
    ServicerStake {
        /// The servicer's total stake after the transaction.
        stake: u64,
        /// Relay chains served, strictly ascending.
        chains: Vec<RelayChain>,
        /// Public URL relays are sent to.
        service_url: String,
    },
    /// Unstakes the signer's whole servicer stake; it unbonds.
    ServicerUnstake,
    /// Stakes the signer as an application, or edits its record (as
    /// [`TxBody::ServicerStake`]).
    ApplicationStake {
        /// The application's total stake after the transaction.
        stake: u64,
        /// Relay chains used, strictly ascending.
        chains: Vec<RelayChain>,
        /// Gateways that may sign relays on its behalf, strictly ascending.
        gateways: Vec<Address>,
    },
    /// Unstakes the signer's whole application stake; it unbonds.
    ApplicationUnstake,
    /// Stakes the signer as a fisherman, or edits its record (as
    /// [`TxBody::ServicerStake`]).
    FishermanStake {
        /// The fisherman's total stake after the transaction.
        stake: u64,
        /// Relay chains it measures, strictly ascending.
        chains: Vec<RelayChain>,
    },
    /// Unstakes the signer's whole fisherman stake; it unbonds.
    FishermanUnstake,
    /// Pauses the signer's servicer: it is no longer chosen for sessions.
    ServicerPause,
    /// Ends the signer's servicer pause.
    ServicerUnpause,
    /// Frees the signer's jailed actor of this role after its jail time.
    Unjail {
        /// Which of the signer's actors.
        role: ActorRole,
    },
}

impl TxBody {
    /// The kind tag written in the encoding.
    pub fn kind(&self) -> u8 {
        match self {
            TxBody::Transfer { .. } => kind::TRANSFER,
            TxBody::Stake { .. } => kind::STAKE,
            TxBody::Unstake { .. } => kind::UNSTAKE,
            TxBody::ServicerStake { .. } => kind::SERVICER_STAKE,
            TxBody::ServicerUnstake => kind::SERVICER_UNSTAKE,
            TxBody::ApplicationStake { .. } => kind::APPLICATION_STAKE,
            TxBody::ApplicationUnstake => kind::APPLICATION_UNSTAKE,
            TxBody::FishermanStake { .. } => kind::FISHERMAN_STAKE,
            TxBody::FishermanUnstake => kind::FISHERMAN_UNSTAKE,
            TxBody::ServicerPause => kind::SERVICER_PAUSE,
            TxBody::ServicerUnpause => kind::SERVICER_UNPAUSE,
            TxBody::Unjail { .. } => kind::UNJAIL,
        }
    }

    /// The amount moved, bonded or unbonded; for the actor stake bodies the
    /// total stake asked for; 0 for bodies without an amount.
    pub fn amount(&self) -> u64 {
        match *self {
            TxBody::Transfer { amount, .. }
            | TxBody::Stake { amount }
            | TxBody::Unstake { amount } => amount,
            TxBody::ServicerStake { stake, .. }
            | TxBody::ApplicationStake { stake, .. }
            | TxBody::FishermanStake { stake, .. } => stake,
            TxBody::ServicerUnstake
            | TxBody::ApplicationUnstake
            | TxBody::FishermanUnstake
            | TxBody::ServicerPause
            | TxBody::ServicerUnpause
            | TxBody::Unjail { .. } => 0,
        }
    }

    /// The actor role a body stakes, edits or unstakes, if any.
    pub fn actor_role(&self) -> Option<ActorRole> {
        Some(match self {
            TxBody::ServicerStake { .. }
            | TxBody::ServicerUnstake
            | TxBody::ServicerPause
            | TxBody::ServicerUnpause => ActorRole::Servicer,
            TxBody::ApplicationStake { .. } | TxBody::ApplicationUnstake => ActorRole::Application,
            TxBody::FishermanStake { .. } | TxBody::FishermanUnstake => ActorRole::Fisherman,
            TxBody::Unjail { role } => *role,
            TxBody::Transfer { .. } | TxBody::Stake { .. } | TxBody::Unstake { .. } => return None,
        })
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
            TxBody::ServicerStake {
                stake,
                chains,
                service_url,
            } => {
                stake.serialize(w)?;
                chains.serialize(w)?;
                service_url.serialize(w)
            }
            TxBody::ApplicationStake {
                stake,
                chains,
                gateways,
            } => {
                stake.serialize(w)?;
                chains.serialize(w)?;
                gateways.serialize(w)
            }
            TxBody::FishermanStake { stake, chains } => {
                stake.serialize(w)?;
                chains.serialize(w)
            }
            TxBody::Unjail { role } => role.serialize(w),
            TxBody::ServicerUnstake
            | TxBody::ApplicationUnstake
            | TxBody::FishermanUnstake
            | TxBody::ServicerPause
            | TxBody::ServicerUnpause => Ok(()),
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
        for tag in 3..=8 {
            assert_eq!(reserved_body_kind(tag), None);
        }
        for tag in 14..=16 {
            assert_eq!(reserved_body_kind(tag), None);
        }
        assert_eq!(reserved_body_kind(9), Some("relay claim"));
        assert_eq!(reserved_body_kind(13), Some("parameter change"));
        assert_eq!(reserved_body_kind(17), Some("future use"));
        assert_eq!(reserved_body_kind(31), Some("future use"));
        assert_eq!(reserved_body_kind(32), None);
    }
}
