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
    /// A state a newer platform added: show that this version cannot describe it.
    Unknown,
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
    /// A party a newer platform added.
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum Phase {
    Sale,
    Manufacturing,
    Payment,
    Registration,
    Delivery,
    Linking,
    /// The phase of a state a newer platform added.
    Unknown,
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
    /// What has to change for the order to move on, when someone can fix it.
    pub fix: Option<String>,
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

/// The final payment as the payment screen shows it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FinalPaymentDue {
    pub amount_due: Money,
    pub deadline: SystemTime,
    /// Seconds left when the snapshot was taken (0 once passed); count down from here.
    pub seconds_left: u64,
    pub paid_at: Option<SystemTime>,
    /// A payment's outcome is not known yet: resume it rather than paying again.
    pub attempt_in_flight: bool,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Registration {
    pub plate: String,
    pub authority: String,
    pub registered_at: SystemTime,
}

/// A card as typed on the payment screen; it goes to the payment gateway only. Its `Debug` shows
/// the last four digits only.
#[derive(Clone, uniffi::Record)]
pub struct CardDetails {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&caas_core::protocol::payment::CardDetails::from(self.clone()), f)
    }
}

impl From<CardDetails> for caas_core::protocol::payment::CardDetails {
    fn from(c: CardDetails) -> Self {
        Self { number: c.number, exp_month: c.exp_month, exp_year: c.exp_year, cvc: c.cvc }
    }
}

/// Where a payment stands when it was not refused.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PaymentProgress {
    Succeeded {
        payment_id: String,
    },
    /// Settling; the order moves on when the gateway confirms it.
    Processing {
        payment_id: String,
    },
    /// Open `url` (the bank's 3-D Secure page), then call `resume_payment`.
    RequiresAction {
        payment_id: String,
        url: String,
    },
}

impl From<caas_core::PaymentProgress> for PaymentProgress {
    fn from(p: caas_core::PaymentProgress) -> Self {
        match p {
            caas_core::PaymentProgress::Succeeded { payment_id } => Self::Succeeded { payment_id },
            caas_core::PaymentProgress::Processing { payment_id } => Self::Processing { payment_id },
            caas_core::PaymentProgress::RequiresAction { payment_id, url } => Self::RequiresAction { payment_id, url },
        }
    }
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
    pub price: Option<Money>,
    pub final_payment: Option<FinalPaymentDue>,
    pub registration: Option<Registration>,
    /// The final payment was not made in time: the car went back to the dealership's stock.
    pub reservation_lost: bool,
    /// The car was built for an earlier order and sold from stock.
    pub from_stock: bool,
    /// Transport and handover, once booked.
    pub delivery: Option<crate::delivery::Delivery>,
    /// Every window the delivery was booked for, oldest first.
    pub delivery_windows: Vec<crate::delivery::WindowRevision>,
    /// Every phone key issued for the car, oldest first.
    pub phone_keys: Vec<PhoneKey>,
    /// The app's link with the car, once the car confirmed it.
    pub app_link: Option<AppLink>,
    /// Charges the order did not need, given back to the card, oldest first.
    pub refunds: Vec<Refund>,
    /// Updates from a newer platform this version cannot describe, oldest first: show each as
    /// such ("update the app to see it") in the timeline.
    pub unknown_updates: Vec<UnknownUpdate>,
}

/// An update this version of the app does not know how to show.
#[derive(Debug, Clone, uniffi::Record)]
pub struct UnknownUpdate {
    pub version: u64,
    pub at: SystemTime,
}

/// A charge given back: the order was paid already when it arrived.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Refund {
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub at: SystemTime,
}

/// A phone key that can open the car.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PhoneKey {
    pub grant_id: String,
    pub issued_at: SystemTime,
    pub not_after: SystemTime,
    pub revoked: bool,
    pub linked_at: Option<SystemTime>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct AppLink {
    pub grant_id: String,
    pub linked_at: SystemTime,
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
            blocker: s.blocker.map(|b| Blocker { code: b.code, reason: b.reason, fix: b.fix }),
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
            deposit: d.deposit.map(Into::into),
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
            price: d.price.map(Into::into),
            final_payment: d.final_payment.map(|p| FinalPaymentDue {
                amount_due: p.amount_due.into(),
                deadline: p.deadline.into(),
                seconds_left: p.seconds_left,
                paid_at: p.paid_at.map(Into::into),
                attempt_in_flight: p.attempt_in_flight,
            }),
            registration: d.registration.map(|r| Registration {
                plate: r.plate,
                authority: r.authority,
                registered_at: r.registered_at.into(),
            }),
            reservation_lost: d.reservation_lost,
            from_stock: d.from_stock,
            delivery: d.delivery.map(Into::into),
            phone_keys: d
                .phone_keys
                .into_iter()
                .map(|k| PhoneKey {
                    grant_id: k.grant_id.to_string(),
                    issued_at: k.issued_at.into(),
                    not_after: k.not_after.into(),
                    revoked: k.revoked,
                    linked_at: k.linked_at.map(Into::into),
                })
                .collect(),
            app_link: d.app_link.map(|l| AppLink { grant_id: l.grant_id.to_string(), linked_at: l.linked_at.into() }),
            refunds: d
                .refunds
                .into_iter()
                .map(|r| Refund {
                    payment_id: r.payment_id,
                    amount: r.amount.into(),
                    reason: r.reason,
                    at: r.at.into(),
                })
                .collect(),
            unknown_updates: d
                .unknown_updates
                .into_iter()
                .map(|u| UnknownUpdate { version: u.version, at: u.at.into() })
                .collect(),
            delivery_windows: d.delivery_windows.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<caas_core::protocol::api::Money> for Money {
    fn from(m: caas_core::protocol::api::Money) -> Self {
        Self { amount_minor: m.amount_minor, currency: m.currency }
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
