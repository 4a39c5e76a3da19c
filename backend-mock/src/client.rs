//! A typed client for the mock's dealership and sandbox APIs: how the CLI demo, the benchmarks
//! and the end-to-end tests play the dealership, the factory and the test inbox.

use caas_protocol::OrderState;
use caas_protocol::api::{
    AmendConfigurationRequest, ApiError, Money, OrderEvent, OrderView, RecordReservationRequest, RegisterSaleRequest,
    VehicleConfiguration,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// A refused or failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the mock answered {status}: {}", .error.message)]
    Api { status: u16, error: ApiError },
    #[error("HTTP error: {0}")]
    Http(String),
}

impl ClientError {
    /// The API error code, when the mock answered with one.
    pub fn api(&self) -> Option<(u16, &ApiError)> {
        match self {
            ClientError::Api { status, error } => Some((*status, error)),
            ClientError::Http(_) => None,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

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
        let response = request.send().await.map_err(|e| ClientError::Http(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| ClientError::Http(e.to_string()))?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            serde_json::from_slice(bytes).map_err(|e| ClientError::Http(format!("unreadable answer: {e}")))
        } else {
            let error = serde_json::from_slice(&bytes)
                .map_err(|_| ClientError::Http(format!("{status}: {}", String::from_utf8_lossy(&bytes))))?;
            Err(ClientError::Api { status: status.as_u16(), error })
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> ClientResult<T> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
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
        let token: Value =
            self.http.post(&format!("/v1/sandbox/dealerships/{dealership}/staff-tokens"), &json!({})).await?;
        let token = token["access_token"].as_str().unwrap_or_default();
        Ok(DealershipClient { http: Http::new(&self.http.base, token) })
    }

    /// The sign-in code last emailed to `email`.
    pub async fn sign_in_code(&self, email: &str) -> ClientResult<String> {
        let code: Value = self.http.get(&format!("/v1/sandbox/sign-in-codes/{email}")).await?;
        Ok(code["code"].as_str().unwrap_or_default().to_owned())
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

    /// The push, email and SMS log, optionally for one order and channel.
    pub async fn messages(&self, order: Option<Uuid>, channel: Option<&str>) -> ClientResult<Vec<Value>> {
        let mut query = Vec::new();
        if let Some(order) = order {
            query.push(format!("order_id={order}"));
        }
        if let Some(channel) = channel {
            query.push(format!("channel={channel}"));
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
}
