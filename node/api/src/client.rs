//! A typed async client for the node's RPC (hyper, HTTP/1.1, pooled keep-alive connections).
//!
//! Every call has a deadline ([`RpcClient::with_timeout`]) covering the connection, the request
//! and the whole answer, and reads at most [`RpcClient::with_max_body_bytes`] bytes of an answer:
//! a declared length above the limit is refused before anything is read, and a body that grows
//! past it is cut off. Every failure is a [`ClientError`] naming the URL, the status when one
//! arrived, and the reason. The caller brings the tokio runtime.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::rpc::{
    AccountView, BlockTxsView, BlockView, ErrorBody, StatusView, SubmitOutcome, SubmitRequest,
    ValidatorView,
};

/// Deadline of one call unless [`RpcClient::with_timeout`] sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest answer body read unless [`RpcClient::with_max_body_bytes`] sets another (a
/// `/validators` list of thousands of validators fits easily).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long an unused kept-alive connection stays in the pool: below the node's own idle
/// timeout (`rpc.idle_timeout_ms`, 60 s by default), so the client closes it first.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Most characters of a refusal's body quoted in a [`ClientError::Status`].
const MAX_REASON_CHARS: usize = 512;

/// Why a call failed. Each variant names the URL called.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not a usable `http://host:port` URL.
    #[error("{url}: not a usable http:// URL: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting, sending the request or reading the answer failed.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL called.
        url: String,
        /// What failed, with its causes.
        reason: String,
    },
    /// No complete answer arrived within the deadline.
    #[error("{url}: no complete answer within {} ms", timeout.as_millis())]
    Timeout {
        /// The URL called.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The answer's body is larger than the client reads.
    #[error("{url}: status {status}: answer body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL called.
        url: String,
        /// The answer's status code.
        status: u16,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The node refused the request (status other than 2xx).
    #[error("{url}: status {status}: {reason}")]
    Status {
        /// The URL called.
        url: String,
        /// The answer's status code.
        status: u16,
        /// The node's reason (`{"error": reason}`), or the start of the body.
        reason: String,
    },
    /// A 2xx answer whose body is not what the call expects.
    #[error("{url}: status {status}: unexpected answer: {reason}")]
    Decode {
        /// The URL called.
        url: String,
        /// The answer's status code.
        status: u16,
        /// What the decoder said.
        reason: String,
    },
}

impl ClientError {
    /// The status code of the answer, when one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::TooLarge { status, .. }
            | ClientError::Status { status, .. }
            | ClientError::Decode { status, .. } => Some(*status),
            ClientError::InvalidUrl { .. }
            | ClientError::Transport { .. }
            | ClientError::Timeout { .. } => None,
        }
    }
}

/// A client for one node's RPC at a base URL such as `http://127.0.0.1:26657`.
///
/// Cloning is cheap and clones share the connection pool; [`RpcClient::for_url`] makes a client
/// for another node over the same pool.
#[derive(Clone, Debug)]
pub struct RpcClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    max_body_bytes: usize,
}

impl RpcClient {
    /// A client for the node at `base_url` (`http://host:port`, no path), with
    /// [`DEFAULT_TIMEOUT`] and [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            base: checked_base(base_url)?,
            http,
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// A client for the node at `base_url` sharing this client's connection pool, deadline and
    /// body limit.
    pub fn for_url(&self, base_url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            base: checked_base(base_url)?,
            ..self.clone()
        })
    }

    /// The same client with every call bounded by `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same client reading at most `limit` bytes of an answer body.
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<StatusView, ClientError> {
        self.get_json("/status").await
    }

    /// `GET /blocks/{height}`.
    pub async fn block(&self, height: u64) -> Result<BlockView, ClientError> {
        self.get_json(&format!("/blocks/{height}")).await
    }

    /// `GET /blocks/{height}/txs`.
    pub async fn block_txs(&self, height: u64) -> Result<BlockTxsView, ClientError> {
        self.get_json(&format!("/blocks/{height}/txs")).await
    }

    /// `GET /validators`.
    pub async fn validators(&self) -> Result<Vec<ValidatorView>, ClientError> {
        self.get_json("/validators").await
    }

    /// `GET /accounts/{address}`.
    pub async fn account(&self, address: &str) -> Result<AccountView, ClientError> {
        self.get_json(&format!("/accounts/{address}")).await
    }

    /// `POST /txs`: submits an encoded transaction; the outcome carries its hash.
    pub async fn submit(&self, tx: &[u8]) -> Result<SubmitOutcome, ClientError> {
        let body = SubmitRequest {
            tx: hex::encode(tx),
        };
        self.post_json("/txs", &body, self.timeout).await
    }

    /// `POST /txs?wait=commit`: submits an encoded transaction and waits, at most `timeout`, for
    /// the block that commits it; the outcome carries its hash and height. The node answers 504
    /// after its own `rpc.commit_wait_ms`, so `timeout` should be longer than that.
    pub async fn submit_and_wait(
        &self,
        tx: &[u8],
        timeout: Duration,
    ) -> Result<SubmitOutcome, ClientError> {
        let body = SubmitRequest {
            tx: hex::encode(tx),
        };
        self.post_json("/txs?wait=commit", &body, timeout).await
    }

    /// `GET path` (path and query, starting with `/`), decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, Bytes::new(), self.timeout)
            .await
    }

    /// `POST path` with `body` as JSON, decoded from JSON, within `timeout`.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Transport {
            url,
            reason: format!("cannot encode the request body: {e}"),
        })?;
        self.call(Method::POST, path, Bytes::from(body), timeout)
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` as UTF-8 text (for example the node's Prometheus `/metrics`), within the
    /// client's deadline and body limit.
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (url, status, bytes) = self
            .fetch(Method::GET, path, Bytes::new(), self.timeout)
            .await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::Decode {
            url,
            status,
            reason: format!("the answer is not UTF-8: {e}"),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let (url, status, bytes) = self.fetch(method, path, body, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            url,
            status,
            reason: e.to_string(),
        })
    }

    /// One exchange within `timeout`: the URL, the status and the body of a 2xx answer; any
    /// other status is [`ClientError::Status`].
    async fn fetch(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<(String, u16, Bytes), ClientError> {
        let url = self.url(path);
        let exchange = self.exchange(&url, method, body);
        let (status, bytes) = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer?,
            Err(_) => return Err(ClientError::Timeout { url, timeout }),
        };
        if !(200..300).contains(&status) {
            return Err(ClientError::Status {
                url,
                status,
                reason: refusal_reason(&bytes),
            });
        }
        Ok((url, status, bytes))
    }

    /// Sends one request and reads the status and the whole body, within the body limit.
    async fn exchange(
        &self,
        url: &str,
        method: Method,
        body: Bytes,
    ) -> Result<(u16, Bytes), ClientError> {
        let transport = |reason: String| ClientError::Transport {
            url: url.to_string(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|e| ClientError::InvalidUrl {
            url: url.to_string(),
            reason: format!("{e}"),
        })?;
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| transport(format!("cannot build the request: {e}")))?;
        let answer = self
            .http
            .request(request)
            .await
            .map_err(|e| transport(causes(&e)))?;
        let status = answer.status().as_u16();
        let too_large = || ClientError::TooLarge {
            url: url.to_string(),
            status,
            limit: self.max_body_bytes,
        };
        let body = answer.into_body();
        if body.size_hint().lower() > self.max_body_bytes as u64 {
            return Err(too_large());
        }
        let collected = Limited::new(body, self.max_body_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    too_large()
                } else {
                    transport(format!(
                        "status {status}: reading the answer: {}",
                        causes(&*e)
                    ))
                }
            })?;
        Ok((status, collected.to_bytes()))
    }
}

/// `base_url` without a trailing slash, if it is `http://` with a host and no path or query.
fn checked_base(base_url: &str) -> Result<String, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: base_url.to_string(),
        reason: reason.to_string(),
    };
    let base = base_url.trim_end_matches('/');
    let uri: Uri = base.parse().map_err(|e| invalid(&format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid("the scheme must be http"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if uri
        .path_and_query()
        .is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty())
    {
        return Err(invalid("a base URL has no path or query"));
    }
    Ok(base.to_string())
}

/// The reason of a refusal: the `error` of `{"error": reason}`, else the start of the body.
fn refusal_reason(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    match text.char_indices().nth(MAX_REASON_CHARS) {
        None if text.is_empty() => "(no reason given)".to_string(),
        None => text,
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}

/// An error and its causes, joined by `: `.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            RpcClient::new("http://127.0.0.1:26657/")
                .unwrap()
                .base_url(),
            "http://127.0.0.1:26657"
        );
        for (url, reason) in [
            ("https://127.0.0.1:1", "scheme"),
            ("127.0.0.1:1", "scheme"),
            ("http://127.0.0.1:1/status", "no path"),
            ("not a url", "not a usable"),
        ] {
            let err = RpcClient::new(url).unwrap_err().to_string();
            assert!(err.contains(url) && err.contains(reason), "{url}: {err}");
        }
    }

    #[test]
    fn refusal_reasons_come_from_the_error_field_or_the_body() {
        assert_eq!(
            refusal_reason(br#"{"error":"no such route"}"#),
            "no such route"
        );
        assert_eq!(refusal_reason(b" plain text \n"), "plain text");
        assert_eq!(refusal_reason(b""), "(no reason given)");
        let long = refusal_reason("x".repeat(2_000).as_bytes());
        assert!(long.ends_with("… (2000 characters)"), "{long}");
    }
}
