//! The driver's expected arrivals: planned for every car still on the way at departure and after
//! each stop, moved by a delay the driver reports with its reason, kept on the phone and sent to
//! the platform, which tells the customers.
//!
//! Estimates do not go through the outbox: an estimate is worth sending only while it is fresh,
//! so the latest one per delivery waits in memory for its delivery's recorded actions to reach
//! the platform, and one whose time has passed is dropped (the next stop or delay makes another).

use caas_protocol::OrderState;
use caas_protocol::arrival::{self, ArrivalEstimate, EtaReason, PlannedStop, RoutePoint};
use caas_protocol::delivery::{DriverAction, DriverActionRequest, DriverDelivery};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::store::{self, outbox};
use crate::updates::Change;

/// The longest delay a driver reports at once, in minutes.
pub const MAX_DELAY_MINUTES: u32 = 600;

/// What became of the estimates a step made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EstimatesSent {
    /// The platform has them (and told the customers the ones that matter).
    pub sent: u32,
    /// Kept on the phone until the connection, or the delivery's earlier actions, go through.
    pub waiting: u32,
}

impl Caas {
    /// A delay on the way: every car still on its way is expected `minutes` later, for `reason`
    /// (traffic, weather, a longer stop). Works offline; the estimates go out when they can.
    #[tracing::instrument(skip(self))]
    pub async fn report_delay(&self, minutes: u32, reason: EtaReason) -> Result<EstimatesSent> {
        if !EtaReason::DELAYS.contains(&reason) || !(1..=MAX_DELAY_MINUTES).contains(&minutes) {
            return Err(CaasError::Rejected {
                code: caas_protocol::api::ErrorCode::InvalidRequest,
                message: format!(
                    "a delay is 1 to {MAX_DELAY_MINUTES} minutes, for traffic, the weather or a longer stop"
                ),
            });
        }
        let on_the_way = self.on_the_way().await?;
        if on_the_way.is_empty() {
            return Err(CaasError::NotFound("a car on its way".into()));
        }
        let now = Utc::now();
        let planned = arrival::plan(RoutePoint::DEPOT, now, &stops(&on_the_way), reason);
        let delay = TimeDelta::minutes(i64::from(minutes));
        let estimates = on_the_way
            .iter()
            .zip(planned)
            .filter_map(|(delivery, (id, planned))| {
                let base = delivery.eta.filter(|eta| eta.expected_at > now).unwrap_or(planned);
                // A time the calendar cannot hold (never one this platform sends) is left as it is.
                let expected_at = base.expected_at.checked_add_signed(delay)?;
                Some((id, ArrivalEstimate { expected_at, reason, at: now, ..base }))
            })
            .collect();
        self.keep_and_send(estimates).await
    }

    /// Plans the arrival at every car still on its way, leaving `from` now, after the driver set
    /// out or finished a stop. A failure is logged: the step it follows is recorded already.
    pub(crate) async fn replan(&self, from: RoutePoint, reason: EtaReason) {
        let planned = async {
            let on_the_way = self.on_the_way().await?;
            self.keep_and_send(arrival::plan(from, Utc::now(), &stops(&on_the_way), reason)).await
        };
        match planned.await {
            Ok(sent) => tracing::debug!(?sent, ?reason, "expected arrivals planned"),
            Err(error) => tracing::warn!(error = error.chain(), "expected arrivals not planned"),
        }
    }

    /// Sends the estimates waiting on the phone whose delivery has no earlier action waiting,
    /// dropping those whose time has passed; one sending at a time, so an older estimate never
    /// lands after a newer one. Stops at the first that cannot reach the platform.
    pub(crate) async fn send_estimates(&self) -> Result<EstimatesSent> {
        let _one_at_a_time = self.inner.estimates_lock.lock().await;
        let now = Utc::now();
        let waiting: Vec<(Uuid, ArrivalEstimate)> = {
            let mut estimates = self.estimates();
            estimates.retain(|_, estimate| estimate.expected_at > now);
            estimates.iter().map(|(id, estimate)| (*id, *estimate)).collect()
        };
        let mut report = EstimatesSent { sent: 0, waiting: u32::try_from(waiting.len()).unwrap_or(u32::MAX) };
        if waiting.is_empty() {
            return Ok(report);
        }
        let token = self.token().await?;
        for (id, estimate) in waiting {
            if self.inner.store.read(move |conn| outbox::pending_count(conn, Some(id))).await? > 0 {
                continue;
            }
            // Sent as made: the platform keeps when the driver estimated it, not when it arrived.
            let request = DriverActionRequest { at: estimate.at, action: DriverAction::UpdateArrival { estimate } };
            let key = format!("eta_{}", Uuid::new_v4().simple());
            match self.inner.api.driver_action(&token, id, &key, &serde_json::to_string(&request)?).await {
                Ok(answer) => {
                    self.forget_estimate(id, &estimate);
                    report.sent += 1;
                    report.waiting -= 1;
                    // An action taken meanwhile keeps its local effect until it is sent.
                    self.inner
                        .store
                        .write(move |tx| {
                            if outbox::pending_count(tx, Some(id))? == 0 {
                                outbox::save_delivery(tx, &answer)?;
                            }
                            Ok(())
                        })
                        .await?;
                }
                Err(error) if error.is_unreachable() || matches!(error, CaasError::Unauthorized) => break,
                Err(error) => {
                    // A delivery that moved on (handed over at the desk, say): nothing to tell.
                    tracing::warn!(delivery = %id, error = error.chain(), "an expected arrival was refused");
                    self.forget_estimate(id, &estimate);
                    report.waiting -= 1;
                }
            }
        }
        self.notify(Change::Deliveries);
        Ok(report)
    }

    /// Drops an estimate that went out (or was refused), unless a newer one replaced it meanwhile.
    fn forget_estimate(&self, id: Uuid, sent: &ArrivalEstimate) {
        let mut estimates = self.estimates();
        if estimates.get(&id) == Some(sent) {
            estimates.remove(&id);
        }
    }

    /// Forgets the estimates of an account that signed out.
    pub(crate) fn forget_estimates(&self) {
        self.estimates().clear();
    }

    /// The cars still on their way with this driver, in the order the driver reaches them (a car
    /// loaded without signal is not known to the platform as carried by anyone yet).
    async fn on_the_way(&self) -> Result<Vec<DriverDelivery>> {
        let (deliveries, account) = self
            .inner
            .store
            .read(|conn| Ok((outbox::load_deliveries(conn)?, store::get_meta(conn, crate::client::ACCOUNT_META)?)))
            .await?;
        let me = account.as_deref().and_then(|account| account.strip_prefix("driver:")).map(str::to_owned);
        let mut on_the_way: Vec<DriverDelivery> = deliveries
            .into_iter()
            .filter(|d| d.state == OrderState::InTransit)
            .filter(|d| d.carried_by.is_none() || d.carried_by == me)
            .collect();
        on_the_way.sort_by_key(|d| (d.window.start, d.delivery_id));
        Ok(on_the_way)
    }

    /// Keeps each estimate on its cached delivery, for the driver's list, and sends them.
    async fn keep_and_send(&self, estimates: Vec<(Uuid, ArrivalEstimate)>) -> Result<EstimatesSent> {
        let kept = estimates.clone();
        self.inner
            .store
            .write(move |tx| {
                for (id, estimate) in &kept {
                    if let Some(mut delivery) = outbox::load_delivery(tx, *id)? {
                        delivery.eta = Some(*estimate);
                        outbox::save_delivery(tx, &delivery)?;
                    }
                }
                Ok(())
            })
            .await?;
        self.estimates().extend(estimates);
        self.notify(Change::Deliveries);
        match self.send_estimates().await {
            Err(error) if error.is_unreachable() => {
                Ok(EstimatesSent { sent: 0, waiting: u32::try_from(self.estimates().len()).unwrap_or(u32::MAX) })
            }
            other => other,
        }
    }

    fn estimates(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, ArrivalEstimate>> {
        // Plain data: a panic elsewhere cannot leave it half-written.
        self.inner.estimates.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn stops(deliveries: &[DriverDelivery]) -> Vec<PlannedStop<Uuid>> {
    deliveries.iter().map(|d| PlannedStop { key: d.delivery_id, point: d.route_point }).collect()
}
