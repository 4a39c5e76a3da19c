//! Catching up with the platform: a push names an order, the core fetches that order's events
//! after its cursor and applies them in one transaction, then tells the listeners. Each page's
//! events must link to the cached chain and its signed head must name them, under the platform's
//! record key pinned at the first sync; otherwise the page is refused whole.
//!
//! A push that carries its change (the platform's own stream does when it fits) is applied the
//! same way without a fetch, when it follows what the phone holds; otherwise it is only a hint.

use caas_protocol::api::OrderView;
use caas_protocol::push::{Push, PushDelta, PushHint};
use caas_protocol::record::{RecordError, RecordKey};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::store;
use crate::updates::{Change, PushOutcome};

/// Where the platform's record key is pinned.
pub(crate) const RECORD_KEY_META: &str = "record.key";

/// What a full sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    pub orders: usize,
    pub new_events: usize,
}

impl Caas {
    /// Handles a push as delivered by FCM, APNs or the SSE stream: checks it, drops duplicates
    /// without a network call, and syncs the order it names.
    #[tracing::instrument(skip_all)]
    pub async fn handle_push(&self, payload: &[u8]) -> Result<PushOutcome> {
        let Push { hint, delta } = Push::parse(payload)?;
        if let Some(delta) = delta
            && let Some(outcome) = self.apply_carried(&hint, delta).await
        {
            tracing::debug!(order = %hint.order_id, version = hint.order_version, ?outcome, "push applied as carried");
            let _nobody_listening_is_fine = self.inner.pushes.send((hint, outcome));
            return Ok(outcome);
        }
        self.handle_hint(hint).await
    }

    /// Applies the change a push carries, checked as a fetched page is, in one transaction with the
    /// push's receipt. `None` when it cannot be applied as it stands (an order not cached yet, an
    /// event missed before it, a shape this version cannot read, a record that does not check):
    /// the push is then a hint, and the fetch decides.
    async fn apply_carried(&self, hint: &PushHint, delta: PushDelta) -> Option<PushOutcome> {
        let id = hint.order_id;
        // A phone whose session was refused takes no change from a stream still open.
        if !self.is_signed_in().ok()? {
            return None;
        }
        let carried = Carried::read(hint, delta)
            .inspect_err(|reason| tracing::debug!(order = %id, %reason, "a carried change is read as a hint"))
            .ok()?;
        let _one_sync_at_a_time = self.inner.sync_lock.lock().await;
        let receipt = hint.clone();
        // On the blocking pool in one go: the write, then the order read again for its listeners.
        let applied = self
            .on_pool(move |core| {
                let applied = core.inner.store.write_blocking(|tx| {
                    if store::push_seen(tx, &receipt)? {
                        store::record_push(tx, &receipt)?;
                        return Ok(Some(PushOutcome::Duplicate));
                    }
                    let key = crate::record::pinned_key(tx)?;
                    let cursor = store::cursor(tx, id)?;
                    // Only what follows the cached, anchored record: a new order, a missed push or an
                    // unchecked cache goes through the fetch.
                    let follows = carried.events.first().is_some_and(|first| first.value.version == cursor + 1);
                    let (Some(key), true, true) = (key, cursor > 0 && follows, store::is_anchored(tx, id)?) else {
                        return Ok(None);
                    };
                    store::upsert_details(tx, &carried.order)?;
                    let applied = store::apply_events(tx, id, &carried.events)?;
                    if applied.gap || applied.cursor != carried.order.value.version {
                        return Err(CaasError::Protocol("a carried change does not follow the record".into()));
                    }
                    store::check_head_after(tx, id, &carried.head, &key, false, &applied)?;
                    store::record_push(tx, &receipt)?;
                    Ok(Some(PushOutcome::Synced { new_events: applied.new_events }))
                })?;
                if let Some(PushOutcome::Synced { .. }) = applied {
                    core.reread(id);
                }
                Ok(applied)
            })
            .await
            .inspect_err(|error| tracing::warn!(order = %id, error = error.chain(), "a carried change was not applied"))
            .ok()??;
        if matches!(applied, PushOutcome::Synced { .. }) {
            self.notify(Change::Order(id));
        }
        Some(applied)
    }

    /// Handles a push already read: drops duplicates without a network call, and syncs the order
    /// it names.
    pub(crate) async fn handle_hint(&self, hint: PushHint) -> Result<PushOutcome> {
        let seen_hint = hint.clone();
        let seen = self.inner.store.read(move |conn| store::push_seen(conn, &seen_hint)).await?;
        let outcome = if seen {
            PushOutcome::Duplicate
        } else {
            match self.sync_order(hint.order_id).await {
                Ok(new_events) => PushOutcome::Synced { new_events },
                // The platform hides other customers' orders: a push for one is ignored, and
                // nothing is stored.
                Err(CaasError::NotFound(_)) => PushOutcome::NotForThisAccount,
                Err(error) => return Err(error),
            }
        };
        if outcome != PushOutcome::NotForThisAccount {
            let receipt = hint.clone();
            self.inner.store.write(move |tx| store::record_push(tx, &receipt)).await?;
        }
        tracing::debug!(order = %hint.order_id, version = hint.order_version, ?outcome, "push handled");
        let _nobody_listening_is_fine = self.inner.pushes.send((hint, outcome));
        Ok(outcome)
    }

    /// Brings one order up to date; returns how many new events were cached.
    #[tracing::instrument(skip(self))]
    pub async fn sync_order(&self, id: Uuid) -> Result<usize> {
        let token = self.token().await?;
        let _one_sync_at_a_time = self.inner.sync_lock.lock().await;
        let key = self.record_key().await?;
        let (mut cursor, anchored) =
            self.inner.store.read(move |conn| Ok((store::cursor(conn, id)?, store::is_anchored(conn, id)?))).await?;
        // Events cached before the chain cannot be checked: the whole record is taken again, each
        // event compared with the cached one, and replaces them in its first page's transaction.
        let mut reanchor = !anchored;
        let held = cursor;
        if reanchor {
            cursor = 0;
        }
        let mut new_events = 0;
        // Pages applied before a failure stay applied: the listeners are told of them either way.
        let pages = async {
            let mut first_page = true;
            loop {
                let page = self.inner.api.events_after(&token, id, cursor).await?;
                // The details are read after the events, so they are never older than the events
                // stored with them (a plate never lags behind its `registered` event).
                let details = if first_page { Some(self.inner.api.order(&token, id).await?) } else { None };
                first_page = false;
                let events = page.events;
                let got = events.len();
                let head = page.head.ok_or_else(|| unsigned(id))?;
                let (key, latest) = (key.clone(), page.latest_version);
                let applied = self
                    .inner
                    .store
                    .write(move |tx| {
                        if reanchor {
                            // A record shorter than the one held lost events: refused, the cache kept.
                            if latest < held {
                                return Err(CaasError::HistoryRewritten {
                                    order_id: id,
                                    reason: RecordError::Rewritten { version: latest },
                                });
                            }
                            store::reanchor(tx, id, &events)?;
                        }
                        if let Some(details) = &details {
                            store::upsert_details(tx, details)?;
                        }
                        let applied = store::apply_events(tx, id, &events)?;
                        // A head beyond the cache is fine only while this sync goes on to the next page.
                        let more_to_come = applied.new_events > 0 && !applied.gap && applied.cursor < latest;
                        store::check_head_after(tx, id, &head, &key, more_to_come, &applied)?;
                        Ok(applied)
                    })
                    .await
                    .inspect_err(|error| refused(id, error))?;
                reanchor = false;
                new_events += applied.new_events;
                if applied.gap {
                    return Err(CaasError::Protocol(format!("the platform's log of order {id} has a gap").into()));
                }
                if got == 0 || applied.cursor >= page.latest_version || applied.new_events == 0 {
                    break;
                }
                cursor = applied.cursor;
            }
            Ok(())
        }
        .await;
        if new_events > 0 || pages.is_ok() {
            self.notify(Change::Order(id));
        }
        pages.map(|()| new_events)
    }

    /// The platform's record key: the one pinned at the first sync, or the platform's now, pinned.
    pub(crate) async fn record_key(&self) -> Result<RecordKey> {
        if let Some(pinned) = self.pinned_record_key().await? {
            return Ok(pinned);
        }
        let served = self.inner.api.record_key().await?;
        // The key id is the phone's own digest of the key, never the platform's word for it.
        let key = RecordKey::from_public_key(&served.public_key)
            .map_err(|e| CaasError::Protocol(format!("the platform's record key: {e}").into()))?;
        let text = serde_json::to_string(&key).map_err(crate::error::StorageError::from)?;
        self.inner.store.write(move |tx| store::set_meta(tx, RECORD_KEY_META, &text)).await?;
        tracing::info!(key_id = %key.key_id, "the platform's record key is pinned");
        Ok(key)
    }

    /// Brings every order of the customer up to date. Offline, this fails with
    /// [`CaasError::Offline`] and the cache keeps serving snapshots. An order whose record is
    /// refused does not hold back the others: they are synced, then the refusal is returned.
    #[tracing::instrument(skip(self))]
    pub async fn sync(&self) -> Result<SyncReport> {
        let token = self.token().await?;
        // Car link receipts that waited for a connection go first: they move orders on.
        self.report_pending_links().await?;
        self.report_car_statements().await;
        let remote = self.inner.api.orders(&token).await?;
        let local = self.inner.store.read(store::load_summaries).await?;
        let mut report = SyncReport { orders: remote.len(), new_events: 0 };
        let mut refusal = None;
        for order in remote {
            let id = order.value.id;
            let cached = local.iter().find(|o| o.details.id == id);
            let synced = match cached {
                Some(kept) if order.value.version <= kept.cursor && kept.cursor > 0 => {
                    // Nothing new on the record, but what is kept beside it (the car's last report,
                    // a purchase's entitlement) may have moved on: the platform's latest view is kept
                    // with the record's check, when it is of the record the phone holds.
                    let latest = (kept.details != order.value).then_some(order);
                    self.check_record(id, latest).await
                }
                _ => self.sync_order(id).await,
            };
            match synced {
                Ok(new_events) => report.new_events += new_events,
                Err(error @ CaasError::HistoryRewritten { .. }) => refusal = refusal.or(Some(error)),
                Err(error) => return Err(error),
            }
        }
        refusal.map_or(Ok(report), Err)
    }

    /// Checks that the platform still signs the history this phone holds of an order with nothing
    /// new: a rewrite that added nothing is caught at the next sync too. Events that arrived
    /// meanwhile are synced as usual; returns how many.
    async fn check_record(&self, id: Uuid, latest: Option<store::Received<OrderView>>) -> Result<usize> {
        let token = self.token().await?;
        let anchored = {
            let _one_sync_at_a_time = self.inner.sync_lock.lock().await;
            let key = self.record_key().await?;
            let (cursor, anchored) = self
                .inner
                .store
                .read(move |conn| Ok((store::cursor(conn, id)?, store::is_anchored(conn, id)?)))
                .await?;
            if anchored {
                let page = self.inner.api.events_after(&token, id, cursor).await?;
                if page.events.is_empty() {
                    let head = page.head.ok_or_else(|| unsigned(id))?;
                    let kept = self
                        .inner
                        .store
                        .write(move |tx| {
                            store::check_head(tx, id, &head, &key, false)?;
                            // Only a view of the very record checked: one older or newer waits for
                            // its events.
                            let current = latest.filter(|view| view.value.version == cursor);
                            current.as_ref().map(|view| store::upsert_details(tx, view)).transpose()
                        })
                        .await
                        .inspect_err(|e| refused(id, e))?;
                    if kept.is_some() {
                        self.notify(Change::Order(id));
                    }
                    return Ok(0);
                }
            }
            anchored
        };
        // Events that arrived meanwhile, or a cache from before the chain: a sync proper.
        tracing::debug!(order = %id, anchored, "the record needs a sync");
        self.sync_order(id).await
    }
}

/// A carried change as this version reads it, every part about the order the push names.
struct Carried {
    events: Vec<store::ReceivedEvent>,
    head: caas_protocol::record::SignedHead,
    order: store::Received<OrderView>,
}

impl Carried {
    fn read(hint: &PushHint, delta: PushDelta) -> std::result::Result<Self, String> {
        let events = delta
            .events
            .into_iter()
            .map(serde_json::from_value::<store::ReceivedEvent>)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| format!("an event: {e}"))?;
        let order: store::Received<OrderView> =
            serde_json::from_value(delta.order).map_err(|e| format!("the order: {e}"))?;
        // Every part is of the order and the event the push names, and of one version: the
        // head signs the last event carried, and the order is as it stands after it.
        let id = hint.order_id;
        let about_it = events.iter().all(|event| event.value.order_id == id)
            && events
                .iter()
                .any(|event| event.value.event_id == hint.event_id && event.value.version == hint.order_version)
            && order.value.id == id
            && delta.head.order_id == id
            && events.last().is_some_and(|last| {
                last.value.version == order.value.version && last.value.version == delta.head.version
            });
        if !about_it {
            return Err("its parts are not of the order and event the push names, or not of one version".into());
        }
        Ok(Self { events, head: delta.head, order })
    }
}

fn unsigned(order_id: Uuid) -> CaasError {
    CaasError::HistoryRewritten {
        order_id,
        reason: RecordError::Malformed("the platform did not sign the record".into()),
    }
}

/// Logs a refused record: the cache keeps its own.
fn refused(id: Uuid, error: &CaasError) {
    if let CaasError::HistoryRewritten { reason, .. } = error {
        tracing::error!(order = %id, %reason, "the platform's record was refused; the cache keeps its own");
    }
}
