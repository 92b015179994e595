//! The JSON the node's RPC serves and accepts, one type per answer or request body.
//!
//! The node builds its answers from these types and [`crate::client::RpcClient`] decodes them,
//! so the two sides share one definition. Errors are `{"error": reason}` ([`ErrorBody`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most transactions in one `POST /txs/batch`.
pub const MAX_BATCH_TXS: usize = 10_000;

/// Status of the node, served by `GET /status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// Node name from the configuration.
    pub moniker: String,
    /// Chain id from genesis.
    pub chain_id: String,
    /// This node's peer id.
    pub peer_id: String,
    /// Last committed height (0 before the first block).
    pub height: u64,
    /// Hash of the last committed block, hex (empty before the first block).
    pub latest_hash: String,
    /// Time of the last committed block, RFC 3339 (empty if unknown).
    pub latest_time: String,
    /// Current consensus round, if consensus runs.
    pub round: Option<u32>,
    /// Whether the node is syncing blocks to catch up.
    pub catching_up: bool,
    /// Connected peers.
    pub peers: u64,
    /// This node as a validator, if it is one: free-form object from the ledger.
    pub validator: Option<Value>,
    /// Whether the consensus engine is wired and running.
    pub consensus: bool,
}

/// Health, served by `GET /health` (503 when not healthy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// Whether the node considers itself healthy.
    pub healthy: bool,
    /// Human-readable details.
    pub detail: String,
}

/// A committed block, served by `GET /blocks/{height}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Its height.
    pub height: u64,
    /// Its hash, hex.
    pub hash: String,
    /// The hash of the block before it, hex.
    pub parent_hash: String,
    /// Its header time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The state root after it, hex.
    pub state_root: String,
    /// How many transactions it holds.
    pub txs: u64,
    /// The misbehaviour evidence it carries.
    pub evidence: Vec<EvidenceView>,
    /// The encoded block, hex.
    pub block: String,
    /// The encoded commit certificate, hex.
    pub cert: String,
    /// The validators whose precommits the commit certificate holds (public keys, hex), as
    /// the node decoded them: a quorum at least, not necessarily every validator that signed.
    #[serde(default)]
    pub signers: Vec<String>,
}

/// One piece of misbehaviour evidence inside a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceView {
    /// What was done, e.g. `duplicate_proposal`.
    pub kind: String,
    /// The offending validator's key, hex.
    pub offender: String,
    /// Height of the offence.
    pub height: u64,
    /// Round of the offence.
    pub round: u32,
}

/// A committed block as the hashes of its transactions, served by `GET /blocks/{height}/txs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTxsView {
    /// Its height.
    pub height: u64,
    /// Its hash, hex.
    pub hash: String,
    /// Its header time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The hashes of its transactions, hex, in block order.
    pub tx_hashes: Vec<String>,
}

/// One validator of the current set; `GET /validators` serves a list of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorView {
    /// Its account address.
    pub address: String,
    /// Its consensus key, hex.
    pub public_key: String,
    /// Bonded stake.
    pub stake: u64,
    /// Voting power (equal to the stake).
    pub power: u64,
}

/// An account, served by `GET /accounts/{address}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The account address.
    pub address: String,
    /// Spendable balance.
    pub balance: u64,
    /// The nonce the next transaction must carry.
    pub nonce: u64,
    /// Validator stake bonded by this account's key (0 if none).
    pub staked: u64,
    /// Pending unbonding entries, earliest first.
    pub unbonding: Vec<UnbondingView>,
}

/// Funds waiting to return to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingView {
    /// Amount in base units.
    pub amount: u64,
    /// The funds are credited at the end of the block at this height.
    pub matures_at_height: u64,
}

/// Body of `POST /txs`: one encoded transaction, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The encoded transaction, hex.
    pub tx: String,
}

/// Answer of `POST /txs`: 202 when admitted, 200 with the height under `?wait=commit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    /// Transaction hash, hex.
    pub hash: String,
    /// Height it was committed at (only with `?wait=commit`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u64>,
}

/// Body of `POST /txs/batch`: encoded transactions, hex (at most [`MAX_BATCH_TXS`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The encoded transactions, hex.
    pub txs: Vec<String>,
}

/// Answer of `POST /txs/batch`: one result per submitted transaction, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// The results, in the order of the request.
    pub results: Vec<BatchItem>,
}

/// One result of `POST /txs/batch`: the hash, and for a refused transaction the status code
/// `POST /txs` would have answered and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// Transaction hash, hex (empty when the item is not hex).
    pub hash: String,
    /// `202` when admitted, else the status `POST /txs` would answer (400, 409, 503, ...).
    pub status: u16,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// Every refusal: `{"error": reason}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Why the request was refused.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn submit_outcome_omits_a_missing_height_and_reads_it_back() {
        let pending = SubmitOutcome {
            hash: "ab".into(),
            height: None,
        };
        assert_eq!(
            serde_json::to_value(&pending).unwrap(),
            json!({"hash": "ab"})
        );
        let committed: SubmitOutcome =
            serde_json::from_value(json!({"hash": "ab", "height": 9})).unwrap();
        assert_eq!(committed.height, Some(9));
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let err = serde_json::from_value::<SubmitRequest>(json!({"tx": "00", "txx": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("txx"), "{err}");
        assert!(serde_json::from_value::<BatchRequest>(json!({"tx": []})).is_err());
    }
}
