//! Prints the process's resident memory (VmRSS) while the RPC server holds many idle
//! connections, and after they close. Each client sends one request and keeps its connection open;
//! clients beyond `rpc.max_connections` are closed by the server.
//!
//! Run with `cargo bench -p netwright-node --bench rpc_connections`. `RPC_BENCH_CLIENTS` sets
//! the number of clients (default 5,000), `RPC_BENCH_LIMIT` the connection limit (default 1,024).
//! Clients and server share the process, so the figures include the clients' side (one socket
//! and a small buffer each). Needs about two file descriptors per admitted client.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use netwright_node::rpc::{HealthView, NodeMetrics, NodeView, RpcLimits, StatusView, ViewError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct View;

impl NodeView for View {
    fn status(&self) -> StatusView {
        StatusView::default()
    }
    fn health(&self) -> HealthView {
        HealthView {
            healthy: true,
            detail: "ok".into(),
        }
    }
    fn block(&self, height: u64) -> Result<Value, ViewError> {
        Err(ViewError::NotFound(format!("no block at height {height}")))
    }
    fn block_txs(&self, height: u64) -> Result<Value, ViewError> {
        Err(ViewError::NotFound(format!("no block at height {height}")))
    }
    fn validators(&self) -> Result<Value, ViewError> {
        Ok(json!([]))
    }
    fn account(&self, address: &str) -> Result<Value, ViewError> {
        Err(ViewError::NotFound(format!("no account {address}")))
    }
    fn submit_tx(&self, _tx: Vec<u8>) -> Result<String, ViewError> {
        Err(ViewError::Unavailable("not in this bench".into()))
    }
    async fn wait_commit(&self, _hash: String) -> Result<u64, ViewError> {
        Err(ViewError::Unavailable("not in this bench".into()))
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Connects, asks for `/status` and reads the answer; `None` if the server closed the connection.
async fn client(addr: SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(b"GET /status HTTP/1.1\r\nhost: bench\r\n\r\n")
        .await
        .ok()?;
    let mut buf = [0u8; 1024];
    match stream.read(&mut buf).await {
        Ok(n) if n > 0 => Some(stream),
        _ => None,
    }
}

async fn settle(metrics: &NodeMetrics, open: i64) {
    while metrics.rpc_connections.get() != open {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::main]
async fn main() {
    let clients = env_or("RPC_BENCH_CLIENTS", 5_000);
    let limits = RpcLimits {
        max_connections: env_or("RPC_BENCH_LIMIT", 1_024),
        ..RpcLimits::default()
    };
    let (addr, metrics) = support::serve_on_loopback(View, limits).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();
    let mut held = Vec::new();
    for _ in 0..clients {
        if let Some(stream) = client(addr).await {
            held.push(stream);
        }
    }
    settle(&metrics, held.len() as i64).await;
    let peak = rss_kib();
    println!(
        "clients={clients} limit={} served_and_held={} refused={}",
        limits.max_connections,
        held.len(),
        metrics.rpc_connections_refused.get()
    );
    drop(held);
    settle(&metrics, 0).await;
    let after = rss_kib();
    println!("rss_kib before={before} holding={peak} after_close={after}");
}
