//! The driver role: the company's deliveries cached for use without signal, and every driver
//! action recorded locally first and sent through the outbox.
//!
//! An action is checked against the cached delivery (the lifecycle, the VIN, the handover code
//! with the platform's public key), then written to the outbox in the same transaction as its
//! local effect, then sent. Actions go out strictly in the order they were taken, each with its
//! own idempotency key, so a resend after a lost answer or a restart is a replay at the platform.
//! A refusal (the customer moved the delivery meanwhile, say) rolls the delivery back to the
//! platform's view and stays in the conflicts list until the driver has read it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use caas_protocol::api::ErrorCode;
use caas_protocol::delivery::{
    CallOutcome, DeliveryWindow, DriverAction, DriverActionRequest, DriverDelivery, PickupPoint,
};
use caas_protocol::handover::{self, Expected, HandoverPublicKey, HandoverRefusal};
use caas_protocol::{Actor, OrderState};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{Caas, Inner};
use crate::error::{CaasError, Result};
use crate::listeners::{Change, DeliveriesListener, Subscription, next_change};
use crate::store::{self, outbox};

const HANDOVER_KEY_META: &str = "driver.handover_key";

/// What the driver can do with a delivery now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverStep {
    Embark,
    Arrive,
    ReportAbsent,
    ConfirmHandover,
}

impl DriverStep {
    /// The steps the lifecycle gives a driver in `state`.
    pub fn allowed_in(state: OrderState) -> Vec<DriverStep> {
        let mut steps: Vec<DriverStep> = state
            .transitions()
            .filter(|t| t.by == Actor::Driver)
            .map(|t| match t.to {
                OrderState::InTransit => DriverStep::Embark,
                OrderState::AtCustomerAddress => DriverStep::Arrive,
                OrderState::Delivered => DriverStep::ConfirmHandover,
                _ => DriverStep::ReportAbsent,
            })
            .collect();
        steps.dedup();
        steps
    }
}

/// A delivery on the driver's list as the app shows it, offline too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedDelivery {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub state: OrderState,
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub vin: String,
    pub plate: Option<String>,
    pub model: String,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub address: Option<String>,
    pub address_confirmed: bool,
    pub dealership: PickupPoint,
    /// Actions taken on this delivery that the platform has not received yet.
    pub unsynced_actions: u32,
    pub steps: Vec<DriverStep>,
}

impl AssignedDelivery {
    fn new(delivery: DriverDelivery, unsynced_actions: u32) -> Self {
        Self {
            steps: DriverStep::allowed_in(delivery.state),
            delivery_id: delivery.delivery_id,
            order_id: delivery.order_id,
            state: delivery.state,
            attempt: delivery.attempt,
            window: delivery.window,
            vin: delivery.vin,
            plate: delivery.plate,
            model: delivery.model,
            customer_name: delivery.customer_name,
            customer_phone: delivery.customer_phone,
            address: delivery.address,
            address_confirmed: delivery.address_confirmed,
            dealership: delivery.dealership,
            unsynced_actions,
        }
    }
}

/// How a driver action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverActionOutcome {
    /// The platform has it.
    Synced,
    /// Recorded on the phone; it goes out when the connection returns. `pending` actions wait.
    Queued { pending: u32 },
}

/// An action the platform refused after it was recorded, for the driver to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConflict {
    pub id: i64,
    pub delivery_id: Uuid,
    pub action: String,
    /// The platform's error code, or `superseded` when an earlier refused action took it along.
    pub code: String,
    pub reason: String,
}

/// A handover code that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverCheck {
    pub order_id: Uuid,
    pub customer_name: String,
    pub expires_at: DateTime<Utc>,
}

/// What one outbox sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverSyncReport {
    pub sent: u32,
    pub rejected: u32,
    /// Still waiting (the connection dropped).
    pub pending: u32,
}

impl Caas {
    /// Signs in a driver with the code emailed to them; the token goes to the secret store.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_driver(&self, email: &str, code: &str) -> Result<String> {
        let session = self.inner.api.driver_sign_in(email, code).await?;
        let tokens = crate::client::SessionTokens {
            access_token: &session.access_token,
            refresh_token: None,
            expires_in: session.expires_in,
        };
        self.start_session(&tokens, "driver", &session.driver_id).await?;
        tracing::info!(company = %session.company_id, "driver signed in");
        Ok(session.driver_id)
    }

    /// Fetches the company's open deliveries and the handover key, keeping the local state of
    /// deliveries with actions still in the outbox.
    #[tracing::instrument(skip(self))]
    pub async fn refresh_deliveries(&self) -> Result<Vec<AssignedDelivery>> {
        let list = self.inner.api.driver_deliveries(&self.token().await?).await?;
        let key = serde_json::to_string(&list.handover_key)?;
        self.inner
            .store
            .write(move |tx| {
                store::set_meta(tx, HANDOVER_KEY_META, &key)?;
                outbox::replace_deliveries(tx, &list.deliveries)
            })
            .await?;
        self.notify(Change::Deliveries);
        self.deliveries().await
    }

    /// The cached deliveries, earliest window first. Never touches the network.
    pub async fn deliveries(&self) -> Result<Vec<AssignedDelivery>> {
        self.inner
            .store
            .read(|conn| {
                outbox::load_deliveries(conn)?
                    .into_iter()
                    .map(|d| {
                        let pending = outbox::pending_count(conn, Some(d.delivery_id))?;
                        Ok(AssignedDelivery::new(d, pending))
                    })
                    .collect()
            })
            .await
    }

    /// Calls `listener` with the deliveries now and after every change.
    pub fn subscribe_deliveries(&self, listener: Arc<dyn DeliveriesListener>) -> Subscription {
        let core = self.clone();
        let mut changes = self.inner.changes.subscribe();
        Subscription::spawn(&self.inner.runtime, async move {
            loop {
                match core.deliveries().await {
                    Ok(deliveries) => listener.on_deliveries(deliveries),
                    Err(error) => tracing::warn!(%error, "deliveries snapshot failed"),
                }
                let relevant = |change| matches!(change, Change::All | Change::Deliveries);
                if next_change(&mut changes, relevant).await.is_none() {
                    return;
                }
            }
        })
    }

    /// Records that the car with `vin` is loaded for its delivery.
    #[tracing::instrument(skip(self))]
    pub async fn embark(&self, delivery: Uuid, vin: &str) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, OrderState::InTransit).await?;
        if !vin.trim().eq_ignore_ascii_case(&cached.vin) {
            return Err(refused(ErrorCode::VinMismatch, "the scanned VIN is not this delivery's car"));
        }
        if !cached.address_confirmed {
            return Err(refused(ErrorCode::AddressNotConfirmed, "the customer has not confirmed the address yet"));
        }
        let action = DriverAction::Embark { vin: vin.trim().to_owned(), window_start: cached.window.start };
        self.record(cached, action).await
    }

    /// Records the arrival at the customer's address.
    #[tracing::instrument(skip(self))]
    pub async fn arrive(&self, delivery: Uuid) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, OrderState::AtCustomerAddress).await?;
        self.record(cached, DriverAction::Arrive).await
    }

    /// Records that nobody took the car and what the phone call gave.
    #[tracing::instrument(skip(self))]
    pub async fn report_absent(&self, delivery: Uuid, call: CallOutcome) -> Result<DriverActionOutcome> {
        let action = DriverAction::ReportAbsent { call };
        let cached = self.delivery_for(delivery, action.target_state()).await?;
        self.record(cached, action).await
    }

    /// Checks the code the customer shows (the QR token, or the eight digits, which need a
    /// connection) without recording anything.
    #[tracing::instrument(skip(self, code))]
    pub async fn check_handover_code(&self, delivery: Uuid, code: &str) -> Result<HandoverCheck> {
        let cached = self.delivery_for(delivery, OrderState::Delivered).await?;
        let code = self.handover_token(&cached, code).await?;
        self.verify_handover(&cached, &code).await.map(|(check, _)| check)
    }

    /// Hands the car over to the customer whose code checks out, and records it.
    #[tracing::instrument(skip(self, code))]
    pub async fn confirm_handover(&self, delivery: Uuid, code: &str) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, OrderState::Delivered).await?;
        let code = self.handover_token(&cached, code).await?;
        let (_, verified_at) = self.verify_handover(&cached, &code).await?;
        self.record(cached, DriverAction::ConfirmHandover { code: code.text, verified_at }).await
    }

    /// Sends what the outbox holds, in order, then refreshes the list when nothing waits.
    #[tracing::instrument(skip(self))]
    pub async fn sync_driver(&self) -> Result<DriverSyncReport> {
        let report = self.drain().await?;
        if report.pending == 0 {
            self.refresh_deliveries().await?;
        }
        Ok(report)
    }

    /// Actions the platform refused, oldest first.
    pub async fn driver_conflicts(&self) -> Result<Vec<DriverConflict>> {
        let entries = self.inner.store.read(outbox::rejected).await?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let (code, reason) = e.rejection.unwrap_or_default();
                DriverConflict {
                    id: e.seq,
                    delivery_id: e.delivery_id,
                    action: e.request.action.name().into(),
                    code,
                    reason,
                }
            })
            .collect())
    }

    /// The driver has read a conflict; it leaves the list.
    pub async fn dismiss_driver_conflict(&self, id: i64) -> Result<()> {
        if !self.inner.store.write(move |tx| outbox::dismiss(tx, id)).await? {
            return Err(CaasError::NotFound(format!("conflict {id}")));
        }
        self.notify(Change::Deliveries);
        Ok(())
    }

    /// The cached delivery, if the lifecycle lets the driver move it to `target` now.
    async fn delivery_for(&self, id: Uuid, target: OrderState) -> Result<DriverDelivery> {
        let delivery = self
            .inner
            .store
            .read(move |conn| outbox::load_delivery(conn, id))
            .await?
            .ok_or_else(|| CaasError::NotFound(format!("delivery {id} (refresh the deliveries)")))?;
        if target == OrderState::Delivered && delivery.state == OrderState::Delivered {
            return Err(CaasError::HandoverRefused(HandoverRefusal::Used));
        }
        if delivery.state.transition_to(target).is_none_or(|edge| edge.by != Actor::Driver) {
            let reason = format!("not possible now: the delivery is `{}`", delivery.state);
            return Err(refused(ErrorCode::IllegalTransition, &reason));
        }
        Ok(delivery)
    }

    /// What the customer showed: the QR code's text, or the token the platform holds for eight
    /// digits read out.
    async fn handover_token(&self, delivery: &DriverDelivery, code: &str) -> Result<ShownCode> {
        let code = code.trim();
        if handover::is_short_code(code) {
            return match self.inner.api.resolve_short_code(&self.token().await?, delivery.delivery_id, code).await {
                Ok(view) => Ok(ShownCode { text: view.token, read_out: true }),
                Err(CaasError::Offline(reason)) => {
                    Err(CaasError::Offline(format!("a short code needs a connection; scan the QR code ({reason})")))
                }
                Err(CaasError::Rejected { code: ErrorCode::HandoverCodeInvalid, .. }) => {
                    Err(CaasError::HandoverRefused(HandoverRefusal::Forged))
                }
                Err(error) => Err(error),
            };
        }
        Ok(ShownCode { text: code.to_owned(), read_out: false })
    }

    async fn verify_handover(
        &self,
        delivery: &DriverDelivery,
        code: &ShownCode,
    ) -> Result<(HandoverCheck, DateTime<Utc>)> {
        let key = self
            .inner
            .store
            .read(|conn| store::get_meta(conn, HANDOVER_KEY_META))
            .await?
            .ok_or_else(|| CaasError::NotFound("the platform's handover key (refresh the deliveries)".into()))?;
        let key: HandoverPublicKey = serde_json::from_str(&key)?;
        let now = Utc::now();
        let expected = Expected { order_id: delivery.order_id, attempt: delivery.attempt, at: now };
        let claims = if code.read_out {
            // Resolved by the platform just now: a plain token, nothing on a screen to check.
            handover::verify(&code.text, &key, expected)
        } else {
            handover::parse_presented(&code.text).and_then(|shown| handover::verify_presented(&shown, &key, expected))
        }
        .map_err(CaasError::HandoverRefused)?;
        let check = HandoverCheck {
            order_id: claims.order_id,
            customer_name: delivery.customer_name.clone(),
            expires_at: claims.expires_at,
        };
        Ok((check, now))
    }

    /// Writes a checked action to the outbox with its local effect, and tries to send it.
    async fn record(&self, delivery: DriverDelivery, action: DriverAction) -> Result<DriverActionOutcome> {
        let request = DriverActionRequest { at: Utc::now(), action };
        let key = format!("drv_{}", Uuid::new_v4().simple());
        let local = local_effect(delivery, &request.action);
        let seq = self
            .inner
            .store
            .write(move |tx| {
                let seq = outbox::enqueue(tx, local.delivery_id, &key, &request)?;
                outbox::save_delivery(tx, &local)?;
                Ok(seq)
            })
            .await?;
        self.notify(Change::Deliveries);
        // The action is recorded whatever happens next; a failed send (no session, say) leaves
        // it queued for `sync_driver`, which reports the reason.
        let pending = match self.drain().await {
            Ok(report) => report.pending,
            Err(error) => {
                tracing::warn!(%error, "driver action recorded but not sent");
                self.inner.store.read(|conn| outbox::pending_count(conn, None)).await?
            }
        };
        let entry = self.inner.store.read(move |conn| outbox::entry_by_seq(conn, seq)).await?;
        match entry {
            None => Ok(DriverActionOutcome::Synced),
            Some(entry) => match entry.rejection {
                // Refused while the driver is looking: say so now rather than in the conflicts list.
                Some((code, reason)) => {
                    self.inner.store.write(move |tx| outbox::dismiss(tx, seq)).await?;
                    self.notify(Change::Deliveries);
                    let code = serde_json::from_value(serde_json::Value::String(code)).unwrap_or(ErrorCode::Conflict);
                    Err(CaasError::Rejected { code, message: reason })
                }
                None => {
                    self.retry_in_background();
                    Ok(DriverActionOutcome::Queued { pending })
                }
            },
        }
    }

    /// Sends the outbox in order until it is empty or the connection drops. One drain at a time.
    async fn drain(&self) -> Result<DriverSyncReport> {
        let _one_at_a_time = self.inner.outbox_lock.lock().await;
        let token = self.token().await?;
        let mut report = DriverSyncReport::default();
        let mut rolled_back = false;
        while let Some(entry) = self.inner.store.read(outbox::next_pending).await? {
            let seq = entry.seq;
            let carries_code = matches!(entry.request.action, DriverAction::ConfirmHandover { .. });
            let sent = self.inner.api.driver_action(&token, entry.delivery_id, &entry.idempotency_key, &entry.request);
            match sent.await {
                Ok(answer) => {
                    self.inner.store.write(move |tx| outbox::complete(tx, seq, &answer)).await?;
                    report.sent += 1;
                }
                Err(refusal @ (CaasError::Rejected { .. } | CaasError::NotFound(_)))
                    if !matches!(refusal, CaasError::Rejected { code: ErrorCode::IdempotencyKeyInUse, .. }) =>
                {
                    let (code, message) = match refusal {
                        CaasError::Rejected { code, message } => (code.wire_name(), message),
                        other => (ErrorCode::NotFound.wire_name(), other.to_string()),
                    };
                    tracing::warn!(seq, code, %message, "the platform refused a driver action");
                    let delivery = entry.delivery_id;
                    self.inner.store.write(move |tx| outbox::reject(tx, seq, delivery, code, &message)).await?;
                    report.rejected += 1;
                    rolled_back = true;
                }
                Err(CaasError::Unauthorized) => return Err(CaasError::Unauthorized),
                Err(error) => {
                    // No answer: the action may or may not have landed; the same key settles it later.
                    let reason = error.to_string();
                    self.inner.store.write(move |tx| outbox::record_failure(tx, seq, &reason)).await?;
                    tracing::info!(seq, %error, "driver action not sent; kept for later");
                    break;
                }
            }
            if carries_code || rolled_back {
                // The customer's code left the outbox (sent, or blanked with a refusal): no copy
                // stays in the log either.
                self.inner.store.scrub().await?;
            }
            self.notify(Change::Deliveries);
        }
        report.pending = self.inner.store.read(|conn| outbox::pending_count(conn, None)).await?;
        if rolled_back && let Err(error) = self.refresh_deliveries().await {
            tracing::info!(%error, "could not fetch the platform's view after a refusal");
        }
        Ok(report)
    }

    /// Keeps trying the outbox with growing pauses while the app runs, until it is empty. Holds
    /// the core weakly, so a closed core stops it.
    fn retry_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            let attempt = || {
                let weak = weak.clone();
                async move {
                    let inner = weak.upgrade().ok_or(CaasError::Config("the core was closed".into()))?;
                    let report = Caas { inner }.drain().await?;
                    if report.pending > 0 { Err(CaasError::Offline("actions still pending".into())) } else { Ok(()) }
                }
            };
            let backoff = ExponentialBuilder::default()
                .with_min_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(60))
                .with_max_times(30);
            let outcome = attempt.retry(backoff).when(|e| matches!(e, CaasError::Offline(_))).await;
            if let Some(inner) = weak.upgrade() {
                inner.retrying.store(false, Ordering::SeqCst);
                tracing::debug!(?outcome, "background outbox retries ended");
            }
        });
    }
}

fn refused(code: ErrorCode, message: &str) -> CaasError {
    CaasError::Rejected { code, message: message.to_owned() }
}

/// What the delivery looks like on the phone once the action is taken.
fn local_effect(mut delivery: DriverDelivery, action: &DriverAction) -> DriverDelivery {
    delivery.state = action.target_state();
    if let DriverAction::ReportAbsent { call: CallOutcome::Rescheduled { window_start } } = action {
        let length = delivery.window.end - delivery.window.start;
        delivery.attempt += 1;
        delivery.window = DeliveryWindow { start: *window_start, end: *window_start + length };
    }
    delivery
}

/// A handover code as the driver got it.
#[derive(Debug)]
struct ShownCode {
    text: String,
    /// Read out as eight digits and resolved by the platform, rather than scanned from a screen.
    read_out: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_is_offered_only_the_lifecycle_steps() {
        assert_eq!(DriverStep::allowed_in(OrderState::TransportScheduled), vec![DriverStep::Embark]);
        assert_eq!(DriverStep::allowed_in(OrderState::DeliveryRescheduled), vec![DriverStep::Embark]);
        assert_eq!(DriverStep::allowed_in(OrderState::InTransit), vec![DriverStep::Arrive]);
        assert_eq!(
            DriverStep::allowed_in(OrderState::AtCustomerAddress),
            vec![DriverStep::ConfirmHandover, DriverStep::ReportAbsent]
        );
        assert_eq!(DriverStep::allowed_in(OrderState::ReturnedToDealership), vec![]);
        assert_eq!(DriverStep::allowed_in(OrderState::Delivered), vec![]);
    }
}
