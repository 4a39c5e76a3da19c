//! Options bought after delivery: what the catalogue offers a car, what a purchase goes through,
//! and what the platform and the phone say about it on the wire.
//!
//! A purchase is paid with the final payment's machinery, then the platform signs an entitlement
//! for the car (`pairing::Entitlement`), which reaches it over the owner's BLE link or over the
//! platform's connected-car channel. The car's signed receipt is what makes an option active; an
//! option paid but not activated by `activate_by` is refunded.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::Money;

/// The longest option code.
pub const MAX_OPTION_CODE_LEN: usize = 40;

/// How long after payment an entitlement may still be activated; past it the purchase is refunded.
pub const ACTIVATION_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(72);

/// How long past `activate_by` a receipt the car signed in time may still reach the platform (a
/// phone that activated in a garage without signal), before the purchase is refunded.
pub const RECEIPT_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// An option's catalogue code, e.g. `heated-seats`: 1 to 40 lowercase letters, digits and dashes,
/// so it fits a BLE frame and never carries text to escape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
pub struct OptionCode(String);

/// A code that is not an option code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an option code is 1 to {MAX_OPTION_CODE_LEN} lowercase letters, digits and dashes")]
pub struct InvalidOptionCode;

impl OptionCode {
    pub fn parse(text: &str) -> Result<Self, InvalidOptionCode> {
        let shaped = !text.is_empty()
            && text.len() <= MAX_OPTION_CODE_LEN
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if shaped { Ok(Self(text.to_owned())) } else { Err(InvalidOptionCode) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OptionCode {
    type Error = InvalidOptionCode;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<OptionCode> for String {
    fn from(code: OptionCode) -> Self {
        code.0
    }
}

impl fmt::Display for OptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What fitting an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    /// The car has the hardware; the entitlement switches it on.
    Software,
    /// Parts are fitted at the dealership's workshop; bought with a service visit.
    Workshop,
    /// A kind a newer platform added.
    #[serde(other)]
    Unknown,
}

/// Whether the car can take an option now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// Fitted at the factory or activated since.
    Installed,
    /// Bought; the car has not confirmed it yet.
    Pending,
    /// Needs a workshop visit: bought at the dealership with a service booking.
    NeedsWorkshop,
    /// Needs another option first.
    Requires {
        option: OptionCode,
    },
    /// Cannot go with an option the car has.
    ConflictsWith {
        option: OptionCode,
    },
    /// A reason a newer platform added: not offered by this version.
    #[serde(other)]
    Unknown,
}

/// One option of the catalogue, for one car.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionOffer {
    pub code: OptionCode,
    /// The option's name in the customer's language.
    pub name: String,
    pub price: Money,
    pub kind: OptionKind,
    /// Options this one needs on the car first.
    #[serde(default)]
    pub requires: Vec<OptionCode>,
    /// Options this one cannot go with.
    #[serde(default)]
    pub conflicts_with: Vec<OptionCode>,
    pub availability: Availability,
}

/// `GET /v1/orders/{id}/options`: what can be added to the order's car.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionCatalogue {
    pub base_platform: String,
    pub offers: Vec<OptionOffer>,
}

/// `POST /v1/orders/{id}/options` with an `Idempotency-Key`: buys an option with a tokenized card.
/// The price is the one the customer was shown; another price is refused rather than charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyOptionRequest {
    pub option: OptionCode,
    pub payment_method: String,
    pub amount: Money,
}

/// Where an option purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// Paid; the entitlement is on its way to the car.
    Paid,
    /// The car confirmed the option with its signed receipt.
    Activated,
    /// Not activated in time: the money went back to the card.
    Refunded,
    /// A status a newer platform added.
    #[serde(other)]
    Unknown,
}

/// How an entitlement reached the car.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivationChannel {
    /// The owner's phone, over the paired BLE link.
    Bluetooth,
    /// The platform's connected-car network.
    ConnectedCar,
    #[serde(other)]
    Unknown,
}

/// An option bought for the order's car, as the order shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionPurchase {
    pub purchase_id: Uuid,
    pub option: OptionCode,
    pub name: String,
    pub price: Money,
    pub status: PurchaseStatus,
    pub paid_at: DateTime<Utc>,
    /// The car must confirm the option by then, or the purchase is refunded.
    pub activate_by: DateTime<Utc>,
    /// The platform-signed entitlement, base64url, while the car has not confirmed it: the phone
    /// hands it to the car when it is near.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_via: Option<ActivationChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<DateTime<Utc>>,
}

/// `POST /v1/orders/{id}/options/receipts`: the car's receipt for an option, forwarded by the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionReceiptRequest {
    /// The car-signed receipt, base64url.
    pub receipt: String,
}

/// The purchases of a list this version can read; the others are left out, so a newer platform's
/// purchase never makes the whole order unreadable (the phone keeps the order as received, so an
/// updated app reads them all).
pub fn readable<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<OptionPurchase>, D::Error> {
    let values = Option::<Vec<serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(values.into_iter().filter_map(|value| OptionPurchase::deserialize(value).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_codes_are_short_plain_ascii() {
        for good in ["heated-seats", "a", "x2", &"a".repeat(40)] {
            assert!(OptionCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Heated", "heated seats", "ñ", "a\u{202e}b", &"a".repeat(41), "a_b"] {
            assert_eq!(OptionCode::parse(bad), Err(InvalidOptionCode), "{bad:?}");
        }
        let read: Result<OptionCode, _> = serde_json::from_str("\"Not A Code\"");
        assert!(read.is_err());
    }

    #[test]
    fn a_newer_platforms_values_read_as_unknown() {
        let offer: OptionOffer = serde_json::from_value(serde_json::json!({
            "code": "night-vision", "name": "Night vision", "price": { "amount_minor": 1, "currency": "EUR" },
            "kind": "subscription", "availability": { "status": "region_locked", "region": "EU" }
        }))
        .expect("reads");
        assert_eq!((offer.kind, offer.availability), (OptionKind::Unknown, Availability::Unknown));
        let status: PurchaseStatus = serde_json::from_str("\"chargeback\"").expect("reads");
        assert_eq!(status, PurchaseStatus::Unknown);
    }

    #[test]
    fn a_purchase_this_version_cannot_read_leaves_the_order_readable() {
        #[derive(Deserialize)]
        struct Order {
            #[serde(deserialize_with = "readable")]
            options: Vec<OptionPurchase>,
        }
        let order: Order = serde_json::from_value(serde_json::json!({ "options": [
            { "purchase_id": "00000000-0000-0000-0000-000000000001", "option": "heated-seats", "name": "Heated seats",
              "price": { "amount_minor": 30000, "currency": "EUR" }, "status": "paid",
              "paid_at": "2026-11-28T10:00:00Z", "activate_by": "2026-12-01T10:00:00Z" },
            { "purchase_id": "00000000-0000-0000-0000-000000000002", "option": "a newer shape" }
        ] }))
        .expect("the order reads");
        assert_eq!(order.options.len(), 1);
        assert_eq!(order.options[0].option.as_str(), "heated-seats");
    }
}
