//! The final payment: card tokenization at the payment gateway, payments through the platform, and
//! the gateway's signed webhooks, shaped the way card payment providers shape them.
//!
//! Card numbers go from the phone to the gateway's tokenization endpoint only; the platform and the
//! phone's storage only ever see the gateway's payment method reference (`pm_...`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::Money;
use crate::options::OptionCode;

/// What a payment attempt pays for: its purpose is stored with it, on the platform and on the
/// phone, and one attempt at a time may be open per order and purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentPurpose {
    /// The rest of the car's price.
    FinalPayment,
    /// An option bought after delivery.
    Option(OptionCode),
}

impl PaymentPurpose {
    /// How the purpose is stored: `final` or `option:<code>`.
    pub fn stored(&self) -> String {
        match self {
            PaymentPurpose::FinalPayment => "final".to_owned(),
            PaymentPurpose::Option(option) => format!("option:{option}"),
        }
    }

    /// The purpose [`Self::stored`] wrote; `None` for text it never writes.
    pub fn from_stored(text: &str) -> Option<Self> {
        match text.strip_prefix("option:") {
            Some(option) => OptionCode::parse(option).ok().map(PaymentPurpose::Option),
            None => (text == "final").then_some(PaymentPurpose::FinalPayment),
        }
    }
}

/// The header every mutation may carry, and payments must: the same key and body return the first
/// answer again, the same key with another body is refused.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Whether `key` is an acceptable idempotency key: 1 to 255 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A card as the customer typed it, on its way to the gateway's tokenization endpoint. Its `Debug`
/// shows the last four digits only, so it can never reach a log whole.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardDetails {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails").field("last4", &self.last4()).finish_non_exhaustive()
    }
}

/// Why a card cannot be tokenized as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the card number must be 12 to 19 digits")]
    NumberLength,
    #[error("the card number is mistyped (its check digit does not match)")]
    CheckDigit,
    #[error("the expiry month must be 1 to 12")]
    ExpiryMonth,
    #[error("the card has expired")]
    Expired,
    #[error("the security code must be 3 or 4 digits")]
    Cvc,
}

impl CardDetails {
    /// The number without the spaces and dashes people type.
    pub fn digits(&self) -> String {
        self.number.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
    }

    pub fn last4(&self) -> String {
        let digits = self.digits();
        digits.get(digits.len().saturating_sub(4)..).unwrap_or_default().to_owned()
    }

    /// Checks what can be checked without the issuer: length, the Luhn check digit, expiry against
    /// `today` (year and month), the security code's shape.
    pub fn validate(&self, today: (i32, u32)) -> Result<(), CardError> {
        let digits = self.digits();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::NumberLength);
        }
        if !luhn(&digits) {
            return Err(CardError::CheckDigit);
        }
        if !(1..=12).contains(&self.exp_month) {
            return Err(CardError::ExpiryMonth);
        }
        if (i32::from(self.exp_year), u32::from(self.exp_month)) < today {
            return Err(CardError::Expired);
        }
        if !(3..=4).contains(&self.cvc.len()) || !self.cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::Cvc);
        }
        Ok(())
    }
}

/// The Luhn (mod 10) check every card number carries.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The gateway's reference to a tokenized card; the only card data the platform and phone keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentMethod {
    /// `pm_...`
    pub id: String,
    pub brand: String,
    pub last4: String,
}

/// Where a payment stands, in the gateway's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Not charged; after a failure, `last_error` says why and another card may be tried.
    RequiresPaymentMethod,
    /// The customer must authenticate with the bank (3-D Secure) before the charge.
    RequiresAction,
    /// Authorised; the money settles later and a webhook reports the end.
    Processing,
    Succeeded,
    /// A status a newer gateway added: the outcome is not known to this version, so the attempt
    /// stays open (and its key with it) until a status it knows arrives.
    #[serde(other)]
    Unknown,
}

impl PaymentStatus {
    pub fn wire_name(self) -> &'static str {
        match self {
            PaymentStatus::RequiresPaymentMethod => "requires_payment_method",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Unknown => "unknown",
        }
    }
}

/// Why a charge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    AuthenticationFailed,
    /// A reason a newer gateway added: the card was declined, for a reason this version cannot name.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentFailure {
    pub code: DeclineCode,
    pub message: String,
}

/// What the customer must do before the payment can go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Open `url` (the bank's 3-D Secure page) in a browser view; the payment resumes after it.
    ThreeDSecure { url: String },
    /// A step a newer gateway added, which this version cannot take.
    #[serde(other)]
    Unknown,
}

/// One payment attempt of an order, as the gateway and the platform report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    /// The gateway's payment intent id, `pi_...`.
    pub id: String,
    pub order_id: Uuid,
    pub amount: Money,
    pub status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<PaymentFailure>,
    pub created_at: DateTime<Utc>,
    /// The merchant's own reference for the attempt, given at creation and echoed in every
    /// webhook, so the platform knows its attempts before it has read the intent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Where the phone tokenizes cards: the gateway's URL and the publishable key it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentsConfig {
    pub gateway_url: String,
    pub publishable_key: String,
}

/// The customer pays the amount due of an order with a tokenized card. The amount is the one the
/// customer was shown; a different amount due is refused rather than charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayRequest {
    pub payment_method: String,
    pub amount: Money,
}

/// The platform asks the gateway to charge a payment method (`POST /v1/payment_intents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatePaymentIntent {
    pub order_id: Uuid,
    pub amount: Money,
    pub payment_method: String,
    /// The merchant's reference for this attempt (at most 300 characters), echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The platform gives a charge back (`POST /v1/refunds`); one refund per charge, in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    pub payment_intent: String,
    pub reason: String,
}

/// A charge given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    pub payment_intent: String,
    pub amount: Money,
    pub refunded_at: DateTime<Utc>,
}

/// The event types the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GatewayEventType {
    #[serde(rename = "payment_intent.succeeded")]
    Succeeded,
    #[serde(rename = "payment_intent.processing")]
    Processing,
    #[serde(rename = "payment_intent.payment_failed")]
    PaymentFailed,
}

/// A gateway webhook body, in the Standard Webhooks `{type, timestamp, data}` layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatewayWebhook {
    #[serde(rename = "type")]
    pub kind: GatewayEventType,
    pub timestamp: DateTime<Utc>,
    pub data: Payment,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn card(number: &str) -> CardDetails {
        CardDetails { number: number.into(), exp_month: 12, exp_year: 2030, cvc: "123".into() }
    }

    #[test]
    fn sandbox_numbers_pass_and_typos_do_not() {
        for number in ["4242424242424242", "4000 0000 0000 0002", "4000-0000-0000-9995", "4000002760003184"] {
            assert_eq!(card(number).validate((2026, 11)), Ok(()), "{number}");
        }
        assert_eq!(card("4242424242424241").validate((2026, 11)), Err(CardError::CheckDigit));
        assert_eq!(card("4242").validate((2026, 11)), Err(CardError::NumberLength));
        assert_eq!(card("4242424242424242").validate((2031, 1)), Err(CardError::Expired));
        let mut bad_cvc = card("4242424242424242");
        bad_cvc.cvc = "12a".into();
        assert_eq!(bad_cvc.validate((2026, 11)), Err(CardError::Cvc));
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(valid_idempotency_key("pay_0192f3a4-7c1e-7b55-a1d2-3f4e5d6c7b8a"));
        assert!(valid_idempotency_key(&"k".repeat(255)));
        for bad in ["", "with space", "tab\t", "ñ", &"k".repeat(256)] {
            assert!(!valid_idempotency_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn purposes_read_back_and_nothing_else_reads_as_one() {
        let seats = PaymentPurpose::Option(OptionCode::parse("heated-seats").expect("code"));
        for purpose in [PaymentPurpose::FinalPayment, seats] {
            assert_eq!(PaymentPurpose::from_stored(&purpose.stored()), Some(purpose));
        }
        for bad in ["", "Final", "option:", "option:Heated Seats", "finale"] {
            assert_eq!(PaymentPurpose::from_stored(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_number() {
        let shown = format!("{:?}", card("4242424242424242"));
        assert!(!shown.contains("424242424242"), "{shown}");
        assert!(shown.contains("4242"));
    }

    proptest! {
        /// Changing any one digit of a valid number breaks the check digit.
        #[test]
        fn luhn_catches_every_single_digit_typo(position in 0usize..16, replacement in 0u8..10) {
            let valid = "4242424242424242";
            let mut bytes = valid.as_bytes().to_vec();
            prop_assume!(bytes[position] != b'0' + replacement);
            bytes[position] = b'0' + replacement;
            let typo = String::from_utf8(bytes).expect("ascii");
            prop_assert!(!luhn(&typo));
        }
    }
}
