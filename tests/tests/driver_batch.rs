//! A driver's outbox in batches: a phone back in signal sends a day's actions in one request, each
//! action still under its own idempotency key, shared with the action's own endpoint; an older
//! platform without batches still gets every action, one by one.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use caas_core::protocol::OrderState;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::delivery::CallOutcome;
use caas_core::{AssignedDelivery, DriverActionOutcome};
use caas_e2e::{BookedCustomer, DRIVER, NO_SIGNAL, Platform, open_phone};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

/// A driver of another company, which has no delivery in Madrid.
const OTHER_COMPANY: &str = "carmen@meseta-logistics.example";

/// Two customers in Madrid whose cars are booked and whose addresses are confirmed, and the
/// driver's deliveries of both.
async fn two_cars(platform: &Platform, dir: &Path) -> anyhow::Result<[(BookedCustomer, AssignedDelivery); 2]> {
    let mut cars = Vec::new();
    for email in ["ana@example.com", "bruno@example.com"] {
        let customer = platform.booked_customer(email, &dir.join(email)).await?;
        customer.core.confirm_delivery_address(customer.order, None).await?;
        cars.push(customer);
    }
    let jobs = platform.driver(DRIVER, &dir.join("driver")).await?.refresh_deliveries().await?;
    let mut pairs = Vec::new();
    for customer in cars {
        let job = jobs.iter().find(|j| j.order_id == customer.order).cloned().context("the driver has the car")?;
        pairs.push((customer, job));
    }
    pairs.try_into().map_err(|_| anyhow::anyhow!("two cars"))
}

/// A step the driver takes without signal.
#[derive(Debug, Clone, Copy)]
enum Step {
    Embark,
    Arrive,
    Absent,
}

/// The driver's phone in `cab` takes each step without signal; each waits in the outbox.
async fn taken_offline(cab: &Path, steps: &[(&AssignedDelivery, Step)]) -> anyhow::Result<()> {
    let offline = open_phone(NO_SIGNAL, cab).await?;
    for (job, step) in steps {
        let outcome = match step {
            Step::Embark => offline.embark(job.delivery_id, &job.vin).await?,
            Step::Arrive => offline.arrive(job.delivery_id).await?,
            Step::Absent => offline.report_absent(job.delivery_id, CallOutcome::Unreachable).await?,
        };
        anyhow::ensure!(matches!(outcome, DriverActionOutcome::Queued { .. }), "queued: {outcome:?}");
    }
    Ok(())
}

/// An embarkation's body, as the phone serializes it.
fn embark(job: &AssignedDelivery) -> String {
    json!({ "at": chrono::Utc::now(), "action": "embark", "vin": job.vin, "window_start": job.window.start })
        .to_string()
}

fn arrive() -> String {
    json!({ "at": chrono::Utc::now(), "action": "arrive" }).to_string()
}

/// A batch whose actions carry their requests as the exact bytes given.
fn batch(actions: &[(Uuid, &str, &str)]) -> String {
    let actions: Vec<String> = actions
        .iter()
        .map(|(delivery, key, request)| {
            format!(r#"{{"delivery_id":"{delivery}","idempotency_key":"{key}","request":{request}}}"#)
        })
        .collect();
    format!(r#"{{"actions":[{}]}}"#, actions.join(","))
}

async fn post_batch(platform: &Platform, token: &str, body: String) -> anyhow::Result<(StatusCode, Value)> {
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/driver/actions", platform.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    Ok((answer.status(), answer.json().await?))
}

async fn post_one(
    platform: &Platform,
    token: &str,
    delivery: Uuid,
    key: &str,
    body: &str,
) -> anyhow::Result<(StatusCode, bool, Value)> {
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/driver/deliveries/{delivery}/actions", platform.url()))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await?;
    let replayed = answer.headers().get("idempotent-replayed").is_some();
    Ok((answer.status(), replayed, answer.json().await?))
}

/// `(status, code or state, replayed)` of each result, `None` for a skipped action.
fn outcomes(results: &Value) -> Vec<Option<(u64, String, bool)>> {
    results["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|r| {
                    (r["outcome"] == "answered").then(|| {
                        let what = r["body"]["code"].as_str().or(r["body"]["state"].as_str()).unwrap_or_default();
                        (r["status"].as_u64().unwrap_or_default(), what.to_owned(), r["replayed"] == true)
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn embarkations(platform: &Platform, order: Uuid) -> anyhow::Result<usize> {
    let events = platform.sandbox.order_events(order).await?;
    Ok(events.iter().filter(|e| matches!(e.kind, EventKind::Embarked { .. })).count())
}

/// An action sent alone whose answer was lost finds that answer in a batch, and one sent in a
/// batch whose answer was lost finds it alone: one key, one effect, whichever way it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_first_sent_alone_is_answered_in_a_batch_and_the_other_way_round() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let token = platform.driver_token(DRIVER).await?;
    let (embark_a, embark_b) = (embark(&a), embark(&b));

    platform.sandbox.drop_driver_answers(1).await?;
    let (status, _, _) = post_one(&platform, &token, a.delivery_id, "key-a", &embark_a).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the answer was lost on the way");

    platform.sandbox.drop_driver_answers(1).await?;
    let (status, results) = post_batch(
        &platform,
        &token,
        batch(&[(b.delivery_id, "key-b", &embark_b), (a.delivery_id, "key-a", &embark_a)]),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(
        outcomes(&results),
        [Some((503, "internal".into(), false)), Some((200, "in_transit".into(), true))],
        "the new action's answer lost like the first one's was; the first answer, replayed"
    );
    let (status, replayed, answer) = post_one(&platform, &token, b.delivery_id, "key-b", &embark_b).await?;
    assert_eq!((status, replayed, answer["state"].as_str()), (StatusCode::OK, true, Some("in_transit")));
    assert_eq!((embarkations(&platform, ana.order).await?, embarkations(&platform, bruno.order).await?), (1, 1));

    // The same key for another request is refused in a batch as it is alone.
    let (_, results) = post_batch(&platform, &token, batch(&[(a.delivery_id, "key-a", &arrive())])).await?;
    assert_eq!(outcomes(&results), [Some((422, "idempotency_key_reused".into(), false))]);
    Ok(())
}

/// A refused action undoes itself and skips the later actions of its delivery, which were taken
/// on top of it, while the other deliveries' actions go; a "not now" skips the rest of the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_skips_its_deliverys_later_actions_and_a_rate_limit_the_rest() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let token = platform.driver_token(DRIVER).await?;
    let wrong_vin = embark(&a).replace(&a.vin, "WVWZZZ1JZXW000001");

    let (_, results) = post_batch(
        &platform,
        &token,
        batch(&[
            (a.delivery_id, "a-1", &wrong_vin),
            (a.delivery_id, "a-2", &arrive()),
            (b.delivery_id, "b-1", &embark(&b)),
        ]),
    )
    .await?;
    assert_eq!(
        outcomes(&results),
        [Some((422, "vin_mismatch".into(), false)), None, Some((200, "in_transit".into(), false))]
    );
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::TransportScheduled);
    assert_eq!(platform.dealership.order(bruno.order).await?.state, OrderState::InTransit);
    // The skipped action was not spent: it goes later under its key.
    let (_, results) = post_batch(&platform, &token, batch(&[(a.delivery_id, "a-2", &arrive())])).await?;
    assert_eq!(outcomes(&results), [Some((409, "illegal_transition".into(), false))]);

    platform.sandbox.answer_next_driver_action(429, Some("slow_down"), Some(2)).await?;
    let (_, results) =
        post_batch(&platform, &token, batch(&[(a.delivery_id, "a-3", &embark(&a)), (b.delivery_id, "b-2", &arrive())]))
            .await?;
    assert_eq!(outcomes(&results), [Some((429, "slow_down".into(), false)), None]);
    assert_eq!(results["results"][0]["retry_after"], 2);
    assert_eq!(platform.dealership.order(bruno.order).await?.state, OrderState::InTransit);
    // A lost answer is spent on an applied action only, as on a request of its own.
    platform.sandbox.drop_driver_answers(1).await?;
    let (_, results) = post_batch(
        &platform,
        &token,
        batch(&[(a.delivery_id, "a-wrong", &wrong_vin), (b.delivery_id, "b-arrive", &arrive())]),
    )
    .await?;
    assert_eq!(outcomes(&results), [Some((422, "vin_mismatch".into(), false)), Some((503, "internal".into(), false))]);
    Ok(())
}

/// Batches are bounded and checked whole before anything runs; another company's driver finds
/// none of this company's deliveries in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_out_of_bounds_is_refused_whole_and_another_company_finds_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), _] = two_cars(&platform, dir.path()).await?;
    let token = platform.driver_token(DRIVER).await?;
    let body = embark(&a);
    let many: Vec<String> = (0..51).map(|n| format!("key-{n}")).collect();
    let too_many: Vec<_> = many.iter().map(|key| (a.delivery_id, key.as_str(), body.as_str())).collect();
    for refused in [
        r#"{"actions":[]}"#.to_owned(),
        batch(&too_many),
        batch(&[(a.delivery_id, "twice", &body), (a.delivery_id, "twice", &arrive())]),
        batch(&[(a.delivery_id, "with space", &body)]),
        r#"{"actions":[{"delivery_id":"x","idempotency_key":"k","request":{}}]}"#.to_owned(),
    ] {
        let (status, answer) = post_batch(&platform, &token, refused).await?;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")));
    }
    let with_key = reqwest::Client::new()
        .post(format!("{}/v1/driver/actions", platform.url()))
        .bearer_auth(&token)
        .header("idempotency-key", "whole-batch")
        .header("content-type", "application/json")
        .body(batch(&[(a.delivery_id, "inner", &body)]))
        .send()
        .await?;
    assert_eq!(with_key.status(), StatusCode::UNPROCESSABLE_ENTITY, "each action carries its own key");
    let (_, results) = post_batch(&platform, &token, batch(&[(a.delivery_id, "bad-body", r#"{"at":1}"#)])).await?;
    assert_eq!(outcomes(&results), [Some((422, "invalid_request".into(), false))]);

    let stranger = platform.driver_token(OTHER_COMPANY).await?;
    let (_, results) = post_batch(&platform, &stranger, batch(&[(a.delivery_id, "theirs", &body)])).await?;
    assert_eq!(outcomes(&results), [Some((404, "not_found".into(), false))]);
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::TransportScheduled);
    assert_eq!(embarkations(&platform, ana.order).await?, 0);
    Ok(())
}

/// The same batch sent twice at once (a retry racing the first try) applies each action once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_twice_at_once_applies_each_action_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let token = platform.driver_token(DRIVER).await?;
    let body = batch(&[(a.delivery_id, "race-a", &embark(&a)), (b.delivery_id, "race-b", &embark(&b))]);
    let (first, second) =
        tokio::join!(post_batch(&platform, &token, body.clone()), post_batch(&platform, &token, body.clone()));
    let (first, second) = (outcomes(&first?.1), outcomes(&second?.1));
    for (one, other) in first.iter().zip(&second) {
        let (one, other) = (one.clone().context("answered")?, other.clone().context("answered")?);
        assert_eq!((one.0, &one.1), (200, &"in_transit".to_owned()));
        assert_eq!((other.0, &other.1), (one.0, &one.1));
        assert!(one.2 != other.2, "one ran, the other was replayed: {one:?} {other:?}");
    }
    assert_eq!((embarkations(&platform, ana.order).await?, embarkations(&platform, bruno.order).await?), (1, 1));
    Ok(())
}

/// What a relay makes of the batch route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batches {
    /// Passed on to the platform.
    Passed,
    /// Not found: a platform that predates batches.
    Missing,
    /// Refused whole with the API's error, as a platform with a lower bound would.
    Refused,
    /// An outage in front of the platform.
    Down,
    /// Passed on, with every action's answer replaced by a shape this app cannot read.
    Garbled,
}

/// A relay between a phone and the platform that lists the requests it passes with their bodies,
/// and plays what `batches` says on the batch route.
struct Relay {
    url: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    _task: AbortOnDropHandle<()>,
}

struct RelayState {
    upstream: String,
    batches: Batches,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    http: reqwest::Client,
}

impl Relay {
    async fn start(upstream: &str, batches: Batches) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state =
            RelayState { upstream: upstream.to_owned(), batches, seen: seen.clone(), http: reqwest::Client::new() };
        let app = axum::Router::new().fallback(forward).with_state(Arc::new(state));
        let task = tokio::spawn(async move {
            let _stopped = axum::serve(listener, app).await;
        });
        Ok(Self { url, seen, _task: AbortOnDropHandle::new(task) })
    }

    /// The driver's action requests passed so far, as `METHOD path`.
    fn actions(&self) -> Vec<String> {
        self.action_bodies().into_iter().map(|(request, _)| request).collect()
    }

    /// The driver's action requests passed so far with their bodies.
    fn action_bodies(&self) -> Vec<(String, String)> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.iter().filter(|(r, _)| r.starts_with("POST") && r.ends_with("actions")).cloned().collect()
    }
}

async fn forward(State(relay): State<Arc<RelayState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default();
    let relayed = async {
        let body = axum::body::to_bytes(body, 1 << 20).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        relay
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((format!("{} {path}", parts.method), text));
        if path == "/v1/driver/actions" {
            match relay.batches {
                Batches::Passed | Batches::Garbled => {}
                Batches::Missing => return Ok(StatusCode::NOT_FOUND.into_response()),
                Batches::Refused => {
                    let error = json!({ "code": "invalid_request", "message": "a batch carries 1 to 10 actions" });
                    return Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::Json(error)).into_response());
                }
                Batches::Down => return Ok((StatusCode::BAD_GATEWAY, "<html>upstream down</html>").into_response()),
            }
        }
        let mut upstream = relay.http.request(parts.method, format!("{}{path}", relay.upstream)).body(body);
        for (name, value) in &parts.headers {
            if name != reqwest::header::HOST {
                upstream = upstream.header(name, value);
            }
        }
        let answer = upstream.send().await?;
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if name != reqwest::header::CONTENT_LENGTH {
                response = response.header(name, value);
            }
        }
        let mut body = answer.bytes().await?.to_vec();
        if relay.batches == Batches::Garbled && path == "/v1/driver/actions" {
            let mut results: Value = serde_json::from_slice(&body)?;
            for result in results["results"].as_array_mut().into_iter().flatten() {
                result["body"] = json!({ "shape": "of a newer platform" });
            }
            body = serde_json::to_vec(&results)?;
        }
        Ok::<_, anyhow::Error>(response.body(axum::body::Body::from(body))?)
    };
    relayed.await.unwrap_or_else(|error| (StatusCode::BAD_GATEWAY, error.to_string()).into_response())
}

/// Issue 17, outbox drain: each action was a request of its own. A day's actions taken without
/// signal now leave in one request; an older platform that has no batches gets them one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_day_leaves_in_one_request_and_an_older_platform_gets_it_action_by_action() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let cab = dir.path().join("driver");
    taken_offline(&cab, &[(&a, Step::Embark), (&a, Step::Arrive), (&b, Step::Embark), (&b, Step::Arrive)]).await?;

    let relay = Relay::start(platform.url(), Batches::Passed).await?;
    let driver = open_phone(&relay.url, &cab).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected, report.held), (4, 0, 0, 0));
    assert_eq!(relay.actions(), ["POST /v1/driver/actions"], "four actions, one request");
    for order in [ana.order, bruno.order] {
        assert_eq!(platform.dealership.order(order).await?.state, OrderState::AtCustomerAddress);
    }
    drop(driver);

    // Both customers are out: the driver reports it without signal, then syncs through a platform
    // that predates batches.
    taken_offline(&cab, &[(&a, Step::Absent), (&b, Step::Absent)]).await?;
    let older = Relay::start(platform.url(), Batches::Missing).await?;
    let driver = open_phone(&older.url, &cab).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected), (2, 0, 0));
    assert_eq!(
        older.actions(),
        [
            "POST /v1/driver/actions".to_owned(),
            format!("POST /v1/driver/deliveries/{}/actions", a.delivery_id),
            format!("POST /v1/driver/deliveries/{}/actions", b.delivery_id),
        ],
        "one try of a batch, then one request per action"
    );
    for order in [ana.order, bruno.order] {
        assert_eq!(platform.dealership.order(order).await?.state, OrderState::ReturnedToDealership);
    }
    Ok(())
}

/// A failure of the batch as a whole was the answer of its first action: a platform refusing the
/// batch (a lower bound) refused that action for good and the next delivery's in turn. A batch
/// refused whole, or met by an outage, now goes action by action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_or_down_whole_goes_action_by_action_and_refuses_nothing() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let cab = dir.path().join("driver");
    taken_offline(&cab, &[(&a, Step::Embark), (&b, Step::Embark)]).await?;

    let refusing = Relay::start(platform.url(), Batches::Refused).await?;
    let driver = open_phone(&refusing.url, &cab).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected, report.held), (2, 0, 0, 0));
    assert!(driver.driver_conflicts().await?.is_empty());
    assert_eq!(
        refusing.actions(),
        [
            "POST /v1/driver/actions".to_owned(),
            format!("POST /v1/driver/deliveries/{}/actions", a.delivery_id),
            format!("POST /v1/driver/deliveries/{}/actions", b.delivery_id),
        ]
    );
    for order in [ana.order, bruno.order] {
        assert_eq!(platform.dealership.order(order).await?.state, OrderState::InTransit);
    }

    // An outage on the batch route: the drain goes on one action at a time, so an outage holds
    // back only the car it is about.
    taken_offline(&cab, &[(&a, Step::Arrive), (&b, Step::Arrive)]).await?;
    let down = Relay::start(platform.url(), Batches::Down).await?;
    let driver = open_phone(&down.url, &cab).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected, report.held), (2, 0, 0, 0));
    assert_eq!(down.actions().len(), 3, "one batch, then one request per action: {:?}", down.actions());
    Ok(())
}

/// An applied action whose answer this app cannot read was wedged for the driver, while the
/// platform went on with its delivery's later actions. It is done; the list is fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_action_whose_answer_cannot_be_read_is_done_and_the_list_fetched_again() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), _] = two_cars(&platform, dir.path()).await?;
    let cab = dir.path().join("driver");
    taken_offline(&cab, &[(&a, Step::Embark), (&a, Step::Arrive)]).await?;
    let garbling = Relay::start(platform.url(), Batches::Garbled).await?;
    let driver = open_phone(&garbling.url, &cab).await?;
    let report = driver.sync_driver().await?;
    assert_eq!((report.sent, report.pending, report.rejected, report.held), (2, 0, 0, 0));
    assert!(driver.wedged_driver_actions().await?.is_empty());
    let shown = driver.deliveries().await?;
    let job = shown.iter().find(|d| d.delivery_id == a.delivery_id).context("still listed")?;
    assert_eq!((job.state, job.unsynced_actions), (OrderState::AtCustomerAddress, 0), "the platform's view");
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::AtCustomerAddress);
    Ok(())
}

/// A session refused in the middle of a batch ended the drain before the answers after it were
/// written, so actions the platform had applied stayed in the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_after_a_refused_session_are_still_written() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(_, a), (bruno, b)] = two_cars(&platform, dir.path()).await?;
    let cab = dir.path().join("driver");
    taken_offline(&cab, &[(&a, Step::Embark), (&b, Step::Embark)]).await?;
    let driver = open_phone(platform.url(), &cab).await?;
    platform.sandbox.answer_next_driver_action(401, Some("unauthorized"), None).await?;
    assert!(matches!(driver.sync_driver().await, Err(caas_core::CaasError::Unauthorized)));
    assert_eq!(platform.dealership.order(bruno.order).await?.state, OrderState::InTransit);
    let waiting: Vec<_> = driver.deliveries().await?.into_iter().filter(|d| d.unsynced_actions > 0).collect();
    assert_eq!(waiting.iter().map(|d| d.delivery_id).collect::<Vec<_>>(), [a.delivery_id], "the other one is done");
    assert_eq!(driver.sync_driver().await?.sent, 1);
    Ok(())
}

/// An action went out re-encoded from the outbox, so an app upgrade that writes a request
/// differently would send other bytes under a key already used, refused for good as a reused key.
/// It goes out as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_goes_out_as_the_bytes_it_was_stored_with() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let dir = tempfile::tempdir()?;
    let [(ana, a), _] = two_cars(&platform, dir.path()).await?;
    let cab = dir.path().join("driver");
    taken_offline(&cab, &[(&a, Step::Embark)]).await?;
    // As an older version of the app might have written it: same request, other bytes.
    let stored = {
        let cache = rusqlite::Connection::open(cab.join("caas.sqlite3"))?;
        let text: String = cache.query_row("SELECT request FROM outbox", [], |r| r.get(0))?;
        let older = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text)?)?;
        cache.execute("UPDATE outbox SET request = ?1", [&older])?;
        older
    };
    let relay = Relay::start(platform.url(), Batches::Passed).await?;
    let driver = open_phone(&relay.url, &cab).await?;
    assert_eq!(driver.sync_driver().await?.sent, 1);
    let sent = relay.action_bodies();
    assert!(sent.iter().any(|(_, body)| body.contains(&stored)), "sent as stored: {sent:?}");
    assert_eq!(platform.dealership.order(ana.order).await?.state, OrderState::InTransit);
    Ok(())
}
