//! The platform's side of the payment gateway: charging a tokenized card and, for the sandbox,
//! driving the gateway simulator.

use std::time::Duration;

use caas_protocol::api::ApiError;
use caas_protocol::payment::{
    CardDetails, CreatePaymentIntent, IDEMPOTENCY_KEY_HEADER, Payment, PaymentMethod, Refund, RefundRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::gateway::{LedgerEntry, PaymentFaults};

/// How a gateway call ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway refused the request (4xx), with its reason.
    #[error("the gateway refused: {}", .0.message)]
    Refused(ApiError),
    /// No (whole) answer: the outcome is unknown until the same request is repeated.
    #[error("the gateway did not answer: {0}")]
    Unavailable(String),
}

/// The sandbox card the gateway always charges at once (test mode's `4242 4242 4242 4242`).
pub fn succeeding_card() -> CardDetails {
    CardDetails { number: "4242424242424242".into(), exp_month: 12, exp_year: 2034, cvc: "123".into() }
}

/// HTTP client for the gateway's merchant API.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
}

impl GatewayClient {
    pub fn new(base_url: String, secret_key: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client cannot be built: {e}"));
        Self { http, base_url, secret_key }
    }

    /// Creates and confirms a payment intent. `idempotency_key` must be the same for every
    /// repetition of one payment attempt: that is what makes a repeated charge a replay.
    pub async fn charge(&self, idempotency_key: &str, request: &CreatePaymentIntent) -> Result<Payment, GatewayError> {
        self.send(reqwest::Method::POST, "v1/payment_intents", Some(request), Some(idempotency_key)).await
    }

    /// Gives a charge back in full; repeating it returns the same refund.
    pub async fn refund(&self, intent_id: &str, reason: &str) -> Result<Refund, GatewayError> {
        let body = RefundRequest { payment_intent: intent_id.to_owned(), reason: reason.to_owned() };
        self.send(reqwest::Method::POST, "v1/refunds", Some(&body), Some(&format!("refund:{intent_id}"))).await
    }

    /// Sandbox: charges `order` again through the gateway with a card that succeeds, as another
    /// channel (a dealership's terminal, a second app) might: a charge the order does not need.
    pub async fn charge_again(
        &self,
        publishable_key: &str,
        order: uuid::Uuid,
        amount: caas_protocol::api::Money,
    ) -> Result<Payment, GatewayError> {
        let payment_method = self.tokenize(publishable_key, &succeeding_card()).await?.id;
        let request = CreatePaymentIntent { order_id: order, amount, payment_method, reference: None };
        self.charge(&format!("sandbox-again:{}", uuid::Uuid::new_v4()), &request).await
    }

    /// Turns a card into a payment method with the app's publishable key, as a customer's app
    /// does before it pays: the sandbox's own payments go the same way.
    pub async fn tokenize(&self, publishable_key: &str, card: &CardDetails) -> Result<PaymentMethod, GatewayError> {
        self.send_as(publishable_key, reqwest::Method::POST, "v1/payment_methods", Some(card), None).await
    }

    pub async fn payment(&self, intent_id: &str) -> Result<Payment, GatewayError> {
        self.send(reqwest::Method::GET, &format!("v1/payment_intents/{intent_id}"), None::<&()>, None).await
    }

    /// Sandbox: pass or fail the 3-D Secure check of a payment.
    pub async fn complete_challenge(&self, intent_id: &str, pass: bool) -> Result<Payment, GatewayError> {
        let body = serde_json::json!({ "outcome": if pass { "pass" } else { "fail" } });
        let path = format!("sandbox/payment_intents/{intent_id}/three_d_secure");
        self.send(reqwest::Method::POST, &path, Some(&body), None).await
    }

    /// Sandbox: sets the gateway's fault switches given (lost answers, the gateway down), leaving
    /// the others as they are.
    pub async fn set_faults(&self, faults: &PaymentFaults) -> Result<(), GatewayError> {
        self.send::<Value>(reqwest::Method::POST, "sandbox/faults", Some(faults), None).await.map(drop)
    }

    /// Sandbox: the gateway's fault switches as they are now.
    pub async fn faults(&self) -> Result<PaymentFaults, GatewayError> {
        self.send(reqwest::Method::GET, "sandbox/faults", None::<&()>, None).await
    }

    /// Sandbox: the charges the gateway made, optionally for one order, oldest first; with a
    /// `limit`, only the newest that many.
    pub async fn ledger(
        &self,
        order_id: Option<uuid::Uuid>,
        limit: Option<u32>,
    ) -> Result<Vec<LedgerEntry>, GatewayError> {
        let query: Vec<String> = [order_id.map(|id| format!("order_id={id}")), limit.map(|n| format!("limit={n}"))]
            .into_iter()
            .flatten()
            .collect();
        let path =
            if query.is_empty() { "sandbox/ledger".to_owned() } else { format!("sandbox/ledger?{}", query.join("&")) };
        self.send(reqwest::Method::GET, &path, None::<&()>, None).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        self.send_as(&self.secret_key, method, path, body, idempotency_key).await
    }

    async fn send_as<T: DeserializeOwned>(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        let mut request = self.http.request(method, format!("{}/{path}", self.base_url)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        let response = request.send().await.map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| GatewayError::Unavailable(format!("answer cut off: {e}")))?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            serde_json::from_slice(bytes).map_err(|e| GatewayError::Unavailable(format!("unreadable answer: {e}")))
        } else if let (true, Ok(refusal)) = (status.is_client_error(), serde_json::from_slice(&bytes)) {
            Err(GatewayError::Refused(refusal))
        } else {
            Err(GatewayError::Unavailable(format!("gateway answered {status}")))
        }
    }
}
