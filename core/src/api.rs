//! The HTTP client of the CaaS platform API: typed requests, bounded responses, and errors mapped
//! to what the app can do about them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use caas_protocol::api::{
    ApiError, DeviceView, OrderView, RefreshRequest, RegisterDeviceRequest, Session, SignInCodeRequest, SignInRequest,
};
use caas_protocol::delivery::{
    BatchedAction, BatchedResult, ChooseSlotRequest, ConfirmAddressRequest, DeliverySlot, DisputeHandoverRequest,
    DriverActionBatch, DriverActionResults, DriverDeliveries, DriverDelivery, DriverSession, HandoverCodeRequest,
    HandoverCodeView, ShortCodeRequest,
};
use caas_protocol::maintenance::{BookServiceRequest, ServiceSlot, VehicleReportRequest};
use caas_protocol::options::{BuyOptionRequest, OptionCatalogue, OptionReceiptRequest};
use caas_protocol::pairing::api::{GrantRequest, GrantView, LinkRequest};
use caas_protocol::payment::{CardDetails, IDEMPOTENCY_KEY_HEADER, PayRequest, Payment, PaymentMethod, PaymentsConfig};
use caas_protocol::record::{RecordKey, SignedHead};
use futures_util::StreamExt as _;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::{CaasError, Result};
use crate::store::{Received, ReceivedEvent};

/// No answer of the API is legitimately larger than this; a bigger one is refused unread.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ApiClient {
    /// Built at the first request, not at open: loading the system's trust store costs more than
    /// opening the cache, and an app opened offline (or only to show its cache) never needs it.
    http: Arc<OnceLock<reqwest::Client>>,
    base: reqwest::Url,
}

impl ApiClient {
    pub fn new(base_url: &str) -> Result<Self> {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let mut base: reqwest::Url =
            base_url.parse().map_err(|e| CaasError::Config(format!("backend URL `{base_url}`: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CaasError::Config("the backend URL must be http or https".into()));
        }
        if !encrypted_or_local(&base) {
            return Err(CaasError::Config(
                "plain http is only for a platform on this machine (loopback); use https".into(),
            ));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self { http: Arc::default(), base })
    }

    /// The HTTP client, built once.
    fn http(&self) -> Result<&reqwest::Client> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(30))
            .user_agent(concat!("caas-core/", env!("CARGO_PKG_VERSION")))
            // The platform never redirects; following one could carry a token or a card number
            // to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                let cause = std::error::Error::source(&e).map(|s| format!(": {s}")).unwrap_or_default();
                CaasError::Config(format!("the HTTP client cannot start{cause}"))
            })?;
        // Two first requests at once may both build one; the first kept serves both after.
        Ok(self.http.get_or_init(|| http))
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> Result<RequestBuilder> {
        let url = self.base.join(path).map_err(|e| CaasError::Config(e.to_string()))?;
        let builder = self.http()?.request(method, url).timeout(Duration::from_secs(15));
        Ok(match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        })
    }

    pub async fn request_sign_in_code(&self, email: &str) -> Result<()> {
        let body = SignInCodeRequest { email: email.to_owned() };
        let response = send(self.request(Method::POST, "v1/auth/sign-in-code", None)?.json(&body)).await?;
        check(response).await.map(drop)
    }

    pub async fn sign_in(&self, email: &str, code: &str) -> Result<Session> {
        let body = SignInRequest { email: email.to_owned(), code: code.to_owned() };
        json(send(self.request(Method::POST, "v1/auth/token", None)?.json(&body)).await?).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        let body = RefreshRequest { refresh_token: refresh_token.to_owned() };
        json(send(self.request(Method::POST, "v1/auth/refresh", None)?.json(&body)).await?).await
    }

    /// Ends the session on the platform: the token (and its refresh token) stop working.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        check(send(self.request(Method::POST, "v1/auth/sign-out", Some(token))?).await?).await.map(drop)
    }

    pub async fn orders(&self, token: &str) -> Result<Vec<Received<OrderView>>> {
        self.get(token, "v1/orders").await
    }

    pub async fn order(&self, token: &str, id: Uuid) -> Result<Received<OrderView>> {
        self.get(token, &format!("v1/orders/{id}")).await
    }

    pub async fn events_after(&self, token: &str, id: Uuid, after: u64) -> Result<ReceivedPage> {
        self.get(token, &format!("v1/orders/{id}/events?after={after}")).await
    }

    /// The key the platform signs records with; needs no session.
    pub async fn record_key(&self) -> Result<RecordKey> {
        json(send(self.request(Method::GET, "v1/record/key", None)?).await?).await
    }

    pub async fn register_device(&self, token: &str, request: &RegisterDeviceRequest) -> Result<DeviceView> {
        self.post(token, "v1/devices", request).await
    }

    /// Where cards are tokenized.
    pub async fn payments_config(&self, token: &str) -> Result<PaymentsConfig> {
        self.get(token, "v1/payments/config").await
    }

    /// Sends the card to the gateway (never to the platform) and returns its reference.
    pub async fn tokenize(&self, config: &PaymentsConfig, card: &CardDetails) -> Result<PaymentMethod> {
        let mut url: reqwest::Url = config
            .gateway_url
            .parse()
            .map_err(|e| CaasError::Protocol(format!("the platform gave an unusable gateway URL: {e}").into()))?;
        if !encrypted_or_local(&url) {
            return Err(CaasError::Protocol(
                "the platform gave a gateway URL without https; no card is sent there".into(),
            ));
        }
        url.set_path("/v1/payment_methods");
        let builder = self.http()?.post(url).timeout(Duration::from_secs(15)).bearer_auth(&config.publishable_key);
        json(send(builder.json(card)).await?).await
    }

    /// One payment attempt; repeating it with the same key and request never charges twice.
    pub async fn pay(&self, token: &str, order: Uuid, idempotency_key: &str, request: &PayRequest) -> Result<Payment> {
        let builder = self
            .request(Method::POST, &format!("v1/orders/{order}/payments"), Some(token))?
            .header(IDEMPOTENCY_KEY_HEADER, idempotency_key)
            .json(request);
        json(send(builder).await?).await
    }

    pub async fn option_catalogue(&self, token: &str, order: Uuid) -> Result<OptionCatalogue> {
        self.get(token, &format!("v1/orders/{order}/options")).await
    }

    pub async fn buy_option(
        &self,
        token: &str,
        order: Uuid,
        idempotency_key: &str,
        request: &BuyOptionRequest,
    ) -> Result<Payment> {
        let builder = self
            .request(Method::POST, &format!("v1/orders/{order}/options"), Some(token))?
            .header(IDEMPOTENCY_KEY_HEADER, idempotency_key)
            .json(request);
        json(send(builder).await?).await
    }

    pub async fn report_option_receipt(
        &self,
        token: &str,
        order: Uuid,
        request: &OptionReceiptRequest,
    ) -> Result<Received<OrderView>> {
        self.post(token, &format!("v1/orders/{order}/options/receipts"), request).await
    }

    pub async fn report_vehicle(
        &self,
        token: &str,
        order: Uuid,
        request: &VehicleReportRequest,
    ) -> Result<Received<OrderView>> {
        self.post(token, &format!("v1/orders/{order}/vehicle/reports"), request).await
    }

    pub async fn service_slots(&self, token: &str, order: Uuid) -> Result<Vec<ServiceSlot>> {
        self.get(token, &format!("v1/orders/{order}/service/slots")).await
    }

    pub async fn book_service(
        &self,
        token: &str,
        order: Uuid,
        request: &BookServiceRequest,
    ) -> Result<Received<OrderView>> {
        self.post(token, &format!("v1/orders/{order}/service/booking"), request).await
    }

    pub async fn cancel_service(&self, token: &str, order: Uuid) -> Result<Received<OrderView>> {
        json(send(self.request(Method::DELETE, &format!("v1/orders/{order}/service/booking"), Some(token))?).await?)
            .await
    }

    pub async fn payment(&self, token: &str, order: Uuid, payment: &str) -> Result<Payment> {
        self.get(token, &format!("v1/orders/{order}/payments/{payment}")).await
    }

    pub async fn delivery_slots(&self, token: &str, order: Uuid) -> Result<Vec<DeliverySlot>> {
        self.get(token, &format!("v1/orders/{order}/delivery/slots")).await
    }

    pub async fn choose_window(&self, token: &str, order: Uuid, request: &ChooseSlotRequest) -> Result<OrderView> {
        self.post(token, &format!("v1/orders/{order}/delivery/window"), request).await
    }

    pub async fn confirm_address(
        &self,
        token: &str,
        order: Uuid,
        request: &ConfirmAddressRequest,
    ) -> Result<OrderView> {
        self.post(token, &format!("v1/orders/{order}/delivery/address"), request).await
    }

    pub async fn dispute_handover(
        &self,
        token: &str,
        order: Uuid,
        request: &DisputeHandoverRequest,
    ) -> Result<OrderView> {
        self.post(token, &format!("v1/orders/{order}/handover/dispute"), request).await
    }

    pub async fn handover_code(
        &self,
        token: &str,
        order: Uuid,
        request: &HandoverCodeRequest,
    ) -> Result<HandoverCodeView> {
        self.post(token, &format!("v1/orders/{order}/handover-code"), request).await
    }

    pub async fn driver_sign_in(&self, email: &str, code: &str) -> Result<DriverSession> {
        let body = SignInRequest { email: email.to_owned(), code: code.to_owned() };
        json(send(self.request(Method::POST, "v1/auth/driver-token", None)?.json(&body)).await?).await
    }

    pub async fn driver_deliveries(&self, token: &str) -> Result<DriverDeliveries> {
        self.get(token, "v1/driver/deliveries").await
    }

    /// One driver action, sent as `body`, the request's JSON as the outbox stored it; repeating it
    /// with the same key gets the first answer, never a second effect.
    pub async fn driver_action(
        &self,
        token: &str,
        delivery: Uuid,
        idempotency_key: &str,
        body: &str,
    ) -> Result<DriverDelivery> {
        let builder = self
            .request(Method::POST, &format!("v1/driver/deliveries/{delivery}/actions"), Some(token))?
            .header(IDEMPOTENCY_KEY_HEADER, idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        json(send(builder).await?).await
    }

    /// Several driver actions `(delivery, key, body)` in one request, each under its own key and
    /// sent as the bytes its own request carries (its key's fingerprint covers them), answered one
    /// result per action in order. `Ok(None)` when the platform has no batches (an older one): the
    /// route has no parameter, so its "not found" can only mean that.
    pub async fn driver_actions(
        &self,
        token: &str,
        actions: &[(Uuid, &str, &str)],
    ) -> Result<Option<Vec<SendOutcome>>> {
        let actions = actions
            .iter()
            .map(|(delivery_id, key, body)| {
                let request = RawValue::from_string((*body).to_owned())
                    .map_err(|e| CaasError::corrupt(format!("an outbox request: {e}")))?;
                Ok(BatchedAction { delivery_id: *delivery_id, idempotency_key: (*key).to_owned(), request })
            })
            .collect::<Result<Vec<_>>>()?;
        let count = actions.len();
        let builder =
            self.request(Method::POST, "v1/driver/actions", Some(token))?.json(&DriverActionBatch { actions });
        let response = send(builder).await?;
        if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
            return Ok(None);
        }
        let DriverActionResults { results } = json(response).await?;
        if results.len() != count {
            return Err(CaasError::Protocol(format!("{} results for {count} driver actions", results.len()).into()));
        }
        Ok(Some(results.into_iter().map(SendOutcome::of).collect()))
    }

    pub async fn resolve_short_code(&self, token: &str, delivery: Uuid, short_code: &str) -> Result<HandoverCodeView> {
        let body = ShortCodeRequest { short_code: short_code.to_owned() };
        self.post(token, &format!("v1/driver/deliveries/{delivery}/handover-code"), &body).await
    }

    pub async fn request_grant(&self, token: &str, order: Uuid, request: &GrantRequest) -> Result<GrantView> {
        self.post(token, &format!("v1/orders/{order}/pairing/grant"), request).await
    }

    pub async fn report_link(&self, token: &str, order: Uuid, request: &LinkRequest) -> Result<Received<OrderView>> {
        self.post(token, &format!("v1/orders/{order}/pairing/link"), request).await
    }

    /// Revokes one of the phone keys of the customer's car.
    pub async fn revoke_phone_key(&self, token: &str, order: Uuid, grant: Uuid) -> Result<()> {
        let path = format!("v1/orders/{order}/pairing/keys/{grant}/revoke");
        check(send(self.request(Method::POST, &path, Some(token))?).await?).await.map(drop)
    }

    /// Opens the device's SSE stream; the answer's body is the stream.
    pub async fn device_stream(&self, token: &str, device: Uuid) -> Result<Response> {
        let builder = self
            .http()?
            .get(self.base.join(&format!("v1/devices/{device}/stream")).map_err(|e| CaasError::Config(e.to_string()))?)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        check(send(builder).await?).await
    }

    async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> Result<T> {
        json(send(self.request(Method::GET, path, Some(token))?).await?).await
    }

    async fn post<T: DeserializeOwned>(&self, token: &str, path: &str, body: &impl Serialize) -> Result<T> {
        json(send(self.request(Method::POST, path, Some(token))?.json(body)).await?).await
    }
}

/// Whether `url` is https, or plain http to this machine (the mock in development and tests).
/// Anything else would send tokens and card numbers readable on the way.
pub(crate) fn encrypted_or_local(url: &reqwest::Url) -> bool {
    match (url.scheme(), url.host_str()) {
        ("https", _) => true,
        ("http", Some(host)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.parse::<std::net::IpAddr>()
                .map_or_else(|_| host == "localhost" || host.ends_with(".localhost"), |ip| ip.is_loopback())
        }
        _ => false,
    }
}

async fn send(builder: RequestBuilder) -> Result<Response> {
    builder.send().await.map_err(transport)
}

/// A request that got no answer is offline; one the client could not even build or read is not.
fn transport(error: reqwest::Error) -> CaasError {
    if error.is_connect() || error.is_timeout() || error.is_request() || error.is_body() {
        CaasError::Offline(error.into())
    } else {
        CaasError::Protocol(error.into())
    }
}

/// A page of an order's log (`caas_protocol::api::EventPage`), each event kept as received.
#[derive(Debug, serde::Deserialize)]
pub struct ReceivedPage {
    pub events: Vec<ReceivedEvent>,
    pub latest_version: u64,
    #[serde(default)]
    pub head: Option<SignedHead>,
}

/// Turns an error status into the matching error, reading the API's error body.
///
/// Only what can succeed later reads as unavailable: a 5xx, and the statuses that mean "not now"
/// (408, 425, 429) with the `Retry-After` they carry. Any other status with an error body is a
/// refusal, under its code even when this version does not know it; a status without one is an
/// answer this app cannot read.
async fn check(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| retry_after(v.to_str().ok()?));
    let body = read_bounded(response).await.unwrap_or_default();
    Err(refusal(status, retry_after, serde_json::from_slice(&body).ok()))
}

/// What became of one driver action sent.
#[derive(Debug)]
pub enum SendOutcome {
    /// Not attempted: it goes again under its key.
    NotAttempted,
    /// Applied, with the delivery as the platform now has it, when its answer could be read.
    Applied(Option<Box<DriverDelivery>>),
    /// Not applied: the error its own request would have met.
    Failed(CaasError),
}

impl SendOutcome {
    /// A batched result as its own request's answer would read. Its status says whether it was
    /// applied, whatever its body: the platform went on with the delivery's later actions.
    fn of(result: BatchedResult) -> Self {
        let BatchedResult::Answered { status, retry_after, body, .. } = result else { return Self::NotAttempted };
        let Ok(status) = StatusCode::from_u16(status) else {
            return Self::Failed(CaasError::Protocol(format!("a batched answer with status {status}").into()));
        };
        let body = body.unwrap_or_default();
        if status.is_success() {
            return Self::Applied(serde_json::from_value(body).ok().map(Box::new));
        }
        let retry_after = retry_after.map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
        Self::Failed(refusal(status, retry_after, serde_json::from_value(body).ok()))
    }
}

/// The error an answer with an error `status` and the API's error `api` (if it carried one)
/// stands for (see [`check`]).
fn refusal(status: StatusCode, retry_after: Option<Duration>, api: Option<ApiError>) -> CaasError {
    match (status, api) {
        (StatusCode::UNAUTHORIZED, _) => CaasError::Unauthorized,
        (status, _) if status.is_server_error() || NOT_NOW.contains(&status) => {
            CaasError::ServerUnavailable { status: status.as_u16(), retry_after }
        }
        // Only the platform's own "not found" says the resource is gone; a bare 404 is some
        // other server's page.
        (StatusCode::NOT_FOUND, Some(api)) => CaasError::NotFound(api.message),
        (_, Some(api)) => CaasError::Rejected { code: api.code, message: api.message },
        (status, None) => CaasError::Protocol(format!("status {status} without an error this app can read").into()),
    }
}

/// Statuses that say "not now" rather than "no".
const NOT_NOW: [StatusCode; 3] = [StatusCode::REQUEST_TIMEOUT, StatusCode::TOO_EARLY, StatusCode::TOO_MANY_REQUESTS];

/// The longest pause a `Retry-After` can ask for; a longer one is read as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` as seconds or as an HTTP date, bounded.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default()
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T> {
    let body = read_bounded(check(response).await?).await?;
    serde_json::from_slice(&body).map_err(|e| CaasError::Protocol(e.into()))
}

async fn read_bounded(response: Response) -> Result<Vec<u8>> {
    let too_large = || CaasError::Protocol(format!("an answer larger than {MAX_RESPONSE_BYTES} bytes").into());
    if response.content_length().is_some_and(|len| len > MAX_RESPONSE_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| CaasError::Offline(e.into()))?;
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_within_an_hour() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(120)).to_rfc2822();
        assert!(retry_after(&soon).is_some_and(|d| d > Duration::from_secs(100) && d <= Duration::from_secs(120)));
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-3"), None);
    }

    #[test]
    fn plain_http_reaches_only_this_machine() {
        for local in [
            "http://127.0.0.1:8080",
            "http://127.8.9.1",
            "http://[::1]:9",
            "http://localhost:3000",
            "https://caas.example",
        ] {
            assert!(ApiClient::new(local).is_ok(), "{local}");
        }
        for remote in
            ["http://caas.example", "http://10.0.2.2:8080", "http://[2001:db8::1]/", "http://localhost.example"]
        {
            assert!(matches!(ApiClient::new(remote), Err(CaasError::Config(_))), "{remote}");
        }
    }
}
