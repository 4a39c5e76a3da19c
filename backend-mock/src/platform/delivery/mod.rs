//! Transport and delivery: booking a transport company once the car is registered, the
//! customer's self-service (windows, address, handover code), the driver's actions, and the
//! dealership's reception and pickup desk.
//!
//! The seed's security rule is structural here: from `at_customer_address` the only ways out are
//! a verified handover, a new agreed time (the driver keeps the car) or the return to the
//! dealership. No state or endpoint leaves a car at an address.

pub(crate) mod batch;
pub(crate) mod customer;
pub(crate) mod dealership;
pub(crate) mod driver;
mod handover;
pub(crate) mod slots;

use crate::db::CachedSql as _;
use caas_protocol::api::{EventKind, OrderEvent, ScheduleReason};
use caas_protocol::arrival::{ArrivalEstimate, RoutePoint};
use caas_protocol::delivery::{
    Custody, DeliveryView, DeliveryWindow, Handover, HandoverDispute, MAX_CUSTOMER_CHANGES, PickupPoint,
    TransitIncident, TransportCompanyView,
};
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use handover::{HandoverDesk, holder_key};

use super::orders;
use crate::catalogue::{self, DRIVERS, TRANSPORT_COMPANIES, TransportCompany};
use crate::error::{AppError, AppResult};

/// How soon after registration the first delivery can be: time to load and plan the trip.
const FIRST_BOOKING_LEAD: TimeDelta = TimeDelta::hours(48);

/// One order's delivery as the platform keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub order_id: Uuid,
    pub company_id: String,
    pub driver_id: String,
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub address: Option<String>,
    pub address_confirmed: bool,
    pub customer_changes: u32,
    pub embarkation: Option<Custody>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub reception: Option<Custody>,
    pub pickup: Option<PickupPoint>,
    pub handover: Option<Handover>,
    #[serde(default)]
    pub dispute: Option<HandoverDispute>,
    #[serde(default)]
    pub incident: Option<TransitIncident>,
    /// The driver's last estimate of the arrival on this trip.
    #[serde(default)]
    pub eta: Option<ArrivalEstimate>,
    /// The last estimate the customer was told of.
    #[serde(default)]
    pub eta_told: Option<ArrivalEstimate>,
    /// How many estimates the customer was told of on this trip.
    #[serde(default)]
    pub eta_tells: u32,
    /// The driver who loaded the car on this trip and has it: the one who reports its incidents
    /// and its expected arrival.
    #[serde(default)]
    pub carried_by: Option<String>,
}

impl Delivery {
    pub fn company(&self) -> AppResult<&'static TransportCompany> {
        catalogue::transport_company(&self.company_id).ok_or_else(|| AppError::not_found("transport company"))
    }

    /// Whether the delivery still takes room in its company's window.
    fn active(&self) -> bool {
        self.handover.is_none() && self.reception.is_none() && self.pickup.is_none()
    }

    pub fn view(&self) -> AppResult<DeliveryView> {
        let company = self.company()?;
        Ok(DeliveryView {
            delivery_id: self.id,
            company: TransportCompanyView {
                id: company.id.to_owned(),
                name: company.name.to_owned(),
                phone: company.phone.to_owned(),
            },
            attempt: self.attempt,
            window: self.window,
            address: self.address.clone(),
            address_confirmed: self.address_confirmed,
            changes_left: MAX_CUSTOMER_CHANGES.saturating_sub(self.customer_changes),
            embarkation: self.embarkation.clone(),
            arrived_at: self.arrived_at,
            reception: self.reception.clone(),
            pickup: self.pickup.clone(),
            handover: self.handover.clone(),
            incident: self.incident.clone(),
            eta: self.eta,
            dispute: self.dispute.clone(),
        })
    }
}

/// Where `address` is on the simulated map: up to 12 km east or west and north or south of its
/// depot, the same place every time.
pub fn route_point(address: &str) -> RoutePoint {
    let digest = ring::digest::digest(&ring::digest::SHA256, address.trim().to_lowercase().as_bytes());
    let offset = |bytes: &[u8]| i32::from(u16::from_be_bytes([bytes[0], bytes[1]]) % 24_001) - 12_000;
    RoutePoint { east_m: offset(&digest.as_ref()[0..2]), north_m: offset(&digest.as_ref()[2..4]) }
}

/// The delivery of an order, if it was booked.
pub fn of_order(conn: &Connection, order: Uuid) -> AppResult<Option<Delivery>> {
    let body: Option<String> = conn
        .query_row_cached("SELECT body FROM deliveries WHERE order_id = ?1", [order.to_string()], |r| r.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// The delivery with `id`, if `company` carries it; any other company's delivery is not found.
pub fn of_company(conn: &Connection, id: Uuid, company: &str) -> AppResult<Delivery> {
    let body: Option<String> = conn
        .query_row_cached(
            "SELECT body FROM deliveries WHERE id = ?1 AND company_id = ?2",
            params![id.to_string(), company],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| serde_json::from_str(&b)).transpose()?.ok_or_else(|| AppError::not_found("delivery"))
}

pub fn save(conn: &Connection, delivery: &Delivery) -> AppResult<()> {
    conn.execute_cached(
        "INSERT INTO deliveries (order_id, id, company_id, driver_id, window_start, active, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(order_id) DO UPDATE SET driver_id = excluded.driver_id, window_start = excluded.window_start,
             active = excluded.active, body = excluded.body",
        params![
            delivery.order_id.to_string(),
            delivery.id.to_string(),
            delivery.company_id,
            delivery.driver_id,
            delivery.window.start.to_rfc3339(),
            delivery.active(),
            serde_json::to_string(delivery)?
        ],
    )?;
    Ok(())
}

/// Books the transport of a registered car: the company serving the delivery locality with the
/// earliest free window (a company of the dealership's locality when none serves it), its least
/// busy driver, and that window. Moves the order to `transport_scheduled`.
pub fn book(conn: &Connection, order_id: Uuid, now: DateTime<Utc>) -> AppResult<Vec<OrderEvent>> {
    let (locality, dealership): (String, String) = conn.query_row_cached(
        "SELECT o.delivery_locality, d.locality FROM orders o JOIN dealerships d ON d.id = o.dealership_id
         WHERE o.id = ?1",
        [order_id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let address = orders::registration_details(conn, order_id)?.address;
    let serving = |place: &str| -> Vec<&'static TransportCompany> {
        TRANSPORT_COMPANIES.iter().filter(|c| c.serves.iter().any(|s| s.eq_ignore_ascii_case(place.trim()))).collect()
    };
    let mut candidates = serving(&locality);
    if candidates.is_empty() {
        candidates = serving(&dealership);
    }
    let from = now + FIRST_BOOKING_LEAD;
    let mut best: Option<(&TransportCompany, DeliveryWindow)> = None;
    for company in candidates {
        if let Some(slot) = slots::offered(conn, company, from, None)?.first()
            && best.is_none_or(|(_, window)| slot.window.start < window.start)
        {
            best = Some((company, slot.window));
        }
    }
    let (company, window) =
        best.ok_or_else(|| AppError::invalid(format!("no transport company can deliver to {locality} in time")))?;
    let delivery = Delivery {
        id: Uuid::now_v7(),
        order_id,
        company_id: company.id.to_owned(),
        driver_id: least_busy_driver(conn, company)?,
        attempt: 1,
        window,
        address,
        address_confirmed: false,
        customer_changes: 0,
        embarkation: None,
        arrived_at: None,
        reception: None,
        pickup: None,
        handover: None,
        dispute: None,
        incident: None,
        eta: None,
        eta_told: None,
        eta_tells: 0,
        carried_by: None,
    };
    save(conn, &delivery)?;
    tracing::info!(order = %order_id, company = company.id, start = %window.start, "transport booked");
    Ok(vec![
        orders::transition(conn, order_id, OrderState::TransportScheduled, Actor::Platform)?,
        orders::append(
            conn,
            order_id,
            EventKind::DeliveryScheduled {
                attempt: 1,
                window,
                company: company.name.to_owned(),
                reason: ScheduleReason::Booked,
            },
        )?,
    ])
}

fn least_busy_driver(conn: &Connection, company: &TransportCompany) -> AppResult<String> {
    let mut best: Option<(&str, u32)> = None;
    for driver in DRIVERS.iter().filter(|d| d.company_id == company.id) {
        let load: u32 = conn.query_row_cached(
            "SELECT COUNT(*) FROM deliveries WHERE driver_id = ?1 AND active = 1",
            [driver.id],
            |r| r.get(0),
        )?;
        if best.is_none_or(|(_, least)| load < least) {
            best = Some((driver.id, load));
        }
    }
    best.map(|(id, _)| id.to_owned()).ok_or_else(|| AppError::invalid("the transport company has no drivers"))
}

/// The party a driver records things as, e.g. `Iberia Car Carriers (driver Lucía Gómez)`.
pub fn driver_party(driver: &catalogue::Driver) -> String {
    let company = catalogue::transport_company(driver.company_id).map_or(driver.company_id, |c| c.name);
    format!("{company} (driver {})", driver.name)
}

/// Where a dealership's customers collect their cars.
pub fn pickup_point(dealership: &catalogue::Dealership) -> PickupPoint {
    PickupPoint {
        dealership: dealership.name.to_owned(),
        address: dealership.address.to_owned(),
        opening_hours: dealership.opening_hours.to_owned(),
    }
}
