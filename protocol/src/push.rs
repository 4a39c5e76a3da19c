//! Push hints: what the platform sends through FCM, APNs or (in development) a server-sent-event
//! stream, and how the phone reads them back.
//!
//! A push is a hint that an order's log has grown: event id, order id, order version and the
//! event's type. It never carries a command, so a forged or replayed push can at worst make the
//! phone sync early.
//!
//! On the platform's own stream (SSE, where no third party relays the payload) a push also carries
//! the change itself when the frame fits [`MAX_PUSH_BYTES`]: the new events as stored, the signed
//! head over the last and the order after them ([`PushDelta`]), so the phone applies it without a
//! fetch. FCM and APNs payloads pass through Google's and Apple's servers and stay hints, free of
//! personal data.

use serde::{Deserialize, Serialize};

use crate::api::EventKind;
use crate::lifecycle::Phase;
use crate::record::SignedHead;
use serde_json::{Value, json};
use uuid::Uuid;

/// FCM and APNs both cap payloads at 4 KiB; anything larger is not a push of ours.
pub const MAX_PUSH_BYTES: usize = 4096;

/// The SSE event name of a push hint.
pub const SSE_EVENT: &str = "order_event";

/// How a device receives pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushPlatform {
    Fcm,
    Apns,
    Sse,
}

impl PushPlatform {
    pub fn wire_name(self) -> &'static str {
        match self {
            PushPlatform::Fcm => "fcm",
            PushPlatform::Apns => "apns",
            PushPlatform::Sse => "sse",
        }
    }
}

/// The kind of update a push is about, so a customer can silence the factory's progress and keep
/// the driver at the door: an Android notification channel, an iOS notification category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationChannel {
    Manufacturing,
    Payment,
    Delivery,
    Keys,
    /// The car after delivery: options switched on, maintenance, warnings.
    Car,
}

impl NotificationChannel {
    /// The channel of an event: a state change goes with its phase, so "the driver is at your
    /// door" or "the reservation is lost" never land in the channel a customer silences for the
    /// factory's progress.
    pub fn of_event(kind: &EventKind) -> NotificationChannel {
        use NotificationChannel::*;
        match kind {
            EventKind::StateChanged { to, .. } => match to.phase() {
                Phase::Payment => Payment,
                Phase::Registration | Phase::Delivery => Delivery,
                Phase::Linking => Keys,
                Phase::Sale | Phase::Manufacturing | Phase::Unknown => Manufacturing,
            },
            EventKind::FinalPaymentRequested { .. }
            | EventKind::PaymentReminder { .. }
            | EventKind::PaymentRefunded { .. }
            | EventKind::OptionPurchased { .. }
            | EventKind::OptionRefunded { .. } => Payment,
            EventKind::RegistrationBlocked { .. }
            | EventKind::DeliveryScheduled { .. }
            | EventKind::DeliveryAddressConfirmed
            | EventKind::Embarked { .. }
            | EventKind::CustomerAbsent { .. }
            | EventKind::TransitIncident { .. }
            | EventKind::ArrivalEstimated { .. }
            | EventKind::ReceivedAtDealership { .. }
            | EventKind::PickupRequired { .. }
            | EventKind::HandedOver { .. }
            | EventKind::HandoverDisputed { .. } => Delivery,
            EventKind::KeyIssued { .. } | EventKind::KeyRevoked { .. } | EventKind::AppLinked { .. } => Keys,
            EventKind::OptionActivated { .. }
            | EventKind::ServiceDue { .. }
            | EventKind::VehicleWarning { .. }
            | EventKind::ServiceBooked { .. }
            | EventKind::ServiceCancelled { .. }
            | EventKind::ServiceVisitRecorded { .. } => Car,
            EventKind::EstimateRevised { .. } | EventKind::ConfigurationRejected { .. } | EventKind::Unknown(_) => {
                Manufacturing
            }
        }
    }

    /// The channel an identifier names, if this version knows it.
    pub fn from_id(id: &str) -> Option<NotificationChannel> {
        use NotificationChannel::*;
        [Manufacturing, Payment, Delivery, Keys, Car].into_iter().find(|channel| channel.id() == id)
    }

    /// The identifier both platforms register the channel or category under.
    pub fn id(self) -> &'static str {
        match self {
            NotificationChannel::Manufacturing => "manufacturing",
            NotificationChannel::Payment => "payment",
            NotificationChannel::Delivery => "delivery",
            NotificationChannel::Keys => "keys",
            NotificationChannel::Car => "car",
        }
    }
}

/// The content of every push.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushHint {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub order_version: u64,
    #[serde(rename = "type")]
    pub kind: String,
    /// The channel the platform files the event under, so a phone that cannot sync in time still
    /// shows it in the right one. Absent from an older platform's pushes; a channel this version
    /// does not know reads as absent.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_channel")]
    pub channel: Option<NotificationChannel>,
}

fn lenient_channel<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<NotificationChannel>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.as_deref().and_then(NotificationChannel::from_id))
}

/// Why a push payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("push payload of {size} bytes is over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("push payload is not UTF-8 text")]
    NotText,
    #[error("push payload is not an FCM, APNs or SSE push of this app")]
    UnknownShape,
    #[error("push field `{field}` is missing or invalid")]
    InvalidField { field: &'static str },
}

/// A change carried in a push: the order's events from the hint's version on, exactly as the
/// platform stored and hashed them, the platform's signature on the last, and the order as it
/// stands after them. The phone checks it as it checks a fetched page; one it cannot link to what
/// it holds (a push missed, a newer shape) is a hint like any other and the phone fetches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushDelta {
    pub events: Vec<Value>,
    pub head: SignedHead,
    pub order: Value,
}

/// A push as received: its hint, and the change it carries when the platform could fit it.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub hint: PushHint,
    /// Absent from hints, from an older platform's pushes, and from a carried change this version
    /// cannot read (the hint is still taken).
    pub delta: Option<PushDelta>,
}

impl Push {
    /// Reads a push in any shape [`PushHint::parse`] reads, with the change it carries when it is
    /// a server-sent event of the platform's own stream: a change in an FCM or APNs payload came
    /// through a third party, which the phone takes no change from.
    pub fn parse(bytes: &[u8]) -> Result<Push, PushError> {
        let fields = fields(bytes)?;
        let hint = PushHint::from_fields(&fields)?;
        let streamed = std::str::from_utf8(bytes).is_ok_and(|text| !text.trim_start().starts_with('{'));
        let delta = fields.get("delta").filter(|_| streamed).and_then(|delta| PushDelta::deserialize(delta).ok());
        Ok(Push { hint, delta })
    }

    /// The data of the server-sent event for `hint`: carrying `delta` when the whole frame fits
    /// the push budget, the bare hint otherwise.
    pub fn sse_data(hint: &PushHint, delta: Option<&PushDelta>) -> String {
        let carried = delta.and_then(|delta| {
            let mut data = serde_json::to_value(hint).ok()?;
            data["delta"] = serde_json::to_value(delta).ok()?;
            let data = data.to_string();
            (sse_frame(hint.event_id, &data).len() <= MAX_PUSH_BYTES).then_some(data)
        });
        carried.unwrap_or_else(|| serde_json::to_string(hint).unwrap_or_default())
    }

    /// The whole server-sent event of [`Push::sse_data`], including the blank line that ends it.
    pub fn sse_frame(hint: &PushHint, delta: Option<&PushDelta>) -> String {
        sse_frame(hint.event_id, &Self::sse_data(hint, delta))
    }
}

fn sse_frame(event_id: Uuid, data: &str) -> String {
    format!("id: {event_id}\nevent: {SSE_EVENT}\ndata: {data}\n\n")
}

/// The fields of a push in any shape: the FCM message or its `data` map, the `caas` object beside
/// APNs' `aps`, the JSON of an SSE event's data, or the fields themselves.
fn fields(bytes: &[u8]) -> Result<Value, PushError> {
    if bytes.len() > MAX_PUSH_BYTES {
        return Err(PushError::TooLarge { size: bytes.len(), max: MAX_PUSH_BYTES });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PushError::NotText)?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return sse_data(text);
    }
    let mut value: Value = serde_json::from_str(trimmed).map_err(|_| PushError::UnknownShape)?;
    let pointer = if value.pointer("/message/data").is_some() {
        "/message/data"
    } else if value.get("data").is_some() {
        "/data"
    } else if value.get("aps").is_some() {
        "/caas"
    } else if value.get("event_id").is_some() {
        ""
    } else {
        return Err(PushError::UnknownShape);
    };
    value.pointer_mut(pointer).map(Value::take).ok_or(PushError::UnknownShape)
}

fn sse_data(text: &str) -> Result<Value, PushError> {
    let mut event = None;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("event:") {
            event = Some(rest.trim());
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    if event != Some(SSE_EVENT) || data.is_empty() {
        return Err(PushError::UnknownShape);
    }
    serde_json::from_str(&data).map_err(|_| PushError::UnknownShape)
}

impl PushHint {
    /// The FCM HTTP v1 send body: a data-only, high-priority message (data values are strings).
    pub fn to_fcm(&self, registration_token: &str) -> Value {
        json!({
            "message": {
                "token": registration_token,
                "android": { "priority": "high" },
                "data": self.as_string_map(),
            }
        })
    }

    /// The APNs payload: a visible alert the Notification Service Extension rewrites
    /// (`mutable-content`) after syncing the order, with the hint beside `aps`. The alert itself
    /// names only a localization key of the app, so no personal data travels in it and the
    /// customer reads their own language even when the extension runs out of time.
    pub fn to_apns(&self) -> Value {
        let channel = self.channel.unwrap_or(NotificationChannel::Manufacturing);
        json!({
            "aps": {
                "alert": { "loc-key": format!("push.{}", channel.id()) },
                "mutable-content": 1,
                "sound": "default",
                "thread-id": self.order_id.to_string(),
                "category": channel.id(),
            },
            "caas": self,
        })
    }

    /// One server-sent event, including the blank line that ends it.
    pub fn to_sse_frame(&self) -> String {
        sse_frame(self.event_id, &serde_json::to_string(self).unwrap_or_default())
    }

    fn as_string_map(&self) -> Value {
        let mut map = json!({
            "event_id": self.event_id.to_string(),
            "order_id": self.order_id.to_string(),
            "order_version": self.order_version.to_string(),
            "type": self.kind,
        });
        if let Some(channel) = self.channel {
            map["channel"] = json!(channel.id());
        }
        map
    }

    /// Reads a push in any of the shapes the app receives: an FCM message (the v1 send body or the
    /// `data` map a messaging service hands over), an APNs payload, or an SSE event.
    pub fn parse(bytes: &[u8]) -> Result<PushHint, PushError> {
        Self::from_fields(&fields(bytes)?)
    }

    /// Reads the four fields whether they arrive as JSON strings (FCM) or typed values.
    fn from_fields(fields: &Value) -> Result<PushHint, PushError> {
        let text = |name: &'static str| -> Result<String, PushError> {
            match fields.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(PushError::InvalidField { field: name }),
            }
        };
        let uuid = |name: &'static str| -> Result<Uuid, PushError> {
            text(name)?.parse().map_err(|_| PushError::InvalidField { field: name })
        };
        let order_version: u64 = text("order_version")?
            .parse()
            .ok()
            .filter(|v| *v > 0)
            .ok_or(PushError::InvalidField { field: "order_version" })?;
        // A type this version does not know is a newer platform's event: the push still says the
        // order's log grew, so it is taken; only a name no platform would use is refused.
        let kind = text("type")?;
        if !is_type_name(&kind) {
            return Err(PushError::InvalidField { field: "type" });
        }
        let channel = fields.get("channel").and_then(Value::as_str).and_then(NotificationChannel::from_id);
        Ok(PushHint { event_id: uuid("event_id")?, order_id: uuid("order_id")?, order_version, kind, channel })
    }
}

/// Whether `name` can be an event type (or an error code): 1 to 64 lowercase letters, digits and
/// underscores.
pub fn is_type_name(name: &str) -> bool {
    (1..=MAX_TYPE_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The longest event type name a push may carry.
const MAX_TYPE_NAME_LEN: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    fn hint() -> PushHint {
        PushHint {
            event_id: Uuid::from_u128(1),
            order_id: Uuid::from_u128(2),
            order_version: 7,
            kind: "state_changed".into(),
            channel: Some(NotificationChannel::Manufacturing),
        }
    }

    #[test]
    fn every_shape_round_trips() {
        let h = hint();
        let fcm = serde_json::to_vec(&h.to_fcm("token")).expect("json");
        let fcm_data = serde_json::to_vec(&json!({ "data": h.to_fcm("t")["message"]["data"] })).expect("json");
        let apns = serde_json::to_vec(&h.to_apns()).expect("json");
        for bytes in [fcm, fcm_data, apns, h.to_sse_frame().into_bytes()] {
            assert_eq!(PushHint::parse(&bytes), Ok(h.clone()));
            assert!(bytes.len() < MAX_PUSH_BYTES);
        }
    }

    /// Issue 15: the APNs payload was a silent push (`content-available` only), so iOS never ran
    /// the Notification Service Extension and showed nothing. It is an alert the extension may
    /// rewrite, grouped by order, in the channel of its event.
    #[test]
    fn the_apns_payload_is_an_alert_the_extension_rewrites() {
        let mut h = hint();
        h.kind = "final_payment_requested".into();
        h.channel = Some(NotificationChannel::Payment);
        let apns = h.to_apns();
        assert_eq!(apns["aps"]["mutable-content"], 1);
        assert_eq!(apns["aps"]["alert"]["loc-key"], "push.payment");
        assert_eq!(apns["aps"]["thread-id"], h.order_id.to_string());
        assert_eq!(apns["aps"]["category"], "payment");
        assert!(apns["aps"].get("content-available").is_none());
    }

    /// Review of issue 15: every state change went to the factory's channel, the one a customer
    /// silences, "the driver is at your door" included.
    #[test]
    fn a_state_change_goes_with_its_phase() {
        use crate::OrderState;
        let change = |to| EventKind::StateChanged { from: None, to, by: crate::Actor::Platform };
        for (state, channel) in [
            (OrderState::InProduction, NotificationChannel::Manufacturing),
            (OrderState::AwaitingFinalPayment, NotificationChannel::Payment),
            (OrderState::Unassigned, NotificationChannel::Payment),
            (OrderState::Registered, NotificationChannel::Delivery),
            (OrderState::AtCustomerAddress, NotificationChannel::Delivery),
            (OrderState::Delivered, NotificationChannel::Delivery),
            (OrderState::Operational, NotificationChannel::Keys),
        ] {
            assert_eq!(NotificationChannel::of_event(&change(state)), channel, "{state:?}");
        }
    }

    #[test]
    fn a_channel_this_version_does_not_know_reads_as_absent() {
        let mut v = serde_json::to_value(hint()).expect("json");
        v["channel"] = json!("service");
        assert_eq!(PushHint::parse(v.to_string().as_bytes()).expect("taken").channel, None);
        v["channel"] = json!("delivery");
        assert_eq!(
            PushHint::parse(v.to_string().as_bytes()).expect("taken").channel,
            Some(NotificationChannel::Delivery)
        );
    }

    #[test]
    fn oversized_is_refused_before_parsing() {
        let big = vec![b' '; MAX_PUSH_BYTES + 1];
        assert_eq!(PushHint::parse(&big), Err(PushError::TooLarge { size: MAX_PUSH_BYTES + 1, max: MAX_PUSH_BYTES }));
    }

    #[test]
    fn malformed_fields_are_named() {
        let mut v = serde_json::to_value(hint()).expect("json");
        v["order_version"] = json!("0");
        assert_eq!(PushHint::parse(v.to_string().as_bytes()), Err(PushError::InvalidField { field: "order_version" }));
        let mut v = serde_json::to_value(hint()).expect("json");
        v["order_id"] = json!("not-a-uuid");
        assert_eq!(PushHint::parse(v.to_string().as_bytes()), Err(PushError::InvalidField { field: "order_id" }));
        let mut v = serde_json::to_value(hint()).expect("json");
        v["type"] = json!("Unlock car!");
        assert_eq!(PushHint::parse(v.to_string().as_bytes()), Err(PushError::InvalidField { field: "type" }));
        v["type"] = json!("x".repeat(65));
        assert_eq!(PushHint::parse(v.to_string().as_bytes()), Err(PushError::InvalidField { field: "type" }));
    }

    /// Issue 13: a push of an event type this version does not know was refused, so the phone
    /// did not sync what a newer platform recorded. It is a push like any other.
    #[test]
    fn a_newer_platforms_event_type_is_taken() {
        let mut v = serde_json::to_value(hint()).expect("json");
        v["type"] = json!("warranty_extended");
        let parsed = PushHint::parse(v.to_string().as_bytes()).expect("taken");
        assert_eq!(parsed.kind, "warranty_extended");
    }

    fn delta() -> PushDelta {
        let h = hint();
        let signer = crate::record::RecordSigner::from_seed(&[7; 32]);
        PushDelta {
            events: vec![
                json!({ "event_id": h.event_id, "order_id": h.order_id, "version": 7, "type": "state_changed" }),
            ],
            head: signer.sign(h.order_id, 7, crate::record::RecordHash::genesis(h.order_id)),
            order: json!({ "id": h.order_id, "version": 7 }),
        }
    }

    #[test]
    fn a_frame_carries_the_change_when_it_fits_and_is_a_hint_otherwise() {
        let (h, d) = (hint(), delta());
        let carried = Push::sse_frame(&h, Some(&d));
        assert_eq!(Push::parse(carried.as_bytes()), Ok(Push { hint: h.clone(), delta: Some(d.clone()) }));
        assert_eq!(PushHint::parse(carried.as_bytes()), Ok(h.clone()), "an older phone reads the hint");
        let mut big = d;
        big.order["note"] = json!("x".repeat(MAX_PUSH_BYTES));
        let bare = Push::sse_frame(&h, Some(&big));
        assert_eq!(bare, h.to_sse_frame(), "too large to carry: the hint alone");
        assert_eq!(Push::parse(bare.as_bytes()), Ok(Push { hint: h, delta: None }));
    }

    #[test]
    fn a_change_that_cannot_be_read_or_came_through_a_third_party_leaves_the_hint() {
        let h = hint();
        let mut v = serde_json::to_value(&h).expect("json");
        v["delta"] = json!({ "events": "not a list" });
        let unreadable = sse_frame(h.event_id, &v.to_string());
        assert_eq!(Push::parse(unreadable.as_bytes()), Ok(Push { hint: h.clone(), delta: None }));
        // The same change beside the hint in FCM's, APNs' or the bare JSON shape is not taken.
        let mut data = h.to_fcm("t")["message"]["data"].clone();
        data["delta"] = json!(serde_json::to_string(&delta()).expect("json"));
        let fcm = json!({ "data": data }).to_string();
        let mut apns = h.to_apns();
        apns["caas"]["delta"] = serde_json::to_value(delta()).expect("json");
        let mut bare = serde_json::to_value(&h).expect("json");
        bare["delta"] = serde_json::to_value(delta()).expect("json");
        for relayed in [fcm, apns.to_string(), bare.to_string()] {
            assert_eq!(Push::parse(relayed.as_bytes()), Ok(Push { hint: h.clone(), delta: None }), "{relayed}");
        }
    }

    #[test]
    fn foreign_shapes_are_refused() {
        assert_eq!(PushHint::parse(b"\xff\xfe"), Err(PushError::NotText));
        assert_eq!(PushHint::parse(b"{\"hello\":1}"), Err(PushError::UnknownShape));
        assert_eq!(PushHint::parse(b"{not json"), Err(PushError::UnknownShape));
        assert_eq!(PushHint::parse(b"event: other\ndata: {}\n\n"), Err(PushError::UnknownShape));
        assert_eq!(PushHint::parse(b""), Err(PushError::UnknownShape));
    }
}
