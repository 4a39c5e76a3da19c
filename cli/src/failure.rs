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
            // Most are a file this machine could not read or write.
            Err(error) => Self::new(Exit::Internal, "internal", format!("{error:#}")).with_fix(format!(
                "if the message names a file or folder, check its permissions and the free space; otherwise {REPORT_A_BUG}"
            )),
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

/// What to do about a refusal the platform names by code. Exhaustive, so a code added to the
/// protocol does not compile here until it has its fix.
fn fix_for(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthorized => "sign in again: `caas sign-in EMAIL` (or the role's own `sign-in`)",
        ErrorCode::Forbidden => "this role may not do that; use the role the step belongs to",
        ErrorCode::NotFound => "check the id (`caas orders`, `caas sandbox orders`)",
        ErrorCode::InvalidRequest => {
            "correct the value the message names; the command's `--help` lists what each argument takes"
        }
        ErrorCode::IllegalTransition => "see what may happen next with `caas sandbox steps ORDER`",
        ErrorCode::ConfigurationRejected => "amend it with `caas dealership amend ORDER --model M --option O`",
        ErrorCode::FactoryUnavailable => "retry with `caas dealership retry-factory ORDER`",
        ErrorCode::InvalidSignature => {
            "sign the webhook with a secret the platform accepts (`caas mock serve --webhook-secret`)"
        }
        ErrorCode::StaleTimestamp => "sign the webhook again with the current time, and check this machine's clock",
        ErrorCode::Conflict => {
            "something changed it meanwhile: look at it again (`caas timeline ORDER`, `caas sandbox events ORDER`)"
        }
        ErrorCode::Internal => {
            "the platform failed: run the same command again; if it fails again, read the mock's log (RUST_LOG=debug)"
        }
        ErrorCode::AmountMismatch => "the amount due changed; check it with `caas timeline ORDER` and pay again",
        ErrorCode::DeadlinePassed | ErrorCode::ReservationLost => {
            "the reservation is lost: ask the dealership, which can sell the car again from its stock"
        }
        ErrorCode::AlreadyPaid => "nothing is left to pay: check the order with `caas timeline ORDER`",
        ErrorCode::NotPayable => "nothing is due yet; wait for the car to reach your locality",
        ErrorCode::InvalidCard => "check the card number, expiry and security code",
        ErrorCode::PaymentGatewayUnavailable => "run the same command again; it resumes the same payment",
        ErrorCode::RegistrationRejected => "correct the owner's data with `caas dealership retry-registration ORDER`",
        ErrorCode::RegistryUnavailable => "the registration is retried by itself; check again later",
        ErrorCode::SlotUnavailable => "choose one of the windows `caas delivery slots ORDER` lists",
        ErrorCode::ChangeTooLate => "ask the dealership: within 24 hours of the window only it can change the delivery",
        ErrorCode::ChangeLimitReached => "contact the dealership to change it again",
        ErrorCode::AddressNotConfirmed => "the customer confirms it with `caas delivery confirm-address ORDER`",
        ErrorCode::VinMismatch => "scan the VIN of the order's car",
        ErrorCode::DeliveryChanged => "refresh with `caas driver deliveries`",
        ErrorCode::HandoverCodeInvalid | ErrorCode::HandoverCodeExpired | ErrorCode::HandoverCodeUsed => {
            "ask the customer to show a fresh code (`caas delivery code ORDER`)"
        }
        ErrorCode::NotDelivered => "pair after the handover: `caas timeline ORDER` shows where the delivery is",
        ErrorCode::GrantRevoked => "this phone's key was revoked; ask the dealership",
        ErrorCode::LinkReceiptInvalid => {
            "the car's confirmation of the link was refused: pair again near the car (`caas pair ORDER`)"
        }
        ErrorCode::TooManyAttempts => "wait before trying again",
        ErrorCode::PaymentInProgress => "finish the open payment first (`--resume`)",
        ErrorCode::StepUpRequired => "sign in again with a new code, then retry",
        ErrorCode::OptionUnavailable => "see what the car can take with `caas options list ORDER`",
        ErrorCode::OptionReceiptInvalid => {
            "the car's receipt was refused: hand the option over again near the car (`caas options activate ORDER`)"
        }
        ErrorCode::VehicleReportInvalid => {
            "the car's report was refused: read the car again near it (`caas service read-car ORDER`)"
        }
        ErrorCode::IdempotencyKeyReused | ErrorCode::IdempotencyKeyInUse => "run the command again",
        ErrorCode::StepNotTakeable => "the note of `caas sandbox steps ORDER` says who takes it and what it waits for",
        ErrorCode::Unknown => {
            "a newer platform's refusal this version cannot name: the message says what happened; update caas"
        }
    }
}

/// What to do about a failure of this machine or of caas itself.
const REPORT_A_BUG: &str = "run it again with RUST_LOG=debug and report what it prints";

/// A command that knows better than the general fix what a refusal means for it: a `not_found` of
/// `caas sandbox code EMAIL` is no code waiting, not a wrong order id.
pub trait FixWhen<T> {
    /// On a refusal named `code`, `fix` instead of the general one.
    fn fix_when(self, code: ErrorCode, fix: &str) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> FixWhen<T> for Result<T, E> {
    fn fix_when(self, code: ErrorCode, fix: &str) -> anyhow::Result<T> {
        self.map_err(|error| {
            let failure = Failure::of(error.into());
            if failure.code == code.wire_name() { failure.with_fix(fix) } else { failure }.into()
        })
    }
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
            CaasError::Cancelled => Failure::refused("cancelled", "stopped before it finished (an unlock prompt declined)")
                .with_fix("run the same command again and accept the prompt"),
            CaasError::Unauthorized => Failure::refused("not_signed_in", "not signed in, or the session expired")
                .with_fix("run `caas sign-in EMAIL` (or `caas driver sign-in EMAIL`)"),
            CaasError::NotFound(what) => Failure::refused("not_found", format!("{what} not found"))
                .with_fix("check the id; `caas orders` lists what this role can see"),
            CaasError::Rejected { code, message } => {
                let exit = if later(code) { Exit::Offline } else { Exit::Refused };
                Failure::new(exit, code.wire_name(), message).with_fix(fix_for(code))
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
            CaasError::Config(message) => {
                Failure::usage(message).with_fix("check --backend / CAAS_BACKEND and --data-dir / CAAS_DATA_DIR")
            }
            other @ (CaasError::Protocol(_) | CaasError::InvalidPush(_)) => {
                Failure::new(Exit::Internal, "internal", other.chain())
                    .with_fix(format!("the platform sent what this version cannot read: update caas, or {REPORT_A_BUG}"))
            }
            other @ CaasError::Storage(_) => Failure::new(Exit::Internal, "internal", other.chain()).with_fix(
                "this role's cache cannot be used: check the disk, or move the role's folder under the data \
                 directory (--data-dir) aside and sign in again",
            ),
            other @ CaasError::Secrets(_) => Failure::new(Exit::Internal, "internal", other.chain())
                .with_fix("the role's `secrets` folder under the data directory (--data-dir) cannot be used: check its permissions"),
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
                match status {
                    401 => failure.with_fix(
                        "check the sandbox token (--sandbox-token, CAAS_SANDBOX_TOKEN), or sign the staff in \
                         again with `caas dealership sign-in DEALERSHIP --sandbox`",
                    ),
                    _ => failure.with_fix(fix_for(error.code)),
                }
            }
            ClientError::Unreachable(reason) => {
                Failure::new(Exit::Offline, "offline", format!("the platform cannot be reached: {reason}"))
                    .with_fix("start it (`caas mock serve`) or check --backend / CAAS_BACKEND")
            }
            ClientError::Http(reason) => Failure::new(Exit::Internal, "internal", reason)
                .with_fix(format!("check that --backend / CAAS_BACKEND is a CaaS platform; if it is, {REPORT_A_BUG}")),
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

    /// Verbs that start a fix's next action when it names no command.
    const ACTIONS: [&str; 11] =
        ["ask", "check", "contact", "correct", "finish", "run", "scan", "sign", "update", "use", "wait"];

    /// Codes that share a fix on purpose: whichever of them it is, the same thing is to be done.
    const SHARED_FIXES: [&[ErrorCode]; 3] = [
        &[ErrorCode::DeadlinePassed, ErrorCode::ReservationLost],
        &[ErrorCode::HandoverCodeInvalid, ErrorCode::HandoverCodeExpired, ErrorCode::HandoverCodeUsed],
        &[ErrorCode::IdempotencyKeyReused, ErrorCode::IdempotencyKeyInUse],
    ];

    /// Whether `fix` says what to do next: it names a command, or one of its clauses starts with
    /// an action ("nothing is left to pay" only says why).
    fn tells_what_to_do(fix: &str) -> bool {
        fix.contains("`caas ")
            || fix
                .split(['.', ';', ':', ','])
                .filter_map(|clause| clause.split_whitespace().next())
                .any(|word| ACTIONS.contains(&word))
    }

    /// Issue 16: a third of the codes came with no fix, and a refusal's fix could say what went
    /// wrong without what to do. Every code the platform's OpenAPI document lists (generated from
    /// the protocol's enum, so a new code is in it) names itself and its own fix whichever way it
    /// reaches a command; the fix says what to do, and is another code's only where
    /// [`SHARED_FIXES`] says the same is to be done.
    #[tokio::test]
    async fn every_code_of_the_protocol_names_itself_and_a_fix_that_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mock = caas_mock::start(caas_mock::MockConfig::ephemeral(dir.path().join("mock.db"))).await.expect("mock");
        let document: serde_json::Value =
            reqwest::get(format!("{}/openapi.json", mock.url)).await.expect("served").json().await.expect("JSON");
        mock.stop().await;
        let names = document["components"]["schemas"]["ErrorCode"]["enum"].as_array().expect("the codes");
        let mut codes_by_fix = std::collections::HashMap::<&str, Vec<ErrorCode>>::new();
        for name in names.iter().map(|name| name.as_str().expect("a name")) {
            let code: ErrorCode = serde_json::from_value(json!(name)).expect("a code");
            assert_eq!(code.wire_name(), name, "{name} is a code of this version");
            let fix = fix_for(code);
            assert!(tells_what_to_do(fix), "{name}: `{fix}` says no next action");
            let message = || "refused".to_owned();
            let failures = [
                Failure::from(CaasError::Rejected { code, message: message() }),
                Failure::from(ClientError::Api { status: 409, error: ApiError { code, message: message() } }),
            ];
            for failure in failures {
                assert_eq!((failure.code.as_str(), failure.fix.as_deref()), (name, Some(fix)));
            }
            codes_by_fix.entry(fix).or_default().push(code);
        }
        for (fix, codes) in codes_by_fix.into_iter().filter(|(_, codes)| codes.len() > 1) {
            assert!(SHARED_FIXES.contains(&codes.as_slice()), "{codes:?} share `{fix}`");
        }
        assert!(names.len() > 40, "every code, not a few: {names:?}");
    }

    #[test]
    fn a_cancelled_operation_and_an_internal_failure_say_what_to_do() {
        for failure in [
            Failure::from(CaasError::Cancelled),
            Failure::of(anyhow::anyhow!("a bug")),
            Failure::from(CaasError::Protocol("an answer nobody can read".into())),
            Failure::from(ClientError::Http("502: <html>".into())),
        ] {
            assert!(failure.fix.as_ref().is_some_and(|fix| fix.len() > 15), "{}", failure.text());
        }
    }

    /// Issue 16: `caas sandbox code` of an address without a code told to check an order id.
    #[test]
    fn a_command_gives_its_own_fix_for_the_refusals_it_knows_better() {
        let missing = || -> Result<(), ClientError> {
            Err(ClientError::Api {
                status: 404,
                error: ApiError { code: ErrorCode::NotFound, message: "sign-in code not found".into() },
            })
        };
        let failure = Failure::of(missing().fix_when(ErrorCode::NotFound, "ask for a code first").expect_err("fails"));
        assert_eq!((failure.code.as_str(), failure.fix.as_deref()), ("not_found", Some("ask for a code first")));
        let failure = Failure::of(missing().fix_when(ErrorCode::Conflict, "not this one").expect_err("fails"));
        assert_eq!(failure.fix.as_deref(), Some(fix_for(ErrorCode::NotFound)), "another refusal keeps its fix");
    }

    #[test]
    fn a_typed_failure_passes_through_context_unchanged() {
        let failure = Failure::of(anyhow::Error::new(Failure::refused("option_unavailable", "no")));
        assert_eq!((failure.code.as_str(), failure.exit), ("option_unavailable", Exit::Refused));
    }
}
