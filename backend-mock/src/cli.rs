//! The command line of the mock, shared by `caas-mock` and `caas mock`.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use caas_protocol::webhook::WebhookSecret;
use clap::{Args, Subcommand};

use crate::{MockConfig, random_token, random_webhook_secret, start};

#[derive(Debug, Subcommand)]
pub enum MockCommand {
    /// Serve the platform API (and the factory simulator beside it) until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port of the platform API; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind; loopback unless you mean otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The SQLite database; created if missing, resumed if present.
    #[arg(long, default_value = "caas-mock.db")]
    pub db: PathBuf,
    /// Let the factory move every order one stage on each SECS seconds (1 to a day).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auto_advance: Option<u64>,
    /// A `whsec_` secret accepted on factory webhooks; repeat it during a rotation. The factory
    /// simulator signs with the first. A random one is made (and printed) when none is given.
    #[arg(long = "webhook-secret", env = "CAAS_WEBHOOK_SECRETS", value_delimiter = ',')]
    pub webhook_secrets: Vec<WebhookSecret>,
    /// The sandbox bearer token; a random one is made (and printed) when none is given.
    #[arg(long, env = "CAAS_SANDBOX_TOKEN")]
    pub sandbox_token: Option<String>,
    /// Seed (32 bytes, base64url) of the key that signs handover codes. Without it a random key is
    /// made, and codes issued before a restart stop working (drivers' phones say so).
    #[arg(long, env = "CAAS_HANDOVER_KEY", value_parser = parse_seed, hide_env_values = true)]
    pub handover_key: Option<[u8; 32]>,
    /// Seed (32 bytes, base64url) of the pairing keys: the grant key the cars trust and each car's
    /// own keys. Without it a random seed is made, and phone keys issued before a restart stop
    /// working (the phone asks for new ones).
    #[arg(long, env = "CAAS_PAIRING_KEY", value_parser = parse_seed, hide_env_values = true)]
    pub pairing_key: Option<[u8; 32]>,
    /// Seed (32 bytes, base64url) of the key that signs the orders' records. Without it the key
    /// kept in the database is used (made at its first start), so phones that pinned it keep
    /// checking records after a restart.
    #[arg(long, env = "CAAS_RECORD_KEY", value_parser = parse_seed, hide_env_values = true)]
    pub record_key: Option<[u8; 32]>,
    /// Hours a customer has to make the final payment once the car is ready (1 to a year).
    #[arg(long, value_name = "HOURS", default_value_t = 7 * 24, value_parser = clap::value_parser!(u64).range(1..=8_760))]
    pub payment_window_hours: u64,
    /// Let robot couriers drive every delivery by themselves: load the car once the address is
    /// confirmed, tell the arrival and a delay, reach the door and hand the car over as soon as
    /// the customer's app asks for its handover code. The sandbox switches them per order too.
    #[arg(long)]
    pub robot_courier: bool,
}

impl MockCommand {
    /// Runs the command; with `json`, the startup facts are one JSON document on one line.
    pub async fn run(self, json: bool) -> anyhow::Result<()> {
        match self {
            MockCommand::Serve(args) => serve(args, json).await,
        }
    }
}

/// What a starting server tells its launcher: where it listens and what it made up.
#[derive(Debug, serde::Serialize)]
struct Started {
    listening: String,
    car_radio: String,
    /// Only when made at this start (none was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    /// Only when made at this start (none was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox_token: Option<String>,
}

impl Started {
    /// One line each, in the order launchers read them (the address first).
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("listening on {}", self.listening), format!("car radio on {}", self.car_radio)];
        lines.extend(self.webhook_secret.iter().map(|secret| format!("webhook secret: {secret}")));
        lines.extend(self.sandbox_token.iter().map(|token| format!("sandbox token: {token}")));
        lines
    }
}

async fn serve(args: ServeArgs, json: bool) -> anyhow::Result<()> {
    let mut made_secret = None;
    let webhook_secrets = if args.webhook_secrets.is_empty() {
        let secret = random_webhook_secret();
        made_secret = Some(secret.to_config_string());
        vec![secret]
    } else {
        args.webhook_secrets
    };
    let mut made_token = None;
    let sandbox_token = args.sandbox_token.unwrap_or_else(|| {
        let token = random_token("sbx");
        made_token = Some(token.clone());
        token
    });
    let config = MockConfig {
        port: args.port,
        bind: args.bind,
        auto_advance: args.auto_advance.map(Duration::from_secs),
        webhook_secrets,
        sandbox_token,
        payment_window: Duration::from_secs(args.payment_window_hours * 3600),
        robot_courier: args.robot_courier,
        ..MockConfig::ephemeral(args.db)
    };
    let config = MockConfig {
        handover_key_seed: args.handover_key.unwrap_or(config.handover_key_seed),
        pairing_key_seed: args.pairing_key.unwrap_or(config.pairing_key_seed),
        record_key_seed: args.record_key.or(config.record_key_seed),
        ..config
    };
    let mock = start(config).await?;
    let started = Started {
        listening: mock.url.clone(),
        car_radio: mock.radio_addr.to_string(),
        webhook_secret: made_secret,
        sandbox_token: made_token,
    };
    if json {
        announce(std::iter::once(serde_json::to_string(&started)?));
    } else {
        announce(started.lines().into_iter());
    }
    tokio::signal::ctrl_c().await?;
    mock.stop().await;
    Ok(())
}

fn parse_seed(text: &str) -> Result<[u8; 32], String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| format!("not base64url: {e}"))?;
    bytes.try_into().map_err(|_| "a key seed must be 32 bytes".to_owned())
}

/// Prints the startup lines. A closed stdout (the launcher read the address and went away) must
/// not stop the server, so write errors are only logged.
fn announce(lines: impl Iterator<Item = String>) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            tracing::warn!(%error, "could not print the startup line");
            return;
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _already_set = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
