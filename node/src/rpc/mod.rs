//! The HTTP/JSON API (axum): status, blocks, validators, accounts, transaction submission,
//! health and Prometheus metrics.
//!
//! Handlers only translate HTTP to calls on a [`NodeView`], which the runtime implements; this
//! keeps the API testable with a fake view. Answer and request bodies are the types of
//! [`netwright_node_api::rpc`], which the orchestrator's client decodes. Errors are JSON `{"error": reason}` with a status code
//! that fits: 400 bad input, 404 unknown, 405 wrong method, 408 body too slow, 409 duplicate,
//! 413 body too large, 414 target too long, 431 head too large, 503 not available, 504 commit
//! wait timed out, 500 internal. Reasons quote at most [`MAX_ECHO_CHARS`] characters of the input
//! they refuse and never exceed [`MAX_REASON_CHARS`].
//!
//! [`serve`] runs the connections: at most [`RpcLimits::max_connections`] at once, each closed
//! when idle or too slow to send a request (see [`RpcLimits`]).

mod conn_clock;
mod error;
mod guard;
mod metrics;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub(crate) use error::echo;
use error::ApiError;
pub use error::{MAX_ECHO_CHARS, MAX_REASON_CHARS};
pub use guard::{MAX_HEAD_BYTES, MAX_URI_BYTES};
pub use metrics::{NodeMetrics, VoteKind};
pub use server::{serve, HTTP_MAX_HEAD_BYTES};

pub use netwright_node_api::config::RpcLimits;
pub use netwright_node_api::rpc::{
    BatchItem, HealthView, StatusView, SubmitOutcome, MAX_BATCH_TXS,
};
use netwright_node_api::rpc::{BatchOutcome, BatchRequest, SubmitRequest};

/// Errors a [`NodeView`] reports; each maps to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The request is malformed or the transaction is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The transaction is already known (409).
    #[error("{0}")]
    Conflict(String),
    /// The node cannot serve this now (503): mempool full, component not running, ...
    #[error("{0}")]
    Unavailable(String),
    /// Waiting for the commit took too long (504).
    #[error("{0}")]
    Timeout(String),
    /// Something broke inside the node (500).
    #[error("{0}")]
    Internal(String),
}

impl ViewError {
    fn status(&self) -> StatusCode {
        match self {
            ViewError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ViewError::NotFound(_) => StatusCode::NOT_FOUND,
            ViewError::Conflict(_) => StatusCode::CONFLICT,
            ViewError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ViewError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ViewError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the RPC needs from the node. Values are JSON; the runtime builds them from the answer
/// types of [`netwright_node_api::rpc`] (`BlockView`, `ValidatorView`, `AccountView`, ...).
pub trait NodeView: Send + Sync + 'static {
    /// Current status.
    fn status(&self) -> StatusView;
    /// Health.
    fn health(&self) -> HealthView;
    /// The committed block at `height`, with its commit certificate.
    fn block(&self, height: u64) -> Result<Value, ViewError>;
    /// The committed block at `height` as the hashes of its transactions, for watchers that
    /// only need to know what was committed when.
    fn block_txs(&self, height: u64) -> Result<Value, ViewError>;
    /// The current validator set.
    fn validators(&self) -> Result<Value, ViewError>;
    /// The account at `address`.
    fn account(&self, address: &str) -> Result<Value, ViewError>;
    /// Admits an encoded transaction into the mempool; returns its hash, hex.
    fn submit_tx(&self, tx: Vec<u8>) -> Result<String, ViewError>;
    /// Admits many encoded transactions at once (one result per transaction, in order). The
    /// default submits them one by one; a node checks their signatures as one batch.
    fn submit_txs(&self, txs: Vec<Vec<u8>>) -> Vec<(String, Result<(), ViewError>)> {
        txs.into_iter()
            .map(|tx| {
                let hash = hex::encode(blake3::hash(&tx).as_bytes());
                (hash, self.submit_tx(tx).map(|_| ()))
            })
            .collect()
    }
    /// Resolves when the transaction `hash` is committed, with its height. The RPC bounds the
    /// wait with its own timeout.
    fn wait_commit(&self, hash: String) -> impl Future<Output = Result<u64, ViewError>> + Send;
}

struct AppState<V> {
    view: Arc<V>,
    metrics: Arc<NodeMetrics>,
    limits: RpcLimits,
}

impl<V> Clone for AppState<V> {
    fn clone(&self) -> Self {
        Self {
            view: self.view.clone(),
            metrics: self.metrics.clone(),
            limits: self.limits,
        }
    }
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> Self {
        ApiError(e.status(), e.to_string())
    }
}

/// The router with all routes, over `view`.
pub fn router<V: NodeView>(view: Arc<V>, metrics: Arc<NodeMetrics>, limits: RpcLimits) -> Router {
    let state = AppState {
        view,
        metrics,
        limits,
    };
    Router::new()
        .route("/status", get(status::<V>))
        .route("/health", get(health::<V>))
        .route("/blocks/{height}", get(block::<V>))
        .route("/blocks/{height}/txs", get(block_txs::<V>))
        .route("/validators", get(validators::<V>))
        .route("/accounts/{addr}", get(account::<V>))
        .route("/txs", post(submit::<V>))
        .route("/txs/batch", post(submit_batch::<V>))
        .route("/metrics", get(metrics_text::<V>))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits,
            guard::request_limits,
        ))
        .layer(middleware::from_fn(error::json_errors))
        .with_state(state)
}

/// Binds `addr` (port 0 picks a free port) and returns the listener and its bound address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

async fn status<V: NodeView>(State(s): State<AppState<V>>) -> Json<StatusView> {
    Json(s.view.status())
}

async fn health<V: NodeView>(State(s): State<AppState<V>>) -> Response {
    let h = s.view.health();
    let code = if h.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(h)).into_response()
}

fn parse_height(height: &str) -> Result<u64, ApiError> {
    height.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("height {} is not a non-negative integer", echo(height)),
        )
    })
}

async fn block<V: NodeView>(
    State(s): State<AppState<V>>,
    Path(height): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.view.block(parse_height(&height)?)?))
}

async fn block_txs<V: NodeView>(
    State(s): State<AppState<V>>,
    Path(height): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.view.block_txs(parse_height(&height)?)?))
}

async fn validators<V: NodeView>(State(s): State<AppState<V>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.view.validators()?))
}

async fn account<V: NodeView>(
    State(s): State<AppState<V>>,
    Path(addr): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.view.account(&addr)?))
}

/// Query of `POST /txs`.
#[derive(Debug, Deserialize)]
struct SubmitQuery {
    wait: Option<String>,
}

async fn submit<V: NodeView>(
    State(s): State<AppState<V>>,
    Query(query): Query<SubmitQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let wait_commit = match query.wait.as_deref() {
        None | Some("none") => false,
        Some("commit") => true,
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!(
                    "query `wait`: value {}: expected `commit` or `none`",
                    echo(other)
                ),
            ))
        }
    };
    let body = body_or_error(body, &s.limits)?;
    let parsed: SubmitRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("body: expected {{\"tx\": \"<hex>\"}}: {e}"),
        )
    })?;
    let tx = hex::decode(parsed.tx.trim())
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("field `tx`: not hex: {e}")))?;
    // Admission may wait a few milliseconds for other submissions to verify with.
    let view = s.view.clone();
    let hash = tokio::task::spawn_blocking(move || view.submit_tx(tx))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    if !wait_commit {
        return Ok((
            StatusCode::ACCEPTED,
            Json(SubmitOutcome { hash, height: None }),
        )
            .into_response());
    }
    let waited = tokio::time::timeout(s.limits.commit_wait, s.view.wait_commit(hash.clone())).await;
    match waited {
        Ok(Ok(height)) => Ok((
            StatusCode::OK,
            Json(SubmitOutcome {
                hash,
                height: Some(height),
            }),
        )
            .into_response()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(ApiError(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "transaction {hash} was accepted but not committed within {} ms",
                s.limits.commit_wait.as_millis()
            ),
        )),
    }
}

fn body_or_error(
    body: Result<Bytes, BytesRejection>,
    limits: &RpcLimits,
) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "request body exceeds the limit of {} bytes",
                limits.max_body_bytes
            )
        } else {
            e.body_text()
        };
        ApiError(status, reason)
    })
}

async fn submit_batch<V: NodeView>(
    State(s): State<AppState<V>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_or_error(body, &s.limits)?;
    let parsed: BatchRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("body: expected {{\"txs\": [\"<hex>\", ...]}}: {e}"),
        )
    })?;
    if parsed.txs.len() > MAX_BATCH_TXS {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!(
                "field `txs`: {} transactions exceed the limit of {MAX_BATCH_TXS}",
                parsed.txs.len()
            ),
        ));
    }
    let mut results: Vec<Option<BatchItem>> = vec![None; parsed.txs.len()];
    let mut txs = Vec::with_capacity(parsed.txs.len());
    let mut positions = Vec::with_capacity(parsed.txs.len());
    for (i, h) in parsed.txs.iter().enumerate() {
        match hex::decode(h.trim()) {
            Ok(tx) => {
                positions.push(i);
                txs.push(tx);
            }
            Err(e) => {
                results[i] = Some(BatchItem {
                    hash: String::new(),
                    status: 400,
                    error: Some(format!("field `txs[{i}]`: not hex: {e}")),
                })
            }
        }
    }
    let view = s.view.clone();
    let submitted = tokio::task::spawn_blocking(move || view.submit_txs(txs))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    for (i, (hash, r)) in positions.into_iter().zip(submitted) {
        results[i] = Some(match r {
            Ok(()) => BatchItem {
                hash,
                status: 202,
                error: None,
            },
            Err(e) => BatchItem {
                hash,
                status: e.status().as_u16(),
                error: Some(e.to_string()),
            },
        });
    }
    let results: Vec<BatchItem> = results
        .into_iter()
        .map(|r| {
            r.unwrap_or(BatchItem {
                hash: String::new(),
                status: 500,
                error: Some("no result".into()),
            })
        })
        .collect();
    Ok((StatusCode::OK, Json(BatchOutcome { results })).into_response())
}

async fn metrics_text<V: NodeView>(State(s): State<AppState<V>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}
