//! Transport and delivery on the wire: the delivery window and its changes, the customer's
//! self-service, the driver's deliveries and actions, and the dealership's pickup desk.
//!
//! A driver's action carries the time the driver took it, because the phone is often offline and
//! the record must say when the car changed hands, not when the phone found signal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::arrival::{ArrivalEstimate, RoutePoint};
use crate::handover::HandoverPublicKey;
use crate::lifecycle::{Actor, OrderState};

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
    /// What stopped the trip on the way, when the car had to go back to the dealership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<TransitIncident>,
    /// When the car is expected at the door, as the driver last estimated it on this trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<ArrivalEstimate>,
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

/// What stopped a car on its way to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// The carrier (or the car) broke down.
    Breakdown,
    /// The car was damaged on the way and must be inspected before anyone takes it.
    Damage,
    /// The road to the customer is closed.
    RoadClosed,
    /// A kind a newer platform added; never accepted from a driver.
    #[serde(other)]
    Unknown,
}

/// The longest note a driver may add to an incident, in characters.
pub const MAX_INCIDENT_NOTE_CHARS: usize = 500;

/// Why a driver's incident report cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentRefusal {
    #[error("the incident must be a breakdown, damage or a closed road")]
    UnknownKind,
    #[error("the note must be at most {MAX_INCIDENT_NOTE_CHARS} characters of plain text on one line")]
    Note,
}

/// The incident a driver may report: a kind this version knows, and the note trimmed, with an
/// empty note as no note, at most one short paragraph of printable text. Checked on the phone
/// before the report is queued and again by the platform.
pub fn checked_incident(kind: IncidentKind, note: Option<&str>) -> Result<Option<String>, IncidentRefusal> {
    if kind == IncidentKind::Unknown {
        return Err(IncidentRefusal::UnknownKind);
    }
    let Some(note) = note.map(str::trim).filter(|note| !note.is_empty()) else { return Ok(None) };
    if note.chars().count() > MAX_INCIDENT_NOTE_CHARS || note.chars().any(crate::messages::is_hidden) {
        return Err(IncidentRefusal::Note);
    }
    Ok(Some(note.to_owned()))
}

/// An incident in transit as the order records it: the car went back to the dealership with the
/// driver, so it is never left on the roadside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitIncident {
    pub kind: IncidentKind,
    /// The driver's words, if any (at most [`MAX_INCIDENT_NOTE_CHARS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the driver reported it.
    pub at: DateTime<Utc>,
    /// The party that reported it, e.g. `Iberia Car Carriers (driver Lucía Gómez)`.
    pub by: String,
}

/// What a driver can do with a delivery, and the states each step leaves from. The lifecycle
/// table alone cannot say it: `returned_to_dealership` is reached from the road (an incident) and
/// from the door (nobody there), and each step is legal from only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverStep {
    Embark,
    Arrive,
    ConfirmHandover,
    /// The expected arrival moved (a delay with its reason, or the plan after a stop).
    UpdateArrival,
    ReportIncident,
    ReportAbsent,
}

impl DriverStep {
    /// Each state's main step first: the one the app offers as the primary action.
    pub const ALL: [DriverStep; 6] = [
        DriverStep::Embark,
        DriverStep::Arrive,
        DriverStep::ConfirmHandover,
        DriverStep::UpdateArrival,
        DriverStep::ReportIncident,
        DriverStep::ReportAbsent,
    ];

    /// The states the step can be taken in.
    pub fn departs_from(self) -> &'static [OrderState] {
        match self {
            DriverStep::Embark => &[OrderState::TransportScheduled, OrderState::DeliveryRescheduled],
            DriverStep::Arrive | DriverStep::UpdateArrival | DriverStep::ReportIncident => &[OrderState::InTransit],
            DriverStep::ReportAbsent | DriverStep::ConfirmHandover => &[OrderState::AtCustomerAddress],
        }
    }

    /// The steps a driver can take in `state`, in the order the app offers them.
    pub fn allowed_in(state: OrderState) -> Vec<DriverStep> {
        Self::ALL.into_iter().filter(|step| step.departs_from().contains(&state)).collect()
    }
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
    /// Something on the way stops the trip; the car goes back to the dealership with the driver.
    ReportIncident {
        kind: IncidentKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The driver's estimate of the arrival at this customer's door, at departure, after each
    /// stop, and with every delay; the order stays in transit.
    UpdateArrival {
        estimate: ArrivalEstimate,
    },
    /// The customer showed a valid code and took the car. `code` is the QR token.
    ConfirmHandover {
        code: String,
        verified_at: DateTime<Utc>,
    },
}

impl DriverAction {
    /// The state the action moves the order to; none for an action that only adds to the
    /// delivery's record.
    pub fn target_state(&self) -> Option<OrderState> {
        match self {
            DriverAction::Embark { .. } => Some(OrderState::InTransit),
            DriverAction::Arrive => Some(OrderState::AtCustomerAddress),
            DriverAction::ReportAbsent { call: CallOutcome::Rescheduled { .. } } => {
                Some(OrderState::DeliveryRescheduled)
            }
            DriverAction::ReportAbsent { .. } | DriverAction::ReportIncident { .. } => {
                Some(OrderState::ReturnedToDealership)
            }
            DriverAction::ConfirmHandover { .. } => Some(OrderState::Delivered),
            DriverAction::UpdateArrival { .. } => None,
        }
    }

    /// The step the action takes.
    pub fn step(&self) -> DriverStep {
        match self {
            DriverAction::Embark { .. } => DriverStep::Embark,
            DriverAction::Arrive => DriverStep::Arrive,
            DriverAction::ReportAbsent { .. } => DriverStep::ReportAbsent,
            DriverAction::ReportIncident { .. } => DriverStep::ReportIncident,
            DriverAction::UpdateArrival { .. } => DriverStep::UpdateArrival,
            DriverAction::ConfirmHandover { .. } => DriverStep::ConfirmHandover,
        }
    }

    /// Whether a driver may take the action on an order in `from`: the step leaves from there
    /// and the lifecycle gives the driver that edge.
    pub fn legal_from(&self, from: OrderState) -> bool {
        self.step().departs_from().contains(&from)
            && self.target_state().is_none_or(|to| from.transition_to(to).is_some_and(|edge| edge.by == Actor::Driver))
    }

    pub fn name(&self) -> &'static str {
        match self {
            DriverAction::Embark { .. } => "embark",
            DriverAction::Arrive => "arrive",
            DriverAction::ReportAbsent { .. } => "report_absent",
            DriverAction::ReportIncident { .. } => "report_incident",
            DriverAction::UpdateArrival { .. } => "update_arrival",
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

/// The most driver actions one batch may carry.
pub const MAX_BATCHED_ACTIONS: usize = 50;

/// Several driver actions in one request (`POST /v1/driver/actions`), in the order they were
/// taken, so a phone back in signal sends a day's outbox in a few round trips.
///
/// Each action keeps its own idempotency key and is fingerprinted exactly as
/// `POST /v1/driver/deliveries/{delivery_id}/actions` with `request` as its body would be, so an
/// action first sent alone whose answer was lost finds that answer in a batch, and the other way
/// round. `request` therefore travels as the bytes the phone serialized, not re-encoded.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverActionBatch {
    pub actions: Vec<BatchedAction>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchedAction {
    pub delivery_id: Uuid,
    pub idempotency_key: String,
    #[cfg_attr(feature = "openapi", schema(value_type = DriverActionRequest))]
    pub request: Box<serde_json::value::RawValue>,
}

/// The answers to a [`DriverActionBatch`], one per action in its order.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverActionResults {
    pub results: Vec<BatchedResult>,
}

/// What became of one batched action.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BatchedResult {
    /// The answer the action's own request would have had: its status, the `Retry-After` in
    /// seconds of a "not now", and its JSON body (the delivery, or the API's error), absent when
    /// the answer had none.
    Answered {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        body: Option<serde_json::Value>,
        /// The first answer to this key, kept from an earlier request.
        #[serde(default)]
        replayed: bool,
    },
    /// Not attempted: an earlier action on the same delivery was not applied, or the platform
    /// asked to wait (an answer with a `Retry-After`). It is sent again later with the same key.
    Skipped,
    /// An outcome a newer platform added: the action is treated as not attempted.
    #[serde(other)]
    Unknown,
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
    /// Where the address is on the platform's simulated map, for the expected arrival.
    #[serde(default)]
    pub route_point: RoutePoint,
    /// The driver's last estimate of the arrival on this trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<ArrivalEstimate>,
    /// The driver who loaded the car on this trip and has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_by: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn action(step: DriverStep) -> DriverAction {
        match step {
            DriverStep::Embark => DriverAction::Embark { vin: String::new(), window_start: DateTime::UNIX_EPOCH },
            DriverStep::Arrive => DriverAction::Arrive,
            DriverStep::ReportIncident => DriverAction::ReportIncident { kind: IncidentKind::Breakdown, note: None },
            DriverStep::UpdateArrival => DriverAction::UpdateArrival {
                estimate: ArrivalEstimate {
                    expected_at: DateTime::UNIX_EPOCH,
                    stops_before: 0,
                    reason: crate::arrival::EtaReason::Traffic,
                    at: DateTime::UNIX_EPOCH,
                },
            },
            DriverStep::ReportAbsent => DriverAction::ReportAbsent { call: CallOutcome::Unreachable },
            DriverStep::ConfirmHandover => {
                DriverAction::ConfirmHandover { code: String::new(), verified_at: DateTime::UNIX_EPOCH }
            }
        }
    }

    #[test]
    fn every_step_is_a_drivers_edge_of_the_lifecycle() {
        for step in DriverStep::ALL {
            assert_eq!(action(step).step(), step);
            for from in step.departs_from() {
                assert!(action(step).legal_from(*from), "{step:?} from {from}");
            }
        }
    }

    #[test]
    fn the_road_and_the_door_send_a_car_back_by_different_steps() {
        let incident = action(DriverStep::ReportIncident);
        let absent = action(DriverStep::ReportAbsent);
        assert!(incident.legal_from(OrderState::InTransit));
        assert!(!incident.legal_from(OrderState::AtCustomerAddress), "at the door the customer is called instead");
        assert!(absent.legal_from(OrderState::AtCustomerAddress));
        assert!(!absent.legal_from(OrderState::InTransit), "nobody is absent before the driver arrives");
        assert_eq!(
            DriverStep::allowed_in(OrderState::InTransit),
            vec![DriverStep::Arrive, DriverStep::UpdateArrival, DriverStep::ReportIncident]
        );
        assert_eq!(
            DriverStep::allowed_in(OrderState::AtCustomerAddress),
            vec![DriverStep::ConfirmHandover, DriverStep::ReportAbsent]
        );
        assert_eq!(DriverStep::allowed_in(OrderState::ReturnedToDealership), vec![]);
        assert_eq!(DriverStep::allowed_in(OrderState::TransportScheduled), vec![DriverStep::Embark]);
        assert_eq!(DriverStep::allowed_in(OrderState::DeliveryRescheduled), vec![DriverStep::Embark]);
        assert_eq!(DriverStep::allowed_in(OrderState::Delivered), vec![]);
        for state in OrderState::ALL {
            for step in DriverStep::allowed_in(state) {
                assert!(action(step).legal_from(state), "{step:?} offered in {state} but refused");
            }
        }
    }

    #[test]
    fn an_incident_note_is_one_bounded_line() {
        assert_eq!(checked_incident(IncidentKind::Breakdown, Some("  ")), Ok(None));
        assert_eq!(checked_incident(IncidentKind::Damage, Some(" dent ")), Ok(Some("dent".into())));
        assert_eq!(checked_incident(IncidentKind::Damage, Some("a\nb")), Err(IncidentRefusal::Note));
        assert_eq!(checked_incident(IncidentKind::Damage, Some("dent\u{202e}gnaw")), Err(IncidentRefusal::Note));
        assert_eq!(checked_incident(IncidentKind::Damage, Some("a\u{2028}b")), Err(IncidentRefusal::Note));
        assert_eq!(checked_incident(IncidentKind::Damage, Some(&"é".repeat(501))), Err(IncidentRefusal::Note));
        assert!(checked_incident(IncidentKind::Damage, Some(&"é".repeat(500))).is_ok());
        assert_eq!(checked_incident(IncidentKind::Unknown, None), Err(IncidentRefusal::UnknownKind));
    }

    #[test]
    fn an_incident_of_a_newer_kind_reads_as_unknown() {
        let incident: TransitIncident = serde_json::from_value(serde_json::json!({
            "kind": "flooding", "at": "2026-11-28T10:00:00Z", "by": "driver"
        }))
        .expect("a newer kind is read");
        assert_eq!(incident.kind, IncidentKind::Unknown);
        let action: DriverActionRequest = serde_json::from_value(serde_json::json!({
            "at": "2026-11-28T10:00:00Z", "action": "report_incident", "kind": "road_closed", "note": "A-6 closed"
        }))
        .expect("parses");
        assert_eq!(
            action.action,
            DriverAction::ReportIncident { kind: IncidentKind::RoadClosed, note: Some("A-6 closed".into()) }
        );
    }
}
