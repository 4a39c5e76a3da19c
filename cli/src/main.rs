//! `caas`: the terminal shell of the CaaS companion.
// The terminal is this shell's user interface: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod customer;
mod delivery;
mod demo;
mod driver;
mod options;
mod pair;
mod pay;
mod record;
mod render;
mod service;

use std::path::PathBuf;

use caas_mock::cli::MockCommand;
use clap::{Parser, Subcommand};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "caas", version, about = "Follow a car from the factory to your door")]
struct Cli {
    /// The CaaS platform to talk to.
    #[arg(long, global = true, env = "CAAS_BACKEND", default_value = "http://127.0.0.1:8080")]
    backend: String,
    /// Where the app keeps its cache and secrets.
    #[arg(long, global = true, env = "CAAS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play a whole purchase on an embedded mock: sale, factory, every push, payment, registration,
    /// transport, handover and pairing the phone with the car.
    Demo(demo::DemoArgs),
    /// Run the platform mock.
    Mock {
        #[command(subcommand)]
        command: MockCommand,
    },
    /// Sign in with the code emailed to you (asked for when not given).
    SignIn {
        email: String,
        #[arg(long)]
        code: Option<String>,
    },
    /// End the session on the platform, revoke this device's phone keys and forget the cached orders.
    SignOut,
    /// Fetch what changed since the last sync.
    Sync,
    /// List your orders (synced first when online; from the cache otherwise).
    Orders {
        #[arg(long)]
        json: bool,
    },
    /// Show an order's timeline and the factory's estimates.
    Timeline {
        order: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Follow the push stream live until Ctrl-C.
    Watch,
    /// Pay the amount due of an order by card (resumes a payment in progress).
    Pay(pay::PayArgs),
    /// Your car's delivery: windows, address, handover code.
    Delivery {
        #[command(subcommand)]
        command: delivery::DeliveryCommand,
    },
    /// Link this phone to your car after delivery (over the simulated link to a mock's cars, or a
    /// Bluetooth radio).
    Pair(pair::PairArgs),
    /// Options for your car after delivery: what it can take, buying one, activating it nearby.
    Options {
        #[command(subcommand)]
        command: options::OptionsCommand,
    },
    /// Your car's maintenance: the next service, the car's report, workshop slots, reading the car.
    Service {
        #[command(subcommand)]
        command: service::ServiceCommand,
    },
    /// Revoke one of your car's phone keys (listed by `caas timeline`), e.g. of a lost phone.
    RevokeKey { order: Uuid, grant: Uuid },
    /// An order's purchase record as evidence: export it signed, check one offline.
    Record {
        #[command(subcommand)]
        command: record::RecordCommand,
    },
    /// The driver role: deliveries and every action at the car, also without signal.
    Driver {
        #[command(subcommand)]
        command: driver::DriverCommand,
    },
    /// Test-mode controls of a mock platform: 3-D Secure outcomes, a car's network coverage and driving, the clock.
    Sandbox {
        /// The mock's sandbox token (printed by `caas mock serve`).
        #[arg(long, env = "CAAS_SANDBOX_TOKEN")]
        sandbox_token: Option<String>,
        #[command(subcommand)]
        command: pay::SandboxCommand,
    },
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("caas")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    caas_mock::cli::init_logging();
    let cli = Cli::parse();
    let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
    let app = || customer::App { backend: cli.backend.clone(), data_dir: data_dir.clone() };
    match cli.command {
        Command::Demo(args) => Box::pin(demo::run(args)).await,
        Command::Mock { command } => command.run().await,
        Command::SignIn { email, code } => app().sign_in(&email, code).await,
        Command::SignOut => app().sign_out().await,
        Command::Sync => app().sync().await,
        Command::Orders { json } => app().orders(json).await,
        Command::Timeline { order, json } => app().timeline(order, json).await,
        Command::Watch => app().watch().await,
        Command::Pay(args) => app().pay(args).await,
        Command::Delivery { command } => app().delivery(command).await,
        Command::Pair(args) => app().pair(args).await,
        Command::Options { command } => app().options(command).await,
        Command::Service { command } => app().service(command).await,
        Command::RevokeKey { order, grant } => app().revoke_key(order, grant).await,
        Command::Record { command } => app().record(command).await,
        Command::Driver { command } => app().driver(command).await,
        Command::Sandbox { sandbox_token, command } => pay::sandbox(&cli.backend, sandbox_token, command).await,
    }
}
