//! Customer notifications: a push hint to every device of the customer (FCM, APNs or SSE shaped),
//! an email for every event and an SMS for the milestones, all kept in the outbound log.
//!
//! Messages are written in the transaction that appends the events, so the log never claims a
//! notification for an event that was rolled back; live SSE delivery happens after the commit.

use caas_protocol::OrderState;
use caas_protocol::api::{EventKind, OrderEvent};
use caas_protocol::messages::{Reader, event_sentence, mail_subject};
use caas_protocol::push::{NotificationChannel, PushHint, PushPlatform};
use chrono::Utc;
use rusqlite::{Connection, params};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A hint on its way to one SSE-connected device.
#[derive(Debug, Clone)]
pub struct LiveHint {
    pub device_id: Uuid,
    pub hint: PushHint,
}

/// Fans hints out to the open SSE streams.
#[derive(Debug, Clone)]
pub struct PushHub {
    live: broadcast::Sender<LiveHint>,
}

impl Default for PushHub {
    fn default() -> Self {
        Self { live: broadcast::channel(1024).0 }
    }
}

impl PushHub {
    pub fn subscribe(&self) -> broadcast::Receiver<LiveHint> {
        self.live.subscribe()
    }

    /// Sends hints that were committed; a device with no open stream catches up on its next sync.
    pub fn publish(&self, hints: Vec<LiveHint>) {
        for hint in hints {
            let _no_listener_is_fine = self.live.send(hint);
        }
    }
}

/// The messages that still need live delivery once the transaction commits.
#[derive(Debug, Default)]
#[must_use = "publish the hints after the commit"]
pub struct Pending(pub Vec<LiveHint>);

/// Records the notifications for `events` of `order_id`'s customer.
pub fn record(conn: &Connection, customer_id: Uuid, events: &[OrderEvent]) -> AppResult<Pending> {
    let (email, phone, country): (String, Option<String>, String) =
        conn.query_row("SELECT email, phone, country FROM customers WHERE id = ?1", [customer_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    // Mails are written in the language and time zone of the customer's country.
    let reader = Reader::of_country(&country);
    let subject = mail_subject(reader.language);
    let devices: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare("SELECT id, platform, token FROM devices WHERE customer_id = ?1")?;
        let rows = stmt.query_map([customer_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
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
        for (device_id, platform, token) in &devices {
            let Ok(device_id) = device_id.parse::<Uuid>() else { continue };
            let (channel, payload) = match platform.as_str() {
                "fcm" => (PushPlatform::Fcm, hint.to_fcm(token).to_string()),
                "apns" => (PushPlatform::Apns, hint.to_apns().to_string()),
                _ => (PushPlatform::Sse, hint.to_sse_frame()),
            };
            log(conn, channel.wire_name(), &device_id.to_string(), event, &payload)?;
            if channel == PushPlatform::Sse {
                pending.0.push(LiveHint { device_id, hint: hint.clone() });
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

/// Emails a dealership's staff about `order` (a disputed handover), beside the customer's messages.
pub fn tell_dealership(conn: &Connection, dealership: &str, order: Uuid, body: &str) -> AppResult<()> {
    let Some(dealership) = crate::catalogue::dealership(dealership) else {
        return Err(AppError::not_found("dealership"));
    };
    let mail = json!({ "to": dealership.email, "subject": format!("Order {order} needs you"), "body": body });
    conn.execute(
        "INSERT INTO outbound_messages (channel, recipient, order_id, payload, created_at) VALUES ('email', ?1, ?2, ?3, ?4)",
        params![dealership.email, order.to_string(), mail.to_string(), Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

fn log(conn: &Connection, channel: &str, recipient: &str, event: &OrderEvent, payload: &str) -> AppResult<()> {
    conn.execute(
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
