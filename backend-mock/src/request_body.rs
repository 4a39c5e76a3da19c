//! Every request's body is read in full before its handler runs, as a proxy in front of a real
//! platform buffers it (nginx's `proxy_request_buffering`), within two bounds: a body that
//! declares more than [`MAX_REQUEST_BYTES`] is refused (413) before it is read, and one found
//! larger once that much is read is refused too; a body not whole within the configured time is
//! refused (408). Either refusal closes the connection and says so (`Connection: close`), so no
//! client sends its next request on a connection the server is about to close.
//!
//! Why: a handler that takes no body (a staff token, a sign-out) answered at once. A client that
//! writes the body after the headers, as Java's HTTP client does, had not sent it yet; the server
//! then gave up on the body and closed the connection once its answer, which had promised to keep
//! it open, was written, and the client's next request on that connection met a reset. Read
//! first, the body is consumed whatever the handler takes, and the connection stays open for the
//! next call.
//!
//! The price is that the bounds come before the caller's credentials are checked: an oversized or
//! stalled body is refused as such, whoever sends it, as the proxy would refuse it.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use caas_protocol::api::ErrorCode;
use http_body_util::LengthLimitError;

use crate::error::AppError;

/// The largest body any of the services reads.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The middleware; see the module documentation. Its state is how long a body may take.
pub async fn read_first(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BYTES as u64) {
        return closing(too_large());
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(timeout, to_bytes(body, MAX_REQUEST_BYTES)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) if std::error::Error::source(&error).is_some_and(|e| e.is::<LengthLimitError>()) => {
            return closing(too_large());
        }
        Ok(Err(_)) => return closing(AppError::invalid("the request body could not be read")),
        Err(_) => {
            let late = format!("the request body was not whole within {} s", timeout.as_secs_f32());
            return closing(AppError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::InvalidRequest, late));
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn too_large() -> AppError {
    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::InvalidRequest, "request body too large")
}

/// `refusal`, telling the client the connection ends with it: the rest of the body is unread.
fn closing(refusal: AppError) -> Response {
    let mut response = refusal.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
