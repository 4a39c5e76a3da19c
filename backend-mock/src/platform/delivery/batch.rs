//! A driver's actions in one request: a phone back in signal sends its outbox in a few round trips
//! instead of one per action, and the platform commits the whole batch once.
//!
//! Each action is what `POST /v1/driver/deliveries/{id}/actions` would make of it, under the same
//! idempotency key and fingerprint, so an action first sent alone whose answer was lost finds
//! that answer here, and the other way round. Actions run in order, each in a savepoint of the
//! batch's transaction: one that is not applied leaves nothing behind and skips the later actions
//! of its delivery (they were taken on top of it); a pause asked for (an answer with a
//! `Retry-After`) skips the rest of the batch, as it would have stopped the phone sending. The sandbox's driver faults meet each action as they
//! would meet a request of its own.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use caas_protocol::api::ApiError;
use caas_protocol::delivery::{
    BatchedAction, BatchedResult, DriverActionBatch, DriverActionRequest, DriverActionResults, MAX_BATCHED_ACTIONS,
};
use caas_protocol::payment::{IDEMPOTENCY_KEY_HEADER, valid_idempotency_key};
use rusqlite::Transaction;
use uuid::Uuid;

use super::driver::record_in;
use crate::auth::DriverAuth;
use crate::catalogue::Driver;
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::idempotency::{self, Begin};
use crate::platform::notify::LiveHint;
use crate::platform::{AppState, IDEMPOTENCY_NAMESPACE};

const JSON: &str = "application/json";

#[utoipa::path(post, path = "/v1/driver/actions", tag = "driver", request_body = DriverActionBatch,
    responses((status = 200, body = DriverActionResults, description = "one result per action, in order: the answer its own request would have had, or skipped"),
              (status = 422, body = ApiError, description = "no action, more than 50, a key that is not 1 to 255 visible ASCII characters, a key used twice, or an `Idempotency-Key` header (each action carries its own)")),
    security(("bearer" = [])))]
/// Records several driver actions, in order, each under its own `idempotency_key`.
pub async fn act_in_batch(
    State(state): State<AppState>,
    auth: DriverAuth,
    headers: HeaderMap,
    Json(batch): Json<DriverActionBatch>,
) -> AppResult<Json<DriverActionResults>> {
    checked(&batch, &headers)?;
    // The account the token was checked for, not the token looked up again: one that expired
    // while the body came in must not file the answers where the next token cannot find them.
    let scope = idempotency::scope(IDEMPOTENCY_NAMESPACE, &auth.principal());
    let (results, pending) = {
        let mut conn = state.db.lock();
        let mut tx = conn.transaction()?;
        idempotency::forget_expired(&tx)?;
        let mut run = Run { state: &state, driver: auth.driver, scope: &scope, pending: Vec::new() };
        let results = run.all(&mut tx, batch.actions)?;
        let pending = run.pending;
        tx.commit()?;
        (results, pending)
    };
    state.announce(pending);
    Ok(Json(DriverActionResults { results }))
}

fn checked(batch: &DriverActionBatch, headers: &HeaderMap) -> AppResult<()> {
    // A key for the whole batch would keep its "not now" answers, which decided nothing, for a day.
    if headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
        return Err(AppError::invalid("a batch's actions carry their own keys; send it without an `Idempotency-Key`"));
    }
    if batch.actions.is_empty() || batch.actions.len() > MAX_BATCHED_ACTIONS {
        return Err(AppError::invalid(format!("a batch carries 1 to {MAX_BATCHED_ACTIONS} actions")));
    }
    let mut keys = HashSet::new();
    for action in &batch.actions {
        if !valid_idempotency_key(&action.idempotency_key) {
            return Err(AppError::invalid("each `idempotency_key` must be 1 to 255 visible ASCII characters"));
        }
        if !keys.insert(action.idempotency_key.as_str()) {
            return Err(AppError::invalid("each action needs its own `idempotency_key`"));
        }
    }
    Ok(())
}

/// One batch on its way through the transaction.
struct Run<'a> {
    state: &'a AppState,
    driver: &'static Driver,
    scope: &'a [u8],
    /// The notifications of every action applied, sent once the batch commits.
    pending: Vec<LiveHint>,
}

/// An action's answer, as its own request would have had it.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    /// The answer's JSON, as its own request's answer would carry it.
    body: Option<Vec<u8>>,
    replayed: bool,
}

impl Answer {
    fn of_error(error: &AppError) -> Self {
        let body = ApiError { code: error.code, message: error.message.clone() };
        let body = serde_json::to_vec(&body).ok();
        Self { status: error.status, retry_after: error.retry_after_seconds(), body, replayed: false }
    }
}

impl Run<'_> {
    fn all(&mut self, tx: &mut Transaction<'_>, actions: Vec<BatchedAction>) -> AppResult<Vec<BatchedResult>> {
        let mut stopped: Vec<Uuid> = Vec::new();
        let mut not_now = false;
        let mut results = Vec::with_capacity(actions.len());
        for action in actions {
            if not_now || stopped.contains(&action.delivery_id) {
                results.push(BatchedResult::Skipped);
                continue;
            }
            let result = match self.state.driver_faults.scripted_answer() {
                Some(scripted) => scripted,
                None => self.one(tx, &action)?,
            };
            if let BatchedResult::Answered { status, retry_after, .. } = &result
                && !StatusCode::from_u16(*status).is_ok_and(|s| s.is_success())
            {
                stopped.push(action.delivery_id);
                // As the phone reads it: a pause asked for holds every send, an outage only its car.
                not_now |= retry_after.is_some();
            }
            results.push(result);
        }
        Ok(results)
    }

    /// One action through the idempotency layer and the driver's endpoint, in a savepoint.
    fn one(&mut self, tx: &mut Transaction<'_>, action: &BatchedAction) -> AppResult<BatchedResult> {
        let key = action.idempotency_key.as_str();
        let target = format!("/v1/driver/deliveries/{}/actions", action.delivery_id);
        let fingerprint = idempotency::fingerprint(&Method::POST, &target, action.request.get().as_bytes());
        let answer = match idempotency::claim(tx, self.scope, key, &fingerprint) {
            Err(refusal) => Answer::of_error(&refusal),
            Ok(Begin::Replay { status, content_type, body }) => Answer {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                retry_after: None,
                body: (content_type.as_deref() == Some(JSON)).then_some(body),
                replayed: true,
            },
            Ok(Begin::Run) => {
                let answer = self.apply(tx, action.delivery_id, action.request.get())?;
                if idempotency::decided(answer.status) {
                    let body = answer.body.as_deref().unwrap_or_default();
                    idempotency::keep(tx, self.scope, key, answer.status, Some(JSON), body)?;
                } else {
                    idempotency::release(tx, self.scope, key)?;
                }
                answer
            }
        };
        // Only an answer that says the action was applied is lost, and only then is a loss spent.
        let lost = answer.status.is_success().then(|| self.state.driver_faults.lost_answer()).flatten();
        let answer = lost.map_or(answer, |lost| Answer::of_error(&lost));
        Ok(BatchedResult::Answered {
            status: answer.status.as_u16(),
            retry_after: answer.retry_after,
            body: answer.body.and_then(|body| serde_json::from_slice(&body).ok()),
            replayed: answer.replayed,
        })
    }

    /// Applies one action in a savepoint: kept with its notifications when it succeeds, undone
    /// whole when it does not.
    fn apply(&mut self, tx: &mut Transaction<'_>, delivery: Uuid, request: &str) -> AppResult<Answer> {
        let request: DriverActionRequest = match serde_json::from_str(request) {
            Ok(request) => request,
            Err(error) => return Ok(Answer::of_error(&AppError::invalid(format!("the action: {error}")))),
        };
        let savepoint = tx.savepoint()?;
        let applied = record_in(self.state, &savepoint, self.driver, delivery, &request)
            .and_then(|(view, events)| Ok((view, self.state.notifications(&savepoint, &events)?)));
        match applied {
            Ok((view, pending)) => {
                savepoint.commit()?;
                self.pending.extend(pending);
                Ok(Answer {
                    status: StatusCode::OK,
                    retry_after: None,
                    body: Some(serde_json::to_vec(&view)?),
                    replayed: false,
                })
            }
            // Dropping the savepoint rolls the action back.
            Err(refusal) => Ok(Answer::of_error(&refusal)),
        }
    }
}
