//! `caas pair`: link the phone to the car after delivery, over the simulated link to a running
//! mock's cars (the default) or a real Bluetooth radio.

use std::net::SocketAddr;
use std::time::Duration;

use caas_core::{
    Air, BleTransport, CaasError, LinkConditions, Paired, PairingListener, PairingOptions, PairingStep,
    SimulatedTransport,
};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use uuid::Uuid;

use crate::App;
use crate::failure::{Exit, Failure};
use crate::output::Output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// The simulated link to the cars of a running `caas mock serve`.
    Simulated,
    /// This machine's Bluetooth adapter (builds with `--features btleplug`).
    Btleplug,
}

#[derive(Debug, Args)]
pub struct PairArgs {
    order: Uuid,
    #[command(flatten)]
    link: LinkArgs,
}

/// How the phone reaches the car.
#[derive(Debug, Args)]
pub struct LinkArgs {
    #[arg(long, value_enum, default_value_t = TransportKind::Simulated)]
    transport: TransportKind,
    /// The mock's car radio (printed by `caas mock serve` as `car radio on ...`).
    #[arg(long, env = "CAAS_RADIO")]
    radio: Option<SocketAddr>,
    /// Simulated link: the ATT MTU to ask for (23 to 517).
    #[arg(long, default_value_t = 185, value_parser = clap::value_parser!(u16).range(23..=517))]
    mtu: u16,
    /// Simulated link: the connection interval in milliseconds (8 to 4000, as BLE allows).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(8..=4000))]
    interval_ms: u64,
    /// Simulated link: percent of packets lost (and sent again).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=50))]
    loss: u8,
}

impl LinkArgs {
    /// The simulated link to the mock's radio with these conditions, or the machine's radio.
    pub async fn transport(&self) -> anyhow::Result<Box<dyn BleTransport>> {
        match self.transport {
            TransportKind::Simulated => {
                let radio = self.radio.ok_or_else(|| {
                    Failure::usage("the simulated link needs the mock's car radio").with_fix(
                        "pass --radio HOST:PORT or set CAAS_RADIO, as `caas mock serve` printed it (`car radio on ...`)",
                    )
                })?;
                let conditions = LinkConditions {
                    mtu: self.mtu,
                    connection_interval: Duration::from_millis(self.interval_ms),
                    loss_percent: self.loss,
                    ..LinkConditions::default()
                };
                Ok(Box::new(SimulatedTransport::new(Air::Tcp(radio), conditions)))
            }
            TransportKind::Btleplug => real_radio().await,
        }
    }
}

/// A spinner showing each step of a car link, hidden for `--json`.
pub(crate) fn spinner(json: bool) -> ProgressBar {
    let spinner = if json { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Shows each step on a spinner.
pub(crate) struct StepPrinter(pub ProgressBar);

impl PairingListener for StepPrinter {
    fn on_step(&self, step: PairingStep) {
        self.0.set_message(describe(step));
        self.0.tick();
    }
}

pub(crate) fn describe(step: PairingStep) -> &'static str {
    match step {
        PairingStep::Scanning => "looking for your car",
        PairingStep::Connecting => "connecting",
        PairingStep::Authenticating => "checking the car and presenting your key",
        PairingStep::Linked => "linked",
    }
}

/// One line about a finished pairing.
pub(crate) fn summary(paired: &Paired) -> String {
    let link = &paired.link.total;
    let air = link.air_time.map(|t| format!(", {} ms on the air", t.as_millis())).unwrap_or_default();
    format!(
        "linked to {} (battery {}%, {} km); {} round trips at MTU {}, {} bytes sent, {} received{air}",
        paired.vin,
        paired.status.battery_percent,
        paired.status.odometer_km,
        link.round_trips,
        paired.link.mtu,
        link.bytes_to_car,
        link.bytes_to_phone
    )
}

impl App {
    pub async fn pair(&self, args: PairArgs) -> anyhow::Result<Output> {
        let core = self.core().await?;
        let transport = args.link.transport().await?;
        let spinner = spinner(self.json);
        let printer = StepPrinter(spinner.clone());
        let paired = core
            .pair_vehicle(args.order, transport.as_ref(), PairingOptions::default(), Some(&printer))
            .await
            .map_err(explain_pairing)?;
        spinner.finish_and_clear();
        let mut text = format!("Paired: {}", summary(&paired));
        if !paired.reported {
            text.push_str("\nNo signal: the platform hears of the link at the next `caas sync`.");
        }
        Ok(Output::new(
            text,
            serde_json::json!({
                "vin": paired.vin, "grant_id": paired.grant_id, "reported": paired.reported,
                "battery_percent": paired.status.battery_percent, "mtu": paired.link.mtu,
                "round_trips": paired.link.total.round_trips, "bytes_to_car": paired.link.total.bytes_to_car,
                "bytes_to_phone": paired.link.total.bytes_to_phone,
                "air_ms": paired.link.total.air_time.map(|t| t.as_millis()),
            }),
        ))
    }
}

#[cfg(feature = "btleplug")]
async fn real_radio() -> anyhow::Result<Box<dyn BleTransport>> {
    Ok(Box::new(caas_core::BtleplugTransport::first_adapter().await?))
}

#[cfg(not(feature = "btleplug"))]
async fn real_radio() -> anyhow::Result<Box<dyn BleTransport>> {
    Err(Failure::usage("this build has no Bluetooth support")
        .with_fix("build with `cargo build -p caas-cli --features btleplug`")
        .into())
}

/// A link failure; unreachable, it says the phone needs the platform once for its key.
pub(crate) fn explain_pairing(error: CaasError) -> anyhow::Error {
    match error {
        error if error.is_unreachable() => Failure::new(Exit::Offline, "offline", error.chain())
            .with_fix("this phone has no key for the car yet: connect once, then pair")
            .into(),
        other => other.into(),
    }
}
