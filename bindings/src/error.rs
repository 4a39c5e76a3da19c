//! The one error the shells see: only variants a caller can act on, each with a sentence.

use caas_core::CaasError as CoreError;
use caas_core::protocol::handover::HandoverRefusal;
use caas_core::{PairingFailure, PaymentRefusal};

#[uniffi::remote(Enum)]
pub enum HandoverRefusal {
    Malformed,
    Forged,
    UnknownKey,
    Expired,
    NotYetValid,
    OtherOrder,
    OtherAttempt,
    Used,
    StaleScreen,
    Unvouched,
    TooLate,
}

#[uniffi::remote(Enum)]
pub enum PaymentRefusal {
    InvalidCard,
    CardDeclined,
    InsufficientFunds,
    AuthenticationFailed,
    DeadlinePassed,
    ReservationLost,
    AlreadyPaid,
    NotPayable,
    AmountChanged,
    OptionUnavailable,
}

#[uniffi::remote(Enum)]
pub enum PairingFailure {
    NotDelivered,
    CarNotFound,
    WrongCar,
    GrantExpired,
    GrantNotYetValid,
    GrantRevoked,
    ConfirmIdentity,
    AuthenticationFailed,
    NotPermitted,
    Incompatible,
    ConnectionLost,
    BluetoothUnavailable,
    EntitlementRefused,
    EntitlementExpired,
}

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CaasError {
    /// The platform cannot be reached; cached snapshots still work. Retry later.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The platform is reachable but cannot serve now (an outage, a rate limit); nothing was
    /// done. Retry later, after `retry_after_seconds` when it is given.
    #[error("the platform is unavailable (status {status})")]
    ServerUnavailable { status: u16, retry_after_seconds: Option<u64> },
    /// The user or the app stopped the operation (a declined unlock prompt, say): nothing to
    /// report.
    #[error("cancelled")]
    Cancelled,
    /// Sign in again.
    #[error("not signed in, or the session expired")]
    Unauthorized,
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The platform refused; `code` is its stable error code.
    #[error("refused ({code}): {reason}")]
    Rejected { code: String, reason: String },
    /// A push payload that is not one of this app's pushes.
    #[error("push refused: {reason}")]
    InvalidPush { reason: String },
    /// An argument the core cannot use (a malformed id, a bad URL).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The payment did not go through and nothing was charged; `refusal` says what the customer
    /// can do.
    #[error("payment refused ({refusal:?}): {reason}")]
    PaymentRefused { refusal: PaymentRefusal, reason: String },
    /// The customer's handover code cannot be accepted; the car stays with the driver.
    #[error("handover code refused ({refusal:?}): {reason}")]
    HandoverRefused { refusal: HandoverRefusal, reason: String },
    /// Driver actions on this phone are not synced yet; sync before signing out or switching.
    #[error("{count} driver actions are not synced yet")]
    PendingActions { count: u32 },
    /// Pairing with the car did not finish; `failure` says what the customer can do.
    #[error("pairing failed ({failure:?}): {reason}")]
    Pairing { failure: PairingFailure, reason: String },
    /// The platform's record of the order does not follow from the history on this phone (an
    /// event changed, removed or inserted, or not signed by the platform's key): none of it was
    /// taken and the phone keeps what it had. The customer should contact the dealership.
    #[error("the record of order {order_id} was refused: {reason}")]
    HistoryRewritten { order_id: uuid::Uuid, reason: String },
    /// Local storage or secret storage failed, or the platform answered something this app
    /// cannot read; nothing the user can fix but a report (the log has the whole chain).
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<CoreError> for CaasError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Offline(cause) => CaasError::Offline { reason: cause.to_string() },
            CoreError::ServerUnavailable { status, retry_after } => {
                CaasError::ServerUnavailable { status, retry_after_seconds: retry_after.map(|d| d.as_secs()) }
            }
            CoreError::Cancelled => CaasError::Cancelled,
            CoreError::Unauthorized => CaasError::Unauthorized,
            CoreError::NotFound(what) => CaasError::NotFound { what },
            CoreError::Rejected { code, message } => {
                CaasError::Rejected { code: code.wire_name().to_owned(), reason: message }
            }
            CoreError::InvalidPush(reason) => CaasError::InvalidPush { reason: reason.to_string() },
            CoreError::Config(reason) => CaasError::InvalidInput { reason },
            CoreError::PaymentRefused { refusal, message } => CaasError::PaymentRefused { refusal, reason: message },
            CoreError::HandoverRefused(refusal) => CaasError::HandoverRefused { refusal, reason: refusal.to_string() },
            CoreError::PendingActions(count) => CaasError::PendingActions { count },
            CoreError::Pairing { failure, message } => CaasError::Pairing { failure, reason: message },
            CoreError::HistoryRewritten { order_id, reason } => {
                tracing::error!(order = %order_id, %reason, "the platform's record was refused");
                CaasError::HistoryRewritten { order_id, reason: reason.to_string() }
            }
            other @ (CoreError::Protocol(_) | CoreError::Storage(_) | CoreError::Secrets(_)) => {
                let reason = other.chain();
                tracing::error!(%reason, "internal error");
                CaasError::Internal { reason }
            }
        }
    }
}
