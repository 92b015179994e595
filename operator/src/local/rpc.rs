//! Typed calls to a node's RPC (`/status`, `/validators`, `/accounts/{addr}`, `POST /txs`) and
//! to a managed relay chain's JSON-RPC (`eth_blockNumber`), on loopback.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::http::{request, Answer};

/// How long a status or query request may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a `POST /txs?wait=commit` may take (the node answers 504 after its own
/// `rpc.commit_wait_ms`, 30 s by default).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(45);

/// What `GET /status` reports that the backend uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// Last committed height.
    pub height: u64,
    /// Whether the node is syncing blocks to catch up.
    pub catching_up: bool,
    /// Connected peers.
    pub peers: u64,
}

/// One entry of `GET /validators`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Validator {
    /// Consensus key, hex.
    pub public_key: String,
    /// Bonded stake.
    pub stake: u64,
}

/// What `GET /accounts/{addr}` reports that the backend uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// Spendable balance.
    pub balance: u64,
    /// The nonce the next transaction must carry.
    pub nonce: u64,
    /// Bonded validator stake.
    pub staked: u64,
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `GET path` on the node RPC at `port`, decoded from JSON; the error names the address, the
/// path and the status or decoding failure.
pub fn get_json<T: for<'de> Deserialize<'de>>(port: u16, path: &str) -> Result<T, String> {
    let answer = request(addr(port), "GET", path, None, QUERY_TIMEOUT)?;
    decode(port, path, &answer)
}

fn decode<T: for<'de> Deserialize<'de>>(port: u16, path: &str, a: &Answer) -> Result<T, String> {
    if a.status != 200 {
        return Err(format!(
            "127.0.0.1:{port}{path}: status {}: {}",
            a.status,
            String::from_utf8_lossy(&a.body).trim()
        ));
    }
    serde_json::from_slice(&a.body)
        .map_err(|e| format!("127.0.0.1:{port}{path}: unexpected answer: {e}"))
}

/// `GET /status` of the node whose RPC listens on `port`.
pub fn status(port: u16) -> Result<Status, String> {
    get_json(port, "/status")
}

/// `GET /validators`.
pub fn validators(port: u16) -> Result<Vec<Validator>, String> {
    get_json(port, "/validators")
}

/// `GET /accounts/{address}`.
pub fn account(port: u16, address: &str) -> Result<Account, String> {
    get_json(port, &format!("/accounts/{address}"))
}

/// `POST /txs?wait=commit`: submits an encoded transaction and waits for its block; returns
/// the height it was committed at.
pub fn submit_and_wait(port: u16, tx: &[u8]) -> Result<u64, String> {
    #[derive(Deserialize)]
    struct Outcome {
        height: Option<u64>,
    }
    let path = "/txs?wait=commit";
    let body = serde_json::json!({ "tx": hex::encode(tx) }).to_string();
    let answer = request(
        addr(port),
        "POST",
        path,
        Some(body.as_bytes()),
        COMMIT_TIMEOUT,
    )?;
    let outcome: Outcome = decode(port, path, &answer)?;
    outcome
        .height
        .ok_or_else(|| format!("127.0.0.1:{port}{path}: the answer names no commit height"))
}

/// `eth_blockNumber` of the JSON-RPC server on `port`.
pub fn eth_block_number(port: u16) -> Result<u64, String> {
    #[derive(Deserialize)]
    struct Reply {
        result: Option<String>,
    }
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;
    let answer = request(
        addr(port),
        "POST",
        "/",
        Some(body.as_bytes()),
        QUERY_TIMEOUT,
    )?;
    let reply: Reply = decode(port, "/", &answer)?;
    let hex = reply
        .result
        .ok_or_else(|| format!("127.0.0.1:{port}: eth_blockNumber returned no result"))?;
    u64::from_str_radix(hex.trim_start_matches("0x"), 16)
        .map_err(|_| format!("127.0.0.1:{port}: eth_blockNumber returned {hex:?}"))
}
