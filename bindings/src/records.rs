//! Snapshots and enums as the shells see them. Most are the core's own types, declared here once
//! as remote records (no copy, no conversion); ids, days and instants cross as the platforms'
//! types (`types.rs`).

use caas_core::NotificationContent;
use caas_core::protocol::api::{Blocker, Money, Registration, VehicleConfiguration};
use caas_core::protocol::delivery::DeliveryView;
use caas_core::protocol::lifecycle::Phase;
use caas_core::protocol::messages::{self, Language};
use caas_core::protocol::pairing::api::AppLink;
use caas_core::protocol::push::{NotificationChannel, PushHint, PushPlatform};
use caas_core::protocol::{Actor, OrderState};
use caas_core::{
    ArrivalRevision, CompletionDate, CustomerAction, EstimateRevision, FinalPaymentDue, OrderDetail, OrderSummary,
    PaymentProgress, PhoneKey, Refund, TimelineEntry, UnknownUpdate, WindowRevision,
};
use chrono::NaiveDate;
use uuid::Uuid;

use caas_core::protocol::maintenance::MaintenanceView;
use caas_core::protocol::options::OptionPurchase;

use crate::options::OptionCode;
use crate::types::Timestamp;

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

/// The wire name of a state (`in_production`), for logs and deep links; never shown to a person.
#[uniffi::export]
pub fn order_state_wire_name(state: OrderState) -> String {
    state.wire_name().to_owned()
}

/// The words for a state in the language of `locale` (the system's, e.g. `es-ES` or `pt_PT`, or
/// the person's preference list `ca-ES,es-ES`); English for a list of languages the app does not
/// speak.
#[uniffi::export]
pub fn order_state_label(state: OrderState, locale: String) -> String {
    messages::state_label(state, Language::from_locale(&locale)).to_owned()
}

/// The kind of update a notification is about: an Android channel, an iOS category.
#[uniffi::remote(Enum)]
pub enum NotificationChannel {
    Manufacturing,
    Payment,
    Delivery,
    Keys,
    Car,
}

/// A notification to show for a push, written by the core in the phone's language.
#[uniffi::remote(Record)]
pub struct NotificationContent {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub title: String,
    pub body: String,
    pub channel: NotificationChannel,
    /// Notifications of one order are grouped together and replace each other.
    pub thread: String,
    /// The app's link to the order's screen.
    pub link: String,
    /// Written from the push alone: the order could not be synced in time.
    pub partial: bool,
}

#[uniffi::remote(Record)]
pub struct CompletionDate {
    pub date: NaiveDate,
    /// False while it is the factory's estimate (never a promise); true once the car is complete.
    pub confirmed: bool,
}

#[uniffi::remote(Record)]
pub struct Blocker {
    pub code: String,
    pub reason: String,
    /// What has to change for the order to move on, when someone can fix it.
    pub fix: Option<String>,
}

#[uniffi::remote(Record)]
pub struct OrderSummary {
    pub id: Uuid,
    pub state: OrderState,
    pub phase: Phase,
    pub version: u64,
    pub base_platform: String,
    pub dealership: String,
    pub completion: Option<CompletionDate>,
    pub blocker: Option<Blocker>,
    pub waiting_for: Vec<Actor>,
    pub updated_at: Timestamp,
}

#[uniffi::remote(Record)]
pub struct TimelineEntry {
    pub version: u64,
    pub state: OrderState,
    pub by: Actor,
    pub at: Timestamp,
}

#[uniffi::remote(Record)]
pub struct EstimateRevision {
    pub version: u64,
    pub date: NaiveDate,
    pub reason: String,
    pub at: Timestamp,
}

#[uniffi::remote(Enum)]
pub enum CustomerAction {
    PayFinalAmount,
    ManageDelivery,
    ShowHandoverCode,
    PairVehicle,
    BuyOptions,
    BookService,
}

#[uniffi::remote(Record)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

/// The final payment as the payment screen shows it.
#[uniffi::remote(Record)]
pub struct FinalPaymentDue {
    pub amount_due: Money,
    pub deadline: Timestamp,
    /// Seconds left when the snapshot was taken (0 once passed); count down from here.
    pub seconds_left: u64,
    pub paid_at: Option<Timestamp>,
    /// A payment's outcome is not known yet: resume it rather than paying again.
    pub attempt_in_flight: bool,
}

#[uniffi::remote(Record)]
pub struct Registration {
    pub plate: String,
    pub authority: String,
    pub registered_at: Timestamp,
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
#[uniffi::remote(Enum)]
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

/// What the customer bought: a base platform (model) and the options added to it.
#[uniffi::remote(Record)]
pub struct VehicleConfiguration {
    pub base_platform: String,
    pub options: Vec<String>,
}

/// An order with its whole purchase record.
#[uniffi::remote(Record)]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub configuration: VehicleConfiguration,
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
    pub delivery: Option<DeliveryView>,
    /// Every window the delivery was booked for, oldest first.
    pub delivery_windows: Vec<WindowRevision>,
    /// Every expected arrival the customer was told of, oldest first.
    pub arrival_estimates: Vec<ArrivalRevision>,
    /// Every phone key issued for the car, oldest first.
    pub phone_keys: Vec<PhoneKey>,
    /// The app's link with the car, once the car confirmed it.
    pub app_link: Option<AppLink>,
    /// Charges the order did not need, given back to the card, oldest first.
    pub refunds: Vec<Refund>,
    /// Options bought for the car after delivery, oldest first.
    pub options: Vec<OptionPurchase>,
    /// The options with a payment in flight: resume it (`resume_option_payment`), do not buy anew.
    pub option_payments_in_flight: Vec<OptionCode>,
    /// The car's maintenance from `operational` on.
    pub maintenance: Option<MaintenanceView>,
    /// Updates from a newer platform this version cannot describe, oldest first: show each as
    /// such ("update the app to see it") in the timeline.
    pub unknown_updates: Vec<UnknownUpdate>,
}

/// An update this version of the app does not know how to show.
#[uniffi::remote(Record)]
pub struct UnknownUpdate {
    pub version: u64,
    pub at: Timestamp,
}

/// A charge given back: the order was paid already when it arrived.
#[uniffi::remote(Record)]
pub struct Refund {
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub at: Timestamp,
}

/// A phone key that can open the car.
#[uniffi::remote(Record)]
pub struct PhoneKey {
    pub grant_id: Uuid,
    pub issued_at: Timestamp,
    pub not_after: Timestamp,
    pub revoked: bool,
    pub linked_at: Option<Timestamp>,
}

#[uniffi::remote(Record)]
pub struct AppLink {
    pub grant_id: Uuid,
    pub linked_at: Timestamp,
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
#[uniffi::remote(Record)]
pub struct PushHint {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub order_version: u64,
    pub kind: String,
    pub channel: Option<NotificationChannel>,
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
