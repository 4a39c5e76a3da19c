//! The core's error: each variant is something a shell can act on (retry later, sign in again,
//! tell the user why).

use caas_protocol::api::ErrorCode;
use caas_protocol::push::PushError;

/// A cause kept for the log: the library error behind a failure, or a sentence where there is none.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The core's error, with the error that caused it kept as its source for the log. The shells
/// never see it as is: `caas-ffi` narrows it once to the public error, and the CLI prints it with
/// its chain.
#[derive(Debug, thiserror::Error)]
pub enum CaasError {
    /// The backend could not be reached; cached snapshots still work.
    #[error("offline: the CaaS platform cannot be reached")]
    Offline(#[source] Cause),
    /// The platform answered that it cannot serve now (an outage, overload, rate limit): nothing
    /// was done, and the same request can be tried again, after `retry_after` when it says so.
    #[error("the CaaS platform is unavailable (status {status})")]
    ServerUnavailable { status: u16, retry_after: Option<std::time::Duration> },
    /// The user stopped the operation (a declined unlock prompt of the Keystore or the Keychain).
    #[error("cancelled")]
    Cancelled,
    /// No session, or the platform no longer accepts it: sign in again.
    #[error("not signed in, or the session has expired")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(String),
    /// The platform refused the request; `code` is the API's stable error code.
    #[error("the platform refused the request ({code:?}): {message}")]
    Rejected { code: ErrorCode, message: String },
    /// The platform answered something this app does not understand.
    #[error("unexpected answer from the platform")]
    Protocol(#[source] Cause),
    #[error("push refused")]
    InvalidPush(#[from] PushError),
    #[error("local storage failed")]
    Storage(#[from] StorageError),
    #[error("secret storage failed")]
    Secrets(#[source] Cause),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The handover code the customer showed cannot be accepted; the car stays with the driver.
    #[error("handover code refused: {0}")]
    HandoverRefused(caas_protocol::handover::HandoverRefusal),
    /// Driver actions recorded on this phone have not reached the platform yet; signing out now
    /// would lose them.
    #[error("{0} driver actions are not synced yet; connect and sync first")]
    PendingActions(u32),
    /// The payment did not go through, for a reason the customer can act on; nothing was charged.
    #[error("payment refused ({refusal:?}): {message}")]
    PaymentRefused { refusal: PaymentRefusal, message: String },
    /// The platform's record of an order does not follow from the history this phone holds (an
    /// event changed, removed or inserted, or a head not signed by the platform's key): nothing
    /// of it was taken, and the phone keeps what it had.
    #[error("the platform's record of order {order_id} was refused: {reason}")]
    HistoryRewritten { order_id: uuid::Uuid, reason: caas_protocol::record::RecordError },
    /// Pairing with the car did not finish; `failure` says what the customer can do.
    #[error("pairing failed ({failure:?}): {message}")]
    Pairing { failure: PairingFailure, message: String },
}

/// Why the phone's own storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data that does not decode (or a value that does not encode).
    #[error("stored data could not be read")]
    Decode(#[from] serde_json::Error),
    #[error("{what}")]
    Io { what: String, source: std::io::Error },
    /// A stored value that decodes but breaks an invariant of the store.
    #[error("{0}")]
    Invalid(String),
    #[error("the storage task stopped")]
    Task(#[from] tokio::task::JoinError),
}

impl CaasError {
    /// Whether the platform could not be reached or could not serve: a cached answer is the best
    /// there is, and the same request may work later.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Offline(_) | Self::ServerUnavailable { .. })
    }

    /// The error and every source under it, for the log.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// Why pairing with the car failed, as the pairing screen explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairingFailure {
    /// The car has not been handed over yet: pairing comes after delivery.
    NotDelivered,
    /// No car with this phone's key answered the scan: go closer, or wake the car.
    CarNotFound,
    /// A car answered but could not prove it is the customer's car; nothing was sent to it.
    WrongCar,
    /// The car says the phone key has expired (and a fresh one did not help): check the clock.
    GrantExpired,
    /// The car says the phone key is not valid yet: the car's or the phone's clock is off.
    GrantNotYetValid,
    /// This phone's key was revoked: ask the dealership.
    GrantRevoked,
    /// A new phone becomes a key of the car only right after a sign-in: sign in again with a new
    /// code, then pair.
    ConfirmIdentity,
    /// The car did not accept this phone's key.
    AuthenticationFailed,
    /// The key does not allow linking the app (a guest key).
    NotPermitted,
    /// The car's software and the app do not share a protocol version or cipher: update.
    Incompatible,
    /// The link dropped or the car stopped answering: try again.
    ConnectionLost,
    /// Bluetooth is off, missing or not permitted.
    BluetoothUnavailable,
    /// The car refused an option: its entitlement is not the platform's, not for this car or not
    /// valid yet by the car's clock, or the option cannot go with those the car has. Nothing was
    /// switched on; the customer contacts the dealership.
    EntitlementRefused,
    /// The car says the option's entitlement is out of its validity: the purchase ended (it is
    /// refunded if the car never confirmed it), or the car's clock is off.
    EntitlementExpired,
}

impl CaasError {
    pub(crate) fn pairing(failure: PairingFailure, message: impl Into<String>) -> Self {
        Self::Pairing { failure, message: message.into() }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Storage(StorageError::Invalid(what.into()))
    }
}

/// Why a payment was refused, as the payment screen explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentRefusal {
    /// The card number, expiry or security code is wrong: correct it.
    InvalidCard,
    /// The bank declined the card: try another card.
    CardDeclined,
    InsufficientFunds,
    /// 3-D Secure failed: try again or use another card.
    AuthenticationFailed,
    /// The deadline passed before the payment: the reservation is lost.
    DeadlinePassed,
    /// The reservation was lost earlier; the car is dealership stock.
    ReservationLost,
    /// The order is paid already.
    AlreadyPaid,
    /// Nothing is due yet.
    NotPayable,
    /// The amount due changed since it was shown: show it again.
    AmountChanged,
    /// The option cannot be bought for this car now (installed, on its way, conflicting, needing
    /// another first, or a workshop visit): show the catalogue again.
    OptionUnavailable,
}

impl PaymentRefusal {
    /// The refusal behind a platform error code, if it is one.
    pub fn from_code(code: ErrorCode) -> Option<Self> {
        Some(match code {
            ErrorCode::InvalidCard => Self::InvalidCard,
            ErrorCode::DeadlinePassed => Self::DeadlinePassed,
            ErrorCode::ReservationLost => Self::ReservationLost,
            ErrorCode::AlreadyPaid => Self::AlreadyPaid,
            ErrorCode::NotPayable => Self::NotPayable,
            ErrorCode::AmountMismatch => Self::AmountChanged,
            ErrorCode::OptionUnavailable => Self::OptionUnavailable,
            _ => return None,
        })
    }
}

pub type Result<T, E = CaasError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for CaasError {
    fn from(error: rusqlite::Error) -> Self {
        CaasError::Storage(error.into())
    }
}

impl From<serde_json::Error> for CaasError {
    fn from(error: serde_json::Error) -> Self {
        CaasError::Storage(error.into())
    }
}

impl From<tokio::task::JoinError> for CaasError {
    fn from(error: tokio::task::JoinError) -> Self {
        CaasError::Storage(error.into())
    }
}
