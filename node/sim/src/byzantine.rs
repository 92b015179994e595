//! How byzantine validators rewrite what their (honest) driver sends: each function takes a
//! message the driver signed and returns the validly signed messages the validator sends
//! instead. Blocks are rebuilt with real execution where the attack needs a valid block (the
//! second proposal of an equivocator), and left invalid where the attack is the invalid block.

use crate::workload::SIM_CHAIN_ID;
use netwright_consensus::encoding::tx_root;
use netwright_consensus::{
    Block, BlockHash, ConsensusMessage, Evidence, Height, Proposal, Round, SignatureBytes,
    SignedProposal, SignedVote, Signer, Vote, VoteKind,
};
use netwright_ledger::Ledger;

/// A proposal of `block` in the slot of `proposal`, re-signed (header fields recomputed).
fn repropose(proposal: &SignedProposal, mut block: Block, signer: &Signer) -> ConsensusMessage {
    block.header.tx_root = tx_root(&block.txs);
    block.header.evidence_root = Block::evidence_root_of(&block.evidence);
    let proposal = Proposal {
        block_hash: block.hash(),
        ..proposal.proposal
    }
    .sign(SIM_CHAIN_ID, signer);
    ConsensusMessage::Proposal { proposal, block }
}

/// A second block for the slot of `block` that is valid too: the same block without its last
/// transaction (or, without transactions, one millisecond later), with the state root that
/// executing it on `ledger` (the parent state) gives.
pub fn alternative_block(ledger: &Ledger, block: &Block) -> Block {
    let mut alt = block.clone();
    if alt.txs.pop().is_none() {
        alt.header.time_ms = alt.header.time_ms.saturating_add(1);
    }
    if let Ok(outcome) = ledger
        .clone()
        .apply_block(alt.header.height, alt.header.time_ms, &alt.txs)
    {
        alt.header.state_root = outcome.state_root.0;
    }
    alt
}

/// An `equivocate` validator's second proposal for the slot of `proposal` (a valid block).
pub fn conflicting_proposal(
    ledger: &Ledger,
    proposal: &SignedProposal,
    block: &Block,
    signer: &Signer,
) -> ConsensusMessage {
    repropose(proposal, alternative_block(ledger, block), signer)
}

/// An `equivocate` validator's second vote for the slot of `vote`: for `other` when given (the
/// block the other half of the network saw proposed), else for `fallback` instead of nil, or
/// nil instead of a block.
pub fn conflicting_vote(
    vote: &SignedVote,
    other: Option<BlockHash>,
    fallback: BlockHash,
    signer: &Signer,
) -> ConsensusMessage {
    let block = match (vote.vote.block, other) {
        (Some(_), other) => other,
        (None, _) => Some(fallback),
    };
    ConsensusMessage::Vote(Vote { block, ..vote.vote }.sign(SIM_CHAIN_ID, signer))
}

/// An `invalid` validator's proposal: its block claims a state root no execution gives.
pub fn invalid_proposal(
    proposal: &SignedProposal,
    block: &Block,
    signer: &Signer,
) -> ConsensusMessage {
    let mut bad = block.clone();
    bad.header.state_root = *blake3::hash(&block.header.state_root).as_bytes();
    repropose(proposal, bad, signer)
}

/// A `forged-time` validator's proposal: its block is timed at the end of time, which no child
/// block could ever follow, and is otherwise valid (its state root is that of executing it at
/// that time on `ledger`, the parent state).
pub fn forged_time_proposal(
    ledger: &Ledger,
    proposal: &SignedProposal,
    block: &Block,
    signer: &Signer,
) -> ConsensusMessage {
    let mut forged = block.clone();
    forged.header.time_ms = u64::MAX;
    if let Ok(outcome) = ledger
        .clone()
        .apply_block(forged.header.height, u64::MAX, &forged.txs)
    {
        forged.header.state_root = outcome.state_root.0;
    }
    repropose(proposal, forged, signer)
}

/// A `bad-evidence` validator's proposal: evidence that proves nothing (a "duplicate" of two
/// identical proposals) heads its block's evidence list.
pub fn bad_evidence_proposal(
    proposal: &SignedProposal,
    block: &Block,
    signer: &Signer,
    max_evidence: usize,
) -> ConsensusMessage {
    let p = proposal.proposal;
    let fake = Proposal {
        height: p.height,
        round: p.round,
        pol_round: None,
        block_hash: BlockHash([0; 32]),
        proposer: signer.id(),
    }
    .sign(SIM_CHAIN_ID, signer);
    let mut bad = block.clone();
    bad.evidence
        .insert(0, Evidence::DuplicateProposal { a: fake, b: fake });
    bad.evidence.truncate(max_evidence.max(1));
    repropose(proposal, bad, signer)
}

/// A `wrong-valid-round` validator's proposal: a `pol_round` at which there was no polka for
/// it (derived from the slot, so every copy carries the same one), or the proposal unchanged
/// when no such round exists.
pub fn wrong_valid_round_proposal(
    node: usize,
    proposal: &SignedProposal,
    block: &Block,
    signer: &Signer,
) -> ConsensusMessage {
    let pr = proposal.proposal;
    let proposal = match fake_pol_round(node, pr.height, pr.round, pr.pol_round) {
        Some(pol) => Proposal {
            pol_round: Some(pol),
            ..pr
        }
        .sign(SIM_CHAIN_ID, signer),
        None => *proposal,
    };
    ConsensusMessage::Proposal {
        proposal,
        block: block.clone(),
    }
}

/// A `wrong-valid-round` validator's vote: for a block that does not exist (the same for every
/// copy, so it is not equivocation), nil votes unchanged.
pub fn vote_for_missing_block(node: usize, vote: &SignedVote, signer: &Signer) -> ConsensusMessage {
    if vote.vote.block.is_none() {
        return ConsensusMessage::Vote(*vote);
    }
    let kind = match vote.vote.kind {
        VoteKind::Prevote => 1u8,
        VoteKind::Precommit => 2,
    };
    let mut h = blake3::Hasher::new();
    h.update(b"netwright-sim block that does not exist");
    h.update(&(node as u64).to_le_bytes());
    h.update(&vote.vote.height.to_le_bytes());
    h.update(&vote.vote.round.to_le_bytes());
    h.update(&[kind]);
    let block = Some(BlockHash(*h.finalize().as_bytes()));
    ConsensusMessage::Vote(Vote { block, ..vote.vote }.sign(SIM_CHAIN_ID, signer))
}

/// A `far-future` validator's extra messages: signed copies of `msg` for rounds far beyond any
/// window (`u32::MAX`, 40,000,000, its round + 1,000) and for heights far ahead.
pub fn far_future(msg: &ConsensusMessage, signer: &Signer) -> Vec<ConsensusMessage> {
    let (height, round) = (msg.height(), msg.round());
    let slots = [
        (height, u32::MAX),
        (height, 40_000_000),
        (height, round.saturating_add(1_000)),
        (height.saturating_add(1_000), round),
        (height.saturating_add(1_000_000), u32::MAX),
    ];
    slots
        .into_iter()
        .map(|(height, round)| match msg {
            ConsensusMessage::Vote(v) => ConsensusMessage::Vote(
                Vote {
                    height,
                    round,
                    ..v.vote
                }
                .sign(SIM_CHAIN_ID, signer),
            ),
            ConsensusMessage::Proposal { proposal, block } => ConsensusMessage::Proposal {
                proposal: Proposal {
                    height,
                    round,
                    ..proposal.proposal
                }
                .sign(SIM_CHAIN_ID, signer),
                block: block.clone(),
            },
        })
        .collect()
}

/// A `resign` validator's second copy of `msg`: the same content under a second valid
/// signature (not equivocation).
pub fn resigned(msg: &ConsensusMessage, seed: &[u8; 32]) -> ConsensusMessage {
    match msg {
        ConsensusMessage::Vote(v) => ConsensusMessage::Vote(SignedVote {
            vote: v.vote,
            signature: second_signature(seed, &v.vote.sign_bytes(SIM_CHAIN_ID)),
        }),
        ConsensusMessage::Proposal { proposal, block } => ConsensusMessage::Proposal {
            proposal: SignedProposal {
                proposal: proposal.proposal,
                signature: second_signature(seed, &proposal.proposal.sign_bytes(SIM_CHAIN_ID)),
            },
            block: block.clone(),
        },
    }
}

/// A `pol_round` below `round` at which this run saw no polka for the proposal: any round other
/// than the real one (`None` when there is none, i.e. in round 0, or in round 1 re-proposing a
/// round-0 polka).
fn fake_pol_round(node: usize, height: Height, round: Round, real: Option<Round>) -> Option<Round> {
    if round == 0 {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update(&(node as u64).to_le_bytes());
    h.update(&height.to_le_bytes());
    h.update(&round.to_le_bytes());
    let mut pick = [0u8; 8];
    pick.copy_from_slice(&h.finalize().as_bytes()[..8]);
    let mut pol = (u64::from_le_bytes(pick) % u64::from(round)) as Round;
    if Some(pol) == real {
        if round == 1 {
            return None;
        }
        pol = (pol + 1) % round;
    }
    Some(pol)
}

/// A second valid ed25519 signature by the key with secret `seed` over `msg`. Signing is
/// deterministic, so the nonce is derived from another hash prefix than the key's own.
fn second_signature(seed: &[u8; 32], msg: &[u8]) -> SignatureBytes {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    use ed25519_dalek::{Digest, Sha512, SigningKey};
    let expanded: [u8; 64] = Sha512::digest(seed).into();
    let mut esk = ExpandedSecretKey::from_bytes(&expanded);
    esk.hash_prefix = [0xA5; 32];
    let key = SigningKey::from_bytes(seed).verifying_key();
    SignatureBytes(raw_sign::<Sha512>(&esk, msg, &key).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{genesis, node_seed};
    use netwright_consensus::SignatureVerifier;

    #[test]
    fn a_resigned_message_has_another_valid_signature() {
        let seed = node_seed(0);
        let signer = Signer::from_seed(seed);
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: 3,
            round: 1,
            block: None,
            validator: signer.id(),
        }
        .sign(SIM_CHAIN_ID, &signer);
        let ConsensusMessage::Vote(again) = resigned(&ConsensusMessage::Vote(vote), &seed) else {
            panic!("a vote stays a vote");
        };
        assert_eq!(again.vote, vote.vote);
        assert_ne!(again.signature, vote.signature);
        assert!(netwright_consensus::Ed25519Verifier.verify(
            &signer.id(),
            &again.vote.sign_bytes(SIM_CHAIN_ID),
            &again.signature
        ));
    }

    #[test]
    fn the_alternative_block_differs_and_executes_to_its_state_root() {
        let g = genesis(&[5, 7, 11], 3);
        let ledger = Ledger::from_genesis(&g).unwrap();
        let mut block = Block {
            header: netwright_consensus::BlockHeader {
                height: 1,
                round: 0,
                parent_hash: BlockHash([1; 32]),
                proposer: Signer::from_seed(node_seed(0)).id(),
                time_ms: 10,
                tx_root: tx_root(&[]),
                state_root: [0; 32],
                validator_set_hash: [0; 32],
                evidence_root: Block::evidence_root_of(&[]),
            },
            txs: Vec::new(),
            evidence: Vec::new(),
        };
        block.header.state_root = ledger
            .clone()
            .apply_block(1, 10, &block.txs)
            .unwrap()
            .state_root
            .0;
        let alt = alternative_block(&ledger, &block);
        assert_ne!(alt.hash(), block.hash());
        let root = ledger
            .clone()
            .apply_block(1, alt.header.time_ms, &alt.txs)
            .unwrap()
            .state_root
            .0;
        assert_eq!(alt.header.state_root, root);
    }
}
