//! [`Caas`]: the one object a shell holds. It owns the cache, the API client and the secret store,
//! and everything the UI needs goes through it.

use std::path::PathBuf;
use std::sync::Arc;

use caas_protocol::api::RegisterDeviceRequest;
use caas_protocol::delivery::HandoverCodeView;
use caas_protocol::push::PushPlatform;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::api::ApiClient;
use crate::error::{CaasError, Result};
use crate::listeners::{Change, OrderListener, OrdersListener, PushListener, PushOutcome, Subscription, next_change};
use crate::pairing::DeviceKey;
use crate::secrets::SecretStore;
use crate::snapshot::{OrderDetail, OrderSummary};
use crate::store::{self, Store};

const SESSION_KEY: &str = "session.access_token";
/// Who the cache belongs to, `customer:<id>` or `driver:<id>`.
const ACCOUNT_META: &str = "account";

/// Where the core finds its backend and keeps its data.
#[derive(Debug, Clone)]
pub struct CaasConfig {
    pub backend_url: String,
    /// The app's private data directory; the cache lives here (never secrets).
    pub data_dir: PathBuf,
}

/// The companion app's core.
#[derive(Debug, Clone)]
pub struct Caas {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) api: ApiClient,
    pub(crate) store: Arc<Store>,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) pushes: broadcast::Sender<(caas_protocol::push::PushHint, PushOutcome)>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// One sync at a time, so concurrent pushes do not fetch the same pages twice.
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
    /// One outbox drain at a time, so actions leave strictly in order.
    pub(crate) outbox_lock: tokio::sync::Mutex<()>,
    /// A background retry of the outbox is running.
    pub(crate) retrying: std::sync::atomic::AtomicBool,
    /// The last handover code per order, in memory only: a short-lived credential.
    pub(crate) handover_codes: std::sync::Mutex<std::collections::HashMap<Uuid, HandoverCodeView>>,
    /// The shell's device key (Keystore, Secure Enclave); without one, a software key in the
    /// secret store.
    pub(crate) device_key: Option<Arc<dyn DeviceKey>>,
}

impl Caas {
    /// Opens the cache (creating or upgrading it) in `config.data_dir`. Must run inside a tokio
    /// runtime, which the core's background work then uses.
    pub async fn open(config: CaasConfig, secrets: Arc<dyn SecretStore>) -> Result<Self> {
        Self::open_with_device_key(config, secrets, None).await
    }

    /// Like [`Caas::open`], with the device key the shell keeps in hardware.
    pub async fn open_with_device_key(
        config: CaasConfig,
        secrets: Arc<dyn SecretStore>,
        device_key: Option<Arc<dyn DeviceKey>>,
    ) -> Result<Self> {
        let api = ApiClient::new(&config.backend_url)?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| CaasError::Config(format!("data directory {}: {e}", config.data_dir.display())))?;
        let path = config.data_dir.join("caas.sqlite3");
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .map_err(|e| CaasError::Storage(e.to_string()))??;
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                store,
                secrets,
                changes: broadcast::channel(256).0,
                pushes: broadcast::channel(256).0,
                runtime: tokio::runtime::Handle::current(),
                sync_lock: tokio::sync::Mutex::new(()),
                outbox_lock: tokio::sync::Mutex::new(()),
                retrying: std::sync::atomic::AtomicBool::new(false),
                handover_codes: std::sync::Mutex::default(),
                device_key,
            }),
        })
    }

    pub(crate) fn token(&self) -> Result<String> {
        self.inner.secrets.get(SESSION_KEY)?.ok_or(CaasError::Unauthorized)
    }

    pub(crate) fn notify(&self, change: Change) {
        let _nobody_listening_is_fine = self.inner.changes.send(change);
    }

    /// Asks the platform to email a one-time sign-in code.
    #[tracing::instrument(skip_all)]
    pub async fn request_sign_in_code(&self, email: &str) -> Result<()> {
        self.inner.api.request_sign_in_code(email).await
    }

    /// Signs in with the emailed code. The token goes to the secret store; signing in as another
    /// customer clears the previous customer's cache.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&self, email: &str, code: &str) -> Result<Uuid> {
        let session = self.inner.api.sign_in(email, code).await?;
        self.start_session(&session.access_token, "customer", &session.customer_id.to_string()).await?;
        tracing::info!("signed in");
        Ok(session.customer_id)
    }

    /// Keeps the token and, when the account changed, clears the previous account's cache. Refused
    /// while driver actions wait in the outbox: they would be lost or sent with another account.
    pub(crate) async fn start_session(&self, token: &str, role: &str, subject: &str) -> Result<()> {
        let identity = format!("{role}:{subject}");
        let same = self.inner.store.read(|conn| store::get_meta(conn, ACCOUNT_META)).await?.as_deref()
            == Some(identity.as_str());
        if !same {
            self.ensure_outbox_empty().await?;
            self.forget_phone_keys().await?;
        }
        self.inner.secrets.set(SESSION_KEY, token)?;
        self.inner
            .store
            .write(move |tx| {
                if store::get_meta(tx, ACCOUNT_META)?.as_deref() != Some(identity.as_str()) {
                    store::clear_account_data(tx)?;
                    store::set_meta(tx, ACCOUNT_META, &identity)?;
                }
                Ok(())
            })
            .await?;
        self.notify(Change::All);
        Ok(())
    }

    async fn ensure_outbox_empty(&self) -> Result<()> {
        match self.inner.store.read(|conn| store::outbox::pending_count(conn, None)).await? {
            0 => Ok(()),
            pending => Err(CaasError::PendingActions(pending)),
        }
    }

    /// Forgets the session and everything cached for it. Refused while driver actions are not
    /// synced, so nothing a driver recorded is lost.
    pub async fn sign_out(&self) -> Result<()> {
        self.ensure_outbox_empty().await?;
        self.forget_phone_keys().await?;
        self.inner.secrets.delete(SESSION_KEY)?;
        self.inner.store.write(|tx| store::clear_account_data(tx)).await?;
        self.notify(Change::All);
        Ok(())
    }

    pub fn is_signed_in(&self) -> Result<bool> {
        Ok(self.inner.secrets.get(SESSION_KEY)?.is_some())
    }

    /// Registers this device's push channel (FCM token, APNs token, or an SSE label).
    pub async fn register_push_device(&self, platform: PushPlatform, token: &str) -> Result<Uuid> {
        let request = RegisterDeviceRequest { platform, token: token.to_owned() };
        Ok(self.inner.api.register_device(&self.token()?, &request).await?.id)
    }

    /// The cached orders, newest first. Never touches the network.
    pub async fn orders(&self) -> Result<Vec<OrderSummary>> {
        let stored = self.inner.store.read(store::load_summaries).await?;
        Ok(stored.iter().map(OrderSummary::from_stored).collect())
    }

    /// One cached order with its timeline. Never touches the network.
    pub async fn order(&self, id: Uuid) -> Result<OrderDetail> {
        let stored = self.inner.store.read(move |conn| store::load_order(conn, id)).await?;
        stored.as_ref().map(OrderDetail::from_stored).ok_or_else(|| CaasError::NotFound(format!("order {id}")))
    }

    /// Calls `listener` with the orders now and after every change.
    pub fn subscribe_orders(&self, listener: Arc<dyn OrdersListener>) -> Subscription {
        let core = self.clone();
        let mut changes = self.inner.changes.subscribe();
        Subscription::spawn(&self.inner.runtime, async move {
            loop {
                match core.orders().await {
                    Ok(orders) => listener.on_orders(orders),
                    Err(error) => tracing::warn!(%error, "orders snapshot failed"),
                }
                if next_change(&mut changes, |_| true).await.is_none() {
                    return;
                }
            }
        })
    }

    /// Calls `listener` with the order now (once it is cached) and after every change to it.
    pub fn subscribe_order(&self, id: Uuid, listener: Arc<dyn OrderListener>) -> Subscription {
        let core = self.clone();
        let mut changes = self.inner.changes.subscribe();
        Subscription::spawn(&self.inner.runtime, async move {
            loop {
                match core.order(id).await {
                    Ok(order) => listener.on_order(order),
                    Err(CaasError::NotFound(_)) => {}
                    Err(error) => tracing::warn!(%error, "order snapshot failed"),
                }
                let relevant = |change| matches!(change, Change::All) || change == Change::Order(id);
                if next_change(&mut changes, relevant).await.is_none() {
                    return;
                }
            }
        })
    }

    /// Calls `listener` for every push handled from now on.
    pub fn subscribe_pushes(&self, listener: Arc<dyn PushListener>) -> Subscription {
        let mut pushes = self.inner.pushes.subscribe();
        Subscription::spawn(&self.inner.runtime, async move {
            loop {
                match pushes.recv().await {
                    Ok((hint, outcome)) => listener.on_push(hint, outcome),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }
}
