//! Snapshots and enums as the shells see them: records of plain values, ids as strings, instants
//! as platform timestamps, dates as ISO `YYYY-MM-DD` strings.

use std::time::SystemTime;

use caas_core::protocol::lifecycle::Phase;
use caas_core::protocol::push::PushPlatform;
use caas_core::protocol::{Actor, OrderState};

#[uniffi::remote(Enum)]
pub enum OrderState {
    SaleRegistered,
    ReservationPaid,
    OrderPlaced,
    InProduction,
    Assembly,
    QualityControl,
    ManufacturingComplete,
    DispatchedToLocality,
    AwaitingFinalPayment,
    Unassigned,
    DealershipStock,
    AdministrativeRegistration,
    Registered,
    TransportScheduled,
    InTransit,
    AtCustomerAddress,
    DeliveryRescheduled,
    ReturnedToDealership,
    HeldAtDealership,
    Delivered,
    AppLinked,
    Operational,
}

#[uniffi::remote(Enum)]
pub enum Actor {
    Dealership,
    Platform,
    Factory,
    PaymentGateway,
    Registry,
    Driver,
    Customer,
}

#[uniffi::remote(Enum)]
pub enum Phase {
    Sale,
    Manufacturing,
    Payment,
    Registration,
    Delivery,
    Linking,
}

#[uniffi::remote(Enum)]
pub enum PushPlatform {
    Fcm,
    Apns,
    Sse,
}

/// The wire name of a state (`in_production`), for logs and deep links.
#[uniffi::export]
pub fn order_state_wire_name(state: OrderState) -> String {
    state.wire_name().to_owned()
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CompletionDate {
    /// ISO 8601 date.
    pub date: String,
    /// False while it is the factory's estimate (never a promise); true once the car is complete.
    pub confirmed: bool,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Blocker {
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct OrderSummary {
    pub id: String,
    pub state: OrderState,
    pub phase: Phase,
    pub version: u64,
    pub base_platform: String,
    pub dealership: String,
    pub completion: Option<CompletionDate>,
    pub blocker: Option<Blocker>,
    pub waiting_for: Vec<Actor>,
    pub updated_at: SystemTime,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct TimelineEntry {
    pub version: u64,
    pub state: OrderState,
    pub by: Actor,
    pub at: SystemTime,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct EstimateRevision {
    pub version: u64,
    pub date: String,
    pub reason: String,
    pub at: SystemTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CustomerAction {
    PayFinalAmount,
    ManageDelivery,
    ShowHandoverCode,
    PairVehicle,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub base_platform: String,
    pub options: Vec<String>,
    pub delivery_locality: String,
    pub deposit: Option<Money>,
    pub vin: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub estimate_revisions: Vec<EstimateRevision>,
    pub actions: Vec<CustomerAction>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncReport {
    pub orders: u64,
    pub new_events: u64,
}

/// What handling one push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushOutcome {
    Synced { new_events: u64 },
    Duplicate,
    NotForThisAccount,
}

/// A push hint as a listener receives it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PushHint {
    pub event_id: String,
    pub order_id: String,
    pub order_version: u64,
    pub kind: String,
}

impl From<caas_core::OrderSummary> for OrderSummary {
    fn from(s: caas_core::OrderSummary) -> Self {
        Self {
            id: s.id.to_string(),
            state: s.state,
            phase: s.phase,
            version: s.version,
            base_platform: s.base_platform,
            dealership: s.dealership,
            completion: s.completion.map(|c| CompletionDate { date: c.date.to_string(), confirmed: c.confirmed }),
            blocker: s.blocker.map(|b| Blocker { code: b.code, reason: b.reason }),
            waiting_for: s.waiting_for,
            updated_at: s.updated_at.into(),
        }
    }
}

impl From<caas_core::CustomerAction> for CustomerAction {
    fn from(action: caas_core::CustomerAction) -> Self {
        match action {
            caas_core::CustomerAction::PayFinalAmount => CustomerAction::PayFinalAmount,
            caas_core::CustomerAction::ManageDelivery => CustomerAction::ManageDelivery,
            caas_core::CustomerAction::ShowHandoverCode => CustomerAction::ShowHandoverCode,
            caas_core::CustomerAction::PairVehicle => CustomerAction::PairVehicle,
        }
    }
}

impl From<caas_core::OrderDetail> for OrderDetail {
    fn from(d: caas_core::OrderDetail) -> Self {
        Self {
            summary: d.summary.into(),
            base_platform: d.configuration.base_platform,
            options: d.configuration.options,
            delivery_locality: d.delivery_locality,
            deposit: d.deposit.map(|m| Money { amount_minor: m.amount_minor, currency: m.currency }),
            vin: d.vin,
            timeline: d
                .timeline
                .into_iter()
                .map(|t| TimelineEntry { version: t.version, state: t.state, by: t.by, at: t.at.into() })
                .collect(),
            estimate_revisions: d
                .estimate_revisions
                .into_iter()
                .map(|r| EstimateRevision {
                    version: r.version,
                    date: r.date.to_string(),
                    reason: r.reason,
                    at: r.at.into(),
                })
                .collect(),
            actions: d.actions.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<caas_core::PushOutcome> for PushOutcome {
    fn from(outcome: caas_core::PushOutcome) -> Self {
        match outcome {
            caas_core::PushOutcome::Synced { new_events } => PushOutcome::Synced { new_events: new_events as u64 },
            caas_core::PushOutcome::Duplicate => PushOutcome::Duplicate,
            caas_core::PushOutcome::NotForThisAccount => PushOutcome::NotForThisAccount,
        }
    }
}

impl From<caas_core::protocol::push::PushHint> for PushHint {
    fn from(h: caas_core::protocol::push::PushHint) -> Self {
        Self {
            event_id: h.event_id.to_string(),
            order_id: h.order_id.to_string(),
            order_version: h.order_version,
            kind: h.kind,
        }
    }
}
