//! Card tokenization. The gateway runs in test mode: only the sandbox card numbers are accepted,
//! each forcing one outcome, and no card number is ever stored, only its last four digits and the
//! outcome it stands for.

use crate::db::CachedSql as _;
use crate::extract::Json;
use axum::extract::State;
use axum::http::StatusCode;
use caas_protocol::api::ErrorCode;
use caas_protocol::payment::{CardDetails, PaymentMethod};
use chrono::{Datelike as _, Utc};
use rusqlite::params;
use uuid::Uuid;

use super::{GatewayState, PublishableKey};
use crate::error::{AppError, AppResult};

/// What a card makes the gateway do when it is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    Decline,
    InsufficientFunds,
    /// The bank asks for 3-D Secure first; the sandbox passes or fails it.
    ThreeDSecure,
    /// Authorised at once, settled a moment later by webhook.
    SettleLater,
}

impl Behaviour {
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Succeed => "succeed",
            Behaviour::Decline => "decline",
            Behaviour::InsufficientFunds => "insufficient_funds",
            Behaviour::ThreeDSecure => "three_d_secure",
            Behaviour::SettleLater => "settle_later",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        SANDBOX_CARDS.iter().map(|(_, b)| *b).find(|b| b.name() == name)
    }
}

/// The sandbox card numbers and what each does.
pub const SANDBOX_CARDS: &[(&str, Behaviour)] = &[
    ("4242424242424242", Behaviour::Succeed),
    ("4000000000000002", Behaviour::Decline),
    ("4000000000009995", Behaviour::InsufficientFunds),
    ("4000002760003184", Behaviour::ThreeDSecure),
    ("4000000000000077", Behaviour::SettleLater),
];

#[utoipa::path(post, path = "/v1/payment_methods", tag = "gateway", request_body = CardDetails,
    responses((status = 201, body = PaymentMethod), (status = 422, body = caas_protocol::api::ApiError)))]
/// Turns a card into a payment method reference; called by apps with the publishable key.
pub async fn tokenize(
    State(state): State<GatewayState>,
    _: PublishableKey,
    Json(card): Json<CardDetails>,
) -> AppResult<(StatusCode, Json<PaymentMethod>)> {
    let today = Utc::now();
    card.validate((today.year(), today.month()))
        .map_err(|e| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidCard, e.to_string()))?;
    let digits = card.digits();
    let behaviour = SANDBOX_CARDS.iter().find(|(number, _)| *number == digits).map(|(_, b)| *b).ok_or_else(|| {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidCard,
            "this gateway runs in test mode and accepts only its sandbox card numbers",
        )
    })?;
    let method = PaymentMethod {
        id: format!("pm_{}", Uuid::new_v4().simple()),
        brand: if digits.starts_with('4') { "visa" } else { "card" }.into(),
        last4: card.last4(),
    };
    state.db.lock().execute_cached(
        "INSERT INTO gateway_payment_methods (id, brand, last4, behaviour, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![method.id, method.brand, method.last4, behaviour.name(), today.to_rfc3339()],
    )?;
    Ok((StatusCode::CREATED, Json(method)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sandbox_card_is_a_valid_number_with_a_distinct_outcome() {
        for (number, behaviour) in SANDBOX_CARDS {
            let card = CardDetails { number: (*number).into(), exp_month: 12, exp_year: 2099, cvc: "123".into() };
            assert_eq!(card.validate((2026, 11)), Ok(()), "{number}");
            assert_eq!(Behaviour::from_name(behaviour.name()), Some(*behaviour));
        }
        let mut names: Vec<_> = SANDBOX_CARDS.iter().map(|(_, b)| b.name()).collect();
        names.dedup();
        assert_eq!(names.len(), SANDBOX_CARDS.len());
    }
}
