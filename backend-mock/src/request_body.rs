//! Every request's body is read in full before its handler runs, as a proxy in front of a real
//! platform buffers it (nginx's `proxy_request_buffering`), with the same two bounds: a body
//! declared or found larger than [`MAX_REQUEST_BYTES`] is refused (413), and one that does not
//! arrive within the configured time is refused too (408).
//!
//! Why: a handler that takes no body (a staff token, a sign-out) answered at once. A client that
//! writes the body after the headers, as Java's HTTP client does, had not sent it yet; the server
//! then gave up on the body and closed the connection once its answer was written, and the
//! client's next request on that connection met a reset. Read first, the body is consumed
//! whatever the handler takes, and the connection stays open for the next call.
//!
//! The price is that the bounds come before the caller's credentials are checked: an oversized or
//! stalled body is refused as such, whoever sends it, as the proxy would refuse it.

use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use caas_protocol::api::ErrorCode;
use http_body_util::LengthLimitError;

use crate::error::AppError;

/// The largest body any of the services reads.
const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The middleware; see the module documentation. Its state is how long a body may take.
pub async fn read_first(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BYTES as u64) {
        return too_large().into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(timeout, read(body)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(refusal)) => return refusal.into_response(),
        Err(_) => {
            let late = format!("the request body did not arrive within {} s", timeout.as_secs_f32());
            return AppError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::InvalidRequest, late).into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The whole of `body`, or the API's answer to one over the limit or cut off on its way.
pub async fn read(body: Body) -> Result<Bytes, AppError> {
    to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|error| {
        if error.into_inner().is::<LengthLimitError>() {
            too_large()
        } else {
            AppError::invalid("the request body could not be read")
        }
    })
}

fn too_large() -> AppError {
    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::InvalidRequest, "request body too large")
}
