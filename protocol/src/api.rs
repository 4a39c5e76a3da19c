//! The CaaS platform's HTTP API (`/v1`) as wire types: requests, responses and the one error shape.
//!
//! Identifiers are UUIDs, times are RFC 3339 in UTC and money is in minor units with an ISO 4217
//! currency, so no client ever has to guess a unit.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::arrival::ArrivalEstimate;
use crate::delivery::{CallOutcome, Custody, DeliveryView, DeliveryWindow, Handover, PickupPoint, TransitIncident};
use crate::lifecycle::{Actor, OrderState};
use crate::maintenance::{BookingReason, MaintenanceView, NextService, ServiceVisit, WarningCode};
use crate::options::{ActivationChannel, OptionCode, OptionPurchase};
use crate::pairing::api::AppLink;
use crate::record::{RecordHash, SignedHead};

/// Every error the API returns has this shape; `code` is stable and meant for programs, `message`
/// for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// The stable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidRequest,
    IllegalTransition,
    ConfigurationRejected,
    FactoryUnavailable,
    InvalidSignature,
    StaleTimestamp,
    Conflict,
    Internal,
    /// The `Idempotency-Key` was used before with another request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInUse,
    /// The amount to pay is not the amount due.
    AmountMismatch,
    /// The payment deadline has passed.
    DeadlinePassed,
    /// The customer lost the reservation; the car went back to dealership stock.
    ReservationLost,
    /// The order is already paid.
    AlreadyPaid,
    /// Nothing can be paid on the order in its state.
    NotPayable,
    /// The card could not be tokenized as typed.
    InvalidCard,
    /// The gateway did not answer; the outcome is not known yet. Retry with the same key.
    PaymentGatewayUnavailable,
    /// The registry refused the registration; the order says what to fix.
    RegistrationRejected,
    /// The registry could not be reached; the registration is retried.
    RegistryUnavailable,
    /// The delivery window is not offered, or was taken meanwhile.
    SlotUnavailable,
    /// The delivery starts too soon to be moved by the customer.
    ChangeTooLate,
    /// The customer moved the delivery as often as allowed.
    ChangeLimitReached,
    /// The car cannot leave before the customer confirms the delivery address.
    AddressNotConfirmed,
    /// The VIN scanned at embarkation is not the order's car.
    VinMismatch,
    /// The delivery changed since the driver's list was fetched (e.g. the customer moved it).
    DeliveryChanged,
    /// The handover code is malformed, forged, or for another order or attempt.
    HandoverCodeInvalid,
    HandoverCodeExpired,
    /// The handover code was used already.
    HandoverCodeUsed,
    /// The car has not been handed over to the customer yet: no phone key before delivery.
    NotDelivered,
    /// This device's key for the car was revoked; it gets no new grant.
    GrantRevoked,
    /// The link receipt is not signed by the order's car, or names another grant.
    LinkReceiptInvalid,
    /// Too many wrong guesses or requests; the answer's `Retry-After` says when to try again.
    TooManyAttempts,
    /// Another payment attempt of the order is still open (e.g. waiting for 3-D Secure).
    PaymentInProgress,
    /// The account must be proven again (a new sign-in code) before this, e.g. a new phone key.
    StepUpRequired,
    /// The option is not offered for this car now: installed, pending, conflicting, needing
    /// another first, or a workshop visit.
    OptionUnavailable,
    /// The car's option receipt does not check out.
    OptionReceiptInvalid,
    /// The car's report does not check out (another car's, or an odometer that went back).
    VehicleReportInvalid,
    /// The sandbox cannot take this next step of the order now (the message says why, e.g. only the
    /// customer's phone can pair with the car).
    StepNotTakeable,
    /// A code this version does not know (a newer platform's); the message says what happened.
    /// Never sent by this platform.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn wire_name(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::IllegalTransition => "illegal_transition",
            ErrorCode::ConfigurationRejected => "configuration_rejected",
            ErrorCode::FactoryUnavailable => "factory_unavailable",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::StaleTimestamp => "stale_timestamp",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Internal => "internal",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::IdempotencyKeyInUse => "idempotency_key_in_use",
            ErrorCode::AmountMismatch => "amount_mismatch",
            ErrorCode::DeadlinePassed => "deadline_passed",
            ErrorCode::ReservationLost => "reservation_lost",
            ErrorCode::AlreadyPaid => "already_paid",
            ErrorCode::NotPayable => "not_payable",
            ErrorCode::InvalidCard => "invalid_card",
            ErrorCode::PaymentGatewayUnavailable => "payment_gateway_unavailable",
            ErrorCode::RegistrationRejected => "registration_rejected",
            ErrorCode::RegistryUnavailable => "registry_unavailable",
            ErrorCode::SlotUnavailable => "slot_unavailable",
            ErrorCode::ChangeTooLate => "change_too_late",
            ErrorCode::ChangeLimitReached => "change_limit_reached",
            ErrorCode::AddressNotConfirmed => "address_not_confirmed",
            ErrorCode::VinMismatch => "vin_mismatch",
            ErrorCode::DeliveryChanged => "delivery_changed",
            ErrorCode::HandoverCodeInvalid => "handover_code_invalid",
            ErrorCode::HandoverCodeExpired => "handover_code_expired",
            ErrorCode::HandoverCodeUsed => "handover_code_used",
            ErrorCode::NotDelivered => "not_delivered",
            ErrorCode::GrantRevoked => "grant_revoked",
            ErrorCode::LinkReceiptInvalid => "link_receipt_invalid",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::PaymentInProgress => "payment_in_progress",
            ErrorCode::Unknown => "unknown",
            ErrorCode::StepUpRequired => "step_up_required",
            ErrorCode::OptionUnavailable => "option_unavailable",
            ErrorCode::OptionReceiptInvalid => "option_receipt_invalid",
            ErrorCode::VehicleReportInvalid => "vehicle_report_invalid",
            ErrorCode::StepNotTakeable => "step_not_takeable",
        }
    }
}

/// An amount of money in the currency's minor unit (cents for EUR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    pub amount_minor: i64,
    /// ISO 4217, upper case, e.g. `EUR`.
    pub currency: String,
}

impl std::fmt::Display for Money {
    /// `21340.00 EUR`: the amount in major units with the currency's two decimals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

/// What the customer bought: a base platform (model) and the options added to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VehicleConfiguration {
    pub base_platform: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerDetails {
    pub email: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 country of residence.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// What the vehicle registry of the dealership's country needs to know about the owner.
    #[serde(default)]
    pub registration: RegistrationDetails,
}

/// The owner's data a vehicle registry asks for. Which fields are needed depends on the country:
/// Spain's registry wants the DNI/NIE and the address, Portugal's the NIF and the address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationDetails {
    /// Spanish DNI or NIE, e.g. `12345678Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    /// Portuguese NIF (nine digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    /// The owner's postal address as it goes on the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A dealership registers a sale for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterSaleRequest {
    pub customer: CustomerDetails,
    pub configuration: VehicleConfiguration,
    /// Where the car will be delivered (town or city).
    pub delivery_locality: String,
}

/// The dealership records the reservation deposit (*señal*); the platform then orders the car.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordReservationRequest {
    pub deposit: Money,
}

/// The dealership corrects a configuration the factory refused; the platform orders again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmendConfigurationRequest {
    pub configuration: VehicleConfiguration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealershipView {
    pub id: String,
    pub name: String,
    pub country: String,
    pub locality: String,
}

/// Why an order cannot move on until someone acts, e.g. the factory refused its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Blocker {
    pub code: String,
    pub reason: String,
    /// What has to change for the order to move on, when someone can fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The final payment an order waits for: price minus deposit, due before the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FinalPayment {
    pub amount_due: Money,
    pub deadline: DateTime<Utc>,
    /// When the gateway confirmed the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
}

/// The car's administrative registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    pub plate: String,
    /// The registry that registered the car, e.g. `ES-DGT`.
    pub authority: String,
    pub registered_at: DateTime<Utc>,
}

/// A purchase record as its customer or dealership sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: Uuid,
    pub state: OrderState,
    /// Version of the last event in the order's log; only ever increases.
    pub version: u64,
    pub dealership: DealershipView,
    pub configuration: VehicleConfiguration,
    pub delivery_locality: String,
    pub deposit: Option<Money>,
    pub vin: Option<String>,
    pub factory_order_id: Option<String>,
    /// The factory's latest estimate of completion; an estimate until the car is built.
    pub estimated_completion: Option<NaiveDate>,
    pub blocker: Option<Blocker>,
    /// The full price: the configuration's list price.
    #[serde(default)]
    pub price: Option<Money>,
    /// Set once the car is ready and the rest of the price is due.
    #[serde(default)]
    pub final_payment: Option<FinalPayment>,
    #[serde(default)]
    pub registration: Option<Registration>,
    /// The car was sold from dealership stock: built for an earlier order, no factory order.
    #[serde(default)]
    pub from_stock: bool,
    /// Transport and handover, once the registered car is booked on a transport.
    #[serde(default)]
    pub delivery: Option<DeliveryView>,
    /// The owner's app linked to the car, once the car confirmed it.
    #[serde(default)]
    pub app_link: Option<AppLink>,
    /// Options bought for the car after delivery, oldest first. One a newer platform shaped in a
    /// way this version cannot read is left out here (the phone keeps the record as received),
    /// never the reason the whole order cannot be read.
    #[serde(default, deserialize_with = "crate::options::readable")]
    pub options: Vec<OptionPurchase>,
    /// The car's maintenance, from `operational` on. One a newer platform shaped in a way this
    /// version cannot read is left out, never the reason the order cannot be read.
    #[serde(default, deserialize_with = "crate::maintenance::readable")]
    pub maintenance: Option<MaintenanceView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of an order's log (the purchase record, *expediente de compra*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderEvent {
    pub event_id: Uuid,
    pub order_id: Uuid,
    /// 1 for the first event of an order, then consecutive.
    pub version: u64,
    pub occurred_at: DateTime<Utc>,
    /// The hash of the order's event before this one (for the first, the order's genesis hash):
    /// the chain that makes the record evidence (`record`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<RecordHash>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Tagged by `type` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The order moved along a lifecycle edge (or was created, with no `from`).
    StateChanged { from: Option<OrderState>, to: OrderState, by: Actor },
    /// The factory set or revised its estimated completion date.
    EstimateRevised { estimated_completion: NaiveDate, reason: String },
    /// The factory refused the configuration; the order waits for the dealership to amend it.
    ConfigurationRejected { code: String, reason: String },
    /// The car is ready: the rest of the price is due before the deadline, or the reservation is
    /// lost.
    FinalPaymentRequested { amount_due: Money, deadline: DateTime<Utc> },
    /// The deadline of an unpaid final payment is near.
    PaymentReminder { amount_due: Money, deadline: DateTime<Utc> },
    /// The registry refused the registration, or could not be reached after retries; `fix` says
    /// what has to change.
    RegistrationBlocked { code: String, reason: String, fix: String },
    /// A delivery window was booked or moved.
    DeliveryScheduled { attempt: u32, window: DeliveryWindow, company: String, reason: ScheduleReason },
    /// The customer confirmed (or corrected) the delivery address.
    DeliveryAddressConfirmed,
    /// The transport company loaded the car and set out.
    Embarked { attempt: u32, custody: Custody },
    /// Nobody took the car at the address; the driver called the customer.
    CustomerAbsent { attempt: u32, call: CallOutcome },
    /// Something on the way stopped the trip; the car goes back to the dealership with the driver.
    TransitIncident { attempt: u32, incident: TransitIncident },
    /// The driver's expected arrival: the first of a trip, one that moved by the margin or more,
    /// or the one when the driver is a stop away (smaller revisions stay on the delivery only).
    ArrivalEstimated { attempt: u32, estimate: ArrivalEstimate },
    /// The car is back at the dealership and was received there.
    ReceivedAtDealership { custody: Custody },
    /// The customer has to collect the car at the dealership.
    PickupRequired { pickup: PickupPoint },
    /// The verified customer took the car.
    HandedOver { handover: Handover },
    /// A phone key for the car was issued: the owner sees every key that can open their car.
    KeyIssued { grant_id: Uuid, not_after: DateTime<Utc> },
    /// A phone key was revoked; the car refuses it from now on.
    KeyRevoked { grant_id: Uuid },
    /// The car confirmed the link with the owner's app.
    AppLinked { link: AppLink },
    /// A charge the order did not need (it was paid already) was refunded to the card.
    PaymentRefunded { payment_id: String, amount: Money, reason: String },
    /// The customer disputes a handover: the car did not reach them.
    HandoverDisputed { reason: String },
    /// An option for the car was paid; the car must confirm it by `activate_by`.
    OptionPurchased { purchase_id: Uuid, option: OptionCode, amount: Money, activate_by: DateTime<Utc> },
    /// The car confirmed the option with its signed receipt.
    OptionActivated { purchase_id: Uuid, option: OptionCode, via: ActivationChannel, activated_at: DateTime<Utc> },
    /// The car did not confirm a paid option in time: the price went back to the card.
    OptionRefunded { purchase_id: Uuid, option: OptionCode, amount: Money },
    /// The next service is near (by distance or date): time to book it.
    ServiceDue { next_service: NextService },
    /// The car reports warnings it did not report before.
    VehicleWarning { warnings: Vec<WarningCode> },
    /// A workshop slot was booked or the booking moved.
    ServiceBooked { start: DateTime<Utc>, end: DateTime<Utc>, reason: BookingReason },
    /// The customer cancelled the booked service.
    ServiceCancelled { start: DateTime<Utc> },
    /// The workshop recorded a visit; the next service counts from it.
    ServiceVisitRecorded { visit: ServiceVisit },
    /// A kind this version does not know (a newer platform's), or a known one whose fields it
    /// cannot read: kept as received, shown as an update this version cannot describe, and it
    /// changes nothing else, so the events after it apply as usual.
    #[serde(untagged)]
    Unknown(UnknownEvent),
}

/// An event this version cannot read, as it came: its `type` and every other field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnknownEvent {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Why a delivery window was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleReason {
    /// The platform booked the first window after registration.
    Booked,
    /// The customer picked another window.
    CustomerChanged,
    /// Agreed with the driver on the phone after a missed delivery.
    AgreedByPhone,
    /// A reason a newer platform added; never produced by this one.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The short type name carried by push hints.
    pub fn type_name(&self) -> &str {
        match self {
            EventKind::StateChanged { .. } => "state_changed",
            EventKind::EstimateRevised { .. } => "estimate_revised",
            EventKind::ConfigurationRejected { .. } => "configuration_rejected",
            EventKind::FinalPaymentRequested { .. } => "final_payment_requested",
            EventKind::PaymentReminder { .. } => "payment_reminder",
            EventKind::RegistrationBlocked { .. } => "registration_blocked",
            EventKind::DeliveryScheduled { .. } => "delivery_scheduled",
            EventKind::DeliveryAddressConfirmed => "delivery_address_confirmed",
            EventKind::Embarked { .. } => "embarked",
            EventKind::CustomerAbsent { .. } => "customer_absent",
            EventKind::TransitIncident { .. } => "transit_incident",
            EventKind::ArrivalEstimated { .. } => "arrival_estimated",
            EventKind::ReceivedAtDealership { .. } => "received_at_dealership",
            EventKind::PickupRequired { .. } => "pickup_required",
            EventKind::HandedOver { .. } => "handed_over",
            EventKind::KeyIssued { .. } => "key_issued",
            EventKind::KeyRevoked { .. } => "key_revoked",
            EventKind::AppLinked { .. } => "app_linked",
            EventKind::PaymentRefunded { .. } => "payment_refunded",
            EventKind::HandoverDisputed { .. } => "handover_disputed",
            EventKind::OptionPurchased { .. } => "option_purchased",
            EventKind::OptionActivated { .. } => "option_activated",
            EventKind::OptionRefunded { .. } => "option_refunded",
            EventKind::ServiceDue { .. } => "service_due",
            EventKind::VehicleWarning { .. } => "vehicle_warning",
            EventKind::ServiceBooked { .. } => "service_booked",
            EventKind::ServiceCancelled { .. } => "service_cancelled",
            EventKind::ServiceVisitRecorded { .. } => "service_visit_recorded",
            EventKind::Unknown(unknown) => &unknown.type_name,
        }
    }

    /// The types this version knows. An [`EventKind::Unknown`] of one of them is a known event
    /// whose fields this version cannot read.
    pub const TYPE_NAMES: [&'static str; 28] = [
        "state_changed",
        "estimate_revised",
        "configuration_rejected",
        "final_payment_requested",
        "payment_reminder",
        "registration_blocked",
        "delivery_scheduled",
        "delivery_address_confirmed",
        "embarked",
        "customer_absent",
        "transit_incident",
        "arrival_estimated",
        "received_at_dealership",
        "pickup_required",
        "handed_over",
        "key_issued",
        "key_revoked",
        "app_linked",
        "payment_refunded",
        "handover_disputed",
        "option_purchased",
        "option_activated",
        "option_refunded",
        "service_due",
        "vehicle_warning",
        "service_booked",
        "service_cancelled",
        "service_visit_recorded",
    ];
}

/// A car in a dealership's stock: built for an order whose customer did not pay, kept with its
/// configuration and manufacturing history, ready to be sold again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockVehicle {
    pub vin: String,
    pub dealership_id: String,
    pub configuration: VehicleConfiguration,
    pub price: Money,
    /// The factory stages the car went through, with when.
    pub manufacturing: Vec<ManufacturingStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManufacturingStep {
    pub stage: OrderState,
    pub at: DateTime<Utc>,
}

/// A dealership sells a car from its stock to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockSaleRequest {
    pub customer: CustomerDetails,
    pub delivery_locality: String,
}

/// A page of an order's log, strictly after a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<OrderEvent>,
    /// The order's current version, so a client knows whether more pages follow.
    pub latest_version: u64,
    /// The platform's signature on the event at `latest_version`: a phone refuses a page without.
    pub head: SignedHead,
}

/// The most events one page returns.
pub const MAX_EVENTS_PER_PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInCodeRequest {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub code: String,
}

/// A bearer token for one customer, short-lived, with the refresh token that keeps a signed-in
/// phone signed in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub access_token: String,
    pub customer_id: Uuid,
    /// Exchanged once at `POST /v1/auth/refresh` for a new session; using it twice ends the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds the access token stays valid from now (0 from a platform that does not say).
    #[serde(default)]
    pub expires_in: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"<redacted>")
            .field("customer_id", &self.customer_id)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `POST /v1/auth/refresh`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterDeviceRequest {
    pub platform: crate::push::PushPlatform,
    /// The FCM registration token or APNs device token; any label for `sse`.
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceView {
    pub id: Uuid,
    pub platform: crate::push::PushPlatform,
}

/// The factory's order API (`POST /orders` on the factory), called by the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactoryOrderRequest {
    /// The platform's order id, echoed in every webhook.
    pub platform_order_id: Uuid,
    pub configuration: VehicleConfiguration,
    pub dealership_id: String,
    pub delivery_locality: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactoryOrderAccepted {
    pub factory_order_id: String,
    pub vin: String,
    pub estimated_completion: NaiveDate,
}

/// Why the factory refused an order at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactoryRejection {
    /// `unknown_base_platform`, `unknown_option` or `incompatible_options`.
    pub code: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::HandoverPlace;
    use crate::payment::{Payment, PaymentStatus};

    /// Issue 13: a value a newer platform added inside an order's record (a state, a handover
    /// place, a party) made the whole record unreadable on every older phone.
    #[test]
    fn a_newer_platforms_values_inside_a_record_read_as_unknown() {
        let order = serde_json::json!({
            "id": Uuid::from_u128(1), "state": "in_maintenance", "version": 40,
            "dealership": { "id": "madrid-centro", "name": "Madrid Centro", "country": "ES", "locality": "Madrid" },
            "configuration": { "base_platform": "urban-ev", "options": [] },
            "delivery_locality": "Madrid", "deposit": null, "vin": null, "factory_order_id": null,
            "estimated_completion": null, "blocker": null,
            "delivery": {
                "delivery_id": Uuid::from_u128(2),
                "company": { "id": "c", "name": "C", "phone": "+34" },
                "attempt": 1,
                "window": { "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T11:00:00Z" },
                "address": null, "address_confirmed": true, "changes_left": 0,
                "handover": { "at": "2026-12-01T10:00:00Z", "place": "parcel_locker", "by": "robot" }
            },
            "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
            "added_by_a_newer_platform": { "anything": true }
        });
        let view: OrderView = serde_json::from_value(order).expect("a newer record reads");
        assert_eq!(view.state, OrderState::Unknown);
        assert_eq!(view.delivery.and_then(|d| d.handover).map(|h| h.place), Some(HandoverPlace::Unknown));

        let payment = serde_json::json!({
            "id": "pi_1", "order_id": Uuid::from_u128(1), "amount": { "amount_minor": 100, "currency": "EUR" },
            "status": "partially_captured", "created_at": "2026-11-01T09:00:00Z",
            "next_action": { "type": "open_banking_redirect", "url": "https://bank.example" },
            "last_error": { "code": "velocity_limit", "message": "too many" }
        });
        let payment: Payment = serde_json::from_value(payment).expect("a newer payment reads");
        assert_eq!(payment.status, PaymentStatus::Unknown);
    }

    #[test]
    fn error_code_wire_names_match_serde() {
        for code in [
            ErrorCode::NotFound,
            ErrorCode::ConfigurationRejected,
            ErrorCode::StaleTimestamp,
            ErrorCode::Internal,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::PaymentGatewayUnavailable,
            ErrorCode::RegistryUnavailable,
            ErrorCode::StepNotTakeable,
        ] {
            assert_eq!(serde_json::to_value(code).expect("json"), code.wire_name());
        }
    }
}
