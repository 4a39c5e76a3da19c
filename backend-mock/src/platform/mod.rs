//! The CaaS platform: the `/v1` API for dealerships, customers, the factory's webhooks and the
//! sandbox.

pub(crate) mod customers;
pub(crate) mod deadlines;
pub(crate) mod delivery;
mod factory_client;
pub mod feed;
mod gateway_client;
pub(crate) mod maintenance;
pub mod notify;
pub(crate) mod options;
pub mod orders;
pub(crate) mod pairing;
pub(crate) mod payments;
pub(crate) mod registration;
pub(crate) mod robot_courier;
pub(crate) mod sales;
pub(crate) mod sandbox;
pub(crate) mod steps;
pub(crate) mod stock;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod webhooks;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use caas_protocol::api::OrderEvent;
use caas_protocol::webhook::WebhookVerifier;
use rusqlite::Transaction;
use tokio::sync::Notify;
use uuid::Uuid;

pub use factory_client::FactoryClient;
pub use gateway_client::GatewayClient;

use crate::clock::Clock;
use crate::db::Db;
use crate::error::AppResult;
use crate::idempotency::{self, Idempotency};
use crate::registry::Registries;
use notify::PushHub;

/// What the platform is configured with.
#[derive(Debug)]
pub struct PlatformConfig {
    pub sandbox_token: String,
    /// Checks the factory's webhooks.
    pub webhooks: WebhookVerifier,
    pub payments: PaymentSettings,
    pub sandbox: SandboxSettings,
}

/// How the sandbox plays the parties it stands in for.
#[derive(Debug)]
pub struct SandboxSettings {
    /// The deposit the dealership records when the sandbox takes the step to `reservation_paid`.
    pub deposit: caas_protocol::api::Money,
    /// Whether robot couriers drive every delivery (`--robot-courier`) unless the sandbox switches
    /// an order's off.
    pub robot_courier: bool,
}

/// How the final payment is run.
#[derive(Debug)]
pub struct PaymentSettings {
    /// How long a customer has to pay once the car is ready.
    pub window: chrono::TimeDelta,
    /// How long before the deadline the reminder goes out.
    pub remind_before: chrono::TimeDelta,
    /// What apps need to tokenize cards.
    pub public: caas_protocol::payment::PaymentsConfig,
    /// Checks the gateway's webhooks.
    pub webhooks: WebhookVerifier,
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<PlatformConfig>,
    pub hub: PushHub,
    pub factory: FactoryClient,
    pub gateway: GatewayClient,
    pub registries: Registries,
    /// The platform's now, which the sandbox can move forward.
    pub clock: Clock,
    /// Issues and accepts handover codes.
    pub handover: delivery::HandoverDesk,
    /// Keys the stored digests of sign-in codes.
    pub codes: crate::auth::CodeKey,
    /// Signs the head of every order's record.
    pub record: Arc<caas_protocol::record::RecordSigner>,
    /// Where the emailed codes arrive, for the sandbox to read.
    pub inbox: crate::inbox::Inbox,
    /// The simulated cars and the grant key they trust.
    pub fleet: crate::vehicle::Fleet,
    /// What the sandbox made of the next driver actions (lost answers, a scripted answer).
    pub driver_faults: Arc<sandbox::DriverFaultSwitch>,
    /// One sweep of options and maintenance at a time: the tick, a webhook and the sandbox all
    /// start one, and two at once would ask the gateway and the cars twice.
    pub sweeping: Arc<tokio::sync::Mutex<()>>,
    /// Turns true when the mock stops, ending the open push streams so shutdown can finish.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The orders being registered, one registration each at a time.
    pub registering: OrderClaims,
    /// The orders on which the sandbox takes a step now, one step each at a time.
    pub stepping: OrderClaims,
    /// What the robot couriers hold in memory (the codes they scanned) and their bell.
    pub couriers: robot_courier::Couriers,
}

impl AppState {
    /// Runs `change` in one transaction and notifies the customers of the events it returns, so a
    /// change and its notifications are committed together or not at all.
    pub fn change<T>(&self, change: impl FnOnce(&Transaction<'_>) -> AppResult<(T, Vec<OrderEvent>)>) -> AppResult<T> {
        let (value, pending) = {
            let mut conn = self.db.lock();
            let tx = conn.transaction()?;
            let (value, events) = change(&tx)?;
            let pending = self.notifications(&tx, &events)?;
            tx.commit()?;
            (value, pending)
        };
        self.announce(pending);
        Ok(value)
    }

    /// Records in the caller's transaction the notifications of `events`, per order to its
    /// customer; [`AppState::announce`] sends them once that transaction has committed.
    pub fn notifications(&self, tx: &rusqlite::Connection, events: &[OrderEvent]) -> AppResult<Vec<notify::LiveHint>> {
        let mut orders: Vec<_> = Vec::new();
        for event in events {
            if !orders.contains(&event.order_id) {
                orders.push(event.order_id);
            }
        }
        let mut pending = Vec::new();
        for order_id in orders {
            let customer = orders::customer_of(tx, order_id)?;
            let of_order: Vec<_> = events.iter().filter(|e| e.order_id == order_id).cloned().collect();
            pending.extend(notify::record(tx, &self.record, customer, &of_order)?.0);
        }
        Ok(pending)
    }

    /// Tells the sandbox's feed and the devices' streams of what has just committed.
    pub fn announce(&self, pending: Vec<notify::LiveHint>) {
        self.db.announce_feed();
        self.hub.publish(pending);
    }
}

/// The orders on which some work runs now, one at a time each: e.g. the registrations, so a retry
/// (the dealership's, the sandbox's) waits for the running one instead of asking the registry
/// twice, and the sandbox can tell "being registered" from "stopped, retry it".
#[derive(Debug, Default, Clone)]
pub struct OrderClaims {
    orders: Arc<Mutex<HashSet<Uuid>>>,
    ended: Arc<Notify>,
}

/// The right to do the work on one order, given back on drop.
#[derive(Debug)]
pub struct Claim {
    running: OrderClaims,
    order: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.running.set().remove(&self.order);
        self.running.ended.notify_waiters();
    }
}

impl OrderClaims {
    fn set(&self) -> MutexGuard<'_, HashSet<Uuid>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the order at once; `None` while another claim of it runs.
    pub fn try_claim(&self, order: Uuid) -> Option<Claim> {
        self.set().insert(order).then(|| Claim { running: self.clone(), order })
    }

    /// Claims the order, once the claim running (if any) has ended.
    pub async fn claim(&self, order: Uuid) -> Claim {
        loop {
            // Made before the check: a claim ending between the two still wakes it.
            let ended = self.ended.notified();
            if let Some(claim) = self.try_claim(order) {
                return claim;
            }
            ended.await;
        }
    }

    /// Whether a claim of the order runs.
    pub fn running(&self, order: Uuid) -> bool {
        self.set().contains(&order)
    }

    /// Waits until no claim of the order runs, at most `limit`; false when one still does.
    pub async fn settled(&self, order: Uuid, limit: Duration) -> bool {
        let wait = async {
            loop {
                let ended = self.ended.notified();
                if !self.running(order) {
                    return;
                }
                ended.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

/// Where the platform keeps its idempotent answers, apart from the gateway's.
pub const IDEMPOTENCY_NAMESPACE: &str = "platform";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/dealership/sales", post(sales::register_sale))
        .route("/v1/dealership/orders", get(sales::list_orders))
        .route("/v1/dealership/orders/{id}", get(sales::get_order))
        .route("/v1/dealership/orders/{id}/reservation", post(sales::record_reservation))
        .route("/v1/dealership/orders/{id}/configuration", post(sales::amend_configuration))
        .route("/v1/dealership/orders/{id}/factory-order", post(sales::retry_factory_order))
        .route("/v1/dealership/orders/{id}/registration", post(registration::retry_registration))
        .route("/v1/dealership/stock", get(stock::list_stock))
        .route("/v1/dealership/stock/{vin}/sales", post(stock::sell_from_stock))
        .route("/v1/auth/sign-in-code", post(customers::request_code))
        .route("/v1/auth/token", post(customers::sign_in))
        .route("/v1/auth/refresh", post(customers::refresh))
        .route("/v1/auth/sign-out", post(customers::sign_out))
        .route("/v1/orders", get(customers::list_orders))
        .route("/v1/orders/{id}", get(customers::get_order))
        .route("/v1/orders/{id}/events", get(customers::order_events))
        .route("/v1/orders/{id}/payments", post(payments::pay))
        .route("/v1/orders/{id}/payments/{payment}", get(payments::get_payment))
        .route("/v1/orders/{id}/options", get(options::catalogue).post(options::buy))
        .route("/v1/orders/{id}/options/receipts", post(options::receipt))
        .route("/v1/orders/{id}/vehicle/reports", post(maintenance::report))
        .route("/v1/orders/{id}/service/slots", get(maintenance::slots))
        .route("/v1/orders/{id}/service/booking", post(maintenance::book).delete(maintenance::cancel))
        .route("/v1/dealership/orders/{id}/service/visits", post(maintenance::record_visit))
        .route("/v1/dealership/orders/{id}/reception", post(delivery::dealership::receive))
        .route("/v1/dealership/orders/{id}/handover", post(delivery::dealership::hand_over))
        .route("/v1/orders/{id}/delivery/slots", get(delivery::customer::slots))
        .route("/v1/orders/{id}/delivery/window", post(delivery::customer::choose_window))
        .route("/v1/orders/{id}/delivery/address", post(delivery::customer::confirm_address))
        .route("/v1/orders/{id}/handover-code", post(delivery::customer::handover_code))
        .route("/v1/orders/{id}/handover/dispute", post(delivery::customer::dispute_handover))
        .route("/v1/auth/driver-token", post(customers::driver_sign_in))
        .route("/v1/driver/deliveries", get(delivery::driver::deliveries))
        .route("/v1/driver/actions", post(delivery::batch::act_in_batch))
        .route("/v1/driver/deliveries/{id}/actions", post(delivery::driver::act))
        .route("/v1/driver/deliveries/{id}/handover-code", post(delivery::driver::resolve_short_code))
        .route("/v1/orders/{id}/pairing/grant", post(pairing::issue_grant))
        .route("/v1/orders/{id}/pairing/link", post(pairing::link))
        .route("/v1/orders/{id}/pairing/keys/{grant_id}/revoke", post(pairing::revoke_key))
        .route("/v1/payments/config", get(payments::config))
        .route("/v1/record/key", get(customers::record_key))
        .route("/v1/devices", post(customers::register_device))
        .route("/v1/devices/{id}", delete(customers::remove_device))
        .route("/v1/devices/{id}/stream", get(customers::device_stream))
        .route("/v1/webhooks/factory", post(webhooks::factory_webhook))
        .route("/v1/webhooks/gateway", post(webhooks::gateway_webhook))
        .route("/v1/sandbox/dealerships/{id}/staff-tokens", post(sandbox::staff_token))
        .route("/v1/sandbox/sign-in-codes/{email}", get(sandbox::sign_in_code))
        .route("/v1/sandbox/sessions/{email}", get(sandbox::live_sessions))
        .route("/v1/sandbox/orders", get(sandbox::list_orders))
        .route("/v1/sandbox/orders/{id}/events", get(sandbox::order_events))
        .route("/v1/sandbox/orders/{id}/next-steps", get(steps::list_next_steps))
        .route("/v1/sandbox/orders/{id}/steps", post(steps::take_next_step))
        .route("/v1/sandbox/orders/{id}/robot-courier", post(robot_courier::switch_robot_courier))
        .route("/v1/sandbox/orders/{id}/factory/advance", post(sandbox::advance_factory))
        .route("/v1/sandbox/orders/{id}/factory/delay", post(sandbox::delay_factory))
        .route("/v1/sandbox/factory/faults", get(sandbox::factory_faults_now).post(sandbox::factory_faults))
        .route("/v1/sandbox/messages", get(sandbox::messages))
        .route("/v1/sandbox/feed", get(feed::feed))
        .route("/v1/sandbox/clock/advance", post(sandbox::advance_clock))
        .route("/v1/sandbox/payments/{payment}/three-d-secure", post(sandbox::complete_three_d_secure))
        .route("/v1/sandbox/payments/faults", get(sandbox::payment_faults_now).post(sandbox::payment_faults))
        .route("/v1/sandbox/payments/ledger", get(sandbox::payment_ledger))
        .route("/v1/sandbox/orders/{id}/duplicate-charge", post(sandbox::duplicate_charge))
        .route("/v1/sandbox/orders/{id}/events", post(sandbox::append_event))
        .route("/v1/sandbox/orders/{id}/history/rewrite", post(sandbox::rewrite_history))
        .route("/v1/sandbox/registries/{country}/faults", post(sandbox::registry_faults))
        .route("/v1/sandbox/orders/{id}/handover-code", post(sandbox::handover_code))
        .route("/v1/sandbox/drivers/faults", post(sandbox::driver_faults))
        .route("/v1/sandbox/vehicles/{vin}", get(sandbox::inspect_vehicle))
        .route("/v1/sandbox/vehicles/{vin}/faults", post(sandbox::vehicle_faults))
        .route("/v1/sandbox/vehicles/{vin}/drive", post(sandbox::drive))
        .route("/v1/sandbox/grants/{grant_id}/revoke", post(sandbox::revoke_grant))
        .layer(axum::middleware::from_fn_with_state(
            Idempotency { db: state.db.clone(), namespace: IDEMPOTENCY_NAMESPACE },
            idempotency::enforce,
        ))
        // Outside the idempotency layer: the action is applied and its answer stored, then lost on
        // the way back, as when a phone loses signal mid-request.
        .layer(axum::middleware::from_fn_with_state(state.driver_faults.clone(), sandbox::drop_driver_answers))
        .with_state(state)
}
