//! Administrative registration of a paid car with the registry of its dealership's country:
//! synchronous and blocking, transient failures retried with backoff, refusals shown on the order
//! with what to fix, and the dealership's correction starting it again. A registered car is booked
//! on a transport in the same transaction.

use crate::db::CachedSql as _;
use std::time::Duration;

use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use backon::{ExponentialBuilder, Retryable as _};
use caas_protocol::api::{ApiError, ErrorCode, EventKind, OrderView, Registration, RegistrationDetails};
use caas_protocol::{Actor, OrderState};
use uuid::Uuid;

use super::orders::{self, Viewer};
use super::{AppState, Claim};
use crate::auth::DealershipAuth;
use crate::error::{AppError, AppResult};
use crate::registry::{RegistryError, RegistryRequest};
use crate::validate;

/// Registers a paid order's car (the sandbox's step). On success the order is `registered` with
/// its plate; on a refusal, or when the registry stays unreachable, the order carries the reason and
/// the fix. Waits for a registration of the order already running: when that one registered the
/// car, there is nothing left to do, and the order shows it.
pub async fn register(state: &AppState, id: Uuid) -> AppResult<()> {
    let claim = state.registering.claim(id).await;
    if orders::view(&state.db.lock(), id, Viewer::Sandbox)?.registration.is_some() {
        tracing::info!(order = %id, "registered meanwhile by the registration that was running");
        return Ok(());
    }
    register_claimed(state, id, claim).await
}

/// [`register`] with the order's registration claimed already.
pub async fn register_claimed(state: &AppState, id: Uuid, _claim: Claim) -> AppResult<()> {
    let (country, vin, owner, details) = {
        let conn = state.db.lock();
        let view = orders::view(&conn, id, Viewer::Sandbox)?;
        if view.state != OrderState::AdministrativeRegistration {
            return Err(AppError::conflict(
                ErrorCode::IllegalTransition,
                format!("only a paid order can be registered; this one is `{}`", view.state),
            ));
        }
        let owner: String = conn.query_row_cached(
            "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let vin = view.vin.ok_or_else(|| AppError::invalid("the order has no car"))?;
        (view.dealership.country, vin, owner, orders::registration_details(&conn, id)?)
    };
    let request = RegistryRequest { country: &country, vin: &vin, owner_name: &owner, details: &details };
    let submit = || async { state.registries.submit(&request) };
    let outcome = submit
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(2))
                .with_max_times(5),
        )
        .when(|error| matches!(error, RegistryError::Unavailable(_)))
        .notify(|error, wait| tracing::info!(order = %id, %error, ?wait, "registry unavailable; retrying"))
        .await;
    let (result, event) = match outcome {
        Ok(registered) => {
            let registration = Registration {
                plate: registered.plate,
                authority: registered.authority.to_owned(),
                registered_at: state.clock.now(),
            };
            tracing::info!(order = %id, authority = %registration.authority, "car registered");
            let now = state.clock.now();
            return state.change(|tx| {
                orders::set_registration(tx, id, &registration)?;
                let mut events = vec![orders::transition(tx, id, OrderState::Registered, Actor::Registry)?];
                events.extend(super::delivery::book(tx, id, now)?);
                Ok(((), events))
            });
        }
        Err(RegistryError::Rejected { code, reason, fix }) => (
            AppError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::RegistrationRejected, reason.clone()),
            EventKind::RegistrationBlocked { code: code.to_owned(), reason, fix },
        ),
        Err(RegistryError::Unavailable(reason)) => (
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::RegistryUnavailable, reason.clone()),
            EventKind::RegistrationBlocked {
                code: "registry_unavailable".into(),
                reason,
                fix: "the dealership retries the registration once the registry is back".into(),
            },
        ),
    };
    state.change(|tx| Ok(((), vec![orders::append(tx, id, event)?])))?;
    Err(result)
}

#[utoipa::path(post, path = "/v1/dealership/orders/{id}/registration", tag = "dealership",
    request_body = RegistrationDetails,
    responses((status = 200, body = OrderView, description = "registered"),
              (status = 409, body = ApiError, description = "illegal_transition: the order is not paid yet, or the registration already went through with the earlier details (a registration running when the correction came is waited for)"), (status = 422, body = ApiError, description = "registration_rejected: the order says what to fix"),
              (status = 503, body = ApiError, description = "registry_unavailable")),
    security(("bearer" = [])))]
/// Completes or corrects the owner's registration details and registers the car again.
pub async fn retry_registration(
    State(state): State<AppState>,
    auth: DealershipAuth,
    Path(id): Path<Uuid>,
    Json(details): Json<RegistrationDetails>,
) -> AppResult<Json<OrderView>> {
    validate::registration(&details)?;
    // The caller's own order first: another dealership learns nothing, not even that it waited.
    orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?;
    // The correction is written only once no registration of the order runs: a running one was
    // sent with the details before it, and a correction must never stand on an order the registry
    // registered without it.
    let claim = state.registering.claim(id).await;
    {
        let conn = state.db.lock();
        let view = orders::view(&conn, id, Viewer::Dealership(&auth.dealership_id))?;
        if let Some(registered) = &view.registration {
            return Err(already_registered(registered));
        }
        orders::correct_registration_details(&conn, id, &details)?;
    }
    register_claimed(&state, id, claim).await?;
    Ok(Json(orders::view(&state.db.lock(), id, Viewer::Dealership(&auth.dealership_id))?))
}

/// The refusal of a correction that came after the registration: the registry registered the car
/// with the details the order had then, and the correction was not sent.
fn already_registered(registered: &Registration) -> AppError {
    AppError::conflict(
        ErrorCode::IllegalTransition,
        format!(
            "the registration already went through with the earlier details: {} registered the car as {} on {}; \
             the correction was not used",
            registered.authority,
            registered.plate,
            registered.registered_at.format("%Y-%m-%d %H:%M UTC")
        ),
    )
}
