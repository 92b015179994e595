//! Typed calls to the nodes' RPC (`/status`, `/validators`, `/accounts/{addr}`, `POST /txs`) and
//! to a managed relay chain's JSON-RPC (`eth_blockNumber`), on loopback.
//!
//! The backend is synchronous; [`NodeRpc`] runs the async client of `netwright-node-api` on a
//! current-thread tokio runtime of its own, built once per backend, and keeps the connections
//! to the nodes alive between calls.

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

/// The nodes' and relay chains' RPC on loopback, called synchronously.
#[derive(Debug)]
pub struct NodeRpc {
    runtime: tokio::runtime::Runtime,
    client: RpcClient,
}

impl NodeRpc {
    /// A runtime and a client with the backend's deadlines.
    pub fn new() -> Result<Self, BackendError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackendError::new(format!("cannot start the RPC client runtime: {e}")))?;
        let client = RpcClient::new(&url(0))
            .map_err(|e| BackendError::new(e.to_string()))?
            .with_timeout(QUERY_TIMEOUT);
        Ok(Self { runtime, client })
    }

    /// The client for the server on loopback `port` (sharing the connection pool).
    pub fn at(&self, port: u16) -> Result<RpcClient, ClientError> {
        self.client.for_url(&url(port))
    }

    /// Runs `future` (for example a [`crate::chain::Chain`] call) on this client's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `GET /status` of the node whose RPC listens on `port`.
    pub fn status(&self, port: u16) -> Result<StatusView, ClientError> {
        let client = self.at(port)?;
        self.runtime.block_on(client.status())
    }

    /// `GET /validators`.
    pub fn validators(&self, port: u16) -> Result<Vec<ValidatorView>, ClientError> {
        let client = self.at(port)?;
        self.runtime.block_on(client.validators())
    }

    /// `GET /accounts/{address}`.
    pub fn account(&self, port: u16, address: &str) -> Result<AccountView, ClientError> {
        let client = self.at(port)?;
        self.runtime.block_on(client.account(address))
    }

    /// `POST /txs?wait=commit`: submits an encoded transaction and waits for its block; returns
    /// the height it was committed at.
    pub fn submit_and_wait(&self, port: u16, tx: &[u8]) -> Result<u64, ClientError> {
        let client = self.at(port)?;
        let outcome = self
            .runtime
            .block_on(client.submit_and_wait(tx, COMMIT_TIMEOUT))?;
        outcome.height.ok_or_else(|| ClientError::Decode {
            url: format!("{}/txs?wait=commit", client.base_url()),
            status: 200,
            reason: "the answer names no commit height".to_string(),
        })
    }

    /// `eth_blockNumber` of the JSON-RPC server on `port`.
    pub fn eth_block_number(&self, port: u16) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Reply {
            result: Option<String>,
        }
        let client = self.at(port)?;
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []
        });
        let reply: Reply = self
            .runtime
            .block_on(client.post_json("/", &request, QUERY_TIMEOUT))?;
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
