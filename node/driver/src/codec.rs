//! Bytes in and out: the canonical borsh encoding of consensus types, and decoding of untrusted
//! bytes with a size limit checked before anything is parsed.

use borsh::{BorshDeserialize, BorshSerialize};

/// Why bytes are not a usable value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than allowed.
    #[error("{what}: {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// What was decoded.
        what: &'static str,
        /// Bytes given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a canonical encoding (truncated, bad tag, trailing bytes, invalid content).
    #[error("{what}: malformed: {reason}")]
    Malformed {
        /// What was decoded.
        what: &'static str,
        /// The decoder's reason.
        reason: String,
    },
}

/// Decodes `bytes` as `T`, refusing more than `max` bytes and trailing bytes.
pub fn decode<T: BorshDeserialize>(
    bytes: &[u8],
    max: usize,
    what: &'static str,
) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    borsh::from_slice(bytes).map_err(|e| DecodeError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// The canonical encoding of `value`.
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Serialising into a Vec cannot fail: borsh only reports writer errors.
    let _ = value.serialize(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netwright_consensus::{
        BlockHash, ConsensusMessage, SignatureBytes, SignedVote, ValidatorId, Vote, VoteKind,
    };

    fn vote() -> ConsensusMessage {
        ConsensusMessage::Vote(SignedVote {
            vote: Vote {
                height: 3,
                round: 1,
                kind: VoteKind::Prevote,
                block: Some(BlockHash([7; 32])),
                validator: ValidatorId([1; 32]),
            },
            signature: SignatureBytes([2; 64]),
        })
    }

    #[test]
    fn roundtrip_and_limits() {
        let bytes = encode(&vote());
        let back: ConsensusMessage = decode(&bytes, 1024, "message").unwrap();
        assert_eq!(back, vote());
        let e = decode::<ConsensusMessage>(&bytes, bytes.len() - 1, "message").unwrap_err();
        assert!(
            matches!(e, DecodeError::TooLarge { len, .. } if len == bytes.len()),
            "{e}"
        );
    }

    #[test]
    fn truncated_trailing_and_bad_tags_are_malformed() {
        let bytes = encode(&vote());
        let cut = decode::<ConsensusMessage>(&bytes[..bytes.len() - 1], 1024, "message");
        assert!(matches!(cut, Err(DecodeError::Malformed { .. })));
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<ConsensusMessage>(&long, 1024, "message").is_err());
        let mut tag = bytes;
        tag[0] = 9;
        let e = decode::<ConsensusMessage>(&tag, 1024, "message").unwrap_err();
        assert!(e.to_string().starts_with("message: malformed"), "{e}");
    }

    #[test]
    fn huge_length_prefix_does_not_allocate_or_panic() {
        // A proposal whose block claims 2^32-1 transactions but carries none.
        let mut bytes = vec![0u8]; // Proposal tag
        bytes.extend([0u8; 200]);
        bytes.extend([0xff; 4]);
        assert!(decode::<ConsensusMessage>(&bytes, 1 << 20, "message").is_err());
    }
}
