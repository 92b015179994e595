//! Typed calls to the nodes' RPC (`/status`, `/validators`, `/accounts/{addr}`, `POST /txs`) and
//! to a managed relay chain's JSON-RPC (`eth_blockNumber`), on loopback.
//!
//! [`NodeRpc`] wraps the async client of `netwright-node-api` with the backend's deadlines and
//! keeps the connections to the nodes alive between calls. Every call is bounded by its
//! deadline, so a node that hangs (stopped with SIGSTOP, say) costs one deadline, never more.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use netwright_node_api::client::{ClientError, RpcClient};
use netwright_node_api::rpc::{AccountView, StatusView, ValidatorView};
use serde::Deserialize;

use crate::backend::BackendError;

/// How long a status or query request may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a `POST /txs?wait=commit` may take (the node answers 504 after its own
/// `rpc.commit_wait_ms`, 30 s by default).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(45);

/// The nodes' and relay chains' RPC on loopback.
#[derive(Debug, Clone)]
pub struct NodeRpc {
    client: RpcClient,
}

impl NodeRpc {
    /// A client with the backend's deadlines.
    pub fn new() -> Result<Self, BackendError> {
        let client = RpcClient::new(&url(0))
            .map_err(|e| BackendError::new(e.to_string()))?
            .with_timeout(QUERY_TIMEOUT);
        Ok(Self { client })
    }

    /// The client for the server on loopback `port` (sharing the connection pool).
    pub fn at(&self, port: u16) -> Result<RpcClient, ClientError> {
        self.client.for_url(&url(port))
    }

    /// `GET /status` of the node whose RPC listens on `port`.
    pub async fn status(&self, port: u16) -> Result<StatusView, ClientError> {
        let client = self.at(port)?;
        client.status().await
    }

    /// `GET /validators`.
    pub async fn validators(&self, port: u16) -> Result<Vec<ValidatorView>, ClientError> {
        let client = self.at(port)?;
        client.validators().await
    }

    /// `GET /accounts/{address}`.
    pub async fn account(&self, port: u16, address: &str) -> Result<AccountView, ClientError> {
        let client = self.at(port)?;
        client.account(address).await
    }

    /// `POST /txs?wait=commit`: submits an encoded transaction and waits for its block; returns
    /// the height it was committed at.
    pub async fn submit_and_wait(&self, port: u16, tx: &[u8]) -> Result<u64, ClientError> {
        let client = self.at(port)?;
        let outcome = client.submit_and_wait(tx, COMMIT_TIMEOUT).await?;
        outcome.height.ok_or_else(|| ClientError::Decode {
            url: format!("{}/txs?wait=commit", client.base_url()),
            status: 200,
            reason: "the answer names no commit height".to_string(),
        })
    }

    /// `eth_blockNumber` of the JSON-RPC server on `port`.
    pub async fn eth_block_number(&self, port: u16) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Reply {
            result: Option<String>,
        }
        let client = self.at(port)?;
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []
        });
        let reply: Reply = client.post_json("/", &request, QUERY_TIMEOUT).await?;
        let unexpected = |reason: String| ClientError::Decode {
            url: format!("{}/", client.base_url()),
            status: 200,
            reason,
        };
        let hex = reply
            .result
            .ok_or_else(|| unexpected("eth_blockNumber returned no result".to_string()))?;
        u64::from_str_radix(hex.trim_start_matches("0x"), 16)
            .map_err(|_| unexpected(format!("eth_blockNumber returned {hex:?}")))
    }
}

fn url(port: u16) -> String {
    format!("http://{}", SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}
