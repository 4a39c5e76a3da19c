//! The harness of the end-to-end journeys: a platform mock on loopback with a temporary database,
//! customers' phone cores beside it, and helpers to wait for what a phone shows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::api::{
    CustomerDetails, Money, OrderView, RegisterSaleRequest, RegistrationDetails, VehicleConfiguration,
};
use caas_core::protocol::payment::CardDetails;
use caas_core::{Air, Caas, CaasConfig, FileSecretStore, LinkConditions, OrderDetail, PushStream, SimulatedTransport};
use caas_mock::client::{DealershipClient, SandboxClient};
use caas_mock::{MockConfig, RunningMock};
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

/// How long a test waits for a phone to show a change before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// A running platform mock and its sandbox.
#[derive(Debug)]
pub struct Platform {
    pub dir: tempfile::TempDir,
    pub config: MockConfig,
    pub mock: RunningMock,
    pub sandbox: SandboxClient,
    pub dealership: DealershipClient,
}

impl Platform {
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = MockConfig::ephemeral(dir.path().join("platform.sqlite3"));
        Self::start_with(dir, config).await
    }

    pub async fn start_with(dir: tempfile::TempDir, config: MockConfig) -> anyhow::Result<Self> {
        let mock = caas_mock::start(config.clone()).await?;
        let sandbox = SandboxClient::new(&mock.url, &mock.sandbox_token);
        let dealership = sandbox.dealership("madrid-centro").await?;
        Ok(Self { dir, config, mock, sandbox, dealership })
    }

    pub fn url(&self) -> &str {
        &self.mock.url
    }

    /// Stops the mock and starts it again on the same port and database.
    pub async fn restart(self) -> anyhow::Result<Self> {
        let port: u16 = self.mock.url.rsplit(':').next().context("port")?.parse()?;
        let Platform { dir, mut config, mock, .. } = self;
        mock.stop().await;
        config.port = port;
        Self::start_with(dir, config).await
    }

    /// Registers a sale for `email` with a configuration the factory accepts.
    pub async fn sell_to(&self, email: &str) -> anyhow::Result<OrderView> {
        self.sell(email, "urban-ev", &["heat-pump"]).await
    }

    pub async fn sell(&self, email: &str, base_platform: &str, options: &[&str]) -> anyhow::Result<OrderView> {
        let sale = RegisterSaleRequest {
            customer: customer(email),
            configuration: VehicleConfiguration {
                base_platform: base_platform.into(),
                options: options.iter().map(|o| (*o).to_owned()).collect(),
            },
            delivery_locality: "Madrid".into(),
        };
        Ok(self.dealership.register_sale(&sale).await?)
    }

    /// Records the deposit of an order, which places it with the factory.
    pub async fn reserve(&self, order: Uuid) -> anyhow::Result<OrderView> {
        Ok(self.dealership.record_reservation(order, deposit()).await?)
    }

    /// Reserves an order and has the factory build it and bring it to the locality, where the
    /// final payment becomes due.
    pub async fn build(&self, order: Uuid) -> anyhow::Result<OrderView> {
        self.reserve(order).await?;
        let view = self.sandbox.advance_factory(order, Some(OrderState::DispatchedToLocality)).await?;
        anyhow::ensure!(
            view.state == OrderState::AwaitingFinalPayment,
            "the order is {} after the factory",
            view.state
        );
        Ok(view)
    }

    /// A customer's bearer token, signed in over the raw API.
    pub async fn customer_token(&self, email: &str) -> anyhow::Result<String> {
        self.raw_token(email, "/v1/auth/token").await
    }

    /// A driver's bearer token, signed in over the raw API.
    pub async fn driver_token(&self, email: &str) -> anyhow::Result<String> {
        self.raw_token(email, "/v1/auth/driver-token").await
    }

    async fn raw_token(&self, email: &str, exchange: &str) -> anyhow::Result<String> {
        let http = reqwest::Client::new();
        http.post(format!("{}/v1/auth/sign-in-code", self.url()))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await?
            .error_for_status()?;
        let code = self.sandbox.sign_in_code(email).await?;
        let session: serde_json::Value = http
            .post(format!("{}{exchange}", self.url()))
            .json(&serde_json::json!({ "email": email, "code": code }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        session["access_token"].as_str().map(str::to_owned).context("no access token")
    }

    /// A customer whose car is paid, registered and booked on a transport, following the order by
    /// push on a phone in `dir`.
    pub async fn booked_customer(&self, email: &str, dir: &Path) -> anyhow::Result<BookedCustomer> {
        self.booked_customer_with(email, dir, &["heat-pump"]).await
    }

    /// [`Platform::booked_customer`] for an Urban EV with the factory `options`.
    pub async fn booked_customer_with(
        &self,
        email: &str,
        dir: &Path,
        options: &[&str],
    ) -> anyhow::Result<BookedCustomer> {
        let order = self.sell(email, "urban-ev", options).await?;
        let core = self.phone(email, dir).await?;
        let stream = core.connect_push_stream().await?;
        let mut watcher = Watcher::new(&core, order.id);
        self.build(order.id).await?;
        core.sync().await?;
        watcher.until_state(OrderState::AwaitingFinalPayment).await?;
        let card = card("4242424242424242");
        core.pay(order.id, card).await?;
        watcher.until_state(OrderState::TransportScheduled).await?;
        Ok(BookedCustomer { core, order: order.id, watcher, _stream: stream })
    }

    /// A customer whose car was handed over at the door (the driver's phone lives in a temporary
    /// directory of its own), following the order by push on a phone in `dir`.
    pub async fn delivered_customer(&self, email: &str, dir: &Path) -> anyhow::Result<BookedCustomer> {
        self.delivered_customer_with(email, dir, &["heat-pump"]).await
    }

    /// [`Platform::delivered_customer`] for an Urban EV with the factory `options`.
    pub async fn delivered_customer_with(
        &self,
        email: &str,
        dir: &Path,
        options: &[&str],
    ) -> anyhow::Result<BookedCustomer> {
        let mut customer = self.booked_customer_with(email, dir, options).await?;
        customer.core.confirm_delivery_address(customer.order, None).await?;
        let cab = tempfile::tempdir()?;
        let driver = self.driver(DRIVER, cab.path()).await?;
        let job = driver
            .refresh_deliveries()
            .await?
            .into_iter()
            .find(|job| job.order_id == customer.order)
            .context("the driver has the car")?;
        driver.embark(job.delivery_id, &job.vin).await?;
        driver.arrive(job.delivery_id).await?;
        let code = customer.core.handover_code(customer.order).await?;
        driver.confirm_handover(job.delivery_id, &code.token).await?;
        customer.watcher.until_state(OrderState::Delivered).await?;
        Ok(customer)
    }

    /// The simulated BLE link to this mock's cars, in process.
    pub fn air(&self) -> Air {
        let radio = self.mock.radio.clone();
        Air::InProcess(Arc::new(move || radio.connect_in_process()))
    }

    /// A simulated radio with `conditions` that reaches this mock's cars.
    pub fn radio(&self, conditions: LinkConditions) -> SimulatedTransport {
        SimulatedTransport::new(self.air(), conditions)
    }

    /// A driver's phone in `dir`, signed in with the code emailed to `email`.
    pub async fn driver(&self, email: &str, dir: &Path) -> anyhow::Result<Caas> {
        let core = open_phone(self.url(), dir).await?;
        core.request_sign_in_code(email).await?;
        let code = self.sandbox.sign_in_code(email).await?;
        core.sign_in_driver(email, &code).await?;
        Ok(core)
    }

    /// A phone core for `email`, signed in, in its own data directory under `dir`.
    pub async fn phone(&self, email: &str, dir: &Path) -> anyhow::Result<Caas> {
        let core = open_phone(self.url(), dir).await?;
        core.request_sign_in_code(email).await?;
        let code = self.sandbox.sign_in_code(email).await?;
        core.sign_in(email, &code).await?;
        Ok(core)
    }
}

/// A customer's phone following an order that is booked on a transport.
#[derive(Debug)]
pub struct BookedCustomer {
    pub core: Caas,
    pub order: Uuid,
    pub watcher: Watcher,
    _stream: PushStream,
}

/// The driver serving Madrid's first booking in these tests.
pub const DRIVER: &str = "lucia@iberia-carriers.example";

/// An address where nothing listens: a phone opened on it is offline.
pub const NO_SIGNAL: &str = "http://127.0.0.1:9";

/// The deposit every test sale takes.
pub fn deposit() -> Money {
    Money { amount_minor: 150_000, currency: "EUR".into() }
}

/// A sandbox card with a valid expiry and security code.
pub fn card(number: &str) -> CardDetails {
    CardDetails { number: number.into(), exp_month: 12, exp_year: 2034, cvc: "123".into() }
}

/// A Spanish customer with what Spain's registry needs.
pub fn customer(email: &str) -> CustomerDetails {
    CustomerDetails {
        email: email.into(),
        name: "Test Customer".into(),
        country: "ES".into(),
        phone: Some("+34600000001".into()),
        registration: RegistrationDetails {
            national_id: Some("12345678Z".into()),
            tax_number: None,
            address: Some("Calle Mayor 1, 28013 Madrid".into()),
        },
    }
}

/// A phone core on `dir` (cache and secrets), not signed in.
pub async fn open_phone(backend: &str, dir: &Path) -> anyhow::Result<Caas> {
    let secrets = Arc::new(FileSecretStore::new(dir.join("secrets"))?);
    Ok(Caas::open(CaasConfig { backend_url: backend.to_owned(), data_dir: PathBuf::from(dir) }, secrets).await?)
}

/// Follows one order as the phone shows it.
#[derive(Debug)]
pub struct Watcher {
    rx: watch::Receiver<Option<OrderDetail>>,
    _updates: AbortOnDropHandle<()>,
}

impl Watcher {
    pub fn new(core: &Caas, order: Uuid) -> Self {
        let (tx, rx) = watch::channel(None);
        let updates = core.order_updates(order).for_each(move |order| {
            tx.send_replace(Some(order));
            std::future::ready(())
        });
        Self { rx, _updates: AbortOnDropHandle::new(tokio::spawn(updates)) }
    }

    /// Waits until the phone shows the order in `state`.
    pub async fn until_state(&mut self, state: OrderState) -> anyhow::Result<OrderDetail> {
        self.until(&format!("`{state}`"), |o| o.summary.state == state).await
    }

    /// Waits until the phone shows the order at `version` or later.
    pub async fn until_version(&mut self, version: u64) -> anyhow::Result<OrderDetail> {
        self.until(&format!("version {version}"), |o| o.summary.version >= version).await
    }

    /// Waits until the order the phone shows is `wanted` (described by `what` for the failure).
    pub async fn until(&mut self, what: &str, wanted: impl Fn(&OrderDetail) -> bool) -> anyhow::Result<OrderDetail> {
        let seen = tokio::time::timeout(WAIT, self.rx.wait_for(|o| o.as_ref().is_some_and(&wanted)))
            .await
            .with_context(|| format!("the phone did not show {what} in {WAIT:?}"))??;
        seen.clone().context("no order")
    }
}
