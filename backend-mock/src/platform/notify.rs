//! Customer notifications: a push hint to every device of the customer (FCM, APNs or SSE shaped),
//! an email for every event and an SMS for the milestones, all kept in the outbound log.
//!
//! Messages are written in the transaction that appends the events, so the log never claims a
//! notification for an event that was rolled back; live SSE delivery happens after the commit.

use crate::db::CachedSql as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use caas_protocol::OrderState;
use caas_protocol::api::{EventKind, MAX_EVENTS_PER_PAGE, OrderEvent};
use caas_protocol::messages::{Reader, event_sentence, mail_subject};
use caas_protocol::push::{NotificationChannel, Push, PushDelta, PushHint, PushPlatform, SSE_EVENT};
use caas_protocol::record::RecordSigner;
use chrono::Utc;
use rusqlite::{Connection, params};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::orders::{self, Viewer};
use crate::error::{AppError, AppResult};

/// A push on its way to one SSE-connected device: the data of its server-sent event.
#[derive(Debug, Clone)]
pub struct LiveHint {
    pub device_id: Uuid,
    pub event_id: Uuid,
    pub data: Arc<str>,
}

/// Fans pushes out to the open SSE streams: one channel per connected device, so a push wakes
/// only the streams of its device, however many others are open.
#[derive(Debug, Clone, Default)]
pub struct PushHub {
    devices: Arc<Mutex<HashMap<Uuid, broadcast::Sender<LiveHint>>>>,
}

/// Pushes a device's stream may fall behind by before it loses some (and the phone's next sync
/// catches up).
const STREAM_BACKLOG: usize = 256;

impl PushHub {
    fn devices(&self) -> MutexGuard<'_, HashMap<Uuid, broadcast::Sender<LiveHint>>> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pushes for `device` from now on.
    pub fn subscribe(&self, device: Uuid) -> broadcast::Receiver<LiveHint> {
        self.devices().entry(device).or_insert_with(|| broadcast::channel(STREAM_BACKLOG).0).subscribe()
    }

    /// Sends pushes that were committed; a device with no open stream catches up on its next sync,
    /// and its channel is let go.
    pub fn publish(&self, hints: Vec<LiveHint>) {
        let mut devices = self.devices();
        for hint in hints {
            let device = hint.device_id;
            if devices.get(&device).is_some_and(|live| live.send(hint).is_err()) {
                devices.remove(&device);
            }
        }
    }
}

/// The messages that still need live delivery once the transaction commits.
#[derive(Debug, Default)]
#[must_use = "publish the hints after the commit"]
pub struct Pending(pub Vec<LiveHint>);

/// Records the notifications for `events` of one order of `customer_id`. An SSE device's push
/// carries the change itself when it fits: the events as stored, the record's head signed by
/// `record`, and the order as the customer reads it after them.
pub fn record(
    conn: &Connection,
    record: &RecordSigner,
    customer_id: Uuid,
    events: &[OrderEvent],
) -> AppResult<Pending> {
    let (email, phone, country): (String, Option<String>, String) = conn.query_row_cached(
        "SELECT email, phone, country FROM customers WHERE id = ?1",
        [customer_id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    // Mails are written in the language and time zone of the customer's country.
    let reader = Reader::of_country(&country);
    let subject = mail_subject(reader.language);
    let devices: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare_cached("SELECT id, platform, token FROM devices WHERE customer_id = ?1")?;
        let rows = stmt.query_map([customer_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let streamed = devices.iter().any(|(_, platform, _)| platform == PushPlatform::Sse.wire_name());
    // The change is an extra: one that cannot be put together leaves the hint, never the reason
    // the change itself is refused.
    let mut delta = match (streamed, events.first()) {
        (true, Some(first)) => change(conn, record, customer_id, first)
            .inspect_err(|error| tracing::error!(order = %first.order_id, message = %error.message, "a push's change was left out"))
            .ok(),
        _ => None,
    };
    let mut pending = Pending::default();
    for event in events {
        let hint = PushHint {
            event_id: event.event_id,
            order_id: event.order_id,
            order_version: event.version,
            kind: event.kind.type_name().to_owned(),
            channel: Some(NotificationChannel::of_event(&event.kind)),
        };
        // The first push carries the whole change; the others are hints the phone has then seen.
        let data: Arc<str> = Push::sse_data(&hint, delta.take().as_ref()).into();
        for (device_id, platform, token) in &devices {
            let Ok(device_id) = device_id.parse::<Uuid>() else { continue };
            let (channel, payload) = match platform.as_str() {
                "fcm" => (PushPlatform::Fcm, hint.to_fcm(token).to_string()),
                "apns" => (PushPlatform::Apns, hint.to_apns().to_string()),
                _ => (PushPlatform::Sse, format!("id: {}\nevent: {SSE_EVENT}\ndata: {data}\n\n", hint.event_id)),
            };
            log(conn, channel.wire_name(), &device_id.to_string(), event, &payload)?;
            if channel == PushPlatform::Sse {
                pending.0.push(LiveHint { device_id, event_id: hint.event_id, data: Arc::clone(&data) });
            }
        }
        let sentence = event_sentence(&event.kind, &reader);
        let mail = json!({ "to": email, "subject": subject, "body": sentence });
        log(conn, "email", &email, event, &mail.to_string())?;
        if let (Some(phone), true) = (&phone, is_milestone(&event.kind)) {
            let sms = json!({ "to": phone, "body": sentence });
            log(conn, "sms", phone, event, &sms.to_string())?;
        }
    }
    Ok(pending)
}

/// The change from `first` on as a phone would fetch it: the events as stored and hashed, the
/// signed head over the last, and the order as its customer reads it now.
fn change(conn: &Connection, record: &RecordSigner, customer_id: Uuid, first: &OrderEvent) -> AppResult<PushDelta> {
    let order = first.order_id;
    let after =
        i64::try_from(first.version.saturating_sub(1)).map_err(|_| AppError::internal("a version beyond any"))?;
    let events = orders::stored_events_after(conn, order, after, MAX_EVENTS_PER_PAGE)?;
    let chain = orders::chain(conn, order)?;
    let view = orders::view(conn, order, Viewer::Customer(customer_id))?;
    Ok(PushDelta {
        events,
        head: record.sign(order, chain.version(), chain.head()),
        order: serde_json::to_value(view).map_err(|e| AppError::internal(format!("an order's view: {e}")))?,
    })
}

/// Emails a dealership's staff about `order` (a disputed handover), beside the customer's messages.
pub fn tell_dealership(conn: &Connection, dealership: &str, order: Uuid, body: &str) -> AppResult<()> {
    let Some(dealership) = crate::catalogue::dealership(dealership) else {
        return Err(AppError::not_found("dealership"));
    };
    let mail = json!({ "to": dealership.email, "subject": format!("Order {order} needs you"), "body": body });
    conn.execute_cached(
        "INSERT INTO outbound_messages (channel, recipient, order_id, payload, created_at) VALUES ('email', ?1, ?2, ?3, ?4)",
        params![dealership.email, order.to_string(), mail.to_string(), Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

fn log(conn: &Connection, channel: &str, recipient: &str, event: &OrderEvent, payload: &str) -> AppResult<()> {
    conn.execute_cached(
        "INSERT INTO outbound_messages (channel, recipient, order_id, event_id, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            channel,
            recipient,
            event.order_id.to_string(),
            event.event_id.to_string(),
            payload,
            Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

/// The milestones worth an SMS: the car is built, it reached the customer's area, money is due or
/// the reservation was lost, the car is registered, the delivery is booked or moved, the car is on
/// its way, stopped on the way, at the door, to be collected or handed over, an option bought, switched on
/// or refunded, a service due, booked, cancelled or done, a warning of the car, and anything that blocks
/// the order.
fn is_milestone(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::StateChanged {
            to: OrderState::ManufacturingComplete
                | OrderState::DispatchedToLocality
                | OrderState::Unassigned
                | OrderState::Registered
                | OrderState::InTransit
                | OrderState::AtCustomerAddress,
            ..
        } | EventKind::ConfigurationRejected { .. }
            | EventKind::DeliveryScheduled { .. }
            | EventKind::TransitIncident { .. }
            | EventKind::PickupRequired { .. }
            | EventKind::HandedOver { .. }
            | EventKind::FinalPaymentRequested { .. }
            | EventKind::PaymentReminder { .. }
            | EventKind::RegistrationBlocked { .. }
            | EventKind::KeyIssued { .. }
            | EventKind::KeyRevoked { .. }
            | EventKind::AppLinked { .. }
            | EventKind::PaymentRefunded { .. }
            | EventKind::HandoverDisputed { .. }
            | EventKind::OptionPurchased { .. }
            | EventKind::OptionActivated { .. }
            | EventKind::OptionRefunded { .. }
            | EventKind::ServiceDue { .. }
            | EventKind::VehicleWarning { .. }
            | EventKind::ServiceBooked { .. }
            | EventKind::ServiceCancelled { .. }
            | EventKind::ServiceVisitRecorded { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(device_id: Uuid, n: u128) -> LiveHint {
        LiveHint { device_id, event_id: Uuid::from_u128(n), data: Arc::from(format!("{{\"n\":{n}}}")) }
    }

    #[test]
    fn a_push_reaches_only_its_devices_streams_and_a_channel_nobody_reads_is_let_go() {
        let hub = PushHub::default();
        let (mine, theirs) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (mut first, mut second, mut other) = (hub.subscribe(mine), hub.subscribe(mine), hub.subscribe(theirs));
        hub.publish(vec![push(mine, 10), push(theirs, 20)]);
        assert_eq!(first.try_recv().map(|p| p.event_id), Ok(Uuid::from_u128(10)));
        assert_eq!(second.try_recv().map(|p| p.event_id), Ok(Uuid::from_u128(10)), "every stream of the device");
        assert_eq!(other.try_recv().map(|p| p.event_id), Ok(Uuid::from_u128(20)));
        assert!(first.try_recv().is_err() && other.try_recv().is_err(), "nothing of another device");

        drop((first, second));
        hub.publish(vec![push(mine, 11)]);
        assert!(!hub.devices().contains_key(&mine), "no stream reads it any more");
        assert!(hub.devices().contains_key(&theirs));
    }

    #[test]
    fn a_stream_that_falls_behind_learns_it_lost_pushes() {
        let hub = PushHub::default();
        let device = Uuid::from_u128(1);
        let mut slow = hub.subscribe(device);
        hub.publish((0..=STREAM_BACKLOG as u128).map(|n| push(device, n)).collect());
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(1))), "told, so the stream ends");
    }
}
