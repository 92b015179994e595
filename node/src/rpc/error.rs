//! Error answers: every refusal is JSON `{"error": reason}`, and a reason never grows with the
//! input it refuses.
//!
//! Handlers build [`ApiError`]s and quote the input they refuse with [`echo`]. Refusals that
//! axum produces itself (method not allowed, path and query rejections) pass through
//! [`json_errors`], which rewrites any error answer that is not JSON into the same shape.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Most characters of a client's input quoted back in an error.
pub const MAX_ECHO_CHARS: usize = 64;

/// Most characters of an error reason; longer reasons are cut and say how long they were.
pub const MAX_REASON_CHARS: usize = 512;

/// Most bytes of a non-JSON error body read to turn it into a JSON reason.
const MAX_FOREIGN_ERROR_BYTES: usize = 4 * 1024;

/// An error answer: a status and a reason, served as `{"error": reason}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({ "error": bounded(&self.1, MAX_REASON_CHARS) })),
        )
            .into_response()
    }
}

/// `input` in backquotes, cut to [`MAX_ECHO_CHARS`] characters with an ellipsis and its full
/// length when longer: `` `abc` `` or `` `abcd…` (4000 characters) ``.
pub(crate) fn echo(input: &str) -> String {
    match input.char_indices().nth(MAX_ECHO_CHARS) {
        None => format!("`{input}`"),
        Some((cut, _)) => format!(
            "`{}…` ({} characters)",
            &input[..cut],
            input.chars().count()
        ),
    }
}

/// `text` itself when it has at most `max` characters, else its first `max` characters, an
/// ellipsis and its length in characters.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}

/// Middleware: an error answer (4xx or 5xx) that is not JSON, such as axum's own rejections,
/// becomes `{"error": reason}` with the same status and headers (`Allow` of a 405 is kept).
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let answer = next.run(request).await;
    let status = answer.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&answer) {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let text = axum::body::to_bytes(body, MAX_FOREIGN_ERROR_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let reason = if status == StatusCode::METHOD_NOT_ALLOWED {
        method_not_allowed(&method, parts.headers.get(header::ALLOW))
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_lowercase()
    } else {
        text
    };
    let mut json = ApiError(status, reason).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}

fn method_not_allowed(method: &Method, allow: Option<&HeaderValue>) -> String {
    let method = echo(method.as_str());
    match allow.and_then(|a| a.to_str().ok()) {
        Some(allowed) if !allowed.is_empty() => {
            format!("method {method} is not allowed on this route; allowed: {allowed}")
        }
        _ => format!("method {method} is not allowed on this route"),
    }
}

fn is_json(answer: &Response) -> bool {
    answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_quoted_whole() {
        assert_eq!(echo("abc"), "`abc`");
        let exact = "x".repeat(MAX_ECHO_CHARS);
        assert_eq!(echo(&exact), format!("`{exact}`"));
    }

    #[test]
    fn long_input_is_cut_with_its_length() {
        let long = "é".repeat(4_000);
        let quoted = echo(&long);
        assert_eq!(
            quoted,
            format!("`{}…` (4000 characters)", "é".repeat(MAX_ECHO_CHARS))
        );
    }

    #[test]
    fn long_reasons_are_cut() {
        let reason = bounded(&"a".repeat(10_000), MAX_REASON_CHARS);
        assert!(reason.starts_with(&"a".repeat(MAX_REASON_CHARS)));
        assert!(reason.ends_with("… (10000 characters)"), "{reason}");
    }
}
