//! The driver role: the company's deliveries cached for use without signal, and every driver
//! action recorded locally first and sent through the outbox.
//!
//! An action is checked against the cached delivery (the lifecycle, the VIN, the handover code
//! with the platform's public key), then written to the outbox in the same transaction as its
//! local effect, then sent. Actions go out strictly in the order they were taken, each with its
//! own idempotency key, so a resend after a lost answer or a restart is a replay at the platform.
//! A refusal (the customer moved the delivery meanwhile, say) rolls the delivery back to the
//! platform's view and stays in the conflicts list until the driver has read it.
//!
//! Like matrix-rust-sdk's send queue, the outbox tells failures apart: what can succeed later (no
//! connection, a timeout, an outage, a rate limit with its `Retry-After`) is retried on its own;
//! an answer this app cannot read wedges the action until the driver retries or discards it. Order
//! is kept per delivery, so a wedged action holds back only the later actions on its own car.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use caas_protocol::OrderState;
use caas_protocol::api::ErrorCode;
use caas_protocol::arrival::{ArrivalEstimate, EtaReason, RoutePoint};
pub use caas_protocol::delivery::DriverStep;
use caas_protocol::delivery::{
    CallOutcome, DeliveryWindow, DriverAction, DriverActionRequest, DriverDelivery, IncidentKind, MAX_BATCHED_ACTIONS,
    PickupPoint, checked_incident,
};
use caas_protocol::handover::{self, Expected, HandoverPublicKey, HandoverRefusal};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::SendOutcome;
use crate::client::{Caas, Inner};
use crate::error::{CaasError, Result};
use crate::store::{self, outbox};
use crate::updates::Change;

const HANDOVER_KEY_META: &str = "driver.handover_key";

/// The shortest pause before the outbox is tried again by itself.
const FIRST_RETRY: Duration = Duration::from_secs(1);

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
    /// The driver's latest expected arrival at this door.
    pub eta: Option<ArrivalEstimate>,
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
            eta: delivery.eta,
            unsynced_actions,
        }
    }
}

/// How a driver action went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverActionOutcome {
    /// The platform has it.
    Synced,
    /// Recorded on the phone; it goes out when the connection returns (behind a wedged action on
    /// the same delivery, once the driver retried or discarded that one). `pending` actions wait.
    Queued { pending: u32 },
    /// Recorded on the phone, but the platform's answer could not be read: the action waits in
    /// [`Caas::wedged_driver_actions`] for the driver to retry or discard it.
    Wedged { id: i64, reason: String },
}

/// A recorded action held on the phone because the platform answered something this version of
/// the app cannot read. Retrying may work after the platform (or the app) is fixed; discarding
/// gives it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WedgedAction {
    pub id: i64,
    pub delivery_id: Uuid,
    pub step: DriverStep,
    /// What went wrong, for support.
    pub reason: String,
    pub wedged_at: DateTime<Utc>,
    pub attempts: u32,
    /// Later actions on the same delivery, which wait for this one.
    pub waiting_behind: u32,
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
    /// Still waiting to go out on their own (the connection dropped, the platform is busy).
    pub pending: u32,
    /// Waiting for the driver: wedged actions and the later actions on their deliveries.
    pub held: u32,
}

/// A drain's report, and how long the platform asked to wait before the next try.
struct Drained {
    report: DriverSyncReport,
    retry_after: Option<Duration>,
}

/// What sending a batch gave.
enum BatchSent {
    /// One outcome per action.
    Answers(Vec<SendOutcome>),
    /// Send one action per request: for a while (no batches, or the batch refused whole), or for
    /// this drain (an outage).
    OneAtATime { for_a_while: bool },
    /// The batch as a whole got no answer, a pause, or the session's end.
    Failed(CaasError),
}

/// How the outbox is paced, held by the one drain running.
#[derive(Debug, Default)]
pub(crate) struct OutboxPace {
    /// The moment before which the platform asked not to be sent anything (`Retry-After`).
    pub(crate) not_before: Option<Instant>,
    /// When the platform was found to have no batches (an older one) or refused one whole: each
    /// action goes in a request of its own for a while.
    pub(crate) batchless_since: Option<Instant>,
}

/// How long a platform without batches is sent one action per request before batches are tried
/// again (it may have been upgraded, or the answer came from something in the way).
const BATCHES_RETRIED_AFTER: Duration = Duration::from_secs(3600);

impl OutboxPace {
    /// Whether a request sent at `now` goes as a batch.
    fn batching(&self, now: Instant) -> bool {
        self.batchless_since.is_none_or(|since| now.saturating_duration_since(since) >= BATCHES_RETRIED_AFTER)
    }
}

/// What became of one sent action, written with the others of its batch in one transaction.
enum Settled {
    /// Applied, with the delivery as the platform has it when its answer could be read.
    Sent(i64, Option<Box<DriverDelivery>>),
    Refused {
        seq: i64,
        delivery: Uuid,
        code: &'static str,
        message: String,
    },
    Failed(i64, String),
    Wedged(i64, String),
}

impl Settled {
    fn write(&self, tx: &rusqlite::Connection) -> Result<()> {
        match self {
            Self::Sent(seq, answer) => outbox::complete(tx, *seq, answer.as_deref()),
            Self::Refused { seq, delivery, code, message } => outbox::reject(tx, *seq, *delivery, code, message),
            Self::Failed(seq, reason) => outbox::record_failure(tx, *seq, reason),
            Self::Wedged(seq, reason) => outbox::wedge(tx, *seq, reason),
        }
    }
}

/// What a failed send means for the action.
enum Disposition {
    /// The platform will never take it.
    Refused { code: &'static str, message: String },
    /// It may succeed later by itself; the drain stops here.
    Later { retry_after: Option<Duration> },
    /// The answer cannot be read: the action waits for the driver.
    Wedged,
    /// Nothing more can be sent now (no session, no storage).
    Stop,
}

impl Disposition {
    fn of(error: &CaasError) -> Self {
        match error {
            CaasError::Rejected { code: ErrorCode::IdempotencyKeyInUse, .. } | CaasError::Offline(_) => {
                Self::Later { retry_after: None }
            }
            CaasError::ServerUnavailable { retry_after, .. } => Self::Later { retry_after: *retry_after },
            CaasError::Rejected { code, message } => Self::Refused { code: code.wire_name(), message: message.clone() },
            CaasError::NotFound(_) => {
                Self::Refused { code: ErrorCode::NotFound.wire_name(), message: error.to_string() }
            }
            CaasError::Protocol(_) => Self::Wedged,
            _ => Self::Stop,
        }
    }
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

    /// Records that the car with `vin` is loaded for its delivery.
    #[tracing::instrument(skip(self))]
    pub async fn embark(&self, delivery: Uuid, vin: &str) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, DriverStep::Embark).await?;
        if !vin.trim().eq_ignore_ascii_case(&cached.vin) {
            return Err(refused(ErrorCode::VinMismatch, "the scanned VIN is not this delivery's car"));
        }
        if !cached.address_confirmed {
            return Err(refused(ErrorCode::AddressNotConfirmed, "the customer has not confirmed the address yet"));
        }
        let action = DriverAction::Embark { vin: vin.trim().to_owned(), window_start: cached.window.start };
        let outcome = self.record(cached, action).await?;
        self.replan(RoutePoint::DEPOT, EtaReason::Departure).await;
        Ok(outcome)
    }

    /// Records the arrival at the customer's address.
    #[tracing::instrument(skip(self))]
    pub async fn arrive(&self, delivery: Uuid) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, DriverStep::Arrive).await?;
        self.record(cached, DriverAction::Arrive).await
    }

    /// Records that nobody took the car and what the phone call gave.
    #[tracing::instrument(skip(self))]
    pub async fn report_absent(&self, delivery: Uuid, call: CallOutcome) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, DriverStep::ReportAbsent).await?;
        let stop = cached.route_point;
        let outcome = self.record(cached, DriverAction::ReportAbsent { call }).await?;
        self.replan(stop, EtaReason::StopCompleted).await;
        Ok(outcome)
    }

    /// Records that something on the way stops the trip: the car goes back to the dealership with
    /// the driver, and the customer is told why. Works without signal like every action.
    #[tracing::instrument(skip(self, note))]
    pub async fn report_incident(
        &self,
        delivery: Uuid,
        kind: IncidentKind,
        note: Option<&str>,
    ) -> Result<DriverActionOutcome> {
        let note =
            checked_incident(kind, note).map_err(|refusal| refused(ErrorCode::InvalidRequest, &refusal.to_string()))?;
        let cached = self.delivery_for(delivery, DriverStep::ReportIncident).await?;
        self.record(cached, DriverAction::ReportIncident { kind, note }).await
    }

    /// Checks the code the customer shows (the QR token, or the eight digits, which need a
    /// connection) without recording anything.
    #[tracing::instrument(skip(self, code))]
    pub async fn check_handover_code(&self, delivery: Uuid, code: &str) -> Result<HandoverCheck> {
        let cached = self.delivery_for(delivery, DriverStep::ConfirmHandover).await?;
        let code = self.handover_token(&cached, code).await?;
        self.verify_handover(&cached, &code).await.map(|(check, _)| check)
    }

    /// Hands the car over to the customer whose code checks out, and records it.
    #[tracing::instrument(skip(self, code))]
    pub async fn confirm_handover(&self, delivery: Uuid, code: &str) -> Result<DriverActionOutcome> {
        let cached = self.delivery_for(delivery, DriverStep::ConfirmHandover).await?;
        let code = self.handover_token(&cached, code).await?;
        let (_, verified_at) = self.verify_handover(&cached, &code).await?;
        let stop = cached.route_point;
        let outcome = self.record(cached, DriverAction::ConfirmHandover { code: code.text, verified_at }).await?;
        self.replan(stop, EtaReason::StopCompleted).await;
        Ok(outcome)
    }

    /// Sends what the outbox holds, in order, then refreshes the list when nothing waits to go
    /// out by itself (held actions keep their deliveries' local state).
    #[tracing::instrument(skip(self))]
    pub async fn sync_driver(&self) -> Result<DriverSyncReport> {
        let Drained { report, .. } = self.drain().await?;
        if let Err(error) = self.send_estimates().await {
            tracing::info!(error = error.chain(), "expected arrivals wait for the next sync");
        }
        if report.pending == 0 {
            self.refresh_deliveries().await?;
        }
        Ok(report)
    }

    /// Actions held because the platform's answer could not be read, oldest first.
    pub async fn wedged_driver_actions(&self) -> Result<Vec<WedgedAction>> {
        let entries = self.inner.store.read(outbox::wedged).await?;
        Ok(entries
            .into_iter()
            .map(|(e, waiting_behind)| WedgedAction {
                id: e.seq,
                delivery_id: e.delivery_id,
                step: e.request.action.step(),
                reason: e.last_error.unwrap_or_default(),
                wedged_at: e.wedged_at.unwrap_or_default(),
                attempts: e.attempts,
                waiting_behind,
            })
            .collect())
    }

    /// Sends a wedged action again, with the same idempotency key (the platform may have applied
    /// it), and the actions behind it.
    #[tracing::instrument(skip(self))]
    pub async fn retry_driver_action(&self, id: i64) -> Result<DriverSyncReport> {
        if !self.inner.store.write(move |tx| outbox::unwedge(tx, id)).await? {
            return Err(CaasError::NotFound(format!("held action {id}")));
        }
        self.notify(Change::Deliveries);
        self.sync_driver().await
    }

    /// Gives up a wedged action. The delivery is as it was before it, offline too; the later
    /// actions on it were taken on top of it, so they become conflicts for the driver to read
    /// (and take again if they still apply).
    #[tracing::instrument(skip(self))]
    pub async fn discard_driver_action(&self, id: i64) -> Result<()> {
        if !self.inner.store.write(move |tx| outbox::discard(tx, id)).await? {
            return Err(CaasError::NotFound(format!("held action {id}")));
        }
        // It may have carried the customer's code: no copy stays in the log either.
        self.inner.store.scrub().await?;
        self.notify(Change::Deliveries);
        tracing::warn!(id, "a held driver action was discarded");
        // The platform's view, when it can be had; the discard stands either way.
        if let Err(error) = self.sync_driver().await {
            tracing::info!(error = error.chain(), "no sync after the discard");
        }
        Ok(())
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

    /// The cached delivery, if the driver can take `step` on it now.
    async fn delivery_for(&self, id: Uuid, step: DriverStep) -> Result<DriverDelivery> {
        let delivery = self
            .inner
            .store
            .read(move |conn| outbox::load_delivery(conn, id))
            .await?
            .ok_or_else(|| CaasError::NotFound(format!("delivery {id} (refresh the deliveries)")))?;
        if step == DriverStep::ConfirmHandover && delivery.state == OrderState::Delivered {
            return Err(CaasError::HandoverRefused(HandoverRefusal::Used));
        }
        if !step.departs_from().contains(&delivery.state) {
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
                Err(error) if error.is_unreachable() => Err(CaasError::Offline(
                    format!("a short code needs a connection; scan the QR code ({error})").into(),
                )),
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
        let local = local_effect(delivery.clone(), &request.action);
        let seq = self
            .inner
            .store
            .write(move |tx| {
                let seq = outbox::enqueue(tx, &delivery, &key, &request)?;
                outbox::save_delivery(tx, &local)?;
                Ok(seq)
            })
            .await?;
        self.notify(Change::Deliveries);
        // The action is recorded whatever happens next; a failed send (no session, say) leaves
        // it queued for `sync_driver`, which reports the reason.
        let pending = match self.drain().await {
            Ok(drained) => drained.report.pending + drained.report.held,
            Err(error) => {
                tracing::warn!(error = error.chain(), "driver action recorded but not sent");
                self.inner.store.read(|conn| outbox::pending_count(conn, None)).await?
            }
        };
        let entry = self.inner.store.read(move |conn| outbox::entry_by_seq(conn, seq)).await?;
        let Some(entry) = entry else { return Ok(DriverActionOutcome::Synced) };
        match (entry.rejection, entry.wedged_at) {
            // Refused while the driver is looking: say so now rather than in the conflicts list.
            (Some((code, reason)), _) => {
                self.inner.store.write(move |tx| outbox::dismiss(tx, seq)).await?;
                self.notify(Change::Deliveries);
                let code = serde_json::from_value(serde_json::Value::String(code)).unwrap_or(ErrorCode::Conflict);
                Err(CaasError::Rejected { code, message: reason })
            }
            (None, Some(_)) => {
                Ok(DriverActionOutcome::Wedged { id: seq, reason: entry.last_error.unwrap_or_default() })
            }
            (None, None) => Ok(DriverActionOutcome::Queued { pending }),
        }
    }

    /// Sends the outbox until nothing more can go out now: each delivery's actions in order, in
    /// batches where the platform takes them, a wedged one holding back only its own delivery, an
    /// outage of one action only its own car for this drain. Nothing is sent before the pause the
    /// platform asked for has passed. What is left to go out by itself is retried in the
    /// background. One drain at a time.
    async fn drain(&self) -> Result<Drained> {
        let mut pace = self.inner.outbox_lock.lock().await;
        let token = self.token().await?;
        let mut report = DriverSyncReport::default();
        let mut retry_after = pace.not_before.and_then(|at| at.checked_duration_since(Instant::now()));
        // The platform's view is fetched at the end: after a refusal, or an applied action whose
        // answer could not be read.
        let mut refetch = false;
        // A batch met an outage: the rest of this drain goes one action at a time, so an outage
        // holds back only the car it is about.
        let mut singly = false;
        // Deliveries whose first action met an outage in this drain: the others still go.
        let mut skipped: Vec<Uuid> = Vec::new();
        while retry_after.is_none() {
            let exclude = skipped.clone();
            let batching = pace.batching(Instant::now()) && !singly;
            let limit = if batching { MAX_BATCHED_ACTIONS } else { 1 };
            let entries = self.inner.store.read(move |conn| outbox::sendable(conn, &exclude, limit)).await?;
            let Some(first) = entries.first() else { break };
            let answers = if batching {
                match self.send_batch(&token, &entries).await {
                    BatchSent::Answers(answers) => answers,
                    BatchSent::OneAtATime { for_a_while: true } => {
                        pace.batchless_since = Some(Instant::now());
                        continue;
                    }
                    BatchSent::OneAtATime { for_a_while: false } => {
                        singly = true;
                        continue;
                    }
                    // No answer, a pause asked for, a session gone: read as the first action's
                    // answer, which stops the drain with every action kept.
                    BatchSent::Failed(error) => std::iter::once(SendOutcome::Failed(error))
                        .chain(std::iter::repeat_with(|| SendOutcome::NotAttempted))
                        .take(entries.len())
                        .collect(),
                }
            } else {
                let body = first.body.trim();
                let sent = self.inner.api.driver_action(&token, first.delivery_id, &first.idempotency_key, body);
                vec![sent.await.map_or_else(SendOutcome::Failed, |answer| SendOutcome::Applied(Some(Box::new(answer))))]
            };
            let mut settled = Vec::new();
            let mut scrub = false;
            let mut stopped = None;
            // Deliveries with an action not applied in this batch: their later actions go again
            // after it, under their keys, whatever the platform said of them.
            let mut held_back: Vec<Uuid> = Vec::new();
            for (entry, answer) in entries.iter().zip(answers) {
                let (seq, delivery) = (entry.seq, entry.delivery_id);
                if held_back.contains(&delivery) {
                    continue;
                }
                let carries_code = matches!(entry.request.action, DriverAction::ConfirmHandover { .. });
                let error = match answer {
                    SendOutcome::NotAttempted => {
                        held_back.push(delivery);
                        continue;
                    }
                    SendOutcome::Applied(answer) => {
                        refetch |= answer.is_none();
                        scrub |= carries_code;
                        settled.push(Settled::Sent(seq, answer));
                        report.sent += 1;
                        continue;
                    }
                    SendOutcome::Failed(error) => error,
                };
                held_back.push(delivery);
                match Disposition::of(&error) {
                    Disposition::Refused { code, message } => {
                        tracing::warn!(seq, code, %message, "the platform refused a driver action");
                        settled.push(Settled::Refused { seq, delivery, code, message });
                        report.rejected += 1;
                        refetch = true;
                        scrub = true;
                    }
                    Disposition::Later { retry_after: after } => {
                        // No answer, or "not now": the action may or may not have landed; the
                        // same key settles it later.
                        let reason = error.chain();
                        tracing::info!(seq, %reason, "driver action not sent; kept for later");
                        settled.push(Settled::Failed(seq, reason));
                        match (&error, after) {
                            (_, Some(after)) => {
                                pace.not_before = Some(Instant::now() + after);
                                retry_after = Some(after);
                            }
                            (CaasError::ServerUnavailable { .. }, None) => skipped.push(delivery),
                            // No connection, or the first try still running: nothing else goes now.
                            _ => retry_after = Some(Duration::ZERO),
                        }
                    }
                    Disposition::Wedged => {
                        let reason = error.chain();
                        tracing::warn!(seq, %reason, "driver action wedged: the answer cannot be read");
                        settled.push(Settled::Wedged(seq, reason));
                    }
                    // The others' answers are still written before the drain ends.
                    Disposition::Stop => {
                        stopped.get_or_insert(error);
                    }
                }
            }
            let progressed = !settled.is_empty();
            self.inner.store.write(move |tx| settled.iter().try_for_each(|settled| settled.write(tx))).await?;
            if scrub {
                // The customer's code left the outbox (sent, or blanked with a refusal): no copy
                // stays in the log either.
                self.inner.store.scrub().await?;
            }
            self.notify(Change::Deliveries);
            if let Some(error) = stopped {
                return Err(error);
            }
            if !progressed {
                // Nothing in this batch was attempted: the next one would be the same.
                break;
            }
        }
        drop(pace);
        let (pending, held) = self.inner.store.read(outbox::unsent_counts).await?;
        report.pending = pending;
        report.held = held;
        if report.pending > 0 {
            self.retry_in_background(retry_after.filter(|after| !after.is_zero()));
        }
        if refetch && let Err(error) = self.refresh_deliveries().await {
            tracing::info!(error = error.chain(), "could not fetch the platform's view after the drain");
        }
        Ok(Drained { report, retry_after })
    }

    /// Sends `entries` in one batch. A failure of the batch as a whole decides nothing of its
    /// actions: a refusal of the batch itself (a platform with a lower bound, something in the
    /// way) or no such route sends them one at a time for a while, an outage for this drain.
    async fn send_batch(&self, token: &str, entries: &[outbox::OutboxEntry]) -> BatchSent {
        let actions: Vec<_> =
            entries.iter().map(|e| (e.delivery_id, e.idempotency_key.as_str(), e.body.as_str())).collect();
        match self.inner.api.driver_actions(token, &actions).await {
            Ok(Some(answers)) => BatchSent::Answers(answers),
            Ok(None) => {
                tracing::info!("the platform takes driver actions one at a time");
                BatchSent::OneAtATime { for_a_while: true }
            }
            Err(error) => match Disposition::of(&error) {
                Disposition::Refused { .. } | Disposition::Wedged => {
                    tracing::warn!(error = error.chain(), "the platform refused a batch; one action at a time");
                    BatchSent::OneAtATime { for_a_while: true }
                }
                Disposition::Later { retry_after: None } if matches!(error, CaasError::ServerUnavailable { .. }) => {
                    tracing::info!(error = error.chain(), "a batch met an outage; one action at a time");
                    BatchSent::OneAtATime { for_a_while: false }
                }
                _ => BatchSent::Failed(error),
            },
        }
    }

    /// Keeps trying the outbox with growing pauses (or the pause the platform asks for, first
    /// `retry_after`) while the app runs, until nothing waits to go out by itself. Holds the core
    /// weakly, so a closed core stops it.
    fn retry_in_background(&self, retry_after: Option<Duration>) {
        use std::sync::atomic::Ordering;
        if self.inner.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        /// Another try is worth it, after at least this long.
        struct Later(Option<Duration>);
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            // The drain that started this has just failed: the first try waits too.
            tokio::time::sleep(retry_after.unwrap_or_default().max(FIRST_RETRY)).await;
            let attempt = || {
                let weak = weak.clone();
                async move {
                    let Some(inner) = weak.upgrade() else { return Ok(()) };
                    match (Caas { inner }).drain().await {
                        Ok(Drained { report, .. }) if report.pending == 0 => Ok(()),
                        Ok(Drained { retry_after, .. }) => Err(Later(retry_after)),
                        Err(error) if error.is_unreachable() => Err(Later(None)),
                        Err(error) => {
                            tracing::info!(error = error.chain(), "background outbox retries stop");
                            Ok(())
                        }
                    }
                }
            };
            let backoff = ExponentialBuilder::default()
                .with_min_delay(FIRST_RETRY)
                .with_max_delay(Duration::from_secs(60))
                .with_max_times(30);
            let outcome = attempt
                .retry(backoff)
                .adjust(|Later(asked), pause| pause.map(|pause| asked.map_or(pause, |asked| asked.max(pause))))
                .await;
            if let Some(inner) = weak.upgrade() {
                inner.retrying.store(false, Ordering::SeqCst);
                tracing::debug!(gave_up = outcome.is_err(), "background outbox retries ended");
            }
        });
    }
}

fn refused(code: ErrorCode, message: &str) -> CaasError {
    CaasError::Rejected { code, message: message.to_owned() }
}

/// What the delivery looks like on the phone once the action is taken.
fn local_effect(mut delivery: DriverDelivery, action: &DriverAction) -> DriverDelivery {
    if let Some(state) = action.target_state() {
        delivery.state = state;
    }
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
    fn a_platform_without_batches_is_sent_one_action_per_request_for_an_hour_then_batches_again() {
        let found = Instant::now();
        let pace = OutboxPace { not_before: None, batchless_since: Some(found) };
        assert!(OutboxPace::default().batching(found), "batches until a platform is found without them");
        assert!(!pace.batching(found), "not right after");
        assert!(!pace.batching(found + BATCHES_RETRIED_AFTER - Duration::from_secs(1)), "not a second before the hour");
        assert!(pace.batching(found + BATCHES_RETRIED_AFTER), "again once the hour is over");
        assert!(pace.batching(found + 5 * BATCHES_RETRIED_AFTER), "and any time after");
    }
}
