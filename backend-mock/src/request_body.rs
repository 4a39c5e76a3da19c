//! Every request's body is read in full before the request is routed, so no handler answers
//! while the body is still on its way.
//!
//! A handler that takes no body (a staff token, a sign-out) answers at once. A client that
//! writes the body after the headers, as Java's HTTP client does, has then not sent it yet, and
//! the server gives up on it and closes the connection once the answer is written. The client's
//! next request on that connection, sent before it saw the close, meets a reset. Read first, the
//! body is consumed whatever the handler takes, and the connection stays open for the next call.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use caas_protocol::api::ErrorCode;
use http_body_util::LengthLimitError;

use crate::error::AppError;

/// The largest body any of the services reads; the API's own limits are lower.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The middleware; see the module documentation.
pub async fn read_first(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match read(body).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// The whole of `body`, or the API's answer to one over the limit or cut off on its way.
pub async fn read(body: Body) -> Result<axum::body::Bytes, AppError> {
    to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|error| {
        if error.into_inner().is::<LengthLimitError>() {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::InvalidRequest, "request body too large")
        } else {
            AppError::invalid("the request body could not be read")
        }
    })
}
