//! `caas-bench`: the figures that matter to the app, each beside a baseline measured in the same
//! run on the same machine, so the ratio means something wherever it runs. `./scripts/bench` runs
//! it in release with the bindings' benchmark from Kotlin.
//!
//! - push to listener: factory webhook sent -> the platform accepts it -> push on the SSE stream ->
//!   the core syncs -> an order listener is called; baseline: a bare HTTP round trip to the same
//!   server. Five runs, each on a fresh platform and order beside its own baseline, their samples
//!   pooled.
//! - push floor: the steps no push may skip (the webhook's signature checked, a commit on each
//!   side, the record's head signed and checked), each timed alone, plus the same bare round trip.
//! - payment round trip: `pay` called with a card -> tokenized at the gateway -> charged through
//!   the platform -> the gateway's signed webhook applied -> the core sees `succeeded` and has the
//!   paid order cached; baseline: a bare HTTP round trip to the same server.
//! - outbox drain: driver actions recorded without signal (loading and arrival of 25 cars), then
//!   sent in order when the connection returns, each applied by the platform and its answer
//!   stored; baseline: the same number of bare HTTP round trips to the same server. The median by
//!   ratio of five drains, each on a platform of its own.
//! - pairing: the handshake to the car's first authenticated reply and the whole pairing over the
//!   simulated BLE link at MTU 185 and 23 (30 ms connection interval): round trips, bytes each
//!   way, simulated air time; baseline: the same at MTU 517.
//! - sync ingest: applying pages of events through the store; baseline: a raw rusqlite insert loop
//!   of the same rows into the same schema.
//! - cold open: opening the core on a cache of 100 orders and 10,000 events up to the first
//!   orders snapshot; baseline: opening SQLite and reading the order rows that snapshot needs, raw.
//! - fan-out of the mock: signed factory webhooks per second while 1,000 devices hold the SSE push
//!   stream open on loopback, until every device has every push of its customer's order; baseline:
//!   the same webhooks with no device (and, between the two, with the devices registered and no
//!   stream open).

// The report is the program's output.
#![allow(clippy::print_stdout)]

mod fanout;
mod floor;
mod pairing;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caas_core::protocol::api::{EventKind, Money, OrderEvent, RegisterSaleRequest, VehicleConfiguration};
use caas_core::protocol::webhook::{self, FactoryEventType, FactoryOrderUpdate, FactoryWebhook, WebhookSecret};
use caas_core::protocol::{Actor, OrderState};
use caas_core::store::{self, Store};
use caas_core::{Caas, OrderDetail, PaymentProgress};
use caas_mock::client::{DealershipClient, SandboxClient};
use caas_mock::{MockConfig, RunningMock, start};
use chrono::{Days, Utc};
use clap::Parser;
use futures_util::StreamExt as _;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use caas_e2e::{card, customer, open_phone};

#[derive(Debug, Parser)]
#[command(
    name = "caas-bench",
    about = "Push latency, payment round trip, outbox drain, pairing, sync ingest, cold start and the mock's fan-out, each against its baseline"
)]
struct BenchArgs {
    /// Round trips measured for each latency figure (the push's: in each of its five runs).
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// SSE devices connected to the mock for the fan-out (ten per customer, the mock's cap).
    #[arg(long, default_value_t = 1000)]
    fanout_devices: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    caas_mock::cli::init_logging();
    let args = BenchArgs::parse();
    anyhow::ensure!(args.iterations >= 10, "at least 10 iterations, for a meaningful p99");
    let mut pushes = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        pushes.push(push_latency(args.iterations).await?);
    }
    let push = Latency::pooled(pushes).context("no push measured")?;
    let floor = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir()?;
        floor::push_floor(dir.path(), args.iterations)
    })
    .await??;
    let payment = payment_round_trip(args.iterations.min(PAYMENTS)).await?;
    let drain = outbox_drain().await?;
    let pairing = pairing::pairing(args.iterations.min(PAIRINGS)).await?;
    let ingest = tokio::task::spawn_blocking(sync_ingest).await??;
    let cold = cold_open().await?;
    let fanout = fanout::fanout(args.fanout_devices).await?;
    if args.json {
        println!(
            "{}",
            json!({ "push_to_listener": push.json(), "push_floor": floor.json(push.baseline_p50()),
                    "payment_round_trip": payment.json(),
                    "outbox_drain": drain.json(), "pairing": pairing.json(), "sync_ingest": ingest.json(),
                    "cold_open": cold.json(), "fanout": fanout.json() })
        );
    } else {
        println!("caas-bench ({} iterations, debug assertions {})", args.iterations, cfg!(debug_assertions));
        push.print();
        floor.print(push.baseline_p50());
        payment.print();
        drain.print();
        pairing.print();
        ingest.print();
        cold.print();
        fanout.print();
    }
    Ok(())
}

/// Latency percentiles of one measurement and of its baseline.
struct Latency {
    label: &'static str,
    measured: Vec<Duration>,
    baseline: Vec<Duration>,
    /// Where the time goes: a step of the measured path, timed from the same start.
    step: Option<(&'static str, Vec<Duration>)>,
    /// The p50 and p99 ratios of each run pooled into this one, in the order they ran.
    run_ratios: Vec<[f64; 2]>,
}

fn sorted(durations: &[Duration]) -> Vec<Duration> {
    let mut sorted = durations.to_vec();
    sorted.sort();
    sorted
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Latency {
    /// Runs as one, every sample kept beside its own: the percentiles are then taken over every
    /// run, so the p99 of five runs of 200 is the eleventh slowest of a thousand, not the third
    /// slowest of two hundred, which moved by half from run to run. Each run's own ratios are
    /// kept, in the order they ran. `None` without a run.
    fn pooled(runs: Vec<Latency>) -> Option<Latency> {
        let run_ratios = runs.iter().map(Latency::ratios).collect();
        let mut pooled = runs.into_iter().reduce(|mut pooled, run| {
            pooled.measured.extend(run.measured);
            pooled.baseline.extend(run.baseline);
            if let (Some((_, step)), Some((_, more))) = (&mut pooled.step, run.step) {
                step.extend(more);
            }
            pooled
        })?;
        pooled.run_ratios = run_ratios;
        Some(pooled)
    }

    fn baseline_p50(&self) -> Duration {
        percentile(&sorted(&self.baseline), 0.5)
    }

    fn ratios(&self) -> [f64; 2] {
        self.figures().map(|(measured, baseline)| measured / baseline)
    }

    fn figures(&self) -> [(f64, f64); 2] {
        let (measured, baseline) = (sorted(&self.measured), sorted(&self.baseline));
        [0.5, 0.99].map(|p| (ms(percentile(&measured, p)), ms(percentile(&baseline, p))))
    }

    fn print(&self) {
        let [(p50, b50), (p99, b99)] = self.figures();
        println!("{:<18} p50 {p50:7.2} ms  p99 {p99:7.2} ms   over {} samples", self.label, self.measured.len());
        if let Some((label, step)) = &self.step {
            let step = sorted(step);
            let (s50, s99) = (ms(percentile(&step, 0.5)), ms(percentile(&step, 0.99)));
            println!("  {label:<16} p50 {s50:7.2} ms  p99 {s99:7.2} ms");
        }
        println!(
            "  bare HTTP RTT    p50 {b50:7.2} ms  p99 {b99:7.2} ms   ratio p50 {:.1}x  p99 {:.1}x",
            p50 / b50,
            p99 / b99
        );
        if !self.run_ratios.is_empty() {
            let range = |i: usize| {
                let ratios = self.run_ratios.iter().map(|r| r[i]);
                let (low, high) = ratios.fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(r), h.max(r)));
                format!("{low:.1}x to {high:.1}x")
            };
            println!(
                "  ratios of the {} runs, each beside its own baseline: p50 {}, p99 {}",
                self.run_ratios.len(),
                range(0),
                range(1)
            );
        }
    }

    fn json(&self) -> serde_json::Value {
        let [(p50, b50), (p99, b99)] = self.figures();
        let mut json = json!({ "p50_ms": p50, "p99_ms": p99, "baseline_http_p50_ms": b50, "baseline_http_p99_ms": b99,
                "ratio_p50": p50 / b50, "ratio_p99": p99 / b99, "samples": self.measured.len() });
        if !self.run_ratios.is_empty() {
            json["run_ratios_p50"] = self.run_ratios.iter().map(|r| r[0]).collect();
            json["run_ratios_p99"] = self.run_ratios.iter().map(|r| r[1]).collect();
        }
        json
    }
}

async fn push_latency(iterations: usize) -> anyhow::Result<Latency> {
    let dir = tempfile::tempdir()?;
    let config = MockConfig::ephemeral(dir.path().join("platform.sqlite3"));
    let secrets = config.webhook_secrets.clone();
    let mock = start(config).await?;
    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let dealership = sandbox.dealership("madrid-centro").await?;
    let email = "bench@example.com";
    let mut order = Placed::order(&dealership, email).await?;
    let placed_version = order.version;

    let core = open_phone(&mock.url, &dir.path().join("phone")).await?;
    core.request_sign_in_code(email).await?;
    core.sign_in(email, &sandbox.sign_in_code(email).await?).await?;
    core.sync().await?;
    let (tx, mut arrivals) = watch::channel((0, Instant::now()));
    // The listener, as a shell's would be: fed from the order's updates on the core's runtime.
    let _listener = AbortOnDropHandle::new(core.runtime().spawn(core.order_updates(order.id).for_each(
        move |order: OrderDetail| {
            tx.send_replace((order.summary.version, Instant::now()));
            std::future::ready(())
        },
    )));
    let _stream = core.connect_push_stream().await?;

    let http = reqwest::Client::new();
    let webhook_url = format!("{}/v1/webhooks/factory", mock.url);
    let mut measured = Vec::with_capacity(iterations);
    let mut answered = Vec::with_capacity(iterations);
    for version in (placed_version + 1..).take(iterations) {
        let revision = order.next_revision(&secrets)?;
        let sent = Instant::now();
        let response = revision.post(&http, &webhook_url).await;
        answered.push(sent.elapsed());
        response?;
        let (_, at) = *tokio::time::timeout(Duration::from_secs(10), arrivals.wait_for(|(v, _)| *v >= version))
            .await
            .context("the listener was not called")??;
        measured.push(at.duration_since(sent));
    }
    let baseline = http_baseline(&mock.url, iterations).await?;
    mock.stop().await;
    Ok(Latency {
        label: "push -> listener",
        measured,
        baseline,
        step: Some(("webhook answered", answered)),
        run_ratios: Vec::new(),
    })
}

/// Pairings measured per MTU.
const PAIRINGS: usize = 30;

/// Payments measured per run: each needs an order built to the final payment first.
const PAYMENTS: usize = 50;

async fn payment_round_trip(iterations: usize) -> anyhow::Result<Latency> {
    let dir = tempfile::tempdir()?;
    let mock = start(MockConfig::ephemeral(dir.path().join("platform.sqlite3"))).await?;
    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let dealership = sandbox.dealership("madrid-centro").await?;
    let email = "payer@example.com";
    let mut orders = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let sale = RegisterSaleRequest {
            customer: customer(email),
            configuration: VehicleConfiguration { base_platform: "cargo-van".into(), options: vec![] },
            delivery_locality: "Madrid".into(),
        };
        let order = dealership.register_sale(&sale).await?;
        dealership.record_reservation(order.id, Money { amount_minor: 100_000, currency: "EUR".into() }).await?;
        sandbox.advance_factory(order.id, Some(OrderState::DispatchedToLocality)).await?;
        orders.push(order.id);
    }
    let core = open_phone(&mock.url, &dir.path().join("phone")).await?;
    core.request_sign_in_code(email).await?;
    core.sign_in(email, &sandbox.sign_in_code(email).await?).await?;
    core.sync().await?;
    let mut measured = Vec::with_capacity(iterations);
    for order in orders {
        let card = card("4242424242424242");
        let sent = Instant::now();
        let progress = core.pay(order, card).await?;
        measured.push(sent.elapsed());
        anyhow::ensure!(matches!(progress, PaymentProgress::Succeeded { .. }), "payment not succeeded: {progress:?}");
    }
    let baseline = http_baseline(&mock.url, iterations).await?;
    mock.stop().await;
    Ok(Latency { label: "payment round trip", measured, baseline, step: None, run_ratios: Vec::new() })
}

/// Cars whose loading and arrival a driver records offline in the drain benchmark.
const DRAINED_DELIVERIES: usize = 25;

/// The median drain of [`RUNS`], each on a platform of its own.
async fn outbox_drain() -> anyhow::Result<Throughput> {
    let mut drains = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        drains.push(one_drain().await?);
    }
    Ok(Throughput::median_of(drains))
}

/// One drain on a platform of its own: 25 cars booked, their loading and arrival recorded
/// without signal, then `sync_driver` timed; its baseline, as many bare round trips right after.
async fn one_drain() -> anyhow::Result<Throughput> {
    let dir = tempfile::tempdir()?;
    let mock = start(MockConfig::ephemeral(dir.path().join("platform.sqlite3"))).await?;
    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    booked_orders(&mock, &sandbox, dir.path(), DRAINED_DELIVERIES).await?;

    let cab = dir.path().join("driver");
    let driver = driver(&mock, &sandbox, cab.clone()).await?;
    let jobs = driver.refresh_deliveries().await?;
    anyhow::ensure!(jobs.len() == DRAINED_DELIVERIES, "the driver sees {} deliveries", jobs.len());
    drop(driver);
    let offline = open_phone("http://127.0.0.1:9", &cab).await?;
    for job in &jobs {
        offline.embark(job.delivery_id, &job.vin).await?;
        offline.arrive(job.delivery_id).await?;
    }
    drop(offline);
    let actions = 2 * jobs.len();
    let online = open_phone(&mock.url, &cab).await?;
    let started = Instant::now();
    let report = online.sync_driver().await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(report.sent as usize == actions && report.pending == 0, "drain incomplete: {report:?}");
    let baseline = http_baseline(&mock.url, actions).await?;
    mock.stop().await;
    Ok(Throughput {
        label: "outbox drain",
        unit: "actions/s",
        measured: actions as f64 / elapsed.as_secs_f64(),
        baseline: actions as f64 / baseline.iter().sum::<Duration>().as_secs_f64(),
        baseline_label: "bare HTTP",
        run_ratios: Vec::new(),
    })
}

/// `count` orders of one customer, paid, registered, booked with the one company serving Toledo
/// and their address confirmed; returns the customer's phone and the orders.
pub(crate) async fn booked_orders(
    mock: &RunningMock,
    sandbox: &SandboxClient,
    dir: &std::path::Path,
    count: usize,
) -> anyhow::Result<(Caas, Vec<Uuid>)> {
    let dealership = sandbox.dealership("madrid-centro").await?;
    let email = "receiver@example.com";
    let mut orders = Vec::with_capacity(count);
    for _ in 0..count {
        let sale = RegisterSaleRequest {
            customer: customer(email),
            configuration: VehicleConfiguration { base_platform: "cargo-van".into(), options: vec![] },
            // Only one company serves Toledo, so one driver sees every delivery.
            delivery_locality: "Toledo".into(),
        };
        let order = dealership.register_sale(&sale).await?;
        dealership.record_reservation(order.id, Money { amount_minor: 100_000, currency: "EUR".into() }).await?;
        sandbox.advance_factory(order.id, Some(OrderState::DispatchedToLocality)).await?;
        orders.push(order.id);
    }
    let phone = open_phone(&mock.url, &dir.join("phone")).await?;
    phone.request_sign_in_code(email).await?;
    phone.sign_in(email, &sandbox.sign_in_code(email).await?).await?;
    phone.sync().await?;
    for order in &orders {
        phone.pay(*order, card("4242424242424242")).await?;
    }
    for order in &orders {
        // Registration runs after the gateway's webhook; the booking comes with it.
        let mut booked = false;
        for _ in 0..500 {
            if dealership.order(*order).await?.state == OrderState::TransportScheduled {
                booked = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::ensure!(booked, "order {order} was not booked on a transport");
        phone.confirm_delivery_address(*order, None).await?;
    }
    Ok((phone, orders))
}

/// The Toledo driver's phone in `dir`, signed in.
pub(crate) async fn driver(mock: &RunningMock, sandbox: &SandboxClient, dir: PathBuf) -> anyhow::Result<Caas> {
    let email = "lucia@iberia-carriers.example";
    let driver = open_phone(&mock.url, &dir).await?;
    driver.request_sign_in_code(email).await?;
    driver.sign_in_driver(email, &sandbox.sign_in_code(email).await?).await?;
    Ok(driver)
}

/// Bare HTTP round trips to the mock's health check: the floor of any call to it.
async fn http_baseline(url: &str, iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let mut baseline = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let sent = Instant::now();
        http.get(format!("{url}/health")).send().await?.bytes().await?;
        baseline.push(sent.elapsed());
    }
    Ok(baseline)
}

/// An order placed at the factory, whose completion estimate the bench revises by webhook.
pub(crate) struct Placed {
    pub(crate) id: Uuid,
    factory_order: String,
    pub(crate) version: u64,
    estimate: chrono::NaiveDate,
}

/// A factory webhook, signed, ready to post.
pub(crate) struct Revision {
    headers: webhook::SignatureHeaders,
    body: String,
}

impl Placed {
    /// A sale for `email`'s customer, reserved, so the factory has it and sends its webhooks.
    pub(crate) async fn order(dealership: &DealershipClient, email: &str) -> anyhow::Result<Placed> {
        let sale = RegisterSaleRequest {
            customer: customer(email),
            configuration: VehicleConfiguration { base_platform: "cargo-van".into(), options: vec![] },
            delivery_locality: "Madrid".into(),
        };
        let order = dealership.register_sale(&sale).await?;
        let placed =
            dealership.record_reservation(order.id, Money { amount_minor: 100_000, currency: "EUR".into() }).await?;
        Ok(Placed {
            id: order.id,
            factory_order: placed.factory_order_id.context("placed")?,
            version: placed.version,
            estimate: placed.estimated_completion.context("estimate")?,
        })
    }

    /// The factory's next revision of the estimate (a day later), signed with `secrets`: one
    /// more event on the order.
    pub(crate) fn next_revision(&mut self, secrets: &[WebhookSecret]) -> anyhow::Result<Revision> {
        self.estimate = self.estimate + Days::new(1);
        self.version += 1;
        let body = serde_json::to_string(&FactoryWebhook {
            kind: FactoryEventType::EstimateRevised,
            timestamp: Utc::now(),
            data: FactoryOrderUpdate {
                factory_order_id: self.factory_order.clone(),
                platform_order_id: self.id,
                stage: OrderState::OrderPlaced,
                estimated_completion: self.estimate,
                reason: Some("benchmark revision".into()),
            },
        })?;
        let headers = webhook::sign(
            secrets,
            &format!("msg_{}", Uuid::now_v7().simple()),
            Utc::now().timestamp(),
            body.as_bytes(),
        );
        Ok(Revision { headers, body })
    }
}

impl Revision {
    /// Posts the webhook to the platform at `url`; a refusal is an error.
    pub(crate) async fn post(self, http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
        let response = http
            .post(url)
            .header(webhook::HEADER_WEBHOOK_ID, &self.headers.id)
            .header(webhook::HEADER_WEBHOOK_TIMESTAMP, self.headers.timestamp.to_string())
            .header(webhook::HEADER_WEBHOOK_SIGNATURE, &self.headers.signature)
            .body(self.body)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "webhook refused: {}", response.status());
        Ok(())
    }
}

/// A throughput beside its baseline.
struct Throughput {
    label: &'static str,
    unit: &'static str,
    measured: f64,
    baseline: f64,
    baseline_label: &'static str,
    /// Every run's ratio when the figure is the median of several, lowest first.
    run_ratios: Vec<f64>,
}

/// Runs of a figure, each beside its own baseline: one drain or one ingest lasts 20 to 100 ms, and
/// a single run moved by half from run to run as the machine's load came and went; so did the p99
/// of 200 pushes. Odd, so that a throughput's median is one of them (the push's runs are pooled).
const RUNS: usize = 5;
const _: () = assert!(RUNS % 2 == 1);

impl Throughput {
    /// The run with the median ratio, and every run's ratio beside it.
    fn median_of(mut runs: Vec<Throughput>) -> Throughput {
        runs.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
        let run_ratios = runs.iter().map(Throughput::ratio).collect();
        let median = runs.swap_remove(runs.len() / 2);
        Throughput { run_ratios, ..median }
    }

    fn print(&self) {
        println!("{:<18} {:>10.0} {}", self.label, self.measured, self.unit);
        println!("  {:<16} {:>10.0} {}   ratio {:.2}x", self.baseline_label, self.baseline, self.unit, self.ratio());
        if let (Some(lowest), Some(highest)) = (self.run_ratios.first(), self.run_ratios.last()) {
            let runs = self.run_ratios.len();
            println!("  the median of {runs} runs, each beside its own baseline: {lowest:.2}x to {highest:.2}x");
        }
    }

    fn ratio(&self) -> f64 {
        self.measured / self.baseline
    }

    fn json(&self) -> serde_json::Value {
        let mut figure = json!({ "value": self.measured, "unit": self.unit, "baseline": self.baseline,
                                 "ratio": self.ratio() });
        if !self.run_ratios.is_empty() {
            figure["run_ratios"] = json!(self.run_ratios);
        }
        figure
    }
}

const INGEST_EVENTS: u64 = 10_000;
const PAGE: usize = caas_core::protocol::api::MAX_EVENTS_PER_PAGE as usize;

/// A log as the phone receives it.
fn synthetic_events(order: Uuid, count: u64) -> Vec<store::ReceivedEvent> {
    let mut events = (1..=count)
        .map(|version| OrderEvent {
            event_id: Uuid::now_v7(),
            order_id: order,
            version,
            occurred_at: Utc::now(),
            prev: None,
            kind: if version == 1 {
                EventKind::StateChanged { from: None, to: OrderState::SaleRegistered, by: Actor::Dealership }
            } else {
                EventKind::EstimateRevised {
                    estimated_completion: Utc::now().date_naive() + Days::new(version),
                    reason: "the factory revised its production plan".into(),
                }
            },
        })
        .map(store::ReceivedEvent::from)
        .collect::<Vec<_>>();
    store::fixtures::relink(&mut events);
    events
}

/// The median ingest of [`RUNS`], each into stores of its own.
fn sync_ingest() -> anyhow::Result<Throughput> {
    let runs = (0..RUNS).map(|_| one_ingest()).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Throughput::median_of(runs))
}

/// One ingest of [`INGEST_EVENTS`] through the store, then the same rows inserted raw.
fn one_ingest() -> anyhow::Result<Throughput> {
    let dir = tempfile::tempdir()?;
    let order = Uuid::now_v7();
    let events = synthetic_events(order, INGEST_EVENTS);
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;

    let store = Store::open(&dir.path().join("core.sqlite3"))?;
    // Pages as a sync owns them once read off the network: the copy is not the store's work.
    let pages = events.chunks(PAGE).map(<[_]>::to_vec).collect::<Vec<_>>();
    let started = Instant::now();
    runtime.block_on(async {
        let details = store::Received::from(store::fixtures::details(order));
        store.write(move |tx| store::upsert_details(tx, &details)).await?;
        for page in pages {
            store.write(move |tx| store::apply_events(tx, order, &page)).await?;
        }
        anyhow::Ok(())
    })?;
    let measured = INGEST_EVENTS as f64 / started.elapsed().as_secs_f64();
    // The store's log is copied back by a thread of its own once the sync has written, as on the
    // phone: closed (the thread joined) before the baseline, so that copy does not run beside it.
    drop(store);

    let raw_path = dir.path().join("raw.sqlite3");
    drop(Store::open(&raw_path)?);
    let mut conn = rusqlite_connection(&raw_path)?;
    conn.execute("INSERT INTO orders (id, details) VALUES (?1, '{}')", [order.to_string()])?;
    let started = Instant::now();
    for page in events.chunks(PAGE) {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (order_id, version, event_id, occurred_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for store::Received { value: event, raw } in page {
                insert.execute((
                    order.to_string(),
                    event.version,
                    event.event_id.to_string(),
                    event.occurred_at.to_rfc3339(),
                    raw.to_string(),
                ))?;
            }
        }
        tx.commit()?;
    }
    let baseline = INGEST_EVENTS as f64 / started.elapsed().as_secs_f64();
    Ok(Throughput {
        label: "sync ingest",
        unit: "events/s",
        measured,
        baseline,
        baseline_label: "raw inserts",
        run_ratios: Vec::new(),
    })
}

fn rusqlite_connection(path: &std::path::Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Median of `runs` timings.
fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

struct ColdOpen {
    measured: Duration,
    baseline: Duration,
}

impl ColdOpen {
    fn print(&self) {
        println!("cold open (100 orders, 10,000 events) to first snapshot {:7.2} ms", ms(self.measured));
        println!(
            "  raw open + read of the order rows                   {:7.2} ms   ratio {:.1}x",
            ms(self.baseline),
            self.measured.as_secs_f64() / self.baseline.as_secs_f64()
        );
    }

    fn json(&self) -> serde_json::Value {
        json!({ "ms": ms(self.measured), "baseline_ms": ms(self.baseline),
                "ratio": self.measured.as_secs_f64() / self.baseline.as_secs_f64() })
    }
}

async fn cold_open() -> anyhow::Result<ColdOpen> {
    const ORDERS: usize = 100;
    const EVENTS_PER_ORDER: u64 = 100;
    const RUNS: usize = 11;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("phone");
    std::fs::create_dir_all(&data)?;
    let store = Store::open(&data.join("caas.sqlite3"))?;
    for _ in 0..ORDERS {
        let id = Uuid::now_v7();
        let details = store::Received::from(store::fixtures::details(id));
        let events = synthetic_events(id, EVENTS_PER_ORDER);
        store
            .write(move |tx| {
                store::upsert_details(tx, &details)?;
                store::apply_events(tx, id, &events).map(drop)
            })
            .await?;
    }
    drop(store);

    let mut measured = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let core = open_phone("http://127.0.0.1:9", &data).await?;
        let orders = core.orders().await?;
        measured.push(started.elapsed());
        anyhow::ensure!(orders.len() == ORDERS);
    }
    let path = data.join("caas.sqlite3");
    let mut baseline = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let path = path.clone();
        let started = Instant::now();
        let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let conn = rusqlite::Connection::open(&path)?;
            let mut rows = 0;
            let mut orders =
                conn.prepare("SELECT details, state, cursor, estimate, blocker, last_event_at FROM orders")?;
            let mut q = orders.query([])?;
            while let Some(row) = q.next()? {
                let _details: String = row.get(0)?;
                rows += 1;
            }
            Ok(rows)
        })
        .await??;
        baseline.push(started.elapsed());
        anyhow::ensure!(rows == ORDERS);
    }
    Ok(ColdOpen { measured: median(measured), baseline: median(baseline) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(measured: f64) -> Throughput {
        Throughput {
            label: "drain",
            unit: "actions/s",
            measured,
            baseline: 100.0,
            baseline_label: "bare",
            run_ratios: Vec::new(),
        }
    }

    #[test]
    fn pooled_runs_keep_every_sample_of_each_in_its_own_place() {
        let millis = |values: &[u64]| values.iter().copied().map(Duration::from_millis).collect::<Vec<_>>();
        let run = |measured: &[u64], baseline: &[u64], step: &[u64]| Latency {
            label: "push",
            measured: millis(measured),
            baseline: millis(baseline),
            step: Some(("answered", millis(step))),
            run_ratios: Vec::new(),
        };
        let pooled =
            Latency::pooled(vec![run(&[5, 6], &[1, 1], &[3, 3]), run(&[9, 7], &[2, 1], &[4, 5])]).expect("two runs");
        assert_eq!(pooled.measured, millis(&[5, 6, 9, 7]));
        assert_eq!(pooled.baseline, millis(&[1, 1, 2, 1]));
        assert_eq!(pooled.figures()[1], (9.0, 2.0), "the p99 is taken over both runs");
        assert_eq!(pooled.run_ratios, [[6.0, 6.0], [4.5, 4.5]], "each run's own p50 and p99 ratios");
        assert_eq!(pooled.json()["run_ratios_p99"], json!([6.0, 4.5]));
        assert_eq!(pooled.step.map(|(_, step)| step), Some(millis(&[3, 3, 4, 5])));
        assert!(Latency::pooled(Vec::new()).is_none());
    }

    #[test]
    fn the_median_run_is_kept_with_every_runs_ratio_lowest_first() {
        let median = Throughput::median_of([50.0, 10.0, 40.0, 30.0, 20.0].into_iter().map(run).collect());
        assert_eq!(median.measured, 30.0);
        assert_eq!(median.run_ratios, [0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(median.json()["run_ratios"].as_array().map(Vec::len), Some(5));
        assert!(run(30.0).json().get("run_ratios").is_none(), "a single run has no run ratios");
    }
}
