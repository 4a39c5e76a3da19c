//! The delivery part of the demo: the customer confirms the address, a driver's phone beside it
//! loads the car, drives to the door and hands it over on the customer's code, or plays a missed
//! delivery: a new agreed time, or the return to the dealership (nobody home, or an incident on the
//! way) and the pickup there.

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::arrival::EtaReason;
use caas_core::protocol::delivery::{CallOutcome, IncidentKind};
use caas_core::protocol::messages::{Language, incident_label};
use caas_core::{Caas, OrderDetail};
use caas_mock::RunningMock;
use caas_mock::client::{DealershipClient, SandboxClient};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

use super::{Phone, Show};
use crate::customer::open_core;
use crate::render;

const DRIVER_EMAIL: &str = "lucia@iberia-carriers.example";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    Present,
    AbsentRescheduled,
    AbsentPickup,
    TransitIncident,
}

impl Path {
    /// Progress steps from the address confirmation to the handover.
    pub(super) fn steps(self) -> u64 {
        match self {
            Path::Present => 6,
            Path::AbsentRescheduled => 9,
            Path::AbsentPickup => 7,
            Path::TransitIncident => 6,
        }
    }
}

/// The platform and the people around the delivery.
pub(super) struct Stage<'a> {
    pub mock: &'a RunningMock,
    pub sandbox: &'a SandboxClient,
    pub dealership: &'a DealershipClient,
    pub show: &'a Show,
}

impl Stage<'_> {
    pub(super) async fn deliver(
        &self,
        phone: &mut Phone,
        order: Uuid,
        dir: &std::path::Path,
        path: Path,
    ) -> anyhow::Result<OrderDetail> {
        let show = self.show;
        phone.core.confirm_delivery_address(order, None).await?;
        let confirmed = phone.core.order(order).await?;
        let address = confirmed.delivery.as_ref().and_then(|d| d.address.clone()).unwrap_or_default();
        show.line(format!("Phone: the customer confirms the delivery address, {address}"));
        show.step("address confirmed");

        let driver = self.driver(dir).await?;
        match path {
            Path::Present => {
                let delivery = self.load(&driver, phone, order).await?;
                self.run_late(&driver, phone).await?;
                self.arrive(&driver, phone, delivery).await?;
                self.hand_over_at_the_door(&driver, phone, order, delivery).await
            }
            Path::AbsentRescheduled => {
                let delivery = self.drive_to_the_door(&driver, phone, order).await?;
                let new_time = phone.core.delivery_slots(order).await?.first().context("a free window")?.window;
                driver.report_absent(delivery, CallOutcome::Rescheduled { window_start: new_time.start }).await?;
                let rescheduled = phone.shows(OrderState::DeliveryRescheduled).await?;
                let attempt = rescheduled.delivery.as_ref().map_or(0, |d| d.attempt);
                show.line(format!(
                    "Driver: nobody home; on the phone the customer agrees {} (trip {attempt})",
                    render::window(&new_time)
                ));
                show.step("rescheduled");
                show.pace().await;
                driver.refresh_deliveries().await?;
                self.drive_to_the_door(&driver, phone, order).await?;
                self.hand_over_at_the_door(&driver, phone, order, delivery).await
            }
            Path::AbsentPickup => {
                let delivery = self.drive_to_the_door(&driver, phone, order).await?;
                driver.report_absent(delivery, CallOutcome::Unreachable).await?;
                phone.shows(OrderState::ReturnedToDealership).await?;
                show.line(
                    "Driver: nobody home and no answer; the car goes back to the dealership, never left at the door",
                );
                show.step("returned");
                self.collect_at_dealership(phone, order).await
            }
            Path::TransitIncident => {
                let delivery = self.load(&driver, phone, order).await?;
                let note = "A-6 closed at km 40 after an accident";
                driver.report_incident(delivery, IncidentKind::RoadClosed, Some(note)).await?;
                let returned = phone.shows(OrderState::ReturnedToDealership).await?;
                if let Some(incident) = returned.delivery.as_ref().and_then(|d| d.incident.as_ref()) {
                    show.line(format!(
                        "Driver: stopped on the way ({}: {}); the car goes back to the dealership with the driver",
                        incident_label(incident.kind, Language::English),
                        incident.note.as_deref().unwrap_or_default()
                    ));
                }
                show.step("returned");
                self.collect_at_dealership(phone, order).await
            }
        }
    }

    /// The driver checks the customer's QR code offline and hands the car over.
    async fn hand_over_at_the_door(
        &self,
        driver: &Caas,
        phone: &mut Phone,
        order: Uuid,
        delivery: Uuid,
    ) -> anyhow::Result<OrderDetail> {
        let code = phone.core.handover_code(order).await?;
        let check = driver.check_handover_code(delivery, &code.token).await?;
        self.show.line(format!("Driver: scans the customer's QR code offline: valid, {}", check.customer_name));
        driver.confirm_handover(delivery, &code.token).await?;
        self.delivered(phone).await
    }

    async fn driver(&self, dir: &std::path::Path) -> anyhow::Result<Caas> {
        let driver = open_core(&self.mock.url, dir.join("driver-phone")).await?;
        driver.request_sign_in_code(DRIVER_EMAIL).await?;
        let code = self.sandbox.sign_in_code(DRIVER_EMAIL).await?;
        driver.sign_in_driver(DRIVER_EMAIL, &code).await?;
        Ok(driver)
    }

    /// The dealership receives the car back and hands it to the customer at the desk.
    async fn collect_at_dealership(&self, phone: &mut Phone, order: Uuid) -> anyhow::Result<OrderDetail> {
        let show = self.show;
        show.pace().await;
        self.dealership.receive(order).await?;
        let held = phone.shows(OrderState::HeldAtDealership).await?;
        if let Some(pickup) = held.delivery.as_ref().and_then(|d| d.pickup.as_ref()) {
            show.line(format!(
                "Phone: collect the car at {}, {} ({})",
                pickup.dealership, pickup.address, pickup.opening_hours
            ));
        }
        show.step("held at the dealership");
        let code = phone.core.handover_code(order).await?;
        show.line(format!("Dealership: the customer reads out code {}; it checks out", code.short_code));
        self.dealership.hand_over(order, &code.short_code).await?;
        self.delivered(phone).await
    }

    /// Loads the car and drives to the address; returns the delivery's id.
    async fn drive_to_the_door(&self, driver: &Caas, phone: &mut Phone, order: Uuid) -> anyhow::Result<Uuid> {
        let delivery = self.load(driver, phone, order).await?;
        self.arrive(driver, phone, delivery).await?;
        Ok(delivery)
    }

    async fn arrive(&self, driver: &Caas, phone: &mut Phone, delivery: Uuid) -> anyhow::Result<()> {
        let show = self.show;
        show.pace().await;
        driver.arrive(delivery).await?;
        phone.shows(OrderState::AtCustomerAddress).await?;
        show.line("Driver: at the address; the phone asks the customer for the handover code");
        show.step("at the address");
        Ok(())
    }

    /// Loads the car and sets out; returns the delivery's id.
    async fn load(&self, driver: &Caas, phone: &mut Phone, order: Uuid) -> anyhow::Result<Uuid> {
        let show = self.show;
        let job = driver
            .refresh_deliveries()
            .await?
            .into_iter()
            .find(|d| d.order_id == order)
            .context("the delivery is on the driver's list")?;
        show.pace().await;
        let loaded_at = Utc::now() - TimeDelta::seconds(1);
        driver.embark(job.delivery_id, &job.vin).await?;
        let on_the_way = phone.shows(OrderState::InTransit).await?;
        let party = on_the_way.delivery.and_then(|d| d.embarkation).map(|c| c.party).unwrap_or_default();
        show.line(format!("Driver: VIN {} scanned, car loaded by {party}; the phone shows it on its way", job.vin));
        show.step("in transit");
        let planned = phone
            .until(
                |o| o.delivery.as_ref().and_then(|d| d.eta).is_some_and(|eta| eta.at >= loaded_at),
                "an expected arrival",
            )
            .await?;
        if let Some(eta) = planned.delivery.and_then(|d| d.eta) {
            show.line(format!("Phone: expected at the door around {}", render::eta_text(&eta)));
        }
        show.step("expected arrival");
        Ok(job.delivery_id)
    }

    /// Traffic on the way: the driver reports twenty minutes late, and the phone hears of it.
    async fn run_late(&self, driver: &Caas, phone: &mut Phone) -> anyhow::Result<()> {
        self.show.pace().await;
        let told = phone.until(|_| true, "the order").await?.arrival_estimates.len();
        driver.report_delay(20, EtaReason::Traffic).await?;
        let late = phone.until(|o| o.arrival_estimates.len() > told, "the delay").await?;
        if let Some(eta) = late.delivery.and_then(|d| d.eta) {
            self.show.line(format!("Driver: 20 minutes of traffic; the phone is told: now {}", render::eta_text(&eta)));
        }
        self.show.step("running late");
        Ok(())
    }

    async fn delivered(&self, phone: &mut Phone) -> anyhow::Result<OrderDetail> {
        let delivered = phone.shows(OrderState::Delivered).await?;
        if let Some(handover) = delivered.delivery.as_ref().and_then(|d| d.handover.as_ref()) {
            self.show.line(format!("Phone: the car is handed over by {}", handover.by));
        }
        self.show.step("delivered");
        Ok(delivered)
    }
}
