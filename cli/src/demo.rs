//! `caas demo`: the whole manufacturing journey on an embedded platform mock, as the customer's
//! phone sees it: every stage arrives as a push, is synced into the cache and shown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::{CustomerDetails, Money, RegisterSaleRequest, VehicleConfiguration};
use caas_core::protocol::lifecycle::FACTORY_STAGES;
use caas_core::protocol::push::PushHint;
use caas_core::{OrderDetail, OrderListener, PushListener, PushOutcome};
use caas_mock::client::SandboxClient;
use caas_mock::{MockConfig, start};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::customer::open_core;
use crate::render;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print only one JSON object, on the last line, for scripts.
    #[arg(long)]
    json: bool,
}

/// How long the phone may take to show a change after the platform made it.
const PUSH_TIMEOUT: Duration = Duration::from_secs(15);

const CUSTOMER_EMAIL: &str = "ana.garcia@example.com";

/// Prints for people (above a progress bar on a terminal, plain lines otherwise), or nothing in
/// `--json` mode.
#[derive(Clone)]
struct Show {
    bar: ProgressBar,
    json: bool,
}

impl Show {
    fn new(json: bool, steps: u64) -> Self {
        let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(steps) };
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { bar, json }
    }

    fn line(&self, text: impl AsRef<str>) {
        match (self.json, self.bar.is_hidden()) {
            (true, _) => {}
            (false, true) => println!("{}", text.as_ref()),
            (false, false) => self.bar.println(text.as_ref()),
        }
    }

    /// A short pause between stages on a terminal, so a person can follow; none otherwise.
    async fn pace(&self) {
        if !self.bar.is_hidden() {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }

    fn step(&self, message: impl Into<String>) {
        self.bar.inc(1);
        self.bar.set_message(message.into());
    }
}

/// Tells the terminal about each push, and the waiting demo about the order's progress.
struct PushPrinter {
    show: Show,
}

impl PushListener for PushPrinter {
    fn on_push(&self, hint: PushHint, outcome: PushOutcome) {
        let what = match outcome {
            PushOutcome::Synced { new_events } => format!("synced {new_events} new event(s)"),
            PushOutcome::Duplicate => "duplicate, ignored".into(),
            PushOutcome::NotForThisAccount => "not for this account, ignored".into(),
        };
        self.show.line(format!("  push  v{:<3} {:<24} {what}", hint.order_version, hint.kind));
    }
}

struct Progress(watch::Sender<Option<OrderDetail>>);

impl OrderListener for Progress {
    fn on_order(&self, order: OrderDetail) {
        self.0.send_replace(Some(order));
    }
}

/// Waits until the phone's cache holds the order at `version` or later.
async fn phone_reaches(
    progress: &mut watch::Receiver<Option<OrderDetail>>,
    version: u64,
) -> anyhow::Result<OrderDetail> {
    let seen = tokio::time::timeout(
        PUSH_TIMEOUT,
        progress.wait_for(|order| order.as_ref().is_some_and(|o| o.summary.version >= version)),
    )
    .await
    .with_context(|| format!("the phone did not receive version {version} within {PUSH_TIMEOUT:?}"))?
    .context("the core stopped")?;
    seen.clone().context("no order")
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let show = Show::new(args.json, 2 + FACTORY_STAGES.len() as u64);
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let mock = start(MockConfig::ephemeral(dir.path().join("platform.sqlite3"))).await?;
    show.line(format!("CaaS platform mock on {} (factory simulator on {})", mock.url, mock.factory_url));

    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let dealership = sandbox.dealership("madrid-centro").await?;
    let sale = RegisterSaleRequest {
        customer: CustomerDetails {
            email: CUSTOMER_EMAIL.into(),
            name: "Ana García".into(),
            country: "ES".into(),
            phone: Some("+34600123456".into()),
        },
        configuration: VehicleConfiguration {
            base_platform: "urban-ev".into(),
            options: vec!["heat-pump".into(), "long-range-battery".into()],
        },
        delivery_locality: "Madrid".into(),
    };
    let order = dealership.register_sale(&sale).await?;
    show.line(format!(
        "Dealership {}: sale registered for {} ({})",
        order.dealership.name, sale.customer.name, order.id
    ));

    let core = open_core(&mock.url, dir.path().join("phone")).await?;
    core.request_sign_in_code(CUSTOMER_EMAIL).await?;
    let code = sandbox.sign_in_code(CUSTOMER_EMAIL).await?;
    core.sign_in(CUSTOMER_EMAIL, &code).await?;
    core.sync().await?;
    let _pushes = core.subscribe_pushes(Arc::new(PushPrinter { show: show.clone() }));
    let (tx, mut progress) = watch::channel(None);
    let _order_updates = core.subscribe_order(order.id, Arc::new(Progress(tx)));
    let stream = core.connect_push_stream().await?;
    show.line(format!("Phone: signed in as {CUSTOMER_EMAIL}, listening for pushes on device {}", stream.device_id()));
    phone_reaches(&mut progress, order.version).await?;
    show.step("sale registered");

    let placed =
        dealership.record_reservation(order.id, Money { amount_minor: 150_000, currency: "EUR".into() }).await?;
    show.line(format!(
        "Dealership: deposit of 1500.00 EUR recorded; factory order {} for VIN {}",
        placed.factory_order_id.as_deref().unwrap_or("?"),
        placed.vin.as_deref().unwrap_or("?")
    ));
    let seen = phone_reaches(&mut progress, placed.version).await?;
    show.step(seen.summary.state.wire_name());

    for stage in FACTORY_STAGES.iter().skip(1) {
        show.pace().await;
        let platform = sandbox.advance_factory(order.id, Some(*stage)).await?;
        let seen = phone_reaches(&mut progress, platform.version).await?;
        show.line(format!("Factory: {}; the phone shows {}", stage.wire_name(), seen.summary.state.wire_name()));
        show.step(stage.wire_name());
    }
    show.bar.finish_with_message("the car is in the customer's locality");

    let detail = phone_reaches(&mut progress, sandbox.order_events(order.id).await?.len() as u64).await?;
    drop(stream);
    mock.stop().await;
    report(&detail, args.json, order.id);
    Ok(())
}

fn report(detail: &OrderDetail, json: bool, order: Uuid) {
    if json {
        let mut value = render::detail_json(detail);
        value["order_id"] = json!(order);
        value["status"] = json!(detail.summary.state);
        println!("{value}");
    } else {
        println!();
        print!("{}", render::timeline_text(detail));
        if detail.summary.state == OrderState::DispatchedToLocality {
            println!("The car is ready in {}: the final payment comes next.", detail.delivery_locality);
        }
    }
}
