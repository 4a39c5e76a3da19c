//! The delivery and the driver role as the shells see them: the customer's windows, address and
//! handover code, and the driver's deliveries, actions, outbox sync and conflicts.

use std::sync::Arc;

use caas_core::protocol::OrderState;
use caas_core::protocol::api::ScheduleReason;
use caas_core::protocol::arrival::{ArrivalEstimate, EtaReason};
use caas_core::protocol::delivery::{
    CallOutcome, Custody, DeliverySlot, DeliveryView, DeliveryWindow, Handover, HandoverDispute, HandoverPlace,
    IncidentKind, PickupPoint, TransitIncident, TransportCompanyView,
};
use caas_core::{
    ArrivalRevision, AssignedDelivery, DriverActionOutcome, DriverConflict, DriverStep, DriverSyncReport,
    EstimatesSent, HandoverCheck, WedgedAction, WindowRevision,
};
use uuid::Uuid;

use crate::error::CaasError;
use crate::foreign::DeliveriesListener;
use crate::types::Timestamp;
use crate::{Caas, SubscriptionHandle};

#[uniffi::remote(Enum)]
pub enum HandoverPlace {
    CustomerAddress,
    Dealership,
    /// A place a newer platform added.
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum ScheduleReason {
    Booked,
    CustomerChanged,
    AgreedByPhone,
    /// A reason a newer platform added.
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum DriverStep {
    Embark,
    Arrive,
    ConfirmHandover,
    /// The expected arrival moved: a delay the driver reports with its reason.
    UpdateArrival,
    ReportIncident,
    ReportAbsent,
}

/// Why an expected arrival was set or moved.
#[uniffi::remote(Enum)]
pub enum EtaReason {
    Departure,
    StopCompleted,
    Traffic,
    Weather,
    LongerStop,
    /// A reason a newer platform added.
    Unknown,
}

/// When the car is expected at the customer's door, as the driver estimated it.
#[uniffi::remote(Record)]
pub struct ArrivalEstimate {
    pub expected_at: Timestamp,
    /// Deliveries the driver makes before this one.
    pub stops_before: u32,
    pub reason: EtaReason,
    /// When the driver made the estimate.
    pub at: Timestamp,
}

/// An expected arrival the customer was told of.
#[uniffi::remote(Record)]
pub struct ArrivalRevision {
    pub version: u64,
    pub attempt: u32,
    pub estimate: ArrivalEstimate,
}

/// What became of the estimates a delay made.
#[uniffi::remote(Record)]
pub struct EstimatesSent {
    /// The platform has them, and told the customers the ones that matter.
    pub sent: u32,
    /// Kept on the phone until the connection, or the delivery's earlier actions, go through.
    pub waiting: u32,
}

/// What stopped a car on its way to the customer.
#[uniffi::remote(Enum)]
pub enum IncidentKind {
    Breakdown,
    Damage,
    RoadClosed,
    /// A kind a newer platform added.
    Unknown,
}

/// An incident in transit: the car went back to the dealership with the driver.
#[uniffi::remote(Record)]
pub struct TransitIncident {
    pub kind: IncidentKind,
    /// The driver's words, if any.
    pub note: Option<String>,
    pub at: Timestamp,
    pub by: String,
}

#[uniffi::remote(Record)]
pub struct DeliveryWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The subcontracted company that carries the car.
#[uniffi::remote(Record)]
pub struct TransportCompanyView {
    pub id: String,
    pub name: String,
    pub phone: String,
}

/// Who had the car and when.
#[uniffi::remote(Record)]
pub struct Custody {
    pub at: Timestamp,
    pub party: String,
}

#[uniffi::remote(Record)]
pub struct PickupPoint {
    pub dealership: String,
    pub address: String,
    pub opening_hours: String,
}

#[uniffi::remote(Record)]
pub struct Handover {
    pub at: Timestamp,
    pub place: HandoverPlace,
    pub by: String,
}

/// The delivery of an order as its customer sees it.
#[uniffi::remote(Record)]
pub struct DeliveryView {
    pub delivery_id: Uuid,
    pub company: TransportCompanyView,
    /// 1 for the first trip; each agreed new time starts another.
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub address: Option<String>,
    pub address_confirmed: bool,
    pub changes_left: u32,
    pub embarkation: Option<Custody>,
    pub arrived_at: Option<Timestamp>,
    pub reception: Option<Custody>,
    /// Set when the customer has to collect the car at the dealership.
    pub pickup: Option<PickupPoint>,
    pub handover: Option<Handover>,
    /// What stopped the trip on the way, when the car had to go back to the dealership.
    pub incident: Option<TransitIncident>,
    /// When the car is expected at the door, as the driver last estimated it on this trip.
    pub eta: Option<ArrivalEstimate>,
    /// The customer disputed the handover.
    pub dispute: Option<HandoverDispute>,
}

/// The customer's word that a recorded handover was not to them.
#[uniffi::remote(Record)]
pub struct HandoverDispute {
    pub reason: String,
    pub at: Timestamp,
}

/// One window the delivery was booked for, and why.
#[uniffi::remote(Record)]
pub struct WindowRevision {
    pub version: u64,
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub reason: ScheduleReason,
    pub at: Timestamp,
}

#[uniffi::remote(Record)]
pub struct DeliverySlot {
    pub window: DeliveryWindow,
    pub free: u32,
}

/// The handover code to show: `token` goes into the QR code, `short_code` is read out.
#[derive(Clone, uniffi::Record)]
pub struct HandoverCode {
    pub token: String,
    pub short_code: String,
    pub expires_at: Timestamp,
}

impl From<caas_core::protocol::delivery::HandoverCodeView> for HandoverCode {
    fn from(code: caas_core::protocol::delivery::HandoverCodeView) -> Self {
        Self { token: code.token, short_code: code.short_code, expires_at: code.expires_at }
    }
}

/// How often the handover code on screen is signed again (`present_handover_code`), in seconds.
#[uniffi::export]
pub fn handover_refresh_seconds() -> u32 {
    u32::try_from(caas_core::protocol::handover::PRESENTATION_REFRESH.num_seconds()).unwrap_or(30)
}

/// The longest note a driver may add to an incident, in characters: the screens stop typing there.
#[uniffi::export]
pub fn incident_note_max_chars() -> u32 {
    u32::try_from(caas_core::protocol::delivery::MAX_INCIDENT_NOTE_CHARS).unwrap_or(u32::MAX)
}

impl std::fmt::Debug for HandoverCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandoverCode").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// A delivery on the driver's list, offline too.
#[uniffi::remote(Record)]
pub struct AssignedDelivery {
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
    pub dealership: PickupPoint,
    /// Actions on this delivery the platform has not received yet.
    pub unsynced_actions: u32,
    pub steps: Vec<DriverStep>,
    /// The driver's latest expected arrival at this door.
    pub eta: Option<ArrivalEstimate>,
}

/// What the customer said on the phone when nobody took the car.
#[uniffi::remote(Enum)]
pub enum CallOutcome {
    /// A new time was agreed: the start of one of the offered windows.
    Rescheduled {
        window_start: Timestamp,
    },
    Unreachable,
    CannotAccept,
}

#[uniffi::remote(Enum)]
pub enum DriverActionOutcome {
    /// The platform has it.
    Synced,
    /// Recorded on the phone; sent when the connection returns (behind a wedged action on the
    /// same delivery, once the driver retried or discarded that one).
    Queued { pending: u32 },
    /// Recorded on the phone, but the platform's answer could not be read: the action waits in
    /// `wedged_driver_actions` for the driver to retry or discard it.
    Wedged { id: i64, reason: String },
}

/// A recorded action held on the phone because the platform answered something this version of
/// the app cannot read.
#[uniffi::remote(Record)]
pub struct WedgedAction {
    pub id: i64,
    pub delivery_id: Uuid,
    pub step: DriverStep,
    /// What went wrong, for support.
    pub reason: String,
    pub wedged_at: Timestamp,
    pub attempts: u32,
    /// Later actions on the same delivery, which wait for this one.
    pub waiting_behind: u32,
}

/// An action the platform refused after it was recorded.
#[uniffi::remote(Record)]
pub struct DriverConflict {
    pub id: i64,
    pub delivery_id: Uuid,
    pub action: String,
    pub code: String,
    pub reason: String,
}

#[uniffi::remote(Record)]
pub struct HandoverCheck {
    pub order_id: Uuid,
    pub customer_name: String,
    pub expires_at: Timestamp,
}

#[uniffi::remote(Record)]
pub struct DriverSyncReport {
    pub sent: u32,
    pub rejected: u32,
    /// Still waiting to go out on their own.
    pub pending: u32,
    /// Waiting for the driver: wedged actions and the later actions on their deliveries.
    pub held: u32,
}

/// The customer's side of the delivery.
#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// The windows the delivery can move to (the company's free windows from 24 hours ahead).
    pub async fn delivery_slots(&self, order_id: Uuid) -> Result<Vec<DeliverySlot>, CaasError> {
        Ok(self.inner.delivery_slots(order_id).await?)
    }

    /// Moves the delivery to the offered window starting at `start`; needs a connection.
    pub async fn choose_delivery_window(&self, order_id: Uuid, start: Timestamp) -> Result<(), CaasError> {
        Ok(self.inner.choose_delivery_window(order_id, start).await?)
    }

    /// Confirms the delivery address, correcting it when `address` is given.
    pub async fn confirm_delivery_address(&self, order_id: Uuid, address: Option<String>) -> Result<(), CaasError> {
        Ok(self.inner.confirm_delivery_address(order_id, address).await?)
    }

    /// Disputes the order's recorded handover (the car did not reach you); the dealership is told
    /// at once. Needs a connection.
    pub async fn dispute_handover(&self, order_id: Uuid, reason: String) -> Result<(), CaasError> {
        Ok(self.inner.dispute_handover(order_id, &reason).await?)
    }

    /// A new handover code to show; offline, the last one while it is still valid.
    pub async fn handover_code(&self, order_id: Uuid) -> Result<HandoverCode, CaasError> {
        Ok(self.inner.handover_code(order_id).await?.into())
    }

    /// The code on screen, signed again for this moment, without a connection: the screen calls
    /// it every `handover_refresh_seconds()` so a driver without signal can prove when the code
    /// was checked. `NotFound` once the code expired.
    pub async fn present_handover_code(&self, order_id: Uuid) -> Result<HandoverCode, CaasError> {
        Ok(self.inner.present_handover_code(order_id).await?.into())
    }
}

/// The driver role.
#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// Signs in a transport company's driver; returns the driver id.
    pub async fn sign_in_driver(&self, email: String, code: String) -> Result<String, CaasError> {
        Ok(self.inner.sign_in_driver(&email, &code).await?)
    }

    /// Fetches the company's open deliveries (keeping deliveries with unsynced actions as recorded).
    pub async fn refresh_deliveries(&self) -> Result<Vec<AssignedDelivery>, CaasError> {
        Ok(self.inner.refresh_deliveries().await?)
    }

    /// The deliveries kept on the phone; never touches the network.
    pub async fn deliveries(&self) -> Result<Vec<AssignedDelivery>, CaasError> {
        Ok(self.inner.deliveries().await?)
    }

    /// The deliveries now, then after every change.
    pub fn subscribe_deliveries(&self, listener: Arc<dyn DeliveriesListener>) -> Arc<SubscriptionHandle> {
        SubscriptionHandle::spawn(&self.inner.runtime(), self.inner.deliveries_updates(), move |deliveries| {
            listener.on_deliveries(deliveries);
        })
    }

    /// The car with `vin` is loaded.
    pub async fn embark(&self, delivery_id: Uuid, vin: String) -> Result<DriverActionOutcome, CaasError> {
        Ok(self.inner.embark(delivery_id, &vin).await?)
    }

    /// Arrived at the customer's address.
    pub async fn arrive(&self, delivery_id: Uuid) -> Result<DriverActionOutcome, CaasError> {
        Ok(self.inner.arrive(delivery_id).await?)
    }

    /// Nobody took the car; what the phone call gave.
    pub async fn report_absent(&self, delivery_id: Uuid, call: CallOutcome) -> Result<DriverActionOutcome, CaasError> {
        Ok(self.inner.report_absent(delivery_id, call).await?)
    }

    /// Something on the way stops the trip (`note` at most 500 characters on one line): the car
    /// goes back to the dealership with the driver and the customer is told. Works offline.
    pub async fn report_incident(
        &self,
        delivery_id: Uuid,
        kind: IncidentKind,
        note: Option<String>,
    ) -> Result<DriverActionOutcome, CaasError> {
        Ok(self.inner.report_incident(delivery_id, kind, note.as_deref()).await?)
    }

    /// A delay on the way (1 to 600 minutes, for traffic, the weather or a longer stop): every car
    /// still on its way is expected that much later. Works offline; the estimates go out when
    /// they can, and the customers hear of the ones that matter.
    pub async fn report_delay(&self, minutes: u32, reason: EtaReason) -> Result<EstimatesSent, CaasError> {
        Ok(self.inner.report_delay(minutes, reason).await?)
    }

    /// Checks the customer's code (the QR token offline; eight digits need a connection).
    pub async fn check_handover_code(&self, delivery_id: Uuid, code: String) -> Result<HandoverCheck, CaasError> {
        Ok(self.inner.check_handover_code(delivery_id, &code).await?)
    }

    /// Hands the car over to the customer whose code checks out.
    pub async fn confirm_handover(&self, delivery_id: Uuid, code: String) -> Result<DriverActionOutcome, CaasError> {
        Ok(self.inner.confirm_handover(delivery_id, &code).await?)
    }

    /// Sends the outbox in order, then refreshes the deliveries when nothing waits.
    pub async fn sync_driver(&self) -> Result<DriverSyncReport, CaasError> {
        Ok(self.inner.sync_driver().await?)
    }

    /// Actions held because the platform's answer could not be read, oldest first.
    pub async fn wedged_driver_actions(&self) -> Result<Vec<WedgedAction>, CaasError> {
        Ok(self.inner.wedged_driver_actions().await?)
    }

    /// Sends a held action again (with the same idempotency key) and the actions behind it.
    pub async fn retry_driver_action(&self, id: i64) -> Result<DriverSyncReport, CaasError> {
        Ok(self.inner.retry_driver_action(id).await?)
    }

    /// Gives up a held action: the delivery is as it was before it, and the actions taken after it
    /// on the same delivery become conflicts.
    pub async fn discard_driver_action(&self, id: i64) -> Result<(), CaasError> {
        Ok(self.inner.discard_driver_action(id).await?)
    }

    /// Actions the platform refused, for the driver to read.
    pub async fn driver_conflicts(&self) -> Result<Vec<DriverConflict>, CaasError> {
        Ok(self.inner.driver_conflicts().await?)
    }

    pub async fn dismiss_driver_conflict(&self, id: i64) -> Result<(), CaasError> {
        Ok(self.inner.dismiss_driver_conflict(id).await?)
    }
}
