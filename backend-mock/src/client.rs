//! A typed client for the mock's dealership and sandbox APIs: how the CLI demo, the benchmarks
//! and the end-to-end tests play the dealership, the factory and the test inbox.

use caas_protocol::OrderState;
use caas_protocol::api::{
    AmendConfigurationRequest, ApiError, CustomerDetails, Money, OrderEvent, OrderView, RecordReservationRequest,
    RegisterSaleRequest, RegistrationDetails, StockSaleRequest, StockVehicle, VehicleConfiguration,
};
use caas_protocol::delivery::{DealershipHandoverRequest, HandoverCodeView};
use caas_protocol::payment::Payment;

use crate::platform::sandbox::{LiveSessions, SignInCode};
pub use crate::vehicle::VehicleInspection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// A refused or failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the mock answered {status}: {}", .error.message)]
    Api { status: u16, error: ApiError },
    /// Nothing answered: the mock is not running at that address, or the connection dropped.
    #[error("the mock cannot be reached: {0}")]
    Unreachable(String),
    #[error("HTTP error: {0}")]
    Http(String),
}

impl ClientError {
    /// The API error code, when the mock answered with one.
    pub fn api(&self) -> Option<(u16, &ApiError)> {
        match self {
            ClientError::Api { status, error } => Some((*status, error)),
            ClientError::Unreachable(_) | ClientError::Http(_) => None,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// `text` as one path segment or query value: every byte but letters and digits percent-encoded,
/// so what a user typed (`../orders`, an address with `/`, `?`, `&` or `#`) cannot reach another
/// route or add a parameter. Every value a caller gives goes through it.
fn segment(text: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
}

#[derive(Debug, Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Http {
    fn new(base: &str, token: &str) -> Self {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        Self { client: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ClientResult<T> {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            serde_json::from_slice(bytes).map_err(|e| ClientError::Http(format!("unreadable answer: {e}")))
        } else {
            Err(refusal(status, &bytes))
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> ClientResult<T> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// A request that got no readable answer, with every cause (the top one alone says "error sending
/// request").
fn unreachable(error: reqwest::Error) -> ClientError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    ClientError::Unreachable(text)
}

/// A refusal: the API's error, or the page that came instead of one.
fn refusal(status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice(bytes) {
        Ok(error) => ClientError::Api { status: status.as_u16(), error },
        Err(_) => ClientError::Http(format!("{status}: {}", String::from_utf8_lossy(bytes))),
    }
}

/// What a listener to the feed wants to hear of.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    pub order: Option<Uuid>,
    /// `event`, `push`, `email`, `sms`, `webhook`; all when empty.
    pub kinds: Vec<&'static str>,
    /// Everything so far first, then what follows.
    pub from_start: bool,
}

/// The sandbox: test-mode controls.
#[derive(Debug, Clone)]
pub struct SandboxClient {
    http: Http,
}

impl SandboxClient {
    pub fn new(base_url: &str, sandbox_token: &str) -> Self {
        Self { http: Http::new(base_url, sandbox_token) }
    }

    /// Signs in a member of `dealership`'s staff.
    pub async fn dealership(&self, dealership: &str) -> ClientResult<DealershipClient> {
        let token = self.staff_token(dealership).await?;
        Ok(DealershipClient { http: Http::new(&self.http.base, &token) })
    }

    /// A bearer token of `dealership`'s staff.
    pub async fn staff_token(&self, dealership: &str) -> ClientResult<String> {
        let token: Value = self
            .http
            .post(&format!("/v1/sandbox/dealerships/{}/staff-tokens", segment(dealership)), &json!({}))
            .await?;
        Ok(token["access_token"].as_str().unwrap_or_default().to_owned())
    }

    /// The sign-in code last emailed to `email`.
    pub async fn sign_in_code(&self, email: &str) -> ClientResult<String> {
        let answer: SignInCode = self.http.get(&format!("/v1/sandbox/sign-in-codes/{}", segment(email))).await?;
        Ok(answer.code)
    }

    /// How many sessions of a customer or driver are live (a sign-in and its renewals are one).
    pub async fn live_sessions(&self, email: &str) -> ClientResult<u32> {
        let answer: LiveSessions = self.http.get(&format!("/v1/sandbox/sessions/{}", segment(email))).await?;
        Ok(answer.live)
    }

    /// The factory moves the order one stage on (`to: None`) or up to `to`; returns after the
    /// platform applied the webhooks.
    pub async fn advance_factory(&self, order: Uuid, to: Option<OrderState>) -> ClientResult<OrderView> {
        self.http.post(&format!("/v1/sandbox/orders/{order}/factory/advance"), &json!({ "to": to })).await
    }

    /// The factory revises its estimate by `days`, giving `reason`.
    pub async fn delay_factory(&self, order: Uuid, days: i64, reason: &str) -> ClientResult<OrderView> {
        self.http
            .post(&format!("/v1/sandbox/orders/{order}/factory/delay"), &json!({ "days": days, "reason": reason }))
            .await
    }

    pub async fn orders(&self) -> ClientResult<Vec<OrderView>> {
        self.http.get("/v1/sandbox/orders").await
    }

    /// The order's whole log.
    pub async fn order_events(&self, order: Uuid) -> ClientResult<Vec<OrderEvent>> {
        self.http.get(&format!("/v1/sandbox/orders/{order}/events")).await
    }

    /// Plays a platform rewriting its own history: the event at `version` is dated a day earlier
    /// and the record chained and signed again from there.
    pub async fn rewrite_history(&self, order: Uuid, version: u64) -> ClientResult<OrderEvent> {
        self.http.post(&format!("/v1/sandbox/orders/{order}/history/rewrite"), &json!({ "version": version })).await
    }

    /// Moves the platform's clock forward by `seconds`; reminders and lost reservations that became
    /// due are applied before it returns.
    pub async fn advance_clock(&self, seconds: i64) -> ClientResult<Value> {
        self.http.post("/v1/sandbox/clock/advance", &json!({ "seconds": seconds })).await
    }

    /// Passes or fails the 3-D Secure check of a payment at the gateway.
    pub async fn complete_three_d_secure(&self, payment: &str, pass: bool) -> ClientResult<Payment> {
        self.http
            .post(&format!("/v1/sandbox/payments/{}/three-d-secure", segment(payment)), &json!({ "pass": pass }))
            .await
    }

    /// The next `count` charges take the money and then lose their answer.
    pub async fn drop_payment_answers(&self, count: u32) -> ClientResult<()> {
        self.http.post("/v1/sandbox/payments/faults", &json!({ "drop_answers": count })).await
    }

    /// Takes the payment gateway down (every charge fails with `payment_gateway_unavailable`, nothing
    /// taken) or brings it back.
    pub async fn set_gateway_unavailable(&self, unavailable: bool) -> ClientResult<()> {
        self.http.post("/v1/sandbox/payments/faults", &json!({ "unavailable": unavailable })).await
    }

    /// Takes the factory down (new orders fail with `factory_unavailable`, the deposit kept) or
    /// brings it back.
    pub async fn set_factory_unavailable(&self, unavailable: bool) -> ClientResult<()> {
        self.http.post("/v1/sandbox/factory/faults", &json!({ "unavailable": unavailable })).await
    }

    /// Charges an order's final amount outside the customer's own payment, as another channel might.
    pub async fn duplicate_charge(&self, order: Uuid) -> ClientResult<Payment> {
        self.http.post(&format!("/v1/sandbox/orders/{order}/duplicate-charge"), &json!({})).await
    }

    /// The charges the gateway made for an order.
    pub async fn charges(&self, order: Uuid) -> ClientResult<Vec<Value>> {
        self.ledger(Some(order)).await
    }

    /// The gateway's ledger, for one order or all.
    pub async fn ledger(&self, order: Option<Uuid>) -> ClientResult<Vec<Value>> {
        match order {
            Some(order) => self.http.get(&format!("/v1/sandbox/payments/ledger?order_id={order}")).await,
            None => self.http.get("/v1/sandbox/payments/ledger").await,
        }
    }

    /// The order's legal next steps: the state each leads to, who takes it, and whether the
    /// sandbox can.
    pub async fn next_steps(&self, order: Uuid) -> ClientResult<Vec<Value>> {
        self.http.get(&format!("/v1/sandbox/orders/{order}/next-steps")).await
    }

    /// Takes the order's legal next step to `to`, as the party it belongs to would.
    pub async fn take_step(&self, order: Uuid, to: OrderState) -> ClientResult<OrderView> {
        self.http.post(&format!("/v1/sandbox/orders/{order}/steps"), &json!({ "to": to })).await
    }

    /// Lets a simulated driver play the order's delivery by itself (`scenario`: `deliver`,
    /// `absent_reschedule` or `absent_unreachable`), or stops it.
    pub async fn robot_courier(&self, order: Uuid, enabled: bool, scenario: &str) -> ClientResult<Value> {
        let body = json!({ "enabled": enabled, "scenario": scenario });
        self.http.post(&format!("/v1/sandbox/orders/{order}/robot-courier"), &body).await
    }

    /// The platform's live feed (events, pushes, emails, SMS, webhooks) as it happens, from the
    /// item after `after` when given; the response's body is the event stream.
    pub async fn feed(&self, filter: &FeedFilter, after: Option<&str>) -> ClientResult<reqwest::Response> {
        let mut query = Vec::new();
        if let Some(order) = filter.order {
            query.push(format!("order_id={order}"));
        }
        if !filter.kinds.is_empty() {
            query.push(format!(
                "kind={}",
                filter.kinds.iter().map(|kind| segment(kind).to_string()).collect::<Vec<_>>().join(",")
            ));
        }
        if filter.from_start {
            query.push("from_start=true".to_owned());
        }
        let mut request = self
            .http
            .client
            .get(format!("{}/v1/sandbox/feed?{}", self.http.base, query.join("&")))
            .bearer_auth(&self.http.token)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = after {
            request = request.header("Last-Event-ID", after);
        }
        let response = request.send().await.map_err(unreachable)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        Err(refusal(status, &response.bytes().await.map_err(unreachable)?))
    }

    /// The next `count` submissions to `country`'s registry fail transiently.
    pub async fn fail_registry(&self, country: &str, count: u32) -> ClientResult<()> {
        self.http
            .post(
                &format!("/v1/sandbox/registries/{}/faults", segment(country)),
                &json!({ "transient_failures": count }),
            )
            .await
    }

    /// A genuine handover code for the order's current attempt, issued `minutes_ago`, held by the
    /// phone whose public key (base64url) is `holder_key` when given.
    pub async fn handover_code(
        &self,
        order: Uuid,
        minutes_ago: i64,
        holder_key: Option<&str>,
    ) -> ClientResult<HandoverCodeView> {
        let body = json!({ "issued_minutes_ago": minutes_ago, "holder_key": holder_key });
        self.http.post(&format!("/v1/sandbox/orders/{order}/handover-code"), &body).await
    }

    /// Appends an event of `type_name`, a kind this platform does not know, with `fields`, as a
    /// newer platform would.
    pub async fn append_event(
        &self,
        order: Uuid,
        type_name: &str,
        fields: serde_json::Map<String, Value>,
    ) -> ClientResult<OrderEvent> {
        let mut body = fields;
        body.insert("type".into(), json!(type_name));
        self.http.post(&format!("/v1/sandbox/orders/{order}/events"), &body).await
    }

    /// The next driver action is answered with `status`, the error `code` (a plain-text page
    /// without one) and `Retry-After: retry_after`, without being applied.
    pub async fn answer_next_driver_action(
        &self,
        status: u16,
        code: Option<&str>,
        retry_after: Option<u32>,
    ) -> ClientResult<()> {
        let answer = json!({ "status": status, "code": code, "retry_after": retry_after });
        self.http.post("/v1/sandbox/drivers/faults", &json!({ "answer_next": answer })).await
    }

    /// The next `count` driver actions are applied, then lose their answer.
    pub async fn drop_driver_answers(&self, count: u32) -> ClientResult<()> {
        self.http.post("/v1/sandbox/drivers/faults", &json!({ "drop_answers": count })).await
    }

    /// What a simulated car remembers (linked phones, commands it ran).
    pub async fn vehicle(&self, vin: &str) -> ClientResult<VehicleInspection> {
        self.http.get(&format!("/v1/sandbox/vehicles/{}", segment(vin))).await
    }

    /// The car's next `count` replies are lost on the air after it acted.
    pub async fn drop_vehicle_replies(&self, vin: &str, count: u32) -> ClientResult<()> {
        self.http
            .post(&format!("/v1/sandbox/vehicles/{}/faults", segment(vin)), &json!({ "drop_replies": count }))
            .await
    }

    /// Takes the car out of the connected-car network's reach, or back into it (which delivers
    /// what waited for it).
    pub async fn set_coverage(&self, vin: &str, connected: bool) -> ClientResult<()> {
        self.http
            .post(&format!("/v1/sandbox/vehicles/{}/faults", segment(vin)), &json!({ "connected": connected }))
            .await
    }

    /// Drives the car `km` further; afterwards it warns about `warnings`.
    pub async fn drive(
        &self,
        vin: &str,
        km: u32,
        warnings: &[caas_protocol::maintenance::WarningCode],
    ) -> ClientResult<()> {
        self.http
            .post(&format!("/v1/sandbox/vehicles/{}/drive", segment(vin)), &json!({ "km": km, "warnings": warnings }))
            .await
    }

    /// Revokes a phone key.
    pub async fn revoke_grant(&self, grant_id: Uuid) -> ClientResult<()> {
        self.http.post(&format!("/v1/sandbox/grants/{grant_id}/revoke"), &json!({})).await
    }

    /// The push, email and SMS log, optionally for one order and channel.
    pub async fn messages(&self, order: Option<Uuid>, channel: Option<&str>) -> ClientResult<Vec<Value>> {
        let mut query = Vec::new();
        if let Some(order) = order {
            query.push(format!("order_id={order}"));
        }
        if let Some(channel) = channel {
            query.push(format!("channel={}", segment(channel)));
        }
        self.http.get(&format!("/v1/sandbox/messages?{}", query.join("&"))).await
    }
}

/// A dealership's staff.
#[derive(Debug, Clone)]
pub struct DealershipClient {
    http: Http,
}

impl DealershipClient {
    /// Staff of a dealership, with the token the sandbox issued them.
    pub fn new(base_url: &str, staff_token: &str) -> Self {
        Self { http: Http::new(base_url, staff_token) }
    }

    /// The dealership's orders.
    pub async fn orders(&self) -> ClientResult<Vec<OrderView>> {
        self.http.get("/v1/dealership/orders").await
    }

    /// Places the order with the factory again, after it could not be reached.
    pub async fn retry_factory_order(&self, order: Uuid) -> ClientResult<OrderView> {
        self.http.post(&format!("/v1/dealership/orders/{order}/factory-order"), &json!({})).await
    }

    pub async fn register_sale(&self, sale: &RegisterSaleRequest) -> ClientResult<OrderView> {
        self.http.post("/v1/dealership/sales", sale).await
    }

    /// Records the deposit; the platform then orders the car from the factory.
    pub async fn record_reservation(&self, order: Uuid, deposit: Money) -> ClientResult<OrderView> {
        self.http
            .post(&format!("/v1/dealership/orders/{order}/reservation"), &RecordReservationRequest { deposit })
            .await
    }

    pub async fn amend_configuration(
        &self,
        order: Uuid,
        configuration: VehicleConfiguration,
    ) -> ClientResult<OrderView> {
        self.http
            .post(&format!("/v1/dealership/orders/{order}/configuration"), &AmendConfigurationRequest { configuration })
            .await
    }

    pub async fn order(&self, order: Uuid) -> ClientResult<OrderView> {
        self.http.get(&format!("/v1/dealership/orders/{order}")).await
    }

    /// The dealership's cars available for sale.
    pub async fn stock(&self) -> ClientResult<Vec<StockVehicle>> {
        self.http.get("/v1/dealership/stock").await
    }

    /// Sells a stock car to a customer.
    pub async fn sell_from_stock(
        &self,
        vin: &str,
        customer: CustomerDetails,
        delivery_locality: &str,
    ) -> ClientResult<OrderView> {
        let sale = StockSaleRequest { customer, delivery_locality: delivery_locality.to_owned() };
        self.http.post(&format!("/v1/dealership/stock/{}/sales", segment(vin)), &sale).await
    }

    /// The workshop records a service visit.
    pub async fn record_visit(&self, order: Uuid, odometer_km: u32, work: &str) -> ClientResult<OrderView> {
        self.http
            .post(
                &format!("/v1/dealership/orders/{order}/service/visits"),
                &json!({ "odometer_km": odometer_km, "work": work }),
            )
            .await
    }

    /// Records the reception of a car the transport brought back.
    pub async fn receive(&self, order: Uuid) -> ClientResult<OrderView> {
        self.http.post(&format!("/v1/dealership/orders/{order}/reception"), &json!({})).await
    }

    /// Hands a held car to its customer on the customer's code (QR token or eight digits).
    pub async fn hand_over(&self, order: Uuid, code: &str) -> ClientResult<OrderView> {
        self.http
            .post(&format!("/v1/dealership/orders/{order}/handover"), &DealershipHandoverRequest { code: code.into() })
            .await
    }

    /// Completes or corrects the owner's registration details and registers the car again.
    pub async fn retry_registration(&self, order: Uuid, details: &RegistrationDetails) -> ClientResult<OrderView> {
        self.http.post(&format!("/v1/dealership/orders/{order}/registration"), details).await
    }
}
