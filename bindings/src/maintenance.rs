//! Maintenance as the shells see it: the order's maintenance (remote records of the protocol's
//! own types), workshop slots booked, moved and cancelled, and reading the car over BLE.

use std::sync::Arc;

use caas_core::protocol::maintenance::{
    MaintenancePlan, MaintenanceView, NextService, ServiceBooking, ServiceSlot, ServiceVisit, WarningCode,
};
use caas_core::protocol::messages::{self, Language};
use uuid::Uuid;

use crate::Caas;
use crate::error::CaasError;
use crate::pairing::{
    BleTransport, ForeignTransport, LinkReport, PairingListener, PairingOptions, Steps, VehicleStatus, core_options,
};
use crate::types::Timestamp;

#[uniffi::remote(Enum)]
pub enum WarningCode {
    TyrePressure,
    BrakeWear,
    BatteryHealth,
    WasherFluid,
    /// A warning a newer car or platform added: show "the car reports a warning".
    Unknown,
}

/// Every `every_km` or `every_months`, whichever comes first.
#[uniffi::remote(Record)]
pub struct MaintenancePlan {
    pub every_km: u32,
    pub every_months: u32,
}

/// The next service: at `due_km` or on `due_by`, whichever comes first.
#[uniffi::remote(Record)]
pub struct NextService {
    pub due_km: u32,
    pub due_by: chrono::NaiveDate,
}

#[uniffi::remote(Record)]
pub struct ServiceSlot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub free: u32,
}

#[uniffi::remote(Record)]
pub struct ServiceBooking {
    pub start: Timestamp,
    pub end: Timestamp,
    pub changes_left: u32,
}

#[uniffi::remote(Record)]
pub struct ServiceVisit {
    pub at: Timestamp,
    pub odometer_km: u32,
    /// What the workshop did, in its words.
    pub work: String,
}

/// The car's maintenance from `operational` on.
#[uniffi::remote(Record)]
pub struct MaintenanceView {
    pub plan: MaintenancePlan,
    pub odometer_km: u32,
    pub reported_at: Option<Timestamp>,
    pub warnings: Vec<WarningCode>,
    pub next_service: NextService,
    pub booking: Option<ServiceBooking>,
    pub visits: Vec<ServiceVisit>,
}

/// What the car said when the phone read it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VehicleReading {
    pub status: VehicleStatus,
    pub odometer_km: u32,
    pub warnings: Vec<WarningCode>,
    pub measured_at: Timestamp,
    /// Whether the platform has the report; if not, the next sync sends it.
    pub reported: bool,
    pub link: LinkReport,
}

/// A warning of the car in the language of `locale`.
#[uniffi::export]
pub fn warning_label(warning: WarningCode, locale: String) -> String {
    messages::capitalized(messages::warning_label(warning, Language::from_locale(&locale)))
}

#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// The dealership workshop's free slots from 24 hours ahead, for two weeks. Needs a connection.
    pub async fn service_slots(&self, order_id: Uuid) -> Result<Vec<ServiceSlot>, CaasError> {
        Ok(self.inner.service_slots(order_id).await?)
    }

    /// Books the slot starting at `start`, or moves the booking there: at most three moves, not
    /// within 24 hours of the booked slot (`ChangeTooLate`, `ChangeLimitReached`, `SlotUnavailable`).
    pub async fn book_service(&self, order_id: Uuid, start: Timestamp) -> Result<(), CaasError> {
        Ok(self.inner.book_service(order_id, start).await?)
    }

    /// Cancels the booked service, not within 24 hours of it.
    pub async fn cancel_service(&self, order_id: Uuid) -> Result<(), CaasError> {
        Ok(self.inner.cancel_service(order_id).await?)
    }

    /// Reads the car's odometer and warnings over BLE; its signed report reaches the platform now
    /// or on the next sync.
    pub async fn read_vehicle(
        &self,
        order_id: Uuid,
        transport: Arc<dyn BleTransport>,
        options: Option<PairingOptions>,
        listener: Option<Arc<dyn PairingListener>>,
    ) -> Result<VehicleReading, CaasError> {
        let steps = listener.map(Steps);
        let reading = self
            .inner
            .read_vehicle(
                order_id,
                &ForeignTransport(transport),
                core_options(options),
                steps.as_ref().map(|s| s as &dyn caas_core::PairingListener),
            )
            .await?;
        Ok(VehicleReading {
            status: reading.status.into(),
            odometer_km: reading.odometer_km,
            warnings: reading.warnings,
            measured_at: reading.measured_at,
            reported: reading.reported,
            link: reading.link.into(),
        })
    }
}
