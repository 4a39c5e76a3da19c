//! Fan-out of the mock: signed factory webhooks per second while 1,000 devices (by default) hold
//! the platform's SSE push stream (`GET /v1/devices/{id}/stream`) open on loopback, counted until
//! every device has received the push of every event of its customer's order, in order, none
//! missing. Baseline, in the same run on the same mock: the same webhook loop before any device is
//! registered. Between the two, the loop once more with the devices registered but no stream open,
//! which splits the cost between what the platform writes per device and the live delivery.
//!
//! The devices are light clients (a streaming body split by [`SseSplitter`], of each event's data
//! only the order and its version read), not phone cores, so the figure is the mock's; they run in
//! this process, on the same cores as the mock. Each phone signs in with its own emailed code, as a
//! real one would. The mock registers at most ten devices per customer, so the devices are spread
//! ten to a customer, each customer with one order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caas_core::protocol::api::{DeviceView, RegisterDeviceRequest, Session, SignInCodeRequest, SignInRequest};
use caas_core::protocol::push::{PushPlatform, SSE_EVENT};
use caas_core::protocol::webhook::WebhookSecret;
use caas_core::sse::SseSplitter;
use caas_mock::client::SandboxClient;
use caas_mock::{MockConfig, start};
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::{Placed, Revision};
use uuid::Uuid;

use crate::Throughput;

/// The mock's own cap (`MAX_DEVICES_PER_CUSTOMER` in its customer routes).
const DEVICES_PER_CUSTOMER: usize = 10;
/// Webhooks sent in each of the three runs, at least: a whole number of rounds over the orders.
const WEBHOOKS: usize = 2_000;
/// Concurrent webhook senders; each owns a share of the orders, so one order's webhooks (and its
/// versions) stay in order.
const SENDERS: usize = 4;
/// How long the pushes may take to arrive after the last webhook was answered.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);
/// How long the mock may take to answer one webhook.
const WEBHOOK_WAIT: Duration = Duration::from_secs(30);
/// Customers signed in (and streams opened) at once while setting up.
const SETUP_CONCURRENCY: usize = 8;
const SETUP_WAIT: Duration = Duration::from_secs(300);
/// Open files beyond the two sockets of each device (its client's and the mock's): the mock's
/// database, its listeners, the other clients.
const SPARE_FILES: u64 = 256;

/// Webhooks per second with the devices connected and with none.
pub(super) struct FanOut {
    rate: Throughput,
    /// Webhooks per second with the devices registered and no stream open.
    registered: f64,
    devices: usize,
    customers: usize,
    webhooks: usize,
    pushes: u64,
    open_files: u64,
}

impl FanOut {
    pub(super) fn print(&self) {
        self.rate.print();
        println!(
            "  {:<16} {:>10.0} {}   ratio {:.2}x",
            "registered only",
            self.registered,
            self.rate.unit,
            self.registered / self.rate.baseline
        );
        println!(
            "  {} devices over {} customers, {} webhooks per run, {} pushes delivered, none missing (open files {})",
            self.devices, self.customers, self.webhooks, self.pushes, self.open_files
        );
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let mut value = self.rate.json();
        value["registered_no_stream"] = json!(self.registered);
        value["devices"] = json!(self.devices);
        value["customers"] = json!(self.customers);
        value["webhooks"] = json!(self.webhooks);
        value["pushes_delivered"] = json!(self.pushes);
        value
    }
}

/// One customer's order as the webhooks move it.
/// What the devices received, counted as it arrives.
struct Tally {
    /// Pushes received in order.
    delivered: AtomicU64,
    /// Versions a device never saw: a later one came first.
    skipped: AtomicU64,
    /// Pushes for another order, repeated, or unreadable.
    strays: AtomicU64,
    /// Streams the mock closed, or that broke.
    ended: AtomicU64,
    /// Pushes the run expects, set before it starts.
    expected: AtomicU64,
    settled: Notify,
    /// The last version each device received.
    last: Vec<AtomicU64>,
}

impl Tally {
    fn new(devices: usize) -> Self {
        Self {
            delivered: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            strays: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            expected: AtomicU64::new(u64::MAX),
            settled: Notify::new(),
            last: (0..devices).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Wakes the run once every expected push is accounted for, received or skipped, or once a
    /// stream ended (its missing pushes will never come).
    fn check_settled(&self) {
        let seen = self.delivered.load(Ordering::SeqCst) + self.skipped.load(Ordering::SeqCst);
        if seen >= self.expected.load(Ordering::SeqCst) || self.ended.load(Ordering::SeqCst) > 0 {
            self.settled.notify_one();
        }
    }
}

pub(super) async fn fanout(devices: usize) -> anyhow::Result<FanOut> {
    anyhow::ensure!(devices >= 1, "the fan-out needs at least one device");
    let open_files = raise_open_files(devices)?;
    let dir = tempfile::tempdir()?;
    let config = MockConfig::ephemeral(dir.path().join("platform.sqlite3"));
    let secrets = config.webhook_secrets.clone();
    let mock = start(config).await?;
    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let dealership = sandbox.dealership("madrid-centro").await?;
    let customers = devices.div_ceil(DEVICES_PER_CUSTOMER);
    let mut orders = Vec::with_capacity(customers);
    for index in 0..customers {
        orders.push(Placed::order(&dealership, &email(index)).await?);
    }
    let rounds = WEBHOOKS.div_ceil(customers);
    let webhooks = rounds * customers;

    let baseline = send_webhooks(&mock.url, &secrets, &mut orders, rounds, None).await?;

    let http = reqwest::Client::new();
    let registered = tokio::time::timeout(SETUP_WAIT, register_devices(&http, &mock.url, &sandbox, devices, customers))
        .await
        .context("registering the devices took too long")??;
    let registered_only = send_webhooks(&mock.url, &secrets, &mut orders, rounds, None).await?;
    let streams = tokio::time::timeout(SETUP_WAIT, open_streams(&http, &mock.url, registered))
        .await
        .context("opening the devices' streams took too long")??;
    let tally = Arc::new(Tally::new(devices));
    let mut readers = JoinSet::new();
    for (device, response) in streams {
        let order = &orders[device / DEVICES_PER_CUSTOMER];
        tally.last[device].store(order.version, Ordering::SeqCst);
        readers.spawn(read_stream(response, order.id, device, tally.clone()));
    }
    let measured = send_webhooks(&mock.url, &secrets, &mut orders, rounds, Some(&tally)).await;
    readers.abort_all();
    while readers.join_next().await.is_some() {}
    let measured = measured?;
    for (device, last) in tally.last.iter().enumerate() {
        let order = &orders[device / DEVICES_PER_CUSTOMER];
        let last = last.load(Ordering::SeqCst);
        anyhow::ensure!(last == order.version, "device {device} last saw version {last} of {}", order.version);
    }
    mock.stop().await;
    let pushes = tally.delivered.load(Ordering::SeqCst);
    Ok(FanOut {
        rate: Throughput {
            label: "mock fan-out",
            unit: "webhooks/s",
            measured: webhooks as f64 / measured.as_secs_f64(),
            baseline: webhooks as f64 / baseline.as_secs_f64(),
            baseline_label: "no device",
            run_ratios: Vec::new(),
        },
        registered: webhooks as f64 / registered_only.as_secs_f64(),
        devices,
        customers,
        webhooks,
        pushes,
        open_files,
    })
}

/// Raises the soft limit on open files to the hard one; fails when that is too low for `devices`.
fn raise_open_files(devices: usize) -> anyhow::Result<u64> {
    let needed = 2 * devices as u64 + SPARE_FILES;
    let soft = rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")?;
    let (_, hard) = rlimit::Resource::NOFILE.get().context("reading the open-file limit")?;
    anyhow::ensure!(
        soft >= needed,
        "{devices} devices need about {needed} open files, and this process may open {soft} (hard limit {hard}): \
         raise the hard limit (`ulimit -Hn`, as root) or pass a smaller --fanout-devices"
    );
    Ok(soft)
}

fn email(customer: usize) -> String {
    format!("fanout-{customer}@example.com")
}

/// Sends `rounds` estimate revisions for every order, from [`SENDERS`] senders at once, and waits
/// until every push the devices of `tally` expect has arrived; returns the time from the first
/// webhook sent to the last webhook answered (no devices) or the last push received.
async fn send_webhooks(
    url: &str,
    secrets: &[WebhookSecret],
    orders: &mut [Placed],
    rounds: usize,
    tally: Option<&Arc<Tally>>,
) -> anyhow::Result<Duration> {
    // Built and signed before the clock starts: the figure is the mock's, not the sender's.
    let mut shares: Vec<Vec<Revision>> = (0..SENDERS).map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (index, order) in orders.iter_mut().enumerate() {
            shares[index % SENDERS].push(order.next_revision(secrets)?);
        }
    }
    if let Some(tally) = tally {
        let per_order = rounds as u64;
        tally.expected.store(per_order * tally.last.len() as u64, Ordering::SeqCst);
    }
    let http = reqwest::Client::builder().timeout(WEBHOOK_WAIT).build()?;
    let webhook_url = format!("{url}/v1/webhooks/factory");
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for share in shares {
        let http = http.clone();
        let webhook_url = webhook_url.clone();
        senders.spawn(async move {
            for revision in share {
                revision.post(&http, &webhook_url).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    let Some(tally) = tally else { return Ok(started.elapsed()) };
    let settled = tally.settled.notified();
    tally.check_settled();
    let in_time = tokio::time::timeout(DELIVERY_WAIT, settled).await.is_ok();
    let elapsed = started.elapsed();
    let expected = tally.expected.load(Ordering::SeqCst);
    let delivered = tally.delivered.load(Ordering::SeqCst);
    let skipped = tally.skipped.load(Ordering::SeqCst);
    let strays = tally.strays.load(Ordering::SeqCst);
    let ended = tally.ended.load(Ordering::SeqCst);
    anyhow::ensure!(
        in_time && skipped == 0 && strays == 0 && ended == 0,
        "fan-out: {delivered} of {expected} pushes delivered{}, {skipped} skipped by a later version, \
         {strays} stray, {ended} streams ended",
        if in_time { String::new() } else { format!(" after {}s", DELIVERY_WAIT.as_secs()) },
    );
    Ok(elapsed)
}

/// A phone signed in and registered for SSE pushes.
struct Registered {
    device: usize,
    token: String,
    id: Uuid,
}

/// Signs in every device (each phone with its own code) and registers it for SSE pushes.
async fn register_devices(
    http: &reqwest::Client,
    url: &str,
    sandbox: &SandboxClient,
    devices: usize,
    customers: usize,
) -> anyhow::Result<Vec<Registered>> {
    let per_customer = futures_util::stream::iter(0..customers)
        .map(|index| async move {
            let email = email(index);
            let first = index * DEVICES_PER_CUSTOMER;
            let mut registered = Vec::with_capacity(DEVICES_PER_CUSTOMER);
            // One phone after the other: a new code replaces the one not yet used.
            for device in first..(first + DEVICES_PER_CUSTOMER).min(devices) {
                registered.push(register_device(http, url, sandbox, &email, device).await?);
            }
            anyhow::Ok(registered)
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(per_customer.into_iter().flatten().collect())
}

async fn register_device(
    http: &reqwest::Client,
    url: &str,
    sandbox: &SandboxClient,
    email: &str,
    device: usize,
) -> anyhow::Result<Registered> {
    let request = SignInCodeRequest { email: email.to_owned() };
    http.post(format!("{url}/v1/auth/sign-in-code")).json(&request).send().await?.error_for_status()?;
    let code = sandbox.sign_in_code(email).await?;
    let sign_in = SignInRequest { email: email.to_owned(), code };
    let session: Session =
        http.post(format!("{url}/v1/auth/token")).json(&sign_in).send().await?.error_for_status()?.json().await?;
    let token = session.access_token;
    let register = RegisterDeviceRequest { platform: PushPlatform::Sse, token: format!("caas-bench-fanout-{device}") };
    let view: DeviceView = http
        .post(format!("{url}/v1/devices"))
        .bearer_auth(&token)
        .json(&register)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Registered { device, token, id: view.id })
}

/// Opens every registered device's stream; returns them by device index. The mock subscribes a
/// stream before it answers, so no push sent after this returns is missed.
async fn open_streams(
    http: &reqwest::Client,
    url: &str,
    registered: Vec<Registered>,
) -> anyhow::Result<Vec<(usize, reqwest::Response)>> {
    futures_util::stream::iter(registered)
        .map(|Registered { device, token, id }| async move {
            let stream = http
                .get(format!("{url}/v1/devices/{id}/stream"))
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok((device, stream))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// Of a push's data, what the count needs; the rest (the change it may carry) is skipped unread.
#[derive(Deserialize)]
struct Seen {
    order_id: Uuid,
    order_version: u64,
}

/// The order and version of one server-sent event of the push stream.
fn seen(event: &[u8]) -> Option<Seen> {
    let text = std::str::from_utf8(event).ok()?;
    let mut kind = None;
    let mut data = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("event:") {
            kind = Some(rest.trim());
        } else if let Some(rest) = line.strip_prefix("data:") {
            data = Some(rest.trim_start());
        }
    }
    if kind != Some(SSE_EVENT) {
        return None;
    }
    serde_json::from_str(data?).ok()
}

/// Reads one device's stream until it ends or the task is aborted, checking that its order's
/// versions arrive one after the other.
async fn read_stream(response: reqwest::Response, order: Uuid, device: usize, tally: Arc<Tally>) {
    let mut splitter = SseSplitter::default();
    let mut body = response.bytes_stream();
    let mut last = tally.last[device].load(Ordering::SeqCst);
    while let Some(chunk) = body.next().await {
        let Ok(events) = chunk.map_err(drop).and_then(|chunk| splitter.push(&chunk).map_err(drop)) else { break };
        for event in events {
            match seen(&event) {
                Some(hint) if hint.order_id == order && hint.order_version > last => {
                    let skipped = hint.order_version - last - 1;
                    last = hint.order_version;
                    tally.last[device].store(last, Ordering::SeqCst);
                    tally.skipped.fetch_add(skipped, Ordering::SeqCst);
                    tally.delivered.fetch_add(1, Ordering::SeqCst);
                }
                _ => {
                    tally.strays.fetch_add(1, Ordering::SeqCst);
                }
            }
            tally.check_settled();
        }
    }
    tally.ended.fetch_add(1, Ordering::SeqCst);
    tally.check_settled();
}
