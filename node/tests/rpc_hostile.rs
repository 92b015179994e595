//! The RPC server against hostile or broken clients, over real loopback sockets: slow heads,
//! idle and excess connections, half-closed sockets, slow bodies and oversized requests.
//!
//! Deadlines are configured short (hundreds of milliseconds) and the tests only check that the
//! server acts within a generous bound ([`GENEROUS`]), never how fast.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netwright_node::rpc::{
    HealthView, NodeMetrics, NodeView, RpcLimits, StatusView, ViewError, MAX_HEAD_BYTES,
    MAX_URI_BYTES,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something the server must do after a deadline of at most a second.
const GENEROUS: Duration = Duration::from_secs(10);

/// A short deadline, for the limit under test.
const SHORT: Duration = Duration::from_millis(300);

/// A deadline no test reaches.
const LONG: Duration = Duration::from_secs(120);

struct View;

impl NodeView for View {
    fn status(&self) -> StatusView {
        StatusView {
            moniker: "hostile".into(),
            height: 3,
            ..StatusView::default()
        }
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
        // Echoes the whole input, as the node's view does for a malformed address.
        Err(ViewError::BadRequest(format!(
            "address `{address}`: expected 40 hex digits"
        )))
    }
    fn submit_tx(&self, tx: Vec<u8>) -> Result<String, ViewError> {
        // Admission takes a moment, as in a node gathering submissions to verify in one batch
        // (runs on a blocking thread).
        std::thread::sleep(Duration::from_millis(50));
        Ok(blake3::hash(&tx).to_hex().to_string())
    }
    async fn wait_commit(&self, _hash: String) -> Result<u64, ViewError> {
        Ok(4)
    }
}

/// Starts a server with `limits`; returns its address and metrics.
async fn serve(limits: RpcLimits) -> (SocketAddr, Arc<NodeMetrics>) {
    support::serve_on_loopback(View, limits).await
}

fn limits() -> RpcLimits {
    RpcLimits {
        max_body_bytes: 1024,
        header_read_timeout: LONG,
        idle_timeout: LONG,
        body_read_timeout: LONG,
        ..RpcLimits::default()
    }
}

/// An answer read off a raw socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn error(&self) -> String {
        let v: Value =
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"));
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {self:?}"))
            .to_string()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Reads one answer (head, then a `content-length` body) from `stream`.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = tokio::time::timeout(GENEROUS, stream.read(&mut chunk))
            .await
            .expect("no answer in time")
            .expect("read failed");
        assert!(n > 0, "connection closed before an answer: {bytes:?}");
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut answer = Answer {
        status,
        head,
        body: String::new(),
    };
    let length: usize = answer
        .header("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let n = tokio::time::timeout(GENEROUS, stream.read(&mut chunk))
            .await
            .expect("body not in time")
            .expect("read failed");
        assert!(n > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    answer.body = String::from_utf8(body).unwrap();
    answer
}

/// Sends `request` on a new connection and reads the answer.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_answer(&mut stream).await
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").into_bytes()
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Asserts the server closes `stream` (end of stream or reset) within [`GENEROUS`], reading
/// and discarding whatever it still sends.
async fn assert_closed_by_server(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(GENEROUS, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: still open after {GENEROUS:?}");
}

#[tokio::test]
async fn slow_request_heads_are_cut_off() {
    let (addr, metrics) = serve(RpcLimits {
        header_read_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /status HTTP/1.1\r\nx-slow: ")
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header byte every 100 ms: the connection is never silent, its head never complete.
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(GENEROUS, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    trickle.abort();
    assert!(closed.is_ok(), "slow head still open after {GENEROUS:?}");
    eventually("timeout counted", || {
        metrics.rpc_connections_timed_out.get() == 1
    })
    .await;
}

#[tokio::test]
async fn idle_connections_are_closed_and_kept_alive_ones_reused() {
    // A short head deadline does not cut a kept-alive connection between requests.
    let (addr, _) = serve(RpcLimits {
        header_read_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&get("/status")).await.unwrap();
    assert_eq!(read_answer(&mut stream).await.status, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stream.write_all(&get("/status")).await.unwrap();
    assert_eq!(read_answer(&mut stream).await.status, 200);

    // A short idle deadline closes a connection that never sends a request, and one that
    // sends no further request after an answer.
    let (addr, metrics) = serve(RpcLimits {
        idle_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_closed_by_server(&mut silent, "silent connection").await;
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(&get("/status")).await.unwrap();
    assert_eq!(read_answer(&mut kept).await.status, 200);
    assert_closed_by_server(&mut kept, "idle kept-alive connection").await;
    eventually("timeouts counted", || {
        metrics.rpc_connections_timed_out.get() == 2
    })
    .await;
}

/// Polls `check` until it holds, for at most [`GENEROUS`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(GENEROUS, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what}: not within {GENEROUS:?}");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_the_limit_frees_up() {
    const LIMIT: usize = 4;
    const EXCESS: usize = 3;
    let (addr, metrics) = serve(RpcLimits {
        max_connections: LIMIT,
        ..limits()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..LIMIT {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    eventually("idle connections accepted", || {
        metrics.rpc_connections.get() == LIMIT as i64
    })
    .await;
    for i in 0..EXCESS {
        let mut excess = TcpStream::connect(addr).await.unwrap();
        assert_closed_by_server(&mut excess, &format!("connection {} over the limit", i + 1)).await;
        assert_eq!(metrics.rpc_connections.get(), LIMIT as i64);
    }
    assert_eq!(metrics.rpc_connections_refused.get(), EXCESS as u64);
    // The idle connections are still served.
    idle[0].write_all(&get("/status")).await.unwrap();
    assert_eq!(read_answer(&mut idle[0]).await.status, 200);

    drop(idle);
    eventually("idle connections released", || {
        metrics.rpc_connections.get() == 0
    })
    .await;
    let answer = exchange(addr, &get("/status")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn a_half_closed_client_gets_its_answer() {
    let (addr, _) = serve(limits()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&post("/txs", "{\"tx\": \"0102\"}"))
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let v: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v["hash"], blake3::hash(&[1, 2]).to_hex().to_string());
}

#[tokio::test]
async fn a_slow_body_is_refused_with_json_408() {
    let (addr, _) = serve(RpcLimits {
        body_read_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Announces 100 bytes and sends 10.
    stream
        .write_all(
            b"POST /txs HTTP/1.1\r\nhost: localhost\r\ncontent-length: 100\r\n\r\n{\"tx\": \"01",
        )
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(answer.error().contains("300 ms"), "{answer:?}");
}

#[tokio::test]
async fn refusals_by_the_http_layer_are_json() {
    let (addr, _) = serve(limits()).await;

    let answer = exchange(addr, b"DELETE /status HTTP/1.1\r\nhost: localhost\r\n\r\n").await;
    assert_eq!(answer.status, 405, "{answer:?}");
    assert!(answer.error().contains("`DELETE`"), "{answer:?}");
    assert!(
        answer.header("allow").is_some_and(|a| a.contains("GET")),
        "{answer:?}"
    );

    let long_target = format!("/status?pad={}", "x".repeat(MAX_URI_BYTES));
    let answer = exchange(addr, &get(&long_target)).await;
    assert_eq!(answer.status, 414, "{answer:?}");
    assert!(answer.error().contains("8192 bytes"), "{answer:?}");

    let big_header = format!(
        "GET /status HTTP/1.1\r\nhost: localhost\r\nx-pad: {}\r\n\r\n",
        "x".repeat(MAX_HEAD_BYTES)
    );
    let answer = exchange(addr, big_header.as_bytes()).await;
    assert_eq!(answer.status, 431, "{answer:?}");
    assert!(answer.error().contains("16384 bytes"), "{answer:?}");

    let big_body = format!("{{\"tx\": \"{}\"}}", "ab".repeat(1024));
    let answer = exchange(addr, &post("/txs", &big_body)).await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(answer.error().contains("1024 bytes"), "{answer:?}");

    // A query the extractor rejects (the field twice).
    let answer = exchange(
        addr,
        &post("/txs?wait=none&wait=commit", "{\"tx\": \"01\"}"),
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.error().contains("wait"), "{answer:?}");
}

#[tokio::test]
async fn refused_input_is_quoted_bounded() {
    let (addr, _) = serve(limits()).await;
    let address = "z".repeat(4_000);
    let answer = exchange(addr, &get(&format!("/accounts/{address}"))).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    let reason = answer.error();
    assert!(
        answer.body.len() < 1_024,
        "{} bytes: {answer:?}",
        answer.body.len()
    );
    assert!(reason.contains("characters)"), "{reason}");

    let height = "9".repeat(4_000);
    let answer = exchange(addr, &get(&format!("/blocks/{height}"))).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.body.len() < 256, "{answer:?}");
    assert!(answer.error().contains("(4000 characters)"), "{answer:?}");

    let wait = "w".repeat(4_000);
    let answer = exchange(
        addr,
        &post(&format!("/txs?wait={wait}"), "{\"tx\": \"01\"}"),
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.body.len() < 256, "{answer:?}");
    assert!(answer.error().contains("(4000 characters)"), "{answer:?}");
}
