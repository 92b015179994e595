//! The RPC over a real loopback socket, against a fake node view.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use netwright_node::rpc::{HealthView, NodeMetrics, NodeView, RpcLimits, StatusView, ViewError};
use serde_json::{json, Value};

#[derive(Default)]
struct Fake {
    txs: Mutex<HashMap<String, Vec<u8>>>,
}

impl NodeView for Fake {
    fn status(&self) -> StatusView {
        StatusView {
            moniker: "fake".into(),
            height: 7,
            peers: 3,
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
        if height <= 7 {
            Ok(json!({ "height": height }))
        } else {
            Err(ViewError::NotFound(format!("no block at height {height}")))
        }
    }
    fn block_txs(&self, height: u64) -> Result<Value, ViewError> {
        if height <= 7 {
            Ok(json!({ "height": height, "tx_hashes": ["ab"] }))
        } else {
            Err(ViewError::NotFound(format!("no block at height {height}")))
        }
    }
    fn validators(&self) -> Result<Value, ViewError> {
        Ok(json!([{ "address": "v1", "stake": 10 }]))
    }
    fn account(&self, address: &str) -> Result<Value, ViewError> {
        Err(ViewError::NotFound(format!("no account {address}")))
    }
    fn submit_tx(&self, tx: Vec<u8>) -> Result<String, ViewError> {
        if tx.is_empty() {
            return Err(ViewError::BadRequest("empty transaction".into()));
        }
        let hash = blake3::hash(&tx).to_hex().to_string();
        let mut txs = self.txs.lock().unwrap();
        if txs.insert(hash.clone(), tx).is_some() {
            return Err(ViewError::Conflict("already in the mempool".into()));
        }
        Ok(hash)
    }
    async fn wait_commit(&self, hash: String) -> Result<u64, ViewError> {
        let tx = self
            .txs
            .lock()
            .unwrap()
            .get(&hash)
            .cloned()
            .unwrap_or_default();
        if tx == b"never" {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(8)
    }
}

async fn serve() -> (SocketAddr, Arc<NodeMetrics>) {
    let limits = RpcLimits {
        max_body_bytes: 1024,
        commit_wait: Duration::from_millis(300),
        ..RpcLimits::default()
    };
    support::serve_on_loopback(Fake::default(), limits).await
}

async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

fn error_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {body}"))
        .to_string()
}

#[tokio::test]
async fn read_routes_serve_json() {
    let (addr, _) = serve().await;
    let (code, _, body) = call(addr, "GET", "/status", "").await;
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["height"].as_u64(), v["peers"].as_u64()),
        (Some(7), Some(3))
    );
    let (code, _, body) = call(addr, "GET", "/blocks/5", "").await;
    assert_eq!(
        (
            code,
            serde_json::from_str::<Value>(&body).unwrap()["height"].as_u64()
        ),
        (200, Some(5))
    );
    let (code, _, body) = call(addr, "GET", "/blocks/5/txs", "").await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["tx_hashes"][0],
        "ab"
    );
    let (code, _, body) = call(addr, "GET", "/validators", "").await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["stake"],
        10
    );
    let (code, _, _) = call(addr, "GET", "/health", "").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn errors_are_json_with_fitting_status() {
    let (addr, _) = serve().await;
    // Both block routes: a missing height, then a height that is not a number.
    for (missing, bad, named) in [
        ("/blocks/99", "/blocks/minus-one", "`minus-one`"),
        ("/blocks/99/txs", "/blocks/x/txs", "`x`"),
    ] {
        let (code, _, body) = call(addr, "GET", missing, "").await;
        assert_eq!(
            (code, error_of(&body)),
            (404, "no block at height 99".to_string()),
            "{missing}"
        );
        let (code, _, body) = call(addr, "GET", bad, "").await;
        assert_eq!(code, 400, "{bad}");
        assert!(error_of(&body).contains(named), "{bad}: {body}");
    }
    let (code, _, body) = call(addr, "GET", "/accounts/abc", "").await;
    assert_eq!((code, error_of(&body)), (404, "no account abc".to_string()));
    let (code, _, body) = call(addr, "GET", "/nope", "").await;
    assert_eq!(code, 404);
    error_of(&body);
    let (code, _, body) = call(addr, "POST", "/txs", "{\"tx\": \"zz\"}").await;
    assert_eq!(code, 400);
    assert!(error_of(&body).contains("field `tx`"), "{body}");
    let (code, _, body) = call(addr, "POST", "/txs", "{\"transaction\": \"00\"}").await;
    assert_eq!(code, 400);
    assert!(error_of(&body).contains("unknown field"), "{body}");
    let (code, _, body) = call(addr, "POST", "/txs", "{\"tx\": \"\"}").await;
    assert_eq!(
        (code, error_of(&body)),
        (400, "empty transaction".to_string())
    );
    let (code, _, body) = call(addr, "POST", "/txs?wait=later", "{\"tx\": \"00\"}").await;
    assert_eq!(code, 400);
    assert!(error_of(&body).contains("query `wait`"), "{body}");
}

#[tokio::test]
async fn body_limit_is_enforced_with_json_413() {
    let (addr, _) = serve().await;
    let big = format!("{{\"tx\": \"{}\"}}", "ab".repeat(1024));
    let (code, _, body) = call(addr, "POST", "/txs", &big).await;
    assert_eq!(code, 413);
    assert!(error_of(&body).contains("1024 bytes"), "{body}");
}

#[tokio::test]
async fn submit_returns_hash_and_waits_for_commit() {
    let (addr, _) = serve().await;
    let (code, _, body) = call(addr, "POST", "/txs", "{\"tx\": \"0102\"}").await;
    assert_eq!(code, 202);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["hash"], blake3::hash(&[1, 2]).to_hex().to_string());
    assert!(v.get("height").is_none());
    let (code, _, body) = call(addr, "POST", "/txs", "{\"tx\": \"0102\"}").await;
    assert_eq!(
        (code, error_of(&body)),
        (409, "already in the mempool".to_string())
    );
    let (code, _, body) = call(addr, "POST", "/txs?wait=commit", "{\"tx\": \"0304\"}").await;
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["height"], 8);
    let never = hex::encode(b"never");
    let (code, _, body) = call(
        addr,
        "POST",
        "/txs?wait=commit",
        &format!("{{\"tx\": \"{never}\"}}"),
    )
    .await;
    assert_eq!(code, 504);
    assert!(
        error_of(&body).contains("not committed within 300 ms"),
        "{body}"
    );
}

#[tokio::test]
async fn batch_submit_answers_per_transaction() {
    let (addr, _) = serve().await;
    let (code, _, body) = call(
        addr,
        "POST",
        "/txs/batch",
        "{\"txs\": [\"0a0b\", \"\", \"zz\", \"0a0b\"]}",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let results = v["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![202, 400, 400, 409]);
    assert_eq!(
        results[0]["hash"],
        blake3::hash(&[10, 11]).to_hex().to_string()
    );
    assert!(results[0].get("error").is_none());
    assert!(
        results[2]["error"].as_str().unwrap().contains("txs[2]"),
        "{body}"
    );
    let (code, _, body) = call(addr, "POST", "/txs/batch", "{\"tx\": \"00\"}").await;
    assert_eq!(code, 400);
    assert!(error_of(&body).contains("txs"), "{body}");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let (addr, metrics) = serve().await;
    metrics.height.set(12);
    metrics.peers.set(3);
    let (code, ctype, body) = call(addr, "GET", "/metrics", "").await;
    assert_eq!(code, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(body.contains("netwright_height 12"), "{body}");
    assert!(body.contains("netwright_peers 3"), "{body}");
    assert!(
        body.contains("# TYPE netwright_commit_latency_seconds histogram"),
        "{body}"
    );
}
