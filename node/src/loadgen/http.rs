//! A minimal keep-alive HTTP/1.1 JSON client for one RPC endpoint.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Longest wait for one request, connect included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed on the transport or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The endpoint string is not `http://host:port` or `host:port`.
    #[error("rpc endpoint `{0}`: expected `http://HOST:PORT` or `HOST:PORT`")]
    BadEndpoint(String),
    /// TCP connect or HTTP handshake failed.
    #[error("rpc {endpoint}: cannot connect: {reason}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// The cause.
        reason: String,
    },
    /// The request failed after connecting.
    #[error("rpc {endpoint}{path}: {reason}")]
    Request {
        /// The endpoint.
        endpoint: String,
        /// The request path.
        path: String,
        /// The cause.
        reason: String,
    },
}

/// `host:port` of an endpoint given as `http://host:port[/]` or `host:port`.
pub fn parse_endpoint(raw: &str) -> Result<String, HttpError> {
    let rest = raw.strip_prefix("http://").unwrap_or(raw);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let valid = rest
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !h.contains('/') && p.parse::<u16>().is_ok());
    if raw.contains("://") && !raw.starts_with("http://") || !valid {
        return Err(HttpError::BadEndpoint(raw.to_string()));
    }
    Ok(rest.to_string())
}

/// One kept-alive connection to an endpoint; reconnects on the next request after a failure.
pub struct Client {
    endpoint: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// Status code and JSON body (`Null` if the body is not JSON) of an answer.
pub type Answer = (u16, Value);

impl Client {
    /// A client for `endpoint` (`host:port`); connects lazily.
    pub fn new(endpoint: String) -> Client {
        Client {
            endpoint,
            sender: None,
        }
    }

    /// The endpoint, `host:port`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, HttpError> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let err = |reason: String| HttpError::Connect {
                endpoint: self.endpoint.clone(),
                reason,
            };
            let stream = tokio::time::timeout(
                REQUEST_TIMEOUT,
                tokio::net::TcpStream::connect(&self.endpoint),
            )
            .await
            .map_err(|_| err("timed out".into()))?
            .map_err(|e| err(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| err(e.to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| HttpError::Connect {
            endpoint: self.endpoint.clone(),
            reason: "no connection".into(),
        })
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Answer, HttpError> {
        self.request(hyper::Method::GET, path, Bytes::new()).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, body: &Value) -> Result<Answer, HttpError> {
        let bytes = Bytes::from(body.to_string());
        self.request(hyper::Method::POST, path, bytes).await
    }

    async fn request(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Bytes,
    ) -> Result<Answer, HttpError> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, body))
            .await
            .unwrap_or_else(|_| Err(self.request_error(path, "timed out".into())));
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    fn request_error(&self, path: &str, reason: String) -> HttpError {
        HttpError::Request {
            endpoint: self.endpoint.clone(),
            path: path.to_string(),
            reason,
        }
    }

    async fn exchange(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Bytes,
    ) -> Result<Answer, HttpError> {
        let host = self.endpoint.clone();
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| self.request_error(path, e.to_string()))?;
        let sender = self.connect().await?;
        if let Err(e) = sender.ready().await {
            return Err(self.request_error(path, e.to_string()));
        }
        let response = sender.send_request(request).await;
        let response = response.map_err(|e| self.request_error(path, e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| self.request_error(path, e.to_string()))?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accept_http_urls_and_host_port_only() {
        assert_eq!(
            parse_endpoint("http://127.0.0.1:26657/").unwrap(),
            "127.0.0.1:26657"
        );
        assert_eq!(parse_endpoint("localhost:80").unwrap(), "localhost:80");
        for bad in [
            "https://a:1",
            "127.0.0.1",
            "http://a:99999",
            ":80",
            "http://a:1/x",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
