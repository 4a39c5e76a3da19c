//! The sandbox dashboard at `/sandbox`: the developer's view of the platform in a browser, with the
//! sandbox's powers. Orders with their state and timeline and their next steps as buttons that take
//! them and its own fault switches, a new sale, the live push, email, SMS and webhook log, the
//! platform's fault switches, the clock, the gateway's ledger, and the cars with their switches and
//! phone keys.
//!
//! Server-rendered HTML (maud escapes every value) with one small script for the live log; no build
//! step. It is not the API, so it is not in the OpenAPI document. Every page and action needs the
//! sandbox token, proven once at the sign-in form and carried by an HttpOnly cookie signed with a
//! key of this run of the mock ([`session`]); a layer over every route refuses an action the
//! browser did not post from the dashboard itself ([`csrf`]). Each action calls the same function
//! the sandbox API does.

mod assets;
mod cars;
mod controls;
mod csrf;
mod form;
mod labels;
mod ledger;
mod live;
mod orders;
mod page;
mod sale;
mod session;
mod switches;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::platform::AppState;

/// What the dashboard's handlers read: the platform, and the sessions of this run of the mock.
#[derive(Debug, Clone)]
pub struct DashboardState {
    pub app: AppState,
    pub sessions: Arc<session::Sessions>,
}

impl FromRef<DashboardState> for AppState {
    fn from_ref(state: &DashboardState) -> Self {
        state.app.clone()
    }
}

/// The dashboard's routes, beside the API's on the platform's listener. Its sessions are signed
/// with a key made here, when the mock starts.
pub fn router(state: AppState) -> Router {
    let state = DashboardState { app: state, sessions: Arc::new(session::Sessions::new()) };
    Router::new()
        .route("/sandbox", get(orders::list))
        .route("/sandbox/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sandbox/sign-out", post(session::sign_out))
        .route("/sandbox/orders/{id}", get(orders::detail))
        .route("/sandbox/orders/{id}/steps", post(orders::take_step))
        .route("/sandbox/orders/{id}/robot-courier", post(switches::robot))
        .route("/sandbox/orders/{id}/duplicate-charge", post(switches::duplicate_charge))
        .route("/sandbox/orders/{id}/history/rewrite", post(switches::rewrite_history))
        .route("/sandbox/orders/{id}/events", post(switches::newer_event))
        .route("/sandbox/sales/new", get(sale::form))
        .route("/sandbox/sales", post(sale::register))
        .route("/sandbox/controls", get(controls::page))
        .route("/sandbox/controls/payments", post(controls::payments))
        .route("/sandbox/controls/gateway", post(controls::gateway))
        .route("/sandbox/controls/factory", post(controls::factory))
        .route("/sandbox/controls/registries", post(controls::registries))
        .route("/sandbox/controls/drivers", post(controls::drivers))
        .route("/sandbox/controls/drivers/answer", post(controls::driver_answer))
        .route("/sandbox/controls/clock", post(controls::clock))
        .route("/sandbox/ledger", get(ledger::page))
        .route("/sandbox/cars", get(cars::page))
        .route("/sandbox/cars/{vin}/coverage", post(cars::coverage))
        .route("/sandbox/cars/{vin}/replies", post(cars::replies))
        .route("/sandbox/keys/{grant}/revoke", post(cars::revoke))
        .route("/sandbox/feed", get(live::feed))
        .route("/sandbox/assets/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(csrf::refuse_cross_site))
        .layer(axum::middleware::map_response(page::security_headers))
        .with_state(state)
}
