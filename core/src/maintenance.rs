//! Maintenance from `operational` on: workshop slots booked, moved and cancelled under the
//! platform's rules, and reading the car's odometer and warnings over BLE for the platform (the
//! car signs its report; near the car without signal it waits in the cache for a sync).
//!
//! What the order shows (the plan, the last report, the next service, the booking, the visits)
//! comes with the order's snapshot, offline too.

use caas_protocol::maintenance::{BookServiceRequest, ServiceSlot, WarningCode};
use caas_protocol::pairing::VehicleStatus;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, PairingFailure, Result};
use crate::pairing::{BleTransport, Errand, ErrandDone, LinkReport, PairingListener, PairingOptions, PairingStep};
use crate::store::vehicle_keys::{self, CarStatement};
use crate::store::{self};
use crate::updates::Change;

/// What the car said when the phone read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VehicleReading {
    pub status: VehicleStatus,
    pub odometer_km: u32,
    pub warnings: Vec<WarningCode>,
    /// When the car measured, by its clock.
    pub measured_at: DateTime<Utc>,
    /// Whether the platform has the report; if not, the next sync sends it.
    pub reported: bool,
    pub link: LinkReport,
}

impl Caas {
    /// The dealership workshop's free slots from 24 hours ahead. Needs a connection.
    #[tracing::instrument(skip(self))]
    pub async fn service_slots(&self, order: Uuid) -> Result<Vec<ServiceSlot>> {
        self.inner.api.service_slots(&self.token().await?, order).await
    }

    /// Books the slot starting at `start`, or moves the booking there (at most three times, not
    /// within 24 hours of the booked slot).
    #[tracing::instrument(skip(self))]
    pub async fn book_service(&self, order: Uuid, start: DateTime<Utc>) -> Result<()> {
        let view = self.inner.api.book_service(&self.token().await?, order, &BookServiceRequest { start }).await?;
        self.took(order, view).await
    }

    /// Cancels the booked service (not within 24 hours of it).
    #[tracing::instrument(skip(self))]
    pub async fn cancel_service(&self, order: Uuid) -> Result<()> {
        let view = self.inner.api.cancel_service(&self.token().await?, order).await?;
        self.took(order, view).await
    }

    /// Keeps the order as the platform answered and shows it, with its new events.
    async fn took(&self, order: Uuid, view: store::Received<caas_protocol::api::OrderView>) -> Result<()> {
        self.inner.store.write(move |tx| store::upsert_details(tx, &view)).await?;
        if let Err(error) = self.sync_order(order).await {
            tracing::debug!(error = error.chain(), "the change shows after the next sync");
        }
        self.notify(Change::Order(order));
        Ok(())
    }

    /// Reads the car's odometer and warnings over BLE and hands its signed report to the
    /// platform (now, or on the next sync without signal).
    #[tracing::instrument(skip(self, transport, listener))]
    pub async fn read_vehicle(
        &self,
        order: Uuid,
        transport: &dyn BleTransport,
        options: PairingOptions,
        listener: Option<&dyn PairingListener>,
    ) -> Result<VehicleReading> {
        let step = |step: PairingStep| {
            tracing::info!(?step, "reading the car");
            if let Some(listener) = listener {
                listener.on_step(step);
            }
        };
        let (done, link, grant) = self.on_car(order, transport, options, &step, &Errand::ReadTelemetry).await?;
        let ErrandDone::Telemetry { status, report } = done else {
            return Err(CaasError::Protocol("the car did another errand".into()));
        };
        if report.vin.as_str() != grant.vin || report.verify(&grant.vehicle_public_key).is_err() {
            return Err(CaasError::pairing(PairingFailure::WrongCar, "the car's report does not check out"));
        }
        let measured_at = DateTime::from_timestamp(report.measured_at, 0)
            .ok_or_else(|| CaasError::Protocol("the car's clock is out of range".into()))?;
        let reading = (report.odometer_km, report.warnings());
        let statement = CarStatement::Telemetry { report: report.encode() };
        self.inner.store.write(move |tx| vehicle_keys::keep_statement(tx, order, &statement)).await?;
        let reported = self.report_car_statements().await;
        self.notify(Change::Order(order));
        Ok(VehicleReading { status, odometer_km: reading.0, warnings: reading.1, measured_at, reported, link })
    }
}
