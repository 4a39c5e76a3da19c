//! Paying the final amount of an order, and the options bought for its car after delivery.
//!
//! A payment attempt is stored with a fresh idempotency key before anything is sent, and is only
//! forgotten once its outcome is known. Until then every try (the same call after a lost answer,
//! a retry after a timeout, the app started again after a crash) repeats that attempt with that
//! key, so the card is charged at most once. Paying is never queued: without a connection (or with
//! the platform unavailable) it fails at once with `Offline` (`ServerUnavailable`) and the attempt
//! waits for the customer to try again.
//!
//! Card details go straight to the gateway's tokenization endpoint; the core keeps only the
//! gateway's payment method reference and never logs card data.

use caas_protocol::OrderState;
use caas_protocol::api::ErrorCode;
use caas_protocol::options::BuyOptionRequest;
use caas_protocol::payment::{CardDetails, DeclineCode, NextAction, PayRequest, Payment, PaymentStatus};
use chrono::Utc;
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, PaymentRefusal, Result};
use crate::store::{self, PaymentAttempt, PaymentPurpose};
use crate::updates::Change;

/// Where a payment stands after a call, when it was not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentProgress {
    /// The money is taken; the order moves on to registration.
    Succeeded { payment_id: String },
    /// Authorised and settling; the order moves on when the gateway confirms it.
    Processing { payment_id: String },
    /// The bank wants 3-D Secure: open `url`, then call `resume_payment`.
    RequiresAction { payment_id: String, url: String },
}

impl Caas {
    /// Pays the amount due of `order` with `card`. A payment attempt still in flight is resumed
    /// first and never doubled; only when it ended without a charge is the new card used.
    #[tracing::instrument(skip(self, card), fields(card = %card.last4()))]
    pub async fn pay(&self, order: Uuid, card: CardDetails) -> Result<PaymentProgress> {
        let token = self.token().await?;
        if let Some(progress) = self.resume_or_abandon(&token, order, &PaymentPurpose::FinalPayment).await? {
            return Ok(progress);
        }
        let view = self.inner.api.order(&token, order).await?.value;
        let due = match (view.state, &view.final_payment) {
            (OrderState::AwaitingFinalPayment, Some(due)) if due.paid_at.is_none() => due.clone(),
            (OrderState::Unassigned | OrderState::DealershipStock, _) => {
                return Err(refused(
                    PaymentRefusal::ReservationLost,
                    "the reservation was lost; the car is back in stock",
                ));
            }
            (OrderState::AwaitingFinalPayment, Some(_)) => {
                return Err(refused(PaymentRefusal::AlreadyPaid, "already paid"));
            }
            (state, _) if state.is_paid() => {
                return Err(refused(PaymentRefusal::AlreadyPaid, "this order is paid"));
            }
            (state, _) => {
                return Err(refused(
                    PaymentRefusal::NotPayable,
                    &format!("nothing is due yet: the order is `{state}`"),
                ));
            }
        };
        if due.deadline <= Utc::now() {
            return Err(refused(PaymentRefusal::DeadlinePassed, &format!("the deadline was {}", due.deadline)));
        }
        self.start_attempt(&token, order, PaymentPurpose::FinalPayment, due.amount_due, &card).await
    }

    /// A payment attempt in flight for `purpose` resumed, or `None` when there is none or it
    /// ended without a charge. One waiting for 3-D Secure is abandoned: the customer left the
    /// bank's page and pays again, and that attempt was never charged.
    pub(crate) async fn resume_or_abandon(
        &self,
        token: &str,
        order: Uuid,
        purpose: &PaymentPurpose,
    ) -> Result<Option<PaymentProgress>> {
        match self.resume(token, order, purpose).await {
            Ok(Some(PaymentProgress::RequiresAction { payment_id, .. })) => {
                tracing::info!(%payment_id, "abandoning a payment waiting for 3-D Secure");
                self.forget_attempt(order, purpose).await?;
                Ok(None)
            }
            Ok(Some(progress)) => Ok(Some(progress)),
            Ok(None) | Err(CaasError::PaymentRefused { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Tokenizes `card`, stores a new attempt with a fresh idempotency key, and sends it.
    pub(crate) async fn start_attempt(
        &self,
        token: &str,
        order: Uuid,
        purpose: PaymentPurpose,
        amount: caas_protocol::api::Money,
        card: &CardDetails,
    ) -> Result<PaymentProgress> {
        let config = self.inner.api.payments_config(token).await?;
        let method = self.inner.api.tokenize(&config, card).await.map_err(payment_error)?;
        let attempt = PaymentAttempt {
            order_id: order,
            purpose,
            idempotency_key: format!("pay_{}", Uuid::new_v4().simple()),
            payment_method: method.id,
            amount,
            intent_id: None,
        };
        let saved = attempt.clone();
        self.inner.store.write(move |tx| store::save_attempt(tx, &saved)).await?;
        self.notify(Change::Order(order));
        self.send_attempt(token, attempt).await
    }

    /// Finds out how the payment attempt in flight for `order` ended, e.g. after the customer
    /// completed 3-D Secure or when the app starts again; `None` when no attempt is in flight.
    #[tracing::instrument(skip(self))]
    pub async fn resume_payment(&self, order: Uuid) -> Result<Option<PaymentProgress>> {
        let token = self.token().await?;
        self.resume(&token, order, &PaymentPurpose::FinalPayment).await
    }

    pub(crate) async fn resume(
        &self,
        token: &str,
        order: Uuid,
        purpose: &PaymentPurpose,
    ) -> Result<Option<PaymentProgress>> {
        let wanted = purpose.clone();
        let Some(attempt) = self.inner.store.read(move |conn| store::load_attempt(conn, order, &wanted)).await? else {
            return Ok(None);
        };
        match &attempt.intent_id {
            Some(intent) => {
                let payment = self.inner.api.payment(token, order, intent).await?;
                self.settle(attempt, payment).await.map(Some)
            }
            None => self.send_attempt(token, attempt).await.map(Some),
        }
    }

    /// Sends an attempt (again); the key makes a repeat a replay at the platform and the gateway.
    async fn send_attempt(&self, token: &str, attempt: PaymentAttempt) -> Result<PaymentProgress> {
        let (order, key) = (attempt.order_id, attempt.idempotency_key.as_str());
        let (payment_method, amount) = (attempt.payment_method.clone(), attempt.amount.clone());
        let answer = match &attempt.purpose {
            PaymentPurpose::FinalPayment => {
                self.inner.api.pay(token, order, key, &PayRequest { payment_method, amount }).await
            }
            PaymentPurpose::Option(option) => {
                let request = BuyOptionRequest { option: option.clone(), payment_method, amount };
                self.inner.api.buy_option(token, order, key, &request).await
            }
        };
        match answer {
            Ok(payment) => self.settle(attempt, payment).await,
            Err(CaasError::Rejected { code, message }) => {
                // Refused before any charge: this attempt is over.
                self.finish(&attempt).await?;
                Err(match PaymentRefusal::from_code(code) {
                    Some(refusal) => CaasError::PaymentRefused { refusal, message },
                    None => CaasError::Rejected { code, message },
                })
            }
            // The outcome is unknown (offline, timeout, gateway silent): keep the attempt.
            Err(error) => Err(error),
        }
    }

    /// Records what the gateway said about an attempt and turns it into progress or a refusal.
    async fn settle(&self, mut attempt: PaymentAttempt, payment: Payment) -> Result<PaymentProgress> {
        let order = attempt.order_id;
        let payment_id = payment.id.clone();
        tracing::info!(%order, payment = %payment_id, status = payment.status.wire_name(), "payment answered");
        let progress = match payment.status {
            PaymentStatus::Succeeded => {
                self.finish(&attempt).await?;
                PaymentProgress::Succeeded { payment_id }
            }
            // A status a newer gateway added says nothing this version can rely on: the attempt
            // stays open, like one still settling, until a status it knows arrives.
            PaymentStatus::Processing | PaymentStatus::Unknown => PaymentProgress::Processing { payment_id },
            PaymentStatus::RequiresAction => {
                let url = match payment.next_action {
                    Some(NextAction::ThreeDSecure { url }) => bank_page(url)?,
                    None => return Err(CaasError::Protocol("3-D Secure is required but no page was given".into())),
                    Some(NextAction::Unknown) => {
                        return Err(CaasError::Protocol("the bank asks for a step this version cannot take".into()));
                    }
                };
                PaymentProgress::RequiresAction { payment_id, url }
            }
            PaymentStatus::RequiresPaymentMethod => {
                self.finish(&attempt).await?;
                let (refusal, message) = match payment.last_error {
                    Some(failure) => (decline(failure.code), failure.message),
                    None => (PaymentRefusal::CardDeclined, "the payment was not completed".into()),
                };
                return Err(CaasError::PaymentRefused { refusal, message });
            }
        };
        if !matches!(progress, PaymentProgress::Succeeded { .. }) && attempt.intent_id.is_none() {
            attempt.intent_id = Some(payment.id);
            self.inner.store.write(move |tx| store::save_attempt(tx, &attempt)).await?;
        }
        // The platform has applied the gateway's confirmation by now; show it without waiting
        // for the push. Failing here changes nothing about the payment.
        if let Err(error) = self.sync_order(order).await {
            tracing::debug!(error = error.chain(), "order refresh after payment failed; the push will bring it");
        }
        Ok(progress)
    }

    async fn finish(&self, attempt: &PaymentAttempt) -> Result<()> {
        let (order, purpose, key) = (attempt.order_id, attempt.purpose.clone(), attempt.idempotency_key.clone());
        self.inner.store.write(move |tx| store::finish_attempt(tx, order, &purpose, &key)).await?;
        self.notify(Change::Order(order));
        Ok(())
    }

    async fn forget_attempt(&self, order: Uuid, purpose: &PaymentPurpose) -> Result<()> {
        let wanted = purpose.clone();
        if let Some(attempt) = self.inner.store.read(move |conn| store::load_attempt(conn, order, &wanted)).await? {
            self.finish(&attempt).await?;
        }
        Ok(())
    }
}

fn refused(refusal: PaymentRefusal, message: &str) -> CaasError {
    CaasError::PaymentRefused { refusal, message: message.to_owned() }
}

fn decline(code: DeclineCode) -> PaymentRefusal {
    match code {
        DeclineCode::CardDeclined | DeclineCode::Unknown => PaymentRefusal::CardDeclined,
        DeclineCode::InsufficientFunds => PaymentRefusal::InsufficientFunds,
        DeclineCode::AuthenticationFailed => PaymentRefusal::AuthenticationFailed,
    }
}

/// A tokenization refusal is the card's fault; anything else keeps its meaning.
fn payment_error(error: CaasError) -> CaasError {
    match error {
        CaasError::Rejected { code: ErrorCode::InvalidCard, message } => refused(PaymentRefusal::InvalidCard, &message),
        other => other,
    }
}

/// The bank's 3-D Secure page, checked before an app opens it: https (or plain http to this
/// machine, the gateway simulator in development), never another scheme a compromised answer
/// could name (`tel:`, another app's, this app's own links).
fn bank_page(url: String) -> Result<String> {
    match url.parse::<reqwest::Url>() {
        Ok(page) if crate::api::encrypted_or_local(&page) => Ok(url),
        _ => Err(CaasError::Protocol("the bank's page is not an https address; it is not opened".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review of issue 15: the apps opened whatever address the answer named.
    #[test]
    fn only_a_secure_bank_page_is_opened() {
        for page in ["https://bank.example/3ds/pi_1", "http://127.0.0.1:8080/3ds/pi_1"] {
            assert_eq!(bank_page(page.into()).ok().as_deref(), Some(page));
        }
        for page in ["http://bank.example/3ds", "tel:+34600000000", "caas://order/x", "not a url", ""] {
            assert!(matches!(bank_page(page.into()), Err(CaasError::Protocol(_))), "{page}");
        }
    }
}
