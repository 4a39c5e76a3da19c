//! The core's error: each variant is something a shell can act on (retry later, sign in again,
//! tell the user why).

use caas_protocol::api::ErrorCode;
use caas_protocol::push::PushError;

#[derive(Debug, thiserror::Error)]
pub enum CaasError {
    /// The backend could not be reached; cached snapshots still work.
    #[error("offline: the CaaS platform cannot be reached ({0})")]
    Offline(String),
    /// No session, or the platform no longer accepts it: sign in again.
    #[error("not signed in, or the session has expired")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(String),
    /// The platform refused the request; `code` is the API's stable error code.
    #[error("the platform refused the request ({code:?}): {message}")]
    Rejected { code: ErrorCode, message: String },
    /// The platform answered something this app does not understand.
    #[error("unexpected answer from the platform: {0}")]
    Protocol(String),
    #[error("push refused: {0}")]
    InvalidPush(#[from] PushError),
    #[error("local storage failed: {0}")]
    Storage(String),
    #[error("secret storage failed: {0}")]
    Secrets(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

pub type Result<T, E = CaasError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for CaasError {
    fn from(error: rusqlite::Error) -> Self {
        CaasError::Storage(error.to_string())
    }
}

impl From<serde_json::Error> for CaasError {
    fn from(error: serde_json::Error) -> Self {
        CaasError::Storage(format!("stored data could not be read: {error}"))
    }
}
