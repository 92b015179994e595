//! Request limits checked before any handler runs: the length of the request target, the size of
//! the head, and the request body, which must arrive whole, within `max_body_bytes`, before
//! `body_read_timeout` passes.
//!
//! The HTTP layer (hyper) has hard ceilings of its own above these (see [`super::server`]); what
//! passes them but not these limits gets a JSON error here instead of hyper's empty answer.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;
use super::RpcLimits;

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest accepted request head (target and header lines), in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Middleware: refuses a request whose target or head is too large (414, 431), or whose body is
/// too large (413) or does not arrive in time (408); else hands the handler the whole body.
pub(crate) async fn request_limits(
    State(limits): State<RpcLimits>,
    request: Request,
    next: Next,
) -> Response {
    let target_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target_bytes > MAX_URI_BYTES {
        return ApiError(
            StatusCode::URI_TOO_LONG,
            format!(
                "request target is {target_bytes} bytes, over the limit of {MAX_URI_BYTES} bytes"
            ),
        )
        .into_response();
    }
    let head_bytes = target_bytes
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if head_bytes > MAX_HEAD_BYTES {
        return ApiError(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("request head is {head_bytes} bytes, over the limit of {MAX_HEAD_BYTES} bytes"),
        )
        .into_response();
    }
    let (parts, body) = request.into_parts();
    match read_body(body, limits.max_body_bytes, limits.body_read_timeout).await {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The whole of `body`, if it has at most `max_bytes` and arrives within `timeout`.
async fn read_body(body: Body, max_bytes: usize, timeout: Duration) -> Result<Body, ApiError> {
    let collected = tokio::time::timeout(timeout, Limited::new(body, max_bytes).collect())
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} ms",
                    timeout.as_millis()
                ),
            )
        })?;
    match collected {
        Ok(collected) => Ok(Body::from(collected.to_bytes())),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the limit of {max_bytes} bytes"),
        )),
        Err(e) => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("request body could not be read: {e}"),
        )),
    }
}
