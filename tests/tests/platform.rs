//! The platform's own rules: the factory refuses bad configurations at once, the factory moves on
//! by itself when asked to, the API documents itself, and a connection outlives a body sent late.

use std::time::Duration;

use anyhow::Context as _;

use caas_core::protocol::OrderState;
use caas_core::protocol::api::VehicleConfiguration;
use caas_e2e::{Platform, WAIT, Watcher};
use caas_mock::MockConfig;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_configuration_keeps_the_sale_and_both_sides_see_why() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let email = "refused@example.com";
    let order = platform.sell(email, "family-suv", &["tow-hitch", "sport-suspension"]).await?;
    let phone = platform.phone(email, dir.path()).await?;
    let _stream = phone.connect_push_stream().await?;
    let mut watcher = Watcher::new(&phone, order.id);

    let refused = platform.reserve(order.id).await.expect_err("the factory refuses");
    let (status, error) =
        refused.downcast_ref::<caas_mock::client::ClientError>().and_then(|e| e.api()).expect("api error");
    assert_eq!(status, 422);
    assert_eq!(serde_json::to_value(error.code)?, "configuration_rejected");
    assert!(error.message.contains("tow-hitch"), "{}", error.message);

    let dealer_view = platform.dealership.order(order.id).await?;
    assert_eq!(dealer_view.state, OrderState::ReservationPaid, "the sale keeps its state");
    assert_eq!(dealer_view.blocker.as_ref().map(|b| b.code.as_str()), Some("incompatible_options"));
    let seen = watcher.until_version(dealer_view.version).await?;
    assert_eq!(seen.summary.state, OrderState::ReservationPaid);
    assert!(seen.summary.blocker.as_ref().is_some_and(|b| b.reason.contains("sport-suspension")));

    let fixed = VehicleConfiguration { base_platform: "family-suv".into(), options: vec!["tow-hitch".into()] };
    let placed = platform.dealership.amend_configuration(order.id, fixed).await?;
    assert_eq!(placed.state, OrderState::OrderPlaced);
    assert!(placed.blocker.is_none());
    let seen = watcher.until_version(placed.version).await?;
    assert!(seen.summary.blocker.is_none());

    let unknown = platform.sell("refused@example.com", "flying-car", &[]).await?;
    let refused = platform.reserve(unknown.id).await.expect_err("unknown model");
    let (_, error) = refused.downcast_ref::<caas_mock::client::ClientError>().and_then(|e| e.api()).expect("api error");
    assert!(error.message.contains("flying-car"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_advance_the_factory_moves_on_by_itself() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = MockConfig::ephemeral(dir.path().join("platform.sqlite3"));
    config.auto_advance = Some(Duration::from_millis(150));
    let platform = Platform::start_with(dir, config).await?;
    let order = platform.sell_to("auto@example.com").await?;
    platform.reserve(order.id).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = platform.dealership.order(order.id).await?.state;
        if state == OrderState::AwaitingFinalPayment {
            break;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "stuck at {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let states: Vec<_> = platform
        .sandbox
        .order_events(order.id)
        .await?
        .into_iter()
        .filter_map(|e| match e.kind {
            caas_core::protocol::api::EventKind::StateChanged { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(&states[2..8], caas_core::protocol::lifecycle::FACTORY_STAGES, "no stage skipped");
    assert_eq!(states[8..], [OrderState::AwaitingFinalPayment], "the final payment is due once the car arrives");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_the_api_and_the_webhook_receiver() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", platform.url())).await?.json().await?;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/webhooks/factory",
        "/v1/dealership/sales",
        "/v1/orders/{id}/events",
        "/v1/devices/{id}/stream",
        "/v1/sandbox/orders/{id}/factory/advance",
        "/v1/webhooks/gateway",
        "/v1/orders/{id}/payments",
        "/v1/dealership/stock/{vin}/sales",
        "/v1/dealership/orders/{id}/registration",
        "/v1/sandbox/clock/advance",
        "/v1/sandbox/factory/faults",
        "/v1/sandbox/payments/faults",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in
        ["OrderView", "OrderEvent", "FactoryWebhook", "GatewayWebhook", "Payment", "PushHint", "ApiError", "OrderState"]
    {
        assert!(schemas.get(schema).is_some(), "{schema} missing");
    }
    Ok(())
}

/// Every fault switch that counts the next calls it spoils takes the same bound, read with the
/// count: the platform's sandbox, the gateway's own sandbox behind it, and the document agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_count_has_one_bound_on_both_sides_of_the_sandbox() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let client = reqwest::Client::new();
    let post = |url: String, key: &str, body: serde_json::Value| client.post(url).bearer_auth(key).json(&body).send();
    let sandbox = |path: &str| format!("{}/v1/sandbox/{path}", platform.url());
    let token = platform.mock.sandbox_token.as_str();
    let order = platform.sell_to("bounded@example.com").await?;
    let vin = platform.reserve(order.id).await?.vin.context("a placed order's car")?;
    for (path, field) in [
        ("payments/faults".to_owned(), "drop_answers"),
        ("drivers/faults".to_owned(), "drop_answers"),
        ("registries/ES/faults".to_owned(), "transient_failures"),
        (format!("vehicles/{vin}/faults"), "drop_replies"),
    ] {
        let refused = post(sandbox(&path), token, serde_json::json!({ field: 101 })).await?;
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(refused.text().await?.contains("at most 100"), "{path} says the bound");
        let taken = post(sandbox(&path), token, serde_json::json!({ field: 100 })).await?;
        assert_eq!(taken.status(), reqwest::StatusCode::NO_CONTENT, "{path}");
    }
    let gateway = format!("{}/sandbox/faults", platform.mock.gateway_url);
    let key = platform.config.gateway_secret_key.as_str();
    let refused = post(gateway.clone(), key, serde_json::json!({ "drop_answers": 101 })).await?;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "the gateway's own sandbox");
    let armed: serde_json::Value = client.get(gateway).bearer_auth(key).send().await?.json().await?;
    assert_eq!(armed, serde_json::json!({ "drop_answers": 100, "unavailable": false }), "as the platform armed it");

    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", platform.url())).await?.json().await?;
    assert_eq!(doc["components"]["schemas"]["FaultCount"]["maximum"], 100, "the document says the bound");
    Ok(())
}

/// Java's HTTP client, which the Kotlin suite's sandbox helper uses, writes a request's body after
/// its headers. The platform answered a call whose handler reads no body (a staff token) before
/// that body came, gave up on it, and closed the connection: the client's next call on the same
/// connection met a reset ("header parser received no bytes" in CI). Now nothing is answered
/// before the body is in, and the connection serves the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_after_its_headers_keeps_the_connection_for_the_next_call() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let head = staff_token_head(&platform, 2);
    let mut connection = connect(&platform).await?;
    connection.get_mut().write_all(head.as_bytes()).await?;
    let early = tokio::time::timeout(Duration::from_secs(1), connection.get_ref().peek(&mut [0; 1])).await;
    assert!(early.is_err(), "nothing is answered before the body is in");
    connection.get_mut().write_all(b"{}").await?;
    assert_eq!(read_answer(&mut connection).await?, Answer { status: 201, closing: false }, "the first call");

    connection.get_mut().write_all(format!("{head}{{}}").as_bytes()).await?;
    let second = read_answer(&mut connection).await?;
    assert_eq!(second, Answer { status: 201, closing: false }, "the second call, on the same connection");
    Ok(())
}

/// A body is read within the mock's `body_timeout`, or refused as a proxy would refuse it, with
/// the connection, whose rest of a body is unread, said to close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_refused_in_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = MockConfig {
        body_timeout: Duration::from_millis(300),
        ..MockConfig::ephemeral(dir.path().join("platform.sqlite3"))
    };
    let platform = Platform::start_with(dir, config).await?;
    let mut connection = connect(&platform).await?;
    let head = staff_token_head(&platform, 2);
    connection.get_mut().write_all(format!("{head}{{").as_bytes()).await?;
    assert_eq!(read_answer(&mut connection).await?, Answer { status: 408, closing: true });
    Ok(())
}

/// Read first, a body over the services' limit is refused in the API's own shape, also by a call
/// that takes no body (it answered 201), also before the caller's token is checked (as a proxy in
/// front of the platform would refuse it), and at once when its length says so, with the
/// connection said to close: a client must not send its next request on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_as_too_large() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let oversized = serde_json::json!({ "padding": "x".repeat(300 * 1024) });
    let token = platform.mock.sandbox_token.clone();
    for (key, bearer) in [(None, Some(&token)), (Some("a-key"), Some(&token)), (None, None)] {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/sandbox/dealerships/madrid-centro/staff-tokens", platform.url()));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let answer = request.json(&oversized).send().await?;
        assert_eq!(
            answer.status(),
            reqwest::StatusCode::PAYLOAD_TOO_LARGE,
            "key {key:?}, signed in {}",
            bearer.is_some()
        );
        let error: serde_json::Value = answer.json().await?;
        assert_eq!(error["code"], "invalid_request", "{error}");
    }
    // Declared too large: refused before a byte of it is sent.
    let mut connection = connect(&platform).await?;
    connection.get_mut().write_all(staff_token_head(&platform, 300 * 1024).as_bytes()).await?;
    assert_eq!(read_answer(&mut connection).await?, Answer { status: 413, closing: true });
    Ok(())
}

/// The head of a staff token's request with a body of `length` bytes to come.
fn staff_token_head(platform: &Platform, length: usize) -> String {
    let host = platform.url().trim_start_matches("http://");
    let token = &platform.mock.sandbox_token;
    format!(
        "POST /v1/sandbox/dealerships/madrid-centro/staff-tokens HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

async fn connect(platform: &Platform) -> anyhow::Result<BufReader<TcpStream>> {
    Ok(BufReader::new(TcpStream::connect(platform.url().trim_start_matches("http://")).await?))
}

/// What [`read_answer`] makes of an answer: its status, and whether it says the connection ends.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    closing: bool,
}

/// Reads one HTTP/1.1 answer with a `Content-Length` off `connection`, within [`WAIT`].
async fn read_answer(connection: &mut BufReader<TcpStream>) -> anyhow::Result<Answer> {
    tokio::time::timeout(WAIT, async {
        let mut line = String::new();
        connection.read_line(&mut line).await?;
        let status = line.split(' ').nth(1).context("no status line")?.parse()?;
        let (mut length, mut closing) = (0, false);
        loop {
            line.clear();
            anyhow::ensure!(connection.read_line(&mut line).await? > 0, "the connection closed in the head");
            let Some((name, value)) = line.trim_end().split_once(':') else { break };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse()?;
            } else if name.eq_ignore_ascii_case("connection") {
                closing = value.eq_ignore_ascii_case("close");
            }
        }
        let mut body = vec![0; length];
        connection.read_exact(&mut body).await?;
        Ok(Answer { status, closing })
    })
    .await
    .context("no answer in time")?
}
