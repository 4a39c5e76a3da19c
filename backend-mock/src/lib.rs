//! caas-mock: the CaaS platform, its factory simulator and the push gateway, simulated on one
//! machine and backed by SQLite. `start` runs it in-process (the CLI demo and the tests do);
//! the `caas-mock` binary runs it as a server.

mod auth;
mod catalogue;
pub mod cli;
pub mod client;
mod clock;
mod dashboard;
mod db;
mod error;
mod extract;
mod factory;
mod gateway;
mod idempotency;
mod inbox;
mod openapi;
mod platform;
mod registry;
mod request_body;
mod validate;
pub mod vehicle;
mod webhook_sender;

use crate::db::CachedSql as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::extract::Json;
use anyhow::Context as _;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use caas_protocol::webhook::{WebhookSecret, WebhookVerifier};
use rusqlite::params;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use auth::random_token;
pub use catalogue::{BASE_PLATFORMS, DEALERSHIPS};
/// The sandbox feed's items (`GET /v1/sandbox/feed`), for listeners written in Rust.
pub use platform::feed::{FeedItem, FeedKind, WebhookSent};
pub use platform::sandbox::OutboundMessage;

/// How to run the mock.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Port for the platform API; 0 picks a free one.
    pub port: u16,
    pub bind: IpAddr,
    pub db_path: PathBuf,
    /// When set, the factory moves every order one stage on at this period.
    pub auto_advance: Option<Duration>,
    /// Secrets the platform accepts on factory webhooks; the factory signs with the first.
    pub webhook_secrets: Vec<WebhookSecret>,
    pub sandbox_token: String,
    pub factory_api_key: String,
    /// How long a customer has to make the final payment once the car is ready.
    pub payment_window: Duration,
    /// The gateway's merchant keys and webhook secret.
    pub gateway_secret_key: String,
    pub gateway_publishable_key: String,
    pub gateway_webhook_secret: WebhookSecret,
    /// Seed of the Ed25519 key that signs handover codes; drivers' phones get its public half.
    pub handover_key_seed: [u8; 32],
    /// Seed every pairing key derives from: the platform's grant key, each car's identity and
    /// advertising keys.
    pub pairing_key_seed: [u8; 32],
    /// Seed of the Ed25519 key that signs the head of every order's record. Without one, the key
    /// is kept in the database (made at its first start), so phones that pinned it keep checking
    /// records across restarts.
    pub record_key_seed: Option<[u8; 32]>,
    /// Whether robot couriers drive every delivery by themselves (`--robot-courier`); the sandbox
    /// switches them per order either way.
    pub robot_courier: bool,
    /// How often the robot couriers look for their next action: a second or two to watch them,
    /// less in tests.
    pub robot_tick: Duration,
    /// The deposit the sandbox's dealership records when it takes the step to `reservation_paid`.
    pub sandbox_deposit: caas_protocol::api::Money,
    /// How long a request's body may take to arrive once its headers have.
    pub body_timeout: Duration,
}

/// The default time a request's body may take: a phone on a poor network sends its largest (a
/// driver's batch of 50 actions, tens of KiB) well within it.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The default pace of the robot couriers.
pub const DEFAULT_ROBOT_TICK: Duration = Duration::from_secs(1);

/// The default time to pay: a week.
pub const DEFAULT_PAYMENT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

impl MockConfig {
    /// A loopback mock on a free port with fresh random credentials.
    pub fn ephemeral(db_path: PathBuf) -> Self {
        Self {
            port: 0,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            db_path,
            auto_advance: None,
            webhook_secrets: vec![random_webhook_secret()],
            sandbox_token: random_token("sbx"),
            factory_api_key: random_token("fct"),
            payment_window: DEFAULT_PAYMENT_WINDOW,
            gateway_secret_key: random_token("sk_test"),
            gateway_publishable_key: random_token("pk_test"),
            gateway_webhook_secret: random_webhook_secret(),
            handover_key_seed: random_seed(),
            pairing_key_seed: random_seed(),
            record_key_seed: None,
            robot_courier: false,
            robot_tick: DEFAULT_ROBOT_TICK,
            sandbox_deposit: caas_protocol::api::Money { amount_minor: 150_000, currency: "EUR".into() },
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// A fresh `whsec_` secret.
pub fn random_webhook_secret() -> WebhookSecret {
    use base64::Engine as _;
    let token = random_token("x");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_start_matches("x_"))
        .unwrap_or_else(|_| vec![0x5a; 32]);
    WebhookSecret::from_bytes(bytes).unwrap_or_else(|e| panic!("32 random bytes make a secret: {e}"))
}

/// 32 fresh random bytes.
pub fn random_seed() -> [u8; 32] {
    use ring::rand::SecureRandom as _;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut seed).unwrap_or_else(|_| panic!("the system random source failed"));
    seed
}

/// A running mock; `stop` shuts it down, dropping it stops it too.
#[derive(Debug)]
pub struct RunningMock {
    /// Base URL of the platform API, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Base URL of the factory simulator's own API.
    pub factory_url: String,
    /// Base URL of the payment gateway simulator.
    pub gateway_url: String,
    /// Loopback address of the simulated cars' radio, for phones in other processes.
    pub radio_addr: SocketAddr,
    /// The same radio, for a phone core in this process.
    pub radio: vehicle::radio::Radio,
    pub sandbox_token: String,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningMock {
    pub async fn stop(mut self) {
        let _receivers_may_be_gone = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        let _receivers_may_be_gone = self.shutdown.send(true);
        self.tasks.abort_all();
    }
}

/// Opens the database, seeds the reference data and serves the platform and the factory.
pub async fn start(config: MockConfig) -> anyhow::Result<RunningMock> {
    anyhow::ensure!(!config.webhook_secrets.is_empty(), "at least one webhook secret is needed");
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let db = db::Db::open(&config.db_path)
        .with_context(|| format!("opening the mock database {}", config.db_path.display()))?;
    seed(&db)?;

    let platform_listener = TcpListener::bind(SocketAddr::new(config.bind, config.port))
        .await
        .with_context(|| format!("binding port {}", config.port))?;
    let factory_listener = TcpListener::bind(SocketAddr::new(config.bind, 0)).await.context("binding the factory")?;
    let gateway_listener = TcpListener::bind(SocketAddr::new(config.bind, 0)).await.context("binding the gateway")?;
    let radio_listener = TcpListener::bind(SocketAddr::new(config.bind, 0)).await.context("binding the car radio")?;
    let radio_addr = radio_listener.local_addr()?;
    let url = format!("http://{}", platform_listener.local_addr()?);
    let factory_url = format!("http://{}", factory_listener.local_addr()?);
    let gateway_url = format!("http://{}", gateway_listener.local_addr()?);
    let window = chrono::TimeDelta::from_std(config.payment_window).context("payment window")?;

    let factory_state = factory::FactoryState::new(
        db.clone(),
        config.factory_api_key.clone(),
        config.webhook_secrets[..1].to_vec(),
        format!("{url}/v1/webhooks/factory"),
    );
    let gateway_state = gateway::GatewayState::new(
        db.clone(),
        gateway::GatewayKeys {
            secret_key: config.gateway_secret_key.clone(),
            publishable_key: config.gateway_publishable_key.clone(),
            webhook_secret: config.gateway_webhook_secret.clone(),
        },
        gateway_url.clone(),
        format!("{url}/v1/webhooks/gateway"),
    );
    let (shutdown, stopped) = watch::channel(false);
    let clock = clock::Clock::load(&db.lock())?;
    let fleet = vehicle::Fleet::new(&config.pairing_key_seed, db.clone(), clock.clone());
    let radio = vehicle::radio::Radio::new(fleet.clone());
    let platform_state = platform::AppState {
        db: db.clone(),
        config: Arc::new(platform::PlatformConfig {
            sandbox_token: config.sandbox_token.clone(),
            webhooks: WebhookVerifier::new(config.webhook_secrets.clone()),
            payments: platform::PaymentSettings {
                window,
                // A day before the deadline, or halfway through a window shorter than two days.
                remind_before: chrono::TimeDelta::days(1).min(window / 2),
                public: caas_protocol::payment::PaymentsConfig {
                    gateway_url: gateway_url.clone(),
                    publishable_key: config.gateway_publishable_key.clone(),
                },
                webhooks: WebhookVerifier::new(vec![config.gateway_webhook_secret.clone()]),
            },
            sandbox: platform::SandboxSettings {
                deposit: config.sandbox_deposit.clone(),
                robot_courier: config.robot_courier,
            },
        }),
        hub: platform::notify::PushHub::default(),
        factory: platform::FactoryClient::new(factory_url.clone(), config.factory_api_key.clone()),
        gateway: platform::GatewayClient::new(gateway_url.clone(), config.gateway_secret_key.clone()),
        registries: registry::Registries::default(),
        clock,
        handover: platform::delivery::HandoverDesk::new(&config.handover_key_seed),
        codes: auth::CodeKey::derive(&config.handover_key_seed, "caas sign-in code digest"),
        record: Arc::new(caas_protocol::record::RecordSigner::from_seed(&db::platform_seed(
            &db.lock(),
            "record",
            config.record_key_seed,
        )?)),
        fleet,
        driver_faults: Arc::default(),
        inbox: inbox::Inbox::default(),
        sweeping: Arc::default(),
        stopping: stopped.clone(),
        registering: platform::OrderClaims::default(),
        stepping: platform::OrderClaims::default(),
        couriers: platform::robot_courier::Couriers::default(),
    };
    let deadline_state = platform_state.clone();
    let dashboard_state = platform_state.clone();
    let platform_app = platform::router(platform_state)
        .merge(dashboard::router(dashboard_state))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/health", get(|| async { "ok" }));

    let mut tasks = JoinSet::new();
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _sender_gone_means_stop = rx.wait_for(|stop| *stop).await;
    };
    let body_timeout = config.body_timeout;
    tasks.spawn(serve("platform", platform_listener, platform_app, body_timeout, until(stopped.clone())));
    let factory_app = factory::router(factory_state.clone());
    tasks.spawn(serve("factory", factory_listener, factory_app, body_timeout, until(stopped.clone())));
    let gateway_app = gateway::router(gateway_state.clone());
    tasks.spawn(serve("gateway", gateway_listener, gateway_app, body_timeout, until(stopped.clone())));
    tasks.spawn(radio.clone().serve(radio_listener, until(stopped.clone())));
    let background_stop = until(stopped.clone());
    let robot_tick = config.robot_tick;
    tasks.spawn(async move {
        tokio::select! {
            () = gateway_state.webhooks.clone().run_redelivery() => {}
            () = gateway::run_settlement(gateway_state) => {}
            () = platform::deadlines::run(deadline_state.clone()) => {}
            () = platform::payments::run_refunds(deadline_state.clone()) => {}
            () = platform::options::run(deadline_state.clone()) => {}
            () = platform::robot_courier::run(deadline_state, robot_tick) => {}
            () = background_stop => {}
        }
    });
    let redelivery_stop = until(stopped.clone());
    let redelivery_state = factory_state.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = redelivery_state.webhooks.run_redelivery() => {}
            () = redelivery_stop => {}
        }
    });
    if let Some(period) = config.auto_advance {
        let auto_stop = until(stopped);
        tasks.spawn(async move {
            tokio::select! {
                () = factory::run_auto_advance(factory_state, period) => {}
                () = auto_stop => {}
            }
        });
    }
    tracing::info!(%url, %factory_url, %gateway_url, %radio_addr, "mock started");
    Ok(RunningMock {
        url,
        factory_url,
        gateway_url,
        radio_addr,
        radio,
        sandbox_token: config.sandbox_token,
        shutdown,
        tasks,
    })
}

/// Serves `app` on `listener` until `stop`: each request in a span of its own, its body read
/// within `body_timeout` before its handler runs ([`request_body`]), each connection with Nagle's
/// algorithm off. The push stream writes one small frame per change; with Nagle's algorithm on, a
/// frame written before the peer has acknowledged the one before waits for that acknowledgement,
/// which the peer may hold back for tens of milliseconds.
async fn serve(
    name: &'static str,
    listener: TcpListener,
    app: axum::Router,
    body_timeout: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let listener = listener.tap_io(|connection| {
        if let Err(error) = connection.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set on a connection");
        }
    });
    let app = app
        .layer(axum::middleware::from_fn_with_state(body_timeout, request_body::read_first))
        .layer(axum::middleware::from_fn(trace_request));
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(%error, server = name, "server stopped");
    }
}

/// One debug span per request, so a log line says which call it belongs to.
async fn trace_request(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use tracing::Instrument as _;
    let span = tracing::debug_span!("request", method = %request.method(), path = %request.uri().path());
    async move {
        let response = next.run(request).await;
        tracing::debug!(status = %response.status(), "answered");
        response
    }
    .instrument(span)
    .await
}

fn seed(db: &db::Db) -> anyhow::Result<()> {
    let conn = db.lock();
    for d in DEALERSHIPS {
        conn.execute_cached(
            "INSERT OR IGNORE INTO dealerships (id, name, country, locality) VALUES (?1, ?2, ?3, ?4)",
            params![d.id, d.name, d.country, d.locality],
        )?;
    }
    Ok(())
}
