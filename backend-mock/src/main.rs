//! `caas-mock serve`: the CaaS platform mock as a server.

use caas_mock::cli::MockCommand;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "caas-mock", version, about = "The CaaS platform, factory and push gateway, simulated")]
struct Args {
    /// Print the startup facts as one JSON document on one line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: MockCommand,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    caas_mock::cli::init_logging();
    let args = Args::parse();
    args.command.run(args.json).await
}
