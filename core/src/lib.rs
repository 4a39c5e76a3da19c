//! caas-core: the companion app's core, shared by the Android, iOS and terminal shells.
//!
//! The UI reads snapshots from a SQLite cache, so the last known state shows at once and offline.
//! Pushes are hints: the core checks them, deduplicates them and syncs the order they name from
//! the platform, applying its events in one transaction in version order.

mod api;
mod arrival;
mod car_statements;
mod client;
mod delivery;
mod driver;
mod error;
mod maintenance;
mod notification;
mod options;
mod pairing;
mod payments;
mod projection;
mod push_stream;
mod record;
mod secrets;
mod snapshot;
pub mod sse;
#[cfg(feature = "test-support")]
pub mod store;
#[cfg(not(feature = "test-support"))]
mod store;
mod sync;
mod updates;

pub use arrival::EstimatesSent;
pub use caas_protocol as protocol;
pub use client::{Caas, CaasConfig};
pub use driver::{
    AssignedDelivery, DriverActionOutcome, DriverConflict, DriverStep, DriverSyncReport, HandoverCheck, WedgedAction,
};
pub use error::{CaasError, Cause, PairingFailure, PaymentRefusal, Result, StorageError};
pub use maintenance::VehicleReading;
pub use notification::{NotificationContent, order_link};
pub use options::OptionsActivation;
#[cfg(feature = "btleplug")]
pub use pairing::btleplug_transport::BtleplugTransport;
pub use pairing::simulated::{Air, LinkConditions, SimulatedTransport};
pub use pairing::{
    Advertisement, BleLink, BleTransport, DeviceKey, LinkReport, LinkUse, Paired, PairingListener, PairingOptions,
    PairingStep, SoftwareDeviceKey, TransportError,
};
pub use payments::PaymentProgress;
pub use push_stream::PushStream;
pub use secrets::{FileSecretStore, SecretStore};
pub use snapshot::{
    ArrivalRevision, CompletionDate, CustomerAction, EstimateRevision, FinalPaymentDue, OrderDetail, OrderSummary,
    PhoneKey, Refund, TimelineEntry, UnknownUpdate, WindowRevision,
};
pub use sync::SyncReport;
pub use updates::PushOutcome;
