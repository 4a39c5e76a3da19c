//! How a command fails: a stable code a script can match, a sentence, the fix, and an exit status
//! by kind, so a shell script can tell "try again later" from "this will never work".
//!
//! Exit statuses (also in the README and `caas --help`):
//! 0 done; 2 usage (clap's own, and arguments that cannot go together); 3 refused (by the platform,
//! the car or this machine's rules: the request will not work as it is); 4 offline or not yet (the
//! platform or the car could not be reached, could not serve, asks to wait, or has not got there:
//! the same command may work later); 5 internal (a bug, a broken store, an answer nobody can read).

use std::fmt;
use std::process::ExitCode;

use caas_core::protocol::api::ErrorCode;
use caas_core::{CaasError, PairingFailure, PaymentRefusal};
use caas_mock::client::ClientError;
use serde_json::json;

/// The kind of failure, which is the process's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Usage = 2,
    Refused = 3,
    Offline = 4,
    Internal = 5,
}

/// A failed command as its user reads it: never a Rust name, always what to do next.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    /// The platform's wire error code, or this tool's own stable code (e.g. `not_signed_in`).
    pub code: String,
    pub message: String,
    pub fix: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    pub fn new(exit: Exit, code: &str, message: impl Into<String>) -> Self {
        Self { exit, code: code.to_owned(), message: message.into(), fix: None }
    }

    pub fn refused(code: &str, message: impl Into<String>) -> Self {
        Self::new(Exit::Refused, code, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, "usage", message)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The failure behind any error a command returned: a typed one keeps its code, anything else
    /// is internal.
    pub fn of(error: anyhow::Error) -> Self {
        let error = match error.downcast::<Failure>() {
            Ok(failure) => return failure,
            Err(error) => error,
        };
        let error = match error.downcast::<CaasError>() {
            Ok(error) => return error.into(),
            Err(error) => error,
        };
        match error.downcast::<ClientError>() {
            Ok(error) => error.into(),
            Err(error) => Self::new(Exit::Internal, "internal", format!("{error:#}")),
        }
    }

    /// One JSON document for `--json`.
    pub fn json(&self) -> serde_json::Value {
        json!({ "error": { "code": self.code, "message": self.message, "fix": self.fix, "exit": self.exit as u8 } })
    }

    /// Two lines for a person: what went wrong, then what to do.
    pub fn text(&self) -> String {
        match &self.fix {
            Some(fix) => format!("error: {self}\nfix: {fix}"),
            None => format!("error: {self}"),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

/// Refusals that say "not now" rather than "no": the same request may work later.
fn later(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::TooManyAttempts | ErrorCode::IdempotencyKeyInUse)
}

/// What to do about a refusal the platform names by code.
fn fix_for(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::Unauthorized => "sign in again: `caas sign-in EMAIL` (or the role's own `sign-in`)",
        ErrorCode::Forbidden => "this role may not do that; use the role the step belongs to",
        ErrorCode::NotFound => "check the id (`caas orders`, `caas sandbox orders`)",
        ErrorCode::IllegalTransition => "see what may happen next with `caas sandbox steps ORDER`",
        ErrorCode::ConfigurationRejected => "amend it with `caas dealership amend ORDER --model M --option O`",
        ErrorCode::FactoryUnavailable => "retry with `caas dealership retry-factory ORDER`",
        ErrorCode::DeadlinePassed | ErrorCode::ReservationLost => {
            "the reservation is lost; the dealership can sell the car again"
        }
        ErrorCode::AlreadyPaid => "nothing is left to pay",
        ErrorCode::NotPayable => "nothing is due yet; wait for the car to reach your locality",
        ErrorCode::InvalidCard => "check the card number, expiry and security code",
        ErrorCode::PaymentGatewayUnavailable => "run the same command again; it resumes the same payment",
        ErrorCode::RegistrationRejected => "correct the owner's data with `caas dealership retry-registration ORDER`",
        ErrorCode::RegistryUnavailable => "the registration is retried by itself; check again later",
        ErrorCode::SlotUnavailable => "choose one of the windows `caas delivery slots ORDER` lists",
        ErrorCode::ChangeTooLate => "within 24 hours of the window only the dealership can change it",
        ErrorCode::ChangeLimitReached => "contact the dealership to change it again",
        ErrorCode::AddressNotConfirmed => "the customer confirms it with `caas delivery confirm-address ORDER`",
        ErrorCode::VinMismatch => "scan the VIN of the order's car",
        ErrorCode::DeliveryChanged => "refresh with `caas driver deliveries`",
        ErrorCode::HandoverCodeInvalid | ErrorCode::HandoverCodeExpired | ErrorCode::HandoverCodeUsed => {
            "ask the customer to show a fresh code (`caas delivery code ORDER`)"
        }
        ErrorCode::NotDelivered => "pairing comes after the handover",
        ErrorCode::GrantRevoked => "this phone's key was revoked; ask the dealership",
        ErrorCode::TooManyAttempts => "wait before trying again",
        ErrorCode::PaymentInProgress => "finish the open payment first (`--resume`)",
        ErrorCode::StepUpRequired => "sign in again with a new code, then retry",
        ErrorCode::OptionUnavailable => "see what the car can take with `caas options list ORDER`",
        ErrorCode::IdempotencyKeyReused | ErrorCode::IdempotencyKeyInUse => "run the command again",
        ErrorCode::StepNotTakeable => "the note of `caas sandbox steps ORDER` says who takes it and what it waits for",
        _ => return None,
    })
}

impl From<CaasError> for Failure {
    fn from(error: CaasError) -> Self {
        match error {
            CaasError::Offline(_) => Failure::new(Exit::Offline, "offline", "the CaaS platform cannot be reached")
                .with_fix("check the connection (or CAAS_BACKEND) and run the same command again"),
            CaasError::ServerUnavailable { status, retry_after } => Failure::new(
                Exit::Offline,
                "unavailable",
                format!("the CaaS platform cannot serve now (status {status})"),
            )
            .with_fix(match retry_after {
                Some(after) => format!("run the same command again in {} s", after.as_secs().max(1)),
                None => "run the same command again later".to_owned(),
            }),
            CaasError::Cancelled => Failure::refused("cancelled", "cancelled"),
            CaasError::Unauthorized => Failure::refused("not_signed_in", "not signed in, or the session expired")
                .with_fix("run `caas sign-in EMAIL` (or `caas driver sign-in EMAIL`)"),
            CaasError::NotFound(what) => Failure::refused("not_found", format!("{what} not found"))
                .with_fix("check the id; `caas orders` lists what this role can see"),
            CaasError::Rejected { code, message } => {
                let exit = if later(code) { Exit::Offline } else { Exit::Refused };
                let failure = Failure::new(exit, code.wire_name(), message);
                match fix_for(code) {
                    Some(fix) => failure.with_fix(fix),
                    None => failure,
                }
            }
            CaasError::PaymentRefused { refusal, message } => {
                let (code, fix) = payment_refusal(refusal);
                Failure::refused(code, message).with_fix(fix)
            }
            CaasError::HandoverRefused(refusal) => Failure::refused("handover_code_refused", refusal.to_string())
                .with_fix("ask the customer to show a fresh code"),
            CaasError::PendingActions(count) => {
                Failure::refused("pending_actions", format!("{count} driver action(s) are not synced yet"))
                    .with_fix("connect and run `caas driver sync` first")
            }
            CaasError::HistoryRewritten { order_id, reason } => Failure::refused(
                "history_rewritten",
                format!("the platform's record of order {order_id} was refused: {reason}"),
            )
            .with_fix("this machine keeps the record it had; report it to the platform"),
            CaasError::Pairing { failure, message } => pairing_failure(failure, message),
            CaasError::Config(message) => Failure::usage(message),
            other @ (CaasError::Protocol(_)
            | CaasError::InvalidPush(_)
            | CaasError::Storage(_)
            | CaasError::Secrets(_)) => Failure::new(Exit::Internal, "internal", other.chain()),
        }
    }
}

fn payment_refusal(refusal: PaymentRefusal) -> (&'static str, &'static str) {
    match refusal {
        PaymentRefusal::InvalidCard => ("invalid_card", "check the card number, expiry and security code"),
        PaymentRefusal::CardDeclined => ("card_declined", "the bank declined the card; try another card"),
        PaymentRefusal::InsufficientFunds => ("insufficient_funds", "try another card"),
        PaymentRefusal::AuthenticationFailed => {
            ("authentication_failed", "the bank could not confirm it was you; try again")
        }
        PaymentRefusal::DeadlinePassed => ("deadline_passed", "the reservation is lost; contact your dealership"),
        PaymentRefusal::ReservationLost => ("reservation_lost", "the reservation is lost; contact your dealership"),
        PaymentRefusal::AlreadyPaid => ("already_paid", "nothing is left to pay"),
        PaymentRefusal::NotPayable => ("not_payable", "nothing is due yet"),
        PaymentRefusal::AmountChanged => ("amount_mismatch", "the amount due changed; check the order and pay again"),
        PaymentRefusal::OptionUnavailable => {
            ("option_unavailable", "see what the car can take with `caas options list ORDER`")
        }
    }
}

/// A pairing failure's stable code, whether it is worth trying again, and what to do.
fn pairing(failure: PairingFailure) -> (Exit, &'static str, &'static str) {
    match failure {
        PairingFailure::NotDelivered => (Exit::Refused, "not_delivered", "pairing comes after the handover"),
        PairingFailure::CarNotFound => (Exit::Offline, "car_not_found", "go closer to the car, or wake it, and retry"),
        PairingFailure::WrongCar => (Exit::Refused, "wrong_car", "a car answered that is not yours; nothing was sent"),
        PairingFailure::GrantExpired => (Exit::Refused, "grant_expired", "check the phone's clock, then pair again"),
        PairingFailure::GrantNotYetValid => {
            (Exit::Refused, "grant_not_yet_valid", "the car's or the phone's clock is off")
        }
        PairingFailure::GrantRevoked => {
            (Exit::Refused, "grant_revoked", "this phone's key was revoked; ask the dealership")
        }
        PairingFailure::ConfirmIdentity => {
            (Exit::Refused, "step_up_required", "sign in again with a new code (`caas sign-in EMAIL`), then pair")
        }
        PairingFailure::AuthenticationFailed => {
            (Exit::Refused, "authentication_failed", "the car did not accept this phone's key; pair again")
        }
        PairingFailure::NotPermitted => (Exit::Refused, "not_permitted", "a guest key cannot do that"),
        PairingFailure::Incompatible => (Exit::Refused, "incompatible", "update the app"),
        PairingFailure::ConnectionLost => (Exit::Offline, "connection_lost", "stay near the car and run it again"),
        PairingFailure::BluetoothUnavailable => {
            (Exit::Offline, "bluetooth_unavailable", "switch Bluetooth on, or allow this app to use it")
        }
        PairingFailure::EntitlementRefused => {
            (Exit::Refused, "entitlement_refused", "nothing was switched on; contact the dealership")
        }
        PairingFailure::EntitlementExpired => {
            (Exit::Refused, "entitlement_expired", "the purchase ended; it is refunded if the car never confirmed it")
        }
    }
}

/// The stable code of a pairing failure, for what a command prints.
pub fn pairing_code(failure: PairingFailure) -> &'static str {
    pairing(failure).1
}

fn pairing_failure(failure: PairingFailure, message: String) -> Failure {
    let (exit, code, fix) = pairing(failure);
    Failure::new(exit, code, message).with_fix(fix)
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Api { status, error } => {
                let exit = if status >= 500 || later(error.code) { Exit::Offline } else { Exit::Refused };
                let failure = Failure::new(exit, error.code.wire_name(), error.message);
                // The mock's clients carry the sandbox token or a staff token, never a customer's.
                match fix_for(error.code) {
                    _ if status == 401 => failure.with_fix(
                        "check the sandbox token (--sandbox-token, CAAS_SANDBOX_TOKEN), or sign the staff in \
                         again with `caas dealership sign-in DEALERSHIP --sandbox`",
                    ),
                    Some(fix) => failure.with_fix(fix),
                    None => failure,
                }
            }
            ClientError::Unreachable(reason) => {
                Failure::new(Exit::Offline, "offline", format!("the platform cannot be reached: {reason}"))
                    .with_fix("start it (`caas mock serve`) or check --backend / CAAS_BACKEND")
            }
            ClientError::Http(reason) => Failure::new(Exit::Internal, "internal", reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use caas_core::protocol::api::ApiError;

    use super::*;

    /// Issue 16: a refused delivery change printed `ChangeTooLate`, a Rust name, with exit 1.
    #[test]
    fn a_refusal_names_the_wire_code_and_the_fix_and_exits_refused() {
        let failure = Failure::of(
            CaasError::Rejected { code: ErrorCode::ChangeTooLate, message: "the window starts tomorrow".into() }.into(),
        );
        assert_eq!(failure.code, "change_too_late");
        assert_eq!(failure.exit, Exit::Refused);
        let text = failure.text();
        assert!(!text.contains("ChangeTooLate"), "{text}");
        assert!(text.contains("change_too_late") && text.contains("fix: "), "{text}");
        assert_eq!(failure.json()["error"]["code"], "change_too_late");
        assert_eq!(failure.json()["error"]["exit"], 3);
    }

    #[test]
    fn every_kind_has_its_own_exit_status() {
        let offline = Failure::of(ClientError::Unreachable("connection refused".into()).into());
        let refused = Failure::of(
            ClientError::Api {
                status: 409,
                error: ApiError { code: ErrorCode::IllegalTransition, message: "not now".into() },
            }
            .into(),
        );
        let internal = Failure::of(anyhow::anyhow!("a bug"));
        let usage = Failure::usage("two flags that cannot go together");
        let statuses = [offline.exit, refused.exit, internal.exit, usage.exit].map(|exit| exit as u8);
        assert_eq!(statuses, [4, 3, 5, 2]);
        assert_eq!(refused.code, "illegal_transition");
    }

    #[test]
    fn a_typed_failure_passes_through_context_unchanged() {
        let failure = Failure::of(anyhow::Error::new(Failure::refused("option_unavailable", "no")));
        assert_eq!((failure.code.as_str(), failure.exit), ("option_unavailable", Exit::Refused));
    }
}
