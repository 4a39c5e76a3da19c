//! Transport and delivery on the wire: the delivery window and its changes, the customer's
//! self-service, the driver's deliveries and actions, and the dealership's pickup desk.
//!
//! A driver's action carries the time the driver took it, because the phone is often offline and
//! the record must say when the car changed hands, not when the phone found signal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::handover::HandoverPublicKey;
use crate::lifecycle::OrderState;

/// A delivery window: the car arrives between `start` and `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The subcontracted company that carries the car.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportCompanyView {
    pub id: String,
    pub name: String,
    pub phone: String,
}

/// Who had the car and when: the seed asks for embarkation and reception to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Custody {
    pub at: DateTime<Utc>,
    /// The party that recorded it, e.g. `Iberia Car Carriers (driver Lucía Gómez)`.
    pub party: String,
}

/// Where a dealership hands over a car it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupPoint {
    pub dealership: String,
    pub address: String,
    pub opening_hours: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HandoverPlace {
    CustomerAddress,
    Dealership,
    /// A place a newer platform added; never produced by this one.
    #[serde(other)]
    Unknown,
}

/// The handover: to whom the car went is the order's customer, verified by the handover code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handover {
    pub at: DateTime<Utc>,
    pub place: HandoverPlace,
    /// Who checked the code and handed over the car.
    pub by: String,
}

/// How many times a customer may move a booked delivery.
pub const MAX_CUSTOMER_CHANGES: u32 = 3;

/// How close to its start a delivery can no longer be moved by the customer, in hours.
pub const CHANGE_CUTOFF_HOURS: i64 = 24;

/// The delivery of an order as its customer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub delivery_id: Uuid,
    pub company: TransportCompanyView,
    /// 1 for the first trip to the customer; each agreed new time starts another.
    pub attempt: u32,
    pub window: DeliveryWindow,
    /// Where the car is taken; the customer confirms it before the first trip.
    pub address: Option<String>,
    pub address_confirmed: bool,
    /// How many more times the customer may move the delivery.
    pub changes_left: u32,
    pub embarkation: Option<Custody>,
    pub arrived_at: Option<DateTime<Utc>>,
    /// The car came back to the dealership and was received there.
    pub reception: Option<Custody>,
    /// Set when the customer has to collect the car.
    pub pickup: Option<PickupPoint>,
    pub handover: Option<Handover>,
    /// The customer says the handover was not to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<HandoverDispute>,
}

/// The customer's word that a recorded handover was not to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverDispute {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// `POST /v1/orders/{id}/handover/dispute`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeHandoverRequest {
    /// What happened, in the customer's words (at most 500 characters).
    pub reason: String,
}

/// How long after a handover the customer can dispute it.
pub const DISPUTE_WINDOW_DAYS: i64 = 7;

/// A window the transport company can still take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliverySlot {
    pub window: DeliveryWindow,
    /// Cars the company can still take in it.
    pub free: u32,
}

/// The customer picks one of the offered windows by its start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChooseSlotRequest {
    pub start: DateTime<Utc>,
}

/// The customer confirms the delivery address, correcting it when `address` is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmAddressRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A handover code as the customer's phone shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverCodeView {
    /// The signed token the QR code carries.
    pub token: String,
    /// Eight digits to read out when the QR code cannot be scanned.
    pub short_code: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for HandoverCodeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandoverCodeView").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// What the customer said on the phone when the driver found nobody at the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    /// Reached, and a new delivery time was agreed (one of the offered windows).
    Rescheduled {
        window_start: DateTime<Utc>,
    },
    Unreachable,
    /// Reached, but cannot take the car at any offered time.
    CannotAccept,
}

/// One thing a driver did, as it travels from the phone's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DriverAction {
    /// The car is loaded; `window_start` is the window the driver set out for, so a delivery the
    /// customer moved meanwhile is caught.
    Embark {
        vin: String,
        window_start: DateTime<Utc>,
    },
    Arrive,
    /// Nobody at the address; the driver called the customer.
    ReportAbsent {
        call: CallOutcome,
    },
    /// The customer showed a valid code and took the car. `code` is the QR token.
    ConfirmHandover {
        code: String,
        verified_at: DateTime<Utc>,
    },
}

impl DriverAction {
    /// The state the action moves the order to.
    pub fn target_state(&self) -> OrderState {
        match self {
            DriverAction::Embark { .. } => OrderState::InTransit,
            DriverAction::Arrive => OrderState::AtCustomerAddress,
            DriverAction::ReportAbsent { call: CallOutcome::Rescheduled { .. } } => OrderState::DeliveryRescheduled,
            DriverAction::ReportAbsent { .. } => OrderState::ReturnedToDealership,
            DriverAction::ConfirmHandover { .. } => OrderState::Delivered,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            DriverAction::Embark { .. } => "embark",
            DriverAction::Arrive => "arrive",
            DriverAction::ReportAbsent { .. } => "report_absent",
            DriverAction::ConfirmHandover { .. } => "confirm_handover",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverActionRequest {
    /// When the driver did it, by the phone's clock.
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: DriverAction,
}

/// One delivery on a driver's list, with what the driver needs at the door even offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverDelivery {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub state: OrderState,
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub vin: String,
    pub plate: Option<String>,
    pub model: String,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub address: Option<String>,
    pub address_confirmed: bool,
    /// Where the car goes back to when the customer cannot take it.
    pub dealership: PickupPoint,
    pub driver_id: String,
}

/// The driver's list and the key that checks handover codes offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverDeliveries {
    pub driver_id: String,
    pub company_id: String,
    pub handover_key: HandoverPublicKey,
    pub deliveries: Vec<DriverDelivery>,
}

/// The customer's phone asks for a handover code it will vouch for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverCodeRequest {
    /// The phone's P-256 public key, uncompressed, base64url: the code names it, and the phone
    /// signs when it shows the code, so a handover checked without signal can be confirmed after
    /// the code expired. Without it the code is good only while it lasts.
    #[serde(default)]
    pub holder_key: Option<String>,
}

/// A driver or dealership exchanges a short code the customer read out for the signed token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShortCodeRequest {
    pub short_code: String,
}

/// The dealership hands over a car it holds, on the customer's code (token or short form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealershipHandoverRequest {
    pub code: String,
}

/// A driver's sign-in answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverSession {
    pub access_token: String,
    pub driver_id: String,
    pub company_id: String,
    /// Seconds the token stays valid: to the end of the driver's shift, with no refresh.
    #[serde(default)]
    pub expires_in: u64,
}

impl std::fmt::Debug for DriverSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverSession")
            .field("access_token", &"<redacted>")
            .field("driver_id", &self.driver_id)
            .field("company_id", &self.company_id)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}
