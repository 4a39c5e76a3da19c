//! `caas`: the terminal shell of the CaaS companion.
// The terminal is this shell's user interface: printing is its job. Stdout is written through
// `output::write_stdout` only, which tells when the reader has gone, so `print!` stays linted.

mod customer;
mod dealership;
mod delivery;
mod demo;
mod driver;
mod failure;
mod listen;
mod options;
mod output;
mod pair;
mod pay;
mod record;
mod render;
mod roles;
mod sandbox;
mod service;

use std::path::PathBuf;
use std::process::ExitCode;

use caas_mock::cli::MockCommand;
use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::failure::Failure;
use crate::output::{Output, Unprinted};

const EXIT_STATUSES: &str = "Exit status: 0 done, 2 usage, 3 refused (by the platform, the car or a rule: \
the same request will not work), 4 offline or not yet (the platform or the car could not be reached or \
serve, asks to wait, or the order has not got there: try again later), 5 internal. With --json every \
command prints one JSON document on stdout (an error too, as {\"error\": {\"code\", \"message\", \"fix\", \
\"exit\"}}); `listen`, `watch` and `delivery code --live` print one per line, and `mock serve` one \
at its start (where it listens, the sandbox token it made).";

#[derive(Parser)]
#[command(name = "caas", version, about = "Follow a car from the factory to your door", after_help = EXIT_STATUSES)]
struct Cli {
    /// The CaaS platform to talk to.
    #[arg(long, global = true, env = "CAAS_BACKEND", default_value = "http://127.0.0.1:8080")]
    backend: String,
    /// Where the app keeps its caches and secrets, one folder per role (customer, driver,
    /// dealership) [default: ~/.local/share/caas].
    #[arg(long, global = true, env = "CAAS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print one JSON document on stdout and nothing else.
    #[arg(long, global = true)]
    json: bool,
    /// The mock's sandbox token (printed by `caas mock serve`), for `sandbox`, `factory`,
    /// `listen` and every `sign-in --sandbox`.
    #[arg(long, global = true, env = "CAAS_SANDBOX_TOKEN", hide_env_values = true)]
    sandbox_token: Option<String>,
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
    /// Sign in with the code emailed to you (asked for when not given; read from the mock's
    /// sandbox with --sandbox).
    SignIn(customer::SignInArgs),
    /// End the session on the platform, revoke this device's phone keys and forget the cached orders.
    SignOut,
    /// Fetch what changed since the last sync.
    Sync,
    /// List your orders (synced first when online; from the cache otherwise).
    Orders,
    /// Show an order's timeline and the factory's estimates.
    Timeline { order: Uuid },
    /// Follow your push stream live until Ctrl-C.
    Watch,
    /// Follow everything the platform does as it happens: events, pushes, emails, SMS and the
    /// webhooks it receives (needs the sandbox token).
    Listen(listen::ListenArgs),
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
    /// The dealership role: sales, deposits, stock, returned cars, the desk's handover, workshop visits.
    Dealership {
        #[command(subcommand)]
        command: dealership::DealershipCommand,
    },
    /// The factory simulator of a mock platform: move an order's production on, or delay it.
    Factory {
        #[command(subcommand)]
        command: sandbox::FactoryCommand,
    },
    /// Test-mode controls of a mock platform: sign-in codes and sessions, messages, next steps,
    /// faults, the clock, the ledger, cars and keys, handover codes, a newer platform's events and
    /// a rewritten history.
    Sandbox {
        #[command(subcommand)]
        command: sandbox::SandboxCommand,
    },
}

/// What every command gets: where the platform is, where this machine keeps its data, how to print.
pub struct App {
    pub backend: String,
    pub data_root: PathBuf,
    pub json: bool,
    pub sandbox_token: Option<String>,
}

impl std::fmt::Debug for App {
    /// Everything but the sandbox token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.backend)
            .field("data_root", &self.data_root)
            .field("json", &self.json)
            .field("sandbox_token", &self.sandbox_token.as_ref().map(|_| "…"))
            .finish()
    }
}

fn main() -> ExitCode {
    caas_mock::cli::init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let json = cli.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return report(json, Failure::of(error.into())),
    };
    match runtime.block_on(run(cli)) {
        Ok(output) => printed(json, output.print(json)),
        // A live command stops when its lines cannot be printed.
        Err(error) => match error.downcast::<Unprinted>() {
            Ok(unprinted) => printed(json, Err(unprinted)),
            Err(error) => report(json, Failure::of(error)),
        },
    }
}

/// The exit of a command that did its work and printed: a reader that stopped reading (`caas
/// orders | head`) is no failure of the command, so it ends quietly with status 0.
fn printed(json: bool, printed: Result<(), Unprinted>) -> ExitCode {
    match printed {
        Ok(()) | Err(Unprinted::ReaderGone) => ExitCode::SUCCESS,
        Err(Unprinted::Failed(failure)) => report(json, failure),
    }
}

/// Help and version as clap prints them; a usage error as clap prints it, or with `--json` as one
/// document like every other failure.
fn usage(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || !std::env::args_os().any(|arg| arg == "--json")
    {
        let _printed = error.print();
        return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
    }
    report(true, usage_failure(error))
}

/// A usage error as one failure: clap's whole complaint (every missing argument, its tip) as the
/// message, and the command's usage line as the fix, since a script reading the JSON has no
/// terminal to show clap's text on.
fn usage_failure(error: &clap::Error) -> Failure {
    let rendered = error.render().to_string();
    let mut complaint = String::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if let Some(rest) = line.strip_prefix("Usage: ") {
            usage = Some(rest);
            break;
        }
        if line.starts_with("For more information") {
            break;
        }
        let separator = if complaint.is_empty() {
            ""
        } else if line.starts_with("tip:") {
            "; "
        } else {
            " "
        };
        complaint.push_str(separator);
        complaint.push_str(line.strip_prefix("error: ").unwrap_or(line));
    }
    // Help shown for a command given without its subcommand: the text before `Usage:` is the
    // command's description, not a complaint.
    if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        complaint = "a subcommand or argument is missing".to_owned();
    }
    let fix = match usage {
        Some(usage) => {
            let command: Vec<&str> =
                usage.split_whitespace().take_while(|word| !word.starts_with(['[', '<', '-'])).collect();
            format!("usage: {usage} (`{} --help` says more)", command.join(" "))
        }
        None => "add --help to the command to see what it takes".to_owned(),
    };
    Failure::usage(complaint).with_fix(fix)
}

/// Tells a failed command's failure and ends with its exit status, also when stdout takes nothing:
/// a script reads the status even when nobody reads the JSON.
fn report(json: bool, failure: Failure) -> ExitCode {
    if !json {
        output::tell(failure.text());
    } else if let Err(unprinted) = output::print_line(failure.json()) {
        // The failure is told where a person still sees it.
        output::tell(failure.text());
        if let Unprinted::Failed(also) = unprinted {
            output::tell(also.text());
        }
    }
    failure.exit_code()
}

async fn run(cli: Cli) -> anyhow::Result<Output> {
    let app = App {
        backend: cli.backend,
        data_root: cli.data_dir.unwrap_or_else(roles::default_root),
        json: cli.json,
        sandbox_token: cli.sandbox_token,
    };
    match cli.command {
        Command::Demo(args) => Box::pin(demo::run(args, app.json)).await,
        Command::Mock { command } => command.run(app.json).await.map(|()| Output::done()),
        Command::SignIn(args) => app.sign_in(args).await,
        Command::SignOut => app.sign_out().await,
        Command::Sync => app.sync().await,
        Command::Orders => app.orders().await,
        Command::Timeline { order } => app.timeline(order).await,
        Command::Watch => app.watch().await,
        Command::Listen(args) => app.listen(args).await,
        Command::Pay(args) => app.pay(args).await,
        Command::Delivery { command } => app.delivery(command).await,
        Command::Pair(args) => app.pair(args).await,
        Command::Options { command } => app.options(command).await,
        Command::Service { command } => app.service(command).await,
        Command::RevokeKey { order, grant } => app.revoke_key(order, grant).await,
        Command::Record { command } => app.record(command).await,
        Command::Driver { command } => app.driver(command).await,
        Command::Dealership { command } => app.dealership(command).await,
        Command::Factory { command } => app.factory(command).await,
        Command::Sandbox { command } => app.sandbox(command).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::failure::Exit;

    fn usage_of(args: &[&str]) -> Failure {
        let error = Cli::try_parse_from(args).err().expect("a usage error");
        usage_failure(&error)
    }

    /// Issue 16: with --json a usage error kept only clap's first line ("the following required
    /// arguments were not provided:"), which named no argument.
    #[test]
    fn a_usage_error_names_every_missing_argument_and_the_commands_usage() {
        let failure = usage_of(&["caas", "--json", "dealership", "deposit", "0190f5a0-0000-7000-8000-000000000001"]);
        assert_eq!((failure.code.as_str(), failure.exit), ("usage", Exit::Usage));
        assert_eq!(failure.message, "the following required arguments were not provided: --amount <AMOUNT>");
        assert_eq!(
            failure.fix.as_deref(),
            Some(
                "usage: caas dealership deposit --amount <AMOUNT> <ORDER> \
                 (`caas dealership deposit --help` says more)"
            )
        );
    }

    #[test]
    fn a_usage_error_keeps_claps_tip_and_a_missing_subcommand_is_named() {
        let failure = usage_of(&["caas", "--json", "sandbox", "clock", "--dayz", "2"]);
        assert!(
            failure.message.contains("'--dayz'")
                && failure.message.contains("; tip: a similar argument exists: '--days'"),
            "{}",
            failure.message
        );
        let failure = usage_of(&["caas", "--json", "sandbox"]);
        assert_eq!(failure.message, "a subcommand or argument is missing");
        assert!(failure.fix.is_some_and(|fix| fix.contains("`caas sandbox --help`")));
    }
}
