//! Decoding untrusted transaction bytes into a [`SignedTx`], with a typed
//! error for every way the bytes can be wrong. Never panics.

use thiserror::Error;

use crate::actors::{
    ActorRole, RelayChain, MAX_CHAINS_PER_ACTOR, MAX_RELAY_CHAIN_BYTES, MAX_SERVICE_URL_BYTES,
};
use crate::address::{Address, ADDRESS_LEN};
use crate::crypto::{Hash, PublicKey, PublicKeyError};
use crate::economics::MAX_DELEGATED_GATEWAYS_LIMIT;
use crate::tx::{
    kind, reserved_body_kind, SignedTx, TxBody, TxPayload, MAX_CHAIN_ID_BYTES, MAX_TX_BYTES,
    SIGNATURE_LEN, TX_SIGN_DOMAIN,
};

/// Why bytes are not a well-formed transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxDecodeError {
    /// No bytes at all.
    #[error("transaction is empty")]
    Empty,
    /// More bytes than [`MAX_TX_BYTES`].
    #[error("transaction is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes end inside a field.
    #[error("transaction ends inside field `{field}`: needs {needed} bytes, {remaining} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// The chain id length prefix exceeds [`MAX_CHAIN_ID_BYTES`].
    #[error("field `chain_id` is {len} bytes, the limit is {max}")]
    ChainIdTooLong {
        /// Declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The chain id is not UTF-8.
    #[error("field `chain_id` is not valid UTF-8")]
    ChainIdNotUtf8,
    /// The signer key is unusable.
    #[error("field `signer`: {0}")]
    Signer(PublicKeyError),
    /// The body kind is set aside for a later protocol version.
    #[error("field `body`: kind {tag} ({purpose}) is not accepted by this protocol version")]
    ReservedBodyKind {
        /// The kind tag.
        tag: u8,
        /// What it is reserved for.
        purpose: &'static str,
    },
    /// The body kind is not defined.
    #[error("field `body`: unknown kind {tag}")]
    UnknownBodyKind {
        /// The kind tag.
        tag: u8,
    },
    /// A list field declares more entries than any transaction may carry.
    #[error("field `{field}` has {count} entries, the limit is {max}")]
    TooManyEntries {
        /// The field.
        field: &'static str,
        /// Declared count.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// A text field is longer than any transaction may carry.
    #[error("field `{field}` is {len} bytes, the limit is {max}")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A text field is not UTF-8.
    #[error("field `{field}` is not valid UTF-8")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
    /// An actor role byte names no role.
    #[error("field `body.role`: unknown actor role {tag}")]
    UnknownRole {
        /// The byte.
        tag: u8,
    },
    /// Bytes remain after the signature.
    #[error("{count} trailing bytes after the signature")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// A well-formed transaction together with what verification and execution
/// need: its hash and the exact signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedTx {
    /// The decoded envelope.
    pub tx: SignedTx,
    /// BLAKE3 of the raw bytes.
    pub hash: Hash,
    /// `TX_SIGN_DOMAIN || payload bytes`, the message the signature covers.
    pub message: Vec<u8>,
    /// Length of the raw encoding in bytes.
    pub encoded_len: usize,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], TxDecodeError> {
        if self.bytes.len() < n {
            return Err(TxDecodeError::Truncated {
                field,
                needed: n,
                remaining: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], TxDecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TxDecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, TxDecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, TxDecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// A u32 count prefix, refused above `max` before anything is allocated.
    fn count(&mut self, field: &'static str, max: usize) -> Result<usize, TxDecodeError> {
        let count = self.u32(field)?;
        if count as usize > max {
            return Err(TxDecodeError::TooManyEntries {
                field,
                count: u64::from(count),
                max,
            });
        }
        Ok(count as usize)
    }

    /// A u32-length-prefixed UTF-8 string of at most `max` bytes.
    fn string(&mut self, field: &'static str, max: usize) -> Result<String, TxDecodeError> {
        let len = self.u32(field)?;
        if len as usize > max {
            return Err(TxDecodeError::FieldTooLong {
                field,
                len: u64::from(len),
                max,
            });
        }
        let bytes = self.take(field, len as usize)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| TxDecodeError::NotUtf8 { field })
    }

    fn chains(&mut self) -> Result<Vec<RelayChain>, TxDecodeError> {
        let n = self.count("body.chains", MAX_CHAINS_PER_ACTOR)?;
        (0..n)
            .map(|_| {
                self.string("body.chains[]", MAX_RELAY_CHAIN_BYTES)
                    .map(RelayChain)
            })
            .collect()
    }

    fn addresses(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<Address>, TxDecodeError> {
        let n = self.count(field, max)?;
        (0..n)
            .map(|_| Ok(Address(self.array::<ADDRESS_LEN>(field)?)))
            .collect()
    }
}

fn read_body(r: &mut Reader<'_>) -> Result<TxBody, TxDecodeError> {
    let tag = r.u8("body.kind")?;
    match tag {
        kind::TRANSFER => {
            let to = Address(r.array::<ADDRESS_LEN>("body.to")?);
            let amount = r.u64("body.amount")?;
            Ok(TxBody::Transfer { to, amount })
        }
        kind::STAKE => Ok(TxBody::Stake {
            amount: r.u64("body.amount")?,
        }),
        kind::UNSTAKE => Ok(TxBody::Unstake {
            amount: r.u64("body.amount")?,
        }),
        kind::SERVICER_STAKE => Ok(TxBody::ServicerStake {
            stake: r.u64("body.stake")?,
            chains: r.chains()?,
            service_url: r.string("body.service_url", MAX_SERVICE_URL_BYTES)?,
        }),
        kind::APPLICATION_STAKE => Ok(TxBody::ApplicationStake {
            stake: r.u64("body.stake")?,
            chains: r.chains()?,
            gateways: r.addresses("body.gateways", MAX_DELEGATED_GATEWAYS_LIMIT as usize)?,
        }),
        kind::FISHERMAN_STAKE => Ok(TxBody::FishermanStake {
            stake: r.u64("body.stake")?,
            chains: r.chains()?,
        }),
        kind::SERVICER_UNSTAKE => Ok(TxBody::ServicerUnstake),
        kind::APPLICATION_UNSTAKE => Ok(TxBody::ApplicationUnstake),
        kind::FISHERMAN_UNSTAKE => Ok(TxBody::FishermanUnstake),
        kind::SERVICER_PAUSE => Ok(TxBody::ServicerPause),
        kind::SERVICER_UNPAUSE => Ok(TxBody::ServicerUnpause),
        kind::UNJAIL => {
            let tag = r.u8("body.role")?;
            let role = ActorRole::from_tag(tag).ok_or(TxDecodeError::UnknownRole { tag })?;
            Ok(TxBody::Unjail { role })
        }
        other => match reserved_body_kind(other) {
            Some(purpose) => Err(TxDecodeError::ReservedBodyKind {
                tag: other,
                purpose,
            }),
            None => Err(TxDecodeError::UnknownBodyKind { tag: other }),
        },
    }
}

/// Decodes untrusted bytes. Accepts only the canonical encoding: every
/// well-formed transaction has exactly one byte representation, and
/// `decode_tx(b)?.tx.encode() == b`.
pub fn decode_tx(bytes: &[u8]) -> Result<DecodedTx, TxDecodeError> {
    decode_with(bytes, &mut PublicKey::from_bytes)
}

/// Signer keys already decompressed, by their bytes, so that decoding many transactions of the
/// same senders decompresses each key once ([`decode_tx_cached`]). Clones share one set of
/// keys, so that every part of a node that decodes transactions fills and uses the same cache.
/// Bounded: when full it starts over.
#[derive(Debug, Clone)]
pub struct KeyCache {
    shared: std::sync::Arc<std::sync::Mutex<CachedKeys>>,
}

#[derive(Debug)]
struct CachedKeys {
    keys: std::collections::HashMap<[u8; 32], PublicKey>,
    max: usize,
}

impl KeyCache {
    /// An empty cache holding at most `max` keys.
    pub fn new(max: usize) -> Self {
        KeyCache {
            shared: std::sync::Arc::new(std::sync::Mutex::new(CachedKeys {
                keys: std::collections::HashMap::new(),
                max: max.max(1),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CachedKeys> {
        // The map stays consistent whatever a panicking holder did: each step is one insert or
        // one clear.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(&self, bytes: [u8; 32]) -> Result<PublicKey, PublicKeyError> {
        if let Some(k) = self.lock().keys.get(&bytes) {
            return Ok(*k);
        }
        // Decompressing is the slow part: done without holding the lock.
        let k = PublicKey::from_bytes(bytes)?;
        let mut cache = self.lock();
        if cache.keys.len() >= cache.max {
            cache.keys.clear();
        }
        cache.keys.insert(bytes, k);
        Ok(k)
    }
}

/// [`decode_tx`] with signer keys taken from (and added to) `keys`; same result.
pub fn decode_tx_cached(bytes: &[u8], keys: &KeyCache) -> Result<DecodedTx, TxDecodeError> {
    decode_with(bytes, &mut |b| keys.key(b))
}

fn decode_with(
    bytes: &[u8],
    parse_key: &mut dyn FnMut([u8; 32]) -> Result<PublicKey, PublicKeyError>,
) -> Result<DecodedTx, TxDecodeError> {
    if bytes.is_empty() {
        return Err(TxDecodeError::Empty);
    }
    if bytes.len() > MAX_TX_BYTES {
        return Err(TxDecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_TX_BYTES,
        });
    }
    let mut r = Reader { bytes };
    let chain_len = r.u32("chain_id.length")?;
    if chain_len as usize > MAX_CHAIN_ID_BYTES {
        return Err(TxDecodeError::ChainIdTooLong {
            len: u64::from(chain_len),
            max: MAX_CHAIN_ID_BYTES,
        });
    }
    let chain_id = std::str::from_utf8(r.take("chain_id", chain_len as usize)?)
        .map_err(|_| TxDecodeError::ChainIdNotUtf8)?
        .to_owned();
    let signer = parse_key(r.array::<32>("signer")?).map_err(TxDecodeError::Signer)?;
    let nonce = r.u64("nonce")?;
    let fee = r.u64("fee")?;
    let body = read_body(&mut r)?;
    let payload_len = bytes.len() - r.bytes.len();
    let signature = r.array::<SIGNATURE_LEN>("signature")?;
    if !r.bytes.is_empty() {
        return Err(TxDecodeError::TrailingBytes {
            count: r.bytes.len(),
        });
    }
    let mut message = Vec::with_capacity(TX_SIGN_DOMAIN.len() + payload_len);
    message.extend_from_slice(TX_SIGN_DOMAIN);
    message.extend_from_slice(&bytes[..payload_len]);
    Ok(DecodedTx {
        tx: SignedTx {
            payload: TxPayload {
                chain_id,
                signer,
                nonce,
                fee,
                body,
            },
            signature,
        },
        hash: Hash::of(bytes),
        message,
        encoded_len: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_decoding_gives_the_same_result_and_keeps_keys() {
        let sk = SigningKey::from_bytes(&[5; 32]);
        let tx = |nonce| {
            crate::tx::TxPayload {
                chain_id: "c".into(),
                signer: PublicKey::from(sk.verifying_key()),
                nonce,
                fee: 1,
                body: crate::tx::TxBody::Stake { amount: 2 },
            }
            .sign(&sk)
            .encode()
        };
        let keys = KeyCache::new(1);
        assert!(keys.is_empty());
        for nonce in 0..3 {
            let bytes = tx(nonce);
            assert_eq!(decode_tx_cached(&bytes, &keys), decode_tx(&bytes));
        }
        assert_eq!(keys.len(), 1);
        let mut bad = tx(0);
        bad[5..37].copy_from_slice(&[0; 32]);
        assert_eq!(decode_tx_cached(&bad, &keys), decode_tx(&bad));
        assert!(decode_tx(&bad).is_err());
        assert_eq!(keys.len(), 1, "refused keys are not kept");
        let shared = keys.clone();
        let other = SigningKey::from_bytes(&[6; 32]);
        let from_other = crate::tx::TxPayload {
            chain_id: "c".into(),
            signer: PublicKey::from(other.verifying_key()),
            nonce: 0,
            fee: 1,
            body: crate::tx::TxBody::Stake { amount: 2 },
        }
        .sign(&other)
        .encode();
        assert!(decode_tx_cached(&from_other, &shared).is_ok());
        assert_eq!(keys.len(), 1, "full: it started over with the new key");
        let roomy = KeyCache::new(4);
        let clone = roomy.clone();
        assert!(decode_tx_cached(&from_other, &clone).is_ok());
        assert_eq!(roomy.len(), 1, "clones share their keys");
    }
    use ed25519_dalek::SigningKey;

    fn sample() -> SignedTx {
        let sk = SigningKey::from_bytes(&[11; 32]);
        TxPayload {
            chain_id: "chain".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce: 1,
            fee: 0,
            body: TxBody::Stake { amount: 77 },
        }
        .sign(&sk)
    }

    #[test]
    fn round_trip_is_exact() {
        let tx = sample();
        let bytes = tx.encode();
        let decoded = decode_tx(&bytes).unwrap();
        assert_eq!(decoded.tx, tx);
        assert_eq!(decoded.hash, tx.hash());
        assert_eq!(decoded.message, tx.payload.signing_bytes());
        assert_eq!(decoded.encoded_len, bytes.len());
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let bytes = sample().encode();
        for cut in 1..bytes.len() {
            match decode_tx(&bytes[..cut]) {
                Err(TxDecodeError::Truncated { .. }) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        assert_eq!(decode_tx(&[]), Err(TxDecodeError::Empty));
    }

    #[test]
    fn trailing_and_oversized_input_rejected() {
        let mut bytes = sample().encode();
        bytes.push(0);
        assert_eq!(
            decode_tx(&bytes),
            Err(TxDecodeError::TrailingBytes { count: 1 })
        );
        let huge = vec![0u8; MAX_TX_BYTES + 1];
        assert_eq!(
            decode_tx(&huge),
            Err(TxDecodeError::TooLarge {
                len: MAX_TX_BYTES + 1,
                max: MAX_TX_BYTES
            })
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let good = sample().encode();
        // Chain id length far too large.
        let mut b = good.clone();
        b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_tx(&b),
            Err(TxDecodeError::ChainIdTooLong { .. })
        ));
        // Chain id not UTF-8.
        let mut b = good.clone();
        b[4] = 0xff;
        assert_eq!(decode_tx(&b), Err(TxDecodeError::ChainIdNotUtf8));
        // Body kind: offset = 4 + 5 + 32 + 8 + 8.
        let kind_at = 4 + 5 + 32 + 16;
        let mut b = good.clone();
        b[kind_at] = 9;
        assert!(matches!(
            decode_tx(&b),
            Err(TxDecodeError::ReservedBodyKind { tag: 9, .. })
        ));
        b[kind_at] = 200;
        assert_eq!(
            decode_tx(&b),
            Err(TxDecodeError::UnknownBodyKind { tag: 200 })
        );
        // Small-order signer key.
        let mut b = good.clone();
        b[9..41].copy_from_slice(&{
            let mut k = [0u8; 32];
            k[0] = 1;
            k
        });
        assert!(matches!(decode_tx(&b), Err(TxDecodeError::Signer(_))));
    }

    fn signed_body(body: TxBody) -> Vec<u8> {
        let sk = SigningKey::from_bytes(&[12; 32]);
        TxPayload {
            chain_id: "c".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce: 0,
            fee: 0,
            body,
        }
        .sign(&sk)
        .encode()
    }

    fn actor_bodies() -> Vec<TxBody> {
        vec![
            TxBody::ServicerStake {
                stake: 5,
                chains: vec!["a".into(), "eth".into()],
                service_url: "https://x".into(),
            },
            TxBody::ServicerUnstake,
            TxBody::ApplicationStake {
                stake: 6,
                chains: vec!["eth".into()],
                gateways: vec![Address([1; 20]), Address([2; 20])],
            },
            TxBody::ApplicationUnstake,
            TxBody::FishermanStake {
                stake: 7,
                chains: vec!["eth".into()],
            },
            TxBody::FishermanUnstake,
            TxBody::ServicerPause,
            TxBody::ServicerUnpause,
            TxBody::Unjail {
                role: crate::actors::ActorRole::Application,
            },
        ]
    }

    #[test]
    fn actor_bodies_round_trip_and_every_truncation_is_typed() {
        for body in actor_bodies() {
            let bytes = signed_body(body.clone());
            assert_eq!(decode_tx(&bytes).map(|d| d.tx.payload.body), Ok(body));
            for cut in 1..bytes.len() {
                assert!(
                    matches!(
                        decode_tx(&bytes[..cut]),
                        Err(TxDecodeError::Truncated { .. })
                    ),
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn actor_body_layouts_are_exact() {
        let mut out = Vec::new();
        borsh::BorshSerialize::serialize(&actor_bodies()[0], &mut out).unwrap();
        let mut expected = vec![3];
        expected.extend_from_slice(&5u64.to_le_bytes());
        expected.extend_from_slice(&2u32.to_le_bytes());
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(b"a");
        expected.extend_from_slice(&3u32.to_le_bytes());
        expected.extend_from_slice(b"eth");
        expected.extend_from_slice(&9u32.to_le_bytes());
        expected.extend_from_slice(b"https://x");
        assert_eq!(out, expected);
        let mut out = Vec::new();
        borsh::BorshSerialize::serialize(&actor_bodies()[2], &mut out).unwrap();
        let mut expected = vec![5];
        expected.extend_from_slice(&6u64.to_le_bytes());
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(&3u32.to_le_bytes());
        expected.extend_from_slice(b"eth");
        expected.extend_from_slice(&2u32.to_le_bytes());
        expected.extend_from_slice(&[1; 20]);
        expected.extend_from_slice(&[2; 20]);
        assert_eq!(out, expected);
        let tags: Vec<u8> = actor_bodies().iter().map(TxBody::kind).collect();
        assert_eq!(tags, vec![3, 4, 5, 6, 7, 8, 14, 15, 16]);
        let mut out = Vec::new();
        borsh::BorshSerialize::serialize(&actor_bodies()[8], &mut out).unwrap();
        assert_eq!(out, vec![16, 1]);
    }

    #[test]
    fn actor_body_limits_are_enforced_before_allocation() {
        let kind_at = 4 + 1 + 32 + 16;
        let base = signed_body(TxBody::FishermanStake {
            stake: 7,
            chains: vec!["eth".into()],
        });
        let count_at = kind_at + 1 + 8;
        // 16 chains is the limit; a count of 17 is refused at once.
        let mut b = base.clone();
        b[count_at..count_at + 4].copy_from_slice(&17u32.to_le_bytes());
        assert_eq!(
            decode_tx(&b),
            Err(TxDecodeError::TooManyEntries {
                field: "body.chains",
                count: 17,
                max: 16
            })
        );
        let mut b = base.clone();
        b[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_tx(&b),
            Err(TxDecodeError::TooManyEntries { .. })
        ));
        // A chain name longer than 32 bytes.
        let mut b = base.clone();
        b[count_at + 4..count_at + 8].copy_from_slice(&33u32.to_le_bytes());
        assert_eq!(
            decode_tx(&b),
            Err(TxDecodeError::FieldTooLong {
                field: "body.chains[]",
                len: 33,
                max: 32
            })
        );
        let mut b = base.clone();
        b[count_at + 8] = 0xff;
        assert_eq!(
            decode_tx(&b),
            Err(TxDecodeError::NotUtf8 {
                field: "body.chains[]"
            })
        );
        let many = |n: usize| TxBody::ApplicationStake {
            stake: 1,
            chains: vec!["eth".into()],
            gateways: (0..n).map(|i| Address([i as u8; 20])).collect(),
        };
        assert!(decode_tx(&signed_body(many(16))).is_ok());
        assert!(matches!(
            decode_tx(&signed_body(many(17))),
            Err(TxDecodeError::TooManyEntries {
                field: "body.gateways",
                ..
            })
        ));
        let url = |n: usize| TxBody::ServicerStake {
            stake: 1,
            chains: vec!["eth".into()],
            service_url: "u".repeat(n),
        };
        assert!(decode_tx(&signed_body(url(256))).is_ok());
        assert!(matches!(
            decode_tx(&signed_body(url(257))),
            Err(TxDecodeError::FieldTooLong {
                field: "body.service_url",
                ..
            })
        ));
        let mut b = signed_body(TxBody::Unjail {
            role: crate::actors::ActorRole::Servicer,
        });
        b[kind_at + 1] = 3;
        assert_eq!(decode_tx(&b), Err(TxDecodeError::UnknownRole { tag: 3 }));
    }

    #[test]
    fn messages_name_the_field() {
        let bytes = sample().encode();
        let err = decode_tx(&bytes[..20]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "transaction ends inside field `signer`: needs 32 bytes, 11 left"
        );
    }
}
