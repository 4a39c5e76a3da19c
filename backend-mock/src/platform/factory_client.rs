//! The platform's side of the factory API: placing orders synchronously and, for the sandbox,
//! driving the factory simulator.

use std::time::Duration;

use caas_protocol::OrderState;
use caas_protocol::api::{FactoryOrderAccepted, FactoryOrderRequest, FactoryRejection};
use serde::Serialize;

use crate::factory::FactoryFaults;

/// How a placement ended when the factory did not accept it.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("the factory refused the order: {}", .0.reason)]
    Rejected(FactoryRejection),
    #[error("the factory could not be reached: {0}")]
    Unavailable(String),
}

/// HTTP client for the factory's API.
#[derive(Debug, Clone)]
pub struct FactoryClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl FactoryClient {
    pub fn new(base_url: String, api_key: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client cannot be built: {e}"));
        Self { http, base_url, api_key }
    }

    /// `POST /orders`: the factory answers at once with acceptance or the reason it refuses.
    pub async fn place_order(&self, request: &FactoryOrderRequest) -> Result<FactoryOrderAccepted, PlacementError> {
        let response = self.post("orders", request).await?;
        response.json().await.map_err(|e| PlacementError::Unavailable(e.to_string()))
    }

    /// Sandbox: move a factory order one stage on, or up to `to`.
    pub async fn advance(&self, factory_order_id: &str, to: Option<OrderState>) -> Result<(), PlacementError> {
        #[derive(Serialize)]
        struct Body {
            to: Option<OrderState>,
        }
        self.sandbox_call(&format!("advance/{factory_order_id}"), &Body { to }).await
    }

    /// Sandbox: make the factory announce a delay.
    pub async fn delay(&self, factory_order_id: &str, days: i64, reason: &str) -> Result<(), PlacementError> {
        #[derive(Serialize)]
        struct Body<'a> {
            days: i64,
            reason: &'a str,
        }
        self.sandbox_call(&format!("delay/{factory_order_id}"), &Body { days, reason }).await
    }

    /// Sandbox: take the factory's order desk down or bring it back.
    pub async fn set_faults(&self, faults: &FactoryFaults) -> Result<(), PlacementError> {
        self.sandbox_call("faults", faults).await
    }

    /// Sandbox: the factory's fault switch as it is now.
    pub async fn faults(&self) -> Result<FactoryFaults, PlacementError> {
        let response = self.send(self.http.get(format!("{}/sandbox/faults", self.base_url))).await?;
        response.json().await.map_err(|e| PlacementError::Unavailable(e.to_string()))
    }

    async fn sandbox_call(&self, path: &str, body: &impl Serialize) -> Result<(), PlacementError> {
        self.post(&format!("sandbox/{path}"), body).await.map(drop)
    }

    async fn post(&self, path: &str, body: &impl Serialize) -> Result<reqwest::Response, PlacementError> {
        self.send(self.http.post(format!("{}/{path}", self.base_url)).json(body)).await
    }

    /// Sends a request to the factory with the platform's key; a refusal (422, 409) carries the
    /// factory's reason, anything else that is not a success means the factory is unavailable.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, PlacementError> {
        let response =
            request.bearer_auth(&self.api_key).send().await.map_err(|e| PlacementError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(response)
        } else if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY || status == reqwest::StatusCode::CONFLICT {
            let text = response.text().await.unwrap_or_default();
            let rejection =
                serde_json::from_str(&text).unwrap_or(FactoryRejection { code: "refused".into(), reason: text });
            Err(PlacementError::Rejected(rejection))
        } else {
            Err(PlacementError::Unavailable(format!("factory answered {status}")))
        }
    }
}
