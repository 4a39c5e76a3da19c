//! Factory webhooks from an outside sender that follows the Standard Webhooks spec: accepted when
//! signed with any current secret, refused (and nothing changed) when forged, stale or replayed.

use caas_core::protocol::OrderState;
use caas_core::protocol::webhook::{FactoryEventType, FactoryOrderUpdate, FactoryWebhook};
use caas_e2e::Platform;
use caas_mock::{MockConfig, random_webhook_secret};
use chrono::Utc;
use http::HeaderMap;
use serde_json::Value;
use standardwebhooks::Webhook;

struct Sender {
    http: reqwest::Client,
    url: String,
}

impl Sender {
    fn new(platform: &Platform) -> Self {
        Self { http: reqwest::Client::new(), url: format!("{}/v1/webhooks/factory", platform.url()) }
    }

    /// Posts `body` with the given headers; returns the status and the JSON answer.
    async fn post(&self, headers: HeaderMap, body: &str) -> anyhow::Result<(u16, Value)> {
        let response = self.http.post(&self.url).headers(headers).body(body.to_owned()).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }
}

/// The three headers, signed by the reference implementation with `secret`.
fn signed(secret: &str, id: &str, timestamp: i64, body: &str) -> HeaderMap {
    let signature = Webhook::new(secret).expect("secret").sign(id, timestamp, body.as_bytes()).expect("sign");
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", id.parse().expect("id"));
    headers.insert("webhook-timestamp", timestamp.to_string().parse().expect("ts"));
    headers.insert("webhook-signature", signature.parse().expect("sig"));
    headers.insert("content-type", "application/json".parse().expect("ct"));
    headers
}

async fn placed_order(platform: &Platform) -> anyhow::Result<(uuid::Uuid, String, chrono::NaiveDate)> {
    let order = platform.sell_to("webhooks@example.com").await?;
    let placed = platform.reserve(order.id).await?;
    Ok((order.id, placed.factory_order_id.expect("placed"), placed.estimated_completion.expect("estimate")))
}

fn stage_change(order: uuid::Uuid, factory_order: &str, stage: OrderState, estimate: chrono::NaiveDate) -> String {
    serde_json::to_string(&FactoryWebhook {
        kind: FactoryEventType::StageChanged,
        timestamp: Utc::now(),
        data: FactoryOrderUpdate {
            factory_order_id: factory_order.to_owned(),
            platform_order_id: order,
            stage,
            estimated_completion: estimate,
            reason: None,
        },
    })
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_replayed_and_illegal_webhooks_change_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let secret = platform.config.webhook_secrets[0].to_config_string();
    let sender = Sender::new(&platform);
    let (order, factory_order, estimate) = placed_order(&platform).await?;
    let before = platform.sandbox.order_events(order).await?;
    let body = stage_change(order, &factory_order, OrderState::InProduction, estimate);
    let now = Utc::now().timestamp();

    let wrong_key = random_webhook_secret().to_config_string();
    let (status, answer) = sender.post(signed(&wrong_key, "msg_forged", now, &body), &body).await?;
    assert_eq!((status, answer["code"].as_str()), (401, Some("invalid_signature")));

    let mut tampered = signed(&secret, "msg_tampered", now, &body);
    tampered.insert("webhook-id", "msg_other".parse()?);
    assert_eq!(sender.post(tampered, &body).await?.0, 401);

    let mut unsigned = signed(&secret, "msg_unsigned", now, &body);
    unsigned.remove("webhook-signature");
    assert_eq!(sender.post(unsigned, &body).await?.0, 401);

    let (status, answer) = sender.post(signed(&secret, "msg_stale", now - 301, &body), &body).await?;
    assert_eq!((status, answer["code"].as_str()), (401, Some("stale_timestamp")));

    let skipping = stage_change(order, &factory_order, OrderState::QualityControl, estimate);
    let (status, answer) = sender.post(signed(&secret, "msg_skip", now, &skipping), &skipping).await?;
    assert_eq!((status, answer["code"].as_str()), (409, Some("illegal_transition")));

    assert_eq!(platform.sandbox.order_events(order).await?, before, "refused webhooks changed nothing");

    let (status, answer) = sender.post(signed(&secret, "msg_good", now, &body), &body).await?;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)));
    let applied = platform.sandbox.order_events(order).await?;
    assert_eq!(applied.len(), before.len() + 1);

    // A redelivery repeats the id with a fresh timestamp and signature: deduplicated.
    let (status, answer) = sender.post(signed(&secret, "msg_good", now + 1, &body), &body).await?;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(platform.sandbox.order_events(order).await?, applied);

    // The refused skip was not recorded as received: once legal, a webhook with that id applies.
    let view = platform.sandbox.advance_factory(order, Some(OrderState::Assembly)).await?;
    let next =
        stage_change(order, &factory_order, OrderState::QualityControl, view.estimated_completion.expect("date"));
    let (status, _) = sender.post(signed(&secret, "msg_skip", Utc::now().timestamp(), &next), &next).await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_current_secret_is_accepted_during_a_rotation() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = MockConfig::ephemeral(dir.path().join("platform.sqlite3"));
    let (old, new) = (random_webhook_secret(), random_webhook_secret());
    config.webhook_secrets = vec![old.clone(), new.clone()];
    let platform = Platform::start_with(dir, config).await?;
    let sender = Sender::new(&platform);
    let (order, factory_order, estimate) = placed_order(&platform).await?;
    let now = Utc::now().timestamp();

    let first = stage_change(order, &factory_order, OrderState::InProduction, estimate);
    assert_eq!(sender.post(signed(&new.to_config_string(), "msg_new", now, &first), &first).await?.0, 200);
    let second = stage_change(order, &factory_order, OrderState::Assembly, estimate);
    assert_eq!(sender.post(signed(&old.to_config_string(), "msg_old", now, &second), &second).await?.0, 200);

    // A header carrying several signatures passes when any one of them is current.
    let third = stage_change(order, &factory_order, OrderState::QualityControl, estimate);
    let retired = random_webhook_secret().to_config_string();
    let mut headers = signed(&retired, "msg_both", now, &third);
    let current = Webhook::new(&new.to_config_string())?.sign("msg_both", now, third.as_bytes())?;
    let both = format!("{} {current}", headers["webhook-signature"].to_str()?);
    headers.insert("webhook-signature", both.parse()?);
    assert_eq!(sender.post(headers, &third).await?.0, 200);
    assert_eq!(platform.sandbox.orders().await?[0].state, OrderState::QualityControl);
    Ok(())
}

/// Issue 12, point 8: the most negative timestamp once overflowed inside verification and the
/// caller got no answer. Both receivers now answer 401 and keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_timestamps_get_an_answer_not_a_crash() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (order, factory_order, estimate) = placed_order(&platform).await?;
    let body = stage_change(order, &factory_order, OrderState::InProduction, estimate);
    let secret = platform.config.webhook_secrets[0].to_config_string();
    for receiver in ["factory", "gateway"] {
        let sender = Sender { http: reqwest::Client::new(), url: format!("{}/v1/webhooks/{receiver}", platform.url()) };
        for timestamp in ["-9223372036854775808", "9223372036854775807", "-1", "1e9"] {
            let mut headers = signed(&secret, "msg_extreme", Utc::now().timestamp(), &body);
            headers.insert("webhook-timestamp", timestamp.parse()?);
            let (status, answer) = sender.post(headers, &body).await?;
            assert_eq!(status, 401, "{receiver} with timestamp {timestamp}: {answer}");
        }
    }
    let (status, _) =
        Sender::new(&platform).post(signed(&secret, "msg_after", Utc::now().timestamp(), &body), &body).await?;
    assert_eq!(status, 200, "the receiver still serves after the extreme headers");
    Ok(())
}
