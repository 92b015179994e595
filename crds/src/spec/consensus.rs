//! Block production and BFT round timeouts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// How blocks are produced. Every field defaults from the profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsensusSpec {
    /// Target time between two committed blocks: the proposer of a new height waits until this
    /// much time has passed since the previous block. Between 10ms and 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_interval: Option<Duration>,

    /// Round-step timeouts of the BFT protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<TimeoutsSpec>,

    /// Largest encoded block, in bytes (1 KiB to 100 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 104_857_600))]
    pub max_block_bytes: Option<u64>,

    /// Most transactions in one block (1 to 1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max_txs_per_block: Option<u64>,
}

/// Round-step timeouts. A round that times out moves on to the next round with a new proposer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeoutsSpec {
    /// How long validators wait for the proposal of a round before prevoting nil. Between 10ms
    /// and 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propose: Option<Duration>,
    /// How long validators wait for more prevotes after seeing prevotes from more than 2/3 of
    /// the stake for different values. Between 10ms and 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevote: Option<Duration>,
    /// How long validators wait for more precommits after seeing precommits from more than 2/3
    /// of the stake for different values. Between 10ms and 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precommit: Option<Duration>,
    /// How long validators keep collecting late precommits after committing a block, before
    /// starting the next height. Between 0s and 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Duration>,
}
