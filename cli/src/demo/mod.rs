//! `caas demo`: a whole purchase on an embedded platform mock, as the customer's phone sees it:
//! every stage arrives as a push, is synced into the cache and shown; the phone pays the final
//! amount through the gateway simulator, the car is registered and booked on a transport, and a
//! driver's phone beside it takes the car to the door and hands it over on the customer's code;
//! the phone then pairs with the car over the simulated BLE link and the car is operational.
//! `--scenario absent-reschedule` and `absent-pickup` play the missed deliveries, `transit-incident`
//! the trip stopped on the way;
//! `--scenario payment-failure` the lost reservation and the car's sale from stock. After the
//! handover the customer buys heated seats for the car parked underground, out of the
//! connected-car network's reach, and the phone hands them to the car over the link;
//! `--scenario activation-refund` leaves the car unreached until the purchase is refunded.

mod delivery;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::{
    CustomerDetails, Money, RegisterSaleRequest, RegistrationDetails, VehicleConfiguration,
};
use caas_core::protocol::lifecycle::FACTORY_STAGES;
use caas_core::protocol::options::{Availability, OptionCode, PurchaseStatus};
use caas_core::protocol::payment::CardDetails;
use caas_core::protocol::push::PushHint;
use caas_core::{
    Air, Caas, CaasError, LinkConditions, OrderDetail, PairingListener, PairingOptions, PairingStep, PushOutcome,
    PushStream, SimulatedTransport,
};
use caas_mock::client::{DealershipClient, SandboxClient};
use caas_mock::{MockConfig, RunningMock, start};
use clap::Args;
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::customer::open_core;
use crate::failure::Failure;
use crate::output::{Unprinted, print_line, write_stdout};
use crate::render;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which journey to play.
    #[arg(long, value_enum, default_value_t = Scenario::Purchase)]
    scenario: Scenario,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Sale, factory, final payment, registration, transport, handover at the door.
    Purchase,
    /// Nobody home: a new time is agreed on the phone and the car comes back then.
    AbsentReschedule,
    /// Nobody home and no answer: the car returns to the dealership, where the customer collects it.
    AbsentPickup,
    /// A closed road stops the trip: the car goes back to the dealership, where the customer
    /// collects it.
    TransitIncident,
    /// A declined card, the deadline passing, the car back in stock and sold to a second customer.
    PaymentFailure,
    /// An option bought for a car nobody reaches (underground, the phone away): refunded when its
    /// activation period ends.
    ActivationRefund,
}

/// How long the phone may take to show a change after the platform made it.
const PUSH_TIMEOUT: Duration = Duration::from_secs(15);

const CUSTOMER_EMAIL: &str = "ana.garcia@example.com";
const SECOND_EMAIL: &str = "bruno.diaz@example.com";

/// Prints for people (above a progress bar on a terminal, plain lines otherwise), or nothing in
/// `--json` mode.
#[derive(Clone)]
struct Show {
    bar: ProgressBar,
    json: bool,
    /// Why stdout took no more lines, if it did not: the demo ends with it (quietly when the
    /// reader has gone), once its mock is stopped and its temporary folder removed.
    unprinted: Arc<Mutex<Option<Unprinted>>>,
}

impl Show {
    fn new(json: bool, steps: u64) -> Self {
        let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(steps) };
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { bar, json, unprinted: Arc::default() }
    }

    fn line(&self, text: impl AsRef<str>) {
        match (self.json, self.bar.is_hidden()) {
            (true, _) => {}
            (false, true) => {
                if let Ok(mut unprinted) = self.unprinted.lock()
                    && unprinted.is_none()
                {
                    *unprinted = print_line(text.as_ref()).err();
                }
            }
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

/// Tells the terminal about each push.
fn print_push(show: &Show, hint: &PushHint, outcome: PushOutcome) {
    let what = match outcome {
        PushOutcome::Synced { new_events } => format!("synced {new_events} new event(s)"),
        PushOutcome::Duplicate => "duplicate, ignored".into(),
        PushOutcome::NotForThisAccount => "not for this account, ignored".into(),
    };
    show.line(format!("  push  v{:<3} {:<24} {what}", hint.order_version, hint.kind));
}

/// A customer's phone in the demo, following one order.
struct Phone {
    core: Caas,
    progress: watch::Receiver<Option<OrderDetail>>,
    _subscriptions: (AbortOnDropHandle<()>, AbortOnDropHandle<()>, PushStream),
}

impl Phone {
    async fn sign_in(
        mock: &RunningMock,
        sandbox: &SandboxClient,
        show: &Show,
        dir: PathBuf,
        email: &str,
        order: Uuid,
    ) -> anyhow::Result<Self> {
        let core = open_core(&mock.url, dir).await?;
        core.request_sign_in_code(email).await?;
        let code = sandbox.sign_in_code(email).await?;
        core.sign_in(email, &code).await?;
        core.sync().await?;
        let show_pushes = show.clone();
        let pushes = core.push_updates().for_each(move |(hint, outcome)| {
            print_push(&show_pushes, &hint, outcome);
            std::future::ready(())
        });
        let pushes = AbortOnDropHandle::new(tokio::spawn(pushes));
        let (tx, progress) = watch::channel(None);
        let updates = core.order_updates(order).for_each(move |order| {
            tx.send_replace(Some(order));
            std::future::ready(())
        });
        let updates = AbortOnDropHandle::new(tokio::spawn(updates));
        let stream = core.connect_push_stream().await?;
        show.line(format!("Phone: signed in as {email}, listening for pushes on device {}", stream.device_id()));
        Ok(Self { core, progress, _subscriptions: (pushes, updates, stream) })
    }

    /// Waits until the phone's cache holds the order at `version` or later.
    async fn reaches(&mut self, version: u64) -> anyhow::Result<OrderDetail> {
        self.until(|o| o.summary.version >= version, &format!("version {version}")).await
    }

    async fn shows(&mut self, state: OrderState) -> anyhow::Result<OrderDetail> {
        self.until(|o| o.summary.state == state, state.wire_name()).await
    }

    async fn until(&mut self, done: impl Fn(&OrderDetail) -> bool, what: &str) -> anyhow::Result<OrderDetail> {
        let seen = tokio::time::timeout(PUSH_TIMEOUT, self.progress.wait_for(|o| o.as_ref().is_some_and(&done)))
            .await
            .with_context(|| format!("the phone did not show {what} within {PUSH_TIMEOUT:?}"))?
            .context("the core stopped")?;
        seen.clone().context("no order")
    }
}

/// A Spanish customer with what Spain's registry needs, as the demo and the bench sell to.
pub(crate) fn spanish_customer(name: &str, email: &str) -> CustomerDetails {
    CustomerDetails {
        email: email.into(),
        name: name.into(),
        country: "ES".into(),
        phone: Some("+34600123456".into()),
        registration: RegistrationDetails {
            national_id: Some("12345678Z".into()),
            tax_number: None,
            address: Some("Calle de Alcalá 42, 28014 Madrid".into()),
        },
    }
}

/// A sandbox card with a valid expiry and security code.
pub(crate) fn card(number: &str) -> CardDetails {
    CardDetails { number: number.into(), exp_month: 12, exp_year: 2034, cvc: "123".into() }
}

fn deposit() -> Money {
    Money { amount_minor: 150_000, currency: "EUR".into() }
}

pub async fn run(args: DemoArgs, json: bool) -> anyhow::Result<crate::output::Output> {
    let path = match args.scenario {
        Scenario::Purchase | Scenario::ActivationRefund => Some(delivery::Path::Present),
        Scenario::AbsentReschedule => Some(delivery::Path::AbsentRescheduled),
        Scenario::AbsentPickup => Some(delivery::Path::AbsentPickup),
        Scenario::TransitIncident => Some(delivery::Path::TransitIncident),
        Scenario::PaymentFailure => None,
    };
    let steps = 2 + FACTORY_STAGES.len() as u64 + path.map_or(5, |p| 8 + p.steps());
    let show = Show::new(json, steps);
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let mock = start(MockConfig::ephemeral(dir.path().join("platform.sqlite3"))).await?;
    show.line(format!(
        "CaaS platform mock on {} (factory simulator on {}, payment gateway on {})",
        mock.url, mock.factory_url, mock.gateway_url
    ));

    let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
    let dealership = sandbox.dealership("madrid-centro").await?;
    let sale = RegisterSaleRequest {
        customer: spanish_customer("Ana García", CUSTOMER_EMAIL),
        configuration: VehicleConfiguration {
            base_platform: "urban-ev".into(),
            options: vec!["heat-pump".into(), "long-range-battery".into()],
        },
        delivery_locality: "Madrid".into(),
    };
    let order = dealership.register_sale(&sale).await?;
    show.line(format!(
        "Dealership {}: sale registered for {} ({}), list price {}",
        order.dealership.name,
        sale.customer.name,
        order.id,
        order.price.as_ref().map_or_else(|| "?".into(), ToString::to_string)
    ));

    let mut phone = Phone::sign_in(&mock, &sandbox, &show, dir.path().join("phone"), CUSTOMER_EMAIL, order.id).await?;
    phone.reaches(order.version).await?;
    show.step("sale registered");

    let placed = dealership.record_reservation(order.id, deposit()).await?;
    show.line(format!(
        "Dealership: deposit of {} recorded; factory order {} for VIN {}",
        deposit(),
        placed.factory_order_id.as_deref().unwrap_or("?"),
        placed.vin.as_deref().unwrap_or("?")
    ));
    let seen = phone.reaches(placed.version).await?;
    show.step(seen.summary.state.wire_name());

    for stage in FACTORY_STAGES.iter().skip(1) {
        show.pace().await;
        let platform = sandbox.advance_factory(order.id, Some(*stage)).await?;
        let seen = phone.reaches(platform.version).await?;
        show.line(format!("Factory: {}; the phone shows {}", stage.wire_name(), seen.summary.state.wire_name()));
        show.step(stage.wire_name());
    }
    let due = phone.shows(OrderState::AwaitingFinalPayment).await?;
    if let Some(payment) = &due.final_payment {
        show.line(format!(
            "Phone: the car is in {}; {} is due before {} ({} left)",
            due.delivery_locality,
            payment.amount_due,
            payment.deadline.format("%Y-%m-%d %H:%M UTC"),
            render::countdown(payment.seconds_left)
        ));
    }

    let outcome = match path {
        None => payment_failure(&mock, &sandbox, &dealership, &show, &mut phone, order.id, dir.path()).await?,
        Some(path) => {
            pay_and_book(&mut phone, &show, order.id, "Ana").await?;
            let stage = delivery::Stage { mock: &mock, sandbox: &sandbox, dealership: &dealership, show: &show };
            stage.deliver(&mut phone, order.id, dir.path(), path).await?;
            pair(&mock, &mut phone, &show, order.id).await?;
            let reached = args.scenario != Scenario::ActivationRefund;
            add_option(&mock, &sandbox, &mut phone, &show, order.id, reached).await?;
            let detail = service(&sandbox, &mut phone, &show, order.id).await?;
            Outcome { detail, resale: None }
        }
    };
    show.bar.finish_with_message(outcome.detail.summary.state.wire_name());
    // The phone lets go of the platform first, so no push is left half handled.
    drop(phone);
    mock.stop().await;
    if let Some(unprinted) = show.unprinted.lock().ok().and_then(|mut unprinted| unprinted.take()) {
        return Err(unprinted.into());
    }
    report(&outcome, json, order.id)?;
    Ok(crate::output::Output::done())
}

/// What the demo ends with: the first order, and in the failure scenario the stock car's sale.
struct Outcome {
    detail: OrderDetail,
    resale: Option<OrderDetail>,
}

/// Pairs the phone with the delivered car over the simulated link (MTU 185, 30 ms connection
/// interval) to the mock's car: the order ends `operational`.
async fn pair(mock: &RunningMock, phone: &mut Phone, show: &Show, order: Uuid) -> anyhow::Result<OrderDetail> {
    show.pace().await;
    let radio = mock.radio.clone();
    let air = Air::InProcess(Arc::new(move || radio.connect_in_process()));
    let transport = SimulatedTransport::new(air, LinkConditions::default());
    let steps = PairingSteps(show.clone());
    let paired = phone.core.pair_vehicle(order, &transport, PairingOptions::default(), Some(&steps)).await?;
    show.line(format!("Phone: {}", crate::pair::summary(&paired)));
    show.step("paired");
    let operational = phone.shows(OrderState::Operational).await?;
    show.line("Platform: the car confirmed the link; the car is operational");
    show.step("operational");
    Ok(operational)
}

/// The customer buys heated seats for the car, parked underground out of the connected-car
/// network's reach. When `reached`, the phone beside the car hands the option over the link;
/// otherwise nobody reaches the car and the purchase is refunded when its period ends.
async fn add_option(
    mock: &RunningMock,
    sandbox: &SandboxClient,
    phone: &mut Phone,
    show: &Show,
    order: Uuid,
    reached: bool,
) -> anyhow::Result<OrderDetail> {
    show.pace().await;
    let vin = phone.core.order(order).await?.vin.context("the car has a VIN")?;
    sandbox.set_coverage(&vin, false).await?;
    show.line("Sandbox: the car is parked underground, out of the connected-car network's reach");
    let catalogue = phone.core.option_catalogue(order).await?;
    let offered: Vec<String> = catalogue
        .offers
        .iter()
        .filter(|offer| offer.availability == Availability::Available)
        .map(|offer| format!("{} ({})", offer.name, offer.price))
        .collect();
    show.line(format!("Phone: options for the car: {}", offered.join(", ")));
    let seats = OptionCode::parse("heated-seats")?;
    let price = catalogue
        .offers
        .iter()
        .find(|o| o.code == seats)
        .map(|o| o.price.clone())
        .context("heated seats are offered")?;
    let progress = phone.core.buy_option(order, seats.clone(), price, card("4242424242424242")).await?;
    show.line(format!("Phone: Ana buys heated seats by card ending 4242: {}", crate::pay::progress_word(&progress)));
    let bought = phone.until(|o| o.options.iter().any(|p| p.option == seats), "the option bought").await?;
    if let Some(purchase) = bought.options.iter().find(|p| p.option == seats) {
        show.line(format!(
            "Platform: entitlement signed for the car; it must switch the option on by {}",
            purchase.activate_by.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    show.step("option bought");
    show.pace().await;
    let settled = if reached {
        let radio = mock.radio.clone();
        let air = Air::InProcess(Arc::new(move || radio.connect_in_process()));
        let transport = SimulatedTransport::new(air, LinkConditions::default());
        let done = phone.core.activate_options(order, &transport, PairingOptions::default(), None).await?;
        let listed: Vec<String> = done.car_options.iter().map(crate::options::name).collect();
        show.line(format!(
            "Phone: beside the car, hands it over the link: {} activated; the car lists: {}",
            done.activated.len(),
            listed.join(", ")
        ));
        let active = phone
            .until(|o| o.options.iter().any(|p| p.status == PurchaseStatus::Activated), "the option active")
            .await?;
        show.line("Platform: the car's signed receipt is on the purchase record: option activated");
        active
    } else {
        sandbox.advance_clock(97 * 3_600).await?;
        show.line("Sandbox: four days pass; neither the network nor the phone reached the car");
        let refunded =
            phone.until(|o| o.options.iter().any(|p| p.status == PurchaseStatus::Refunded), "the refund").await?;
        show.line("Platform: the option was never confirmed by the car; its price went back to the card");
        refunded
    };
    show.step("option settled");
    Ok(settled)
}

/// Months later: the car, out of the garage, reports its odometer by itself, the platform reminds
/// the customer that the service is near, and the customer books the workshop's first free slot.
async fn service(sandbox: &SandboxClient, phone: &mut Phone, show: &Show, order: Uuid) -> anyhow::Result<OrderDetail> {
    show.pace().await;
    let vin = phone.core.order(order).await?.vin.context("the car has a VIN")?;
    sandbox.set_coverage(&vin, true).await?;
    sandbox.drive(&vin, 19_300, &[]).await?;
    show.line("Sandbox: months later the car, out of the garage, has been driven 19300 km and reports it");
    let due = phone
        .until(|o| o.maintenance.as_ref().is_some_and(|m| m.odometer_km >= 19_300), "the car's report")
        .await?
        .maintenance
        .context("maintenance")?;
    show.line(format!(
        "Phone: the service is due at {} km or by {}, whichever comes first; the car reads {} km",
        due.next_service.due_km, due.next_service.due_by, due.odometer_km
    ));
    show.step("service due");
    let slots = phone.core.service_slots(order).await?;
    let slot = slots.first().context("the workshop has a free slot")?;
    phone.core.book_service(order, slot.start).await?;
    let booked = phone.until(|o| o.maintenance.as_ref().is_some_and(|m| m.booking.is_some()), "the booking").await?;
    show.line(format!("Phone: Ana books the workshop for {} UTC", slot.start.format("%Y-%m-%d %H:%M")));
    show.step("service booked");
    Ok(booked)
}

/// Shows the pairing's steps as lines.
struct PairingSteps(Show);

impl PairingListener for PairingSteps {
    fn on_step(&self, step: PairingStep) {
        self.0.line(format!("  ble   {}", crate::pair::describe(step)));
    }
}

/// Pays the amount due; the car is registered and booked on a transport.
async fn pay_and_book(phone: &mut Phone, show: &Show, order: Uuid, who: &str) -> anyhow::Result<OrderDetail> {
    show.pace().await;
    let progress = phone.core.pay(order, card("4242424242424242")).await?;
    show.line(format!("Phone: {who} pays by card ending 4242: {}", crate::pay::progress_word(&progress)));
    show.step("paid");
    let booked = phone.shows(OrderState::TransportScheduled).await?;
    if let Some(registration) = &booked.registration {
        show.line(format!(
            "Registry {}: the car is registered with plate {}",
            registration.authority, registration.plate
        ));
    }
    if let Some(delivery) = &booked.delivery {
        show.line(format!(
            "Platform: transport booked with {} for {}",
            delivery.company.name,
            render::window(&delivery.window)
        ));
    }
    show.step("registered and booked");
    Ok(booked)
}

async fn payment_failure(
    mock: &RunningMock,
    sandbox: &SandboxClient,
    dealership: &DealershipClient,
    show: &Show,
    phone: &mut Phone,
    order: Uuid,
    dir: &std::path::Path,
) -> anyhow::Result<Outcome> {
    match phone.core.pay(order, card("4000000000000002")).await {
        Err(CaasError::PaymentRefused { refusal, message }) => {
            let code = Failure::from(CaasError::PaymentRefused { refusal, message: message.clone() }).code;
            show.line(format!("Phone: the card ending 0002 is refused ({code}: {message})"));
        }
        other => anyhow::bail!("the declined sandbox card was not refused: {other:?}"),
    }
    show.step("card declined");
    show.pace().await;
    sandbox.advance_clock(7 * 86_400 + 60).await?;
    show.line("Sandbox: the platform's clock moves a week on, past the payment deadline");
    let lost = phone.shows(OrderState::DealershipStock).await?;
    show.line(format!(
        "Phone: {} — the reservation is lost{}",
        lost.summary.state.wire_name(),
        if lost.actions.is_empty() { ", payment is no longer offered" } else { "" }
    ));
    show.step("reservation lost");

    let vin = lost.vin.clone().context("the car has a VIN")?;
    let stock = dealership.stock().await?;
    let car = stock.iter().find(|c| c.vin == vin).context("the car is in the dealership's stock")?;
    show.line(format!(
        "Dealership: {} is in stock ({}, {} factory stages on record, {})",
        car.vin,
        car.configuration.base_platform,
        car.manufacturing.len(),
        car.price
    ));
    let resale = dealership.sell_from_stock(&vin, spanish_customer("Bruno Díaz", SECOND_EMAIL), "Toledo").await?;
    let reserved = dealership.record_reservation(resale.id, deposit()).await?;
    show.line(format!(
        "Dealership: sold to Bruno Díaz ({}), deposit recorded; no factory order: {}",
        resale.id,
        reserved.state.wire_name()
    ));
    show.step("sold from stock");
    let mut second = Phone::sign_in(mock, sandbox, show, dir.join("second-phone"), SECOND_EMAIL, resale.id).await?;
    second.shows(OrderState::AwaitingFinalPayment).await?;
    let registered = pay_and_book(&mut second, show, resale.id, "Bruno").await?;
    let detail = phone.shows(OrderState::DealershipStock).await?;
    Ok(Outcome { detail, resale: Some(registered) })
}

fn report(outcome: &Outcome, json: bool, order: Uuid) -> Result<(), Unprinted> {
    let detail = &outcome.detail;
    if json {
        let mut value = render::detail_json(detail);
        value["order_id"] = json!(order);
        value["status"] = json!(detail.summary.state);
        if let Some(resale) = &outcome.resale {
            let mut sold = render::detail_json(resale);
            sold["order_id"] = json!(resale.summary.id);
            sold["status"] = json!(resale.summary.state);
            value["resale"] = sold;
        }
        print_line(value)
    } else {
        let mut text = format!("\n{}", render::timeline_text(detail));
        if let Some(resale) = &outcome.resale {
            text.push('\n');
            text.push_str(&render::timeline_text(resale));
        }
        if detail.summary.state == OrderState::Operational {
            text.push_str("The car is with its owner, linked to the phone, and operational.\n");
        }
        write_stdout(&text)
    }
}
