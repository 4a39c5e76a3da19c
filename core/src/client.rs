//! [`Caas`]: the one object a shell holds. It owns the cache, the API client and the secret store,
//! and everything the UI needs goes through it.

use std::path::PathBuf;
use std::sync::Arc;

use caas_protocol::api::RegisterDeviceRequest;
use caas_protocol::push::PushPlatform;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::api::ApiClient;
use crate::error::{CaasError, Result};
use crate::pairing::DeviceKey;
use crate::projection::Projection;
use crate::secrets::SecretStore;
use crate::store::{self, Store};
use crate::updates::{Change, PushOutcome};

const SESSION_KEY: &str = "session.access_token";
/// The customer's refresh token; drivers have none (their token ends with the shift).
const REFRESH_KEY: &str = "session.refresh_token";
/// When the access token expires, by this phone's clock (the platform says how long it lives, so
/// a phone with a wrong clock still refreshes in time).
const EXPIRES_KEY: &str = "session.expires_at";
/// The longest lifetime of an access token the phone believes, in seconds (a year).
const MAX_TRUSTED_LIFETIME: u64 = 365 * 24 * 3600;
/// How long before its expiry an access token is renewed.
const REFRESH_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Who the cache belongs to, `customer:<id>` or `driver:<id>`.
pub(crate) const ACCOUNT_META: &str = "account";

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
    /// The snapshots the screens read, kept in memory in step with the store.
    pub(crate) projection: Projection,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) pushes: broadcast::Sender<(caas_protocol::push::PushHint, PushOutcome)>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// One sync at a time, so concurrent pushes do not fetch the same pages twice.
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
    /// One outbox drain at a time, so actions leave strictly in order; it holds how the outbox is
    /// paced.
    pub(crate) outbox_lock: tokio::sync::Mutex<crate::driver::OutboxPace>,
    /// A background retry of the outbox is running.
    pub(crate) retrying: std::sync::atomic::AtomicBool,
    /// The last handover code per order, in memory only: a short-lived credential.
    pub(crate) handover_codes: std::sync::Mutex<std::collections::HashMap<Uuid, crate::delivery::KeptCode>>,
    /// The shell's device key (Keystore, Secure Enclave); without one, a software key in the
    /// secret store.
    pub(crate) device_key: Option<Arc<dyn DeviceKey>>,
    /// One refresh at a time: a refresh token works once, so two at once would end the session.
    pub(crate) refresh_lock: tokio::sync::Mutex<()>,
    /// The driver's latest expected arrival per delivery not yet sent: in memory only, since an
    /// estimate is worth sending only while it is fresh (the next stop or delay makes a new one).
    pub(crate) estimates: std::sync::Mutex<std::collections::HashMap<Uuid, caas_protocol::arrival::ArrivalEstimate>>,
    /// One sending of estimates at a time, so an older one never lands after a newer one.
    pub(crate) estimates_lock: tokio::sync::Mutex<()>,
}

/// The tokens a sign-in or a refresh hands the phone.
#[derive(Debug)]
pub(crate) struct SessionTokens<'a> {
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
    /// Seconds; 0 when the platform did not say.
    pub expires_in: u64,
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
        let store = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                store,
                projection: Projection::default(),
                secrets,
                changes: broadcast::channel(256).0,
                pushes: broadcast::channel(256).0,
                runtime: tokio::runtime::Handle::current(),
                sync_lock: tokio::sync::Mutex::new(()),
                outbox_lock: tokio::sync::Mutex::default(),
                retrying: std::sync::atomic::AtomicBool::new(false),
                estimates: std::sync::Mutex::default(),
                estimates_lock: tokio::sync::Mutex::new(()),
                handover_codes: std::sync::Mutex::default(),
                device_key,
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The access token, renewed with the refresh token when it is about to expire. Offline, the
    /// current token is returned and the call fails or succeeds on its own; a refused refresh ends
    /// the session (`Unauthorized`: sign in again).
    pub(crate) async fn token(&self) -> Result<String> {
        let access = self.inner.secrets.get(SESSION_KEY)?.ok_or(CaasError::Unauthorized)?;
        if !self.expiring()? {
            return Ok(access);
        }
        let _one_refresh = self.inner.refresh_lock.lock().await;
        let access = self.inner.secrets.get(SESSION_KEY)?.ok_or(CaasError::Unauthorized)?;
        let Some(refresh) = self.inner.secrets.get(REFRESH_KEY)? else { return Ok(access) };
        if !self.expiring()? {
            return Ok(access);
        }
        match self.inner.api.refresh(&refresh).await {
            Ok(session) => {
                let tokens = SessionTokens {
                    access_token: &session.access_token,
                    refresh_token: session.refresh_token.as_deref(),
                    expires_in: session.expires_in,
                };
                self.keep_tokens(&tokens)?;
                tracing::debug!("session renewed");
                Ok(session.access_token)
            }
            Err(CaasError::Unauthorized) => {
                self.forget_tokens()?;
                Err(CaasError::Unauthorized)
            }
            Err(error) => {
                tracing::debug!(error = error.chain(), "session not renewed now");
                Ok(access)
            }
        }
    }

    fn expiring(&self) -> Result<bool> {
        let expires = self.inner.secrets.get(EXPIRES_KEY)?;
        let expires = expires.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
        Ok(expires.is_some_and(|t| t.with_timezone(&chrono::Utc) - REFRESH_MARGIN <= chrono::Utc::now()))
    }

    /// Keeps a session's tokens, the refresh token first: an app killed between the writes then
    /// holds a new refresh token beside an access token still valid, never a spent one.
    fn keep_tokens(&self, tokens: &SessionTokens<'_>) -> Result<()> {
        match tokens.refresh_token {
            Some(refresh) => self.inner.secrets.set(REFRESH_KEY, refresh)?,
            None => self.inner.secrets.delete(REFRESH_KEY)?,
        }
        self.inner.secrets.set(SESSION_KEY, tokens.access_token)?;
        if tokens.expires_in > 0 {
            // Whatever the platform says, no session is taken to last more than a year.
            let seconds = i64::try_from(tokens.expires_in.min(MAX_TRUSTED_LIFETIME)).unwrap_or(0);
            let expires = chrono::Utc::now() + chrono::TimeDelta::seconds(seconds);
            self.inner.secrets.set(EXPIRES_KEY, &expires.to_rfc3339())?;
        } else {
            self.inner.secrets.delete(EXPIRES_KEY)?;
        }
        Ok(())
    }

    fn forget_tokens(&self) -> Result<()> {
        for key in [SESSION_KEY, REFRESH_KEY, EXPIRES_KEY] {
            self.inner.secrets.delete(key)?;
        }
        Ok(())
    }

    pub(crate) fn notify(&self, change: Change) {
        if change == Change::All {
            // The snapshots in memory are never served stale (the store counts its writes), but
            // a signed-out account's are not kept either.
            self.inner.projection.forget();
        }
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
        let tokens = SessionTokens {
            access_token: &session.access_token,
            refresh_token: session.refresh_token.as_deref(),
            expires_in: session.expires_in,
        };
        self.start_session(&tokens, "customer", &session.customer_id.to_string()).await?;
        tracing::info!("signed in");
        Ok(session.customer_id)
    }

    /// Keeps the token and, when the account changed, clears the previous account's cache. Refused
    /// while driver actions wait in the outbox: they would be lost or sent with another account.
    pub(crate) async fn start_session(&self, tokens: &SessionTokens<'_>, role: &str, subject: &str) -> Result<()> {
        let identity = format!("{role}:{subject}");
        let same = self.inner.store.read(|conn| store::get_meta(conn, ACCOUNT_META)).await?.as_deref()
            == Some(identity.as_str());
        if !same {
            self.ensure_outbox_empty().await?;
            self.forget_phone_keys().await?;
            self.forget_estimates();
        }
        self.keep_tokens(tokens)?;
        let cleared = self
            .inner
            .store
            .write(move |tx| {
                let other = store::get_meta(tx, ACCOUNT_META)?.as_deref() != Some(identity.as_str());
                if other {
                    store::clear_account_data(tx)?;
                    store::set_meta(tx, ACCOUNT_META, &identity)?;
                }
                Ok(other)
            })
            .await?;
        if cleared {
            // No older copy of the other account's rows stays in the log either.
            self.scrub_after_clearing().await;
        }
        self.notify(Change::All);
        Ok(())
    }

    async fn ensure_outbox_empty(&self) -> Result<()> {
        match self.inner.store.read(|conn| store::outbox::pending_count(conn, None)).await? {
            0 => Ok(()),
            pending => Err(CaasError::PendingActions(pending)),
        }
    }

    /// Ends the session on the platform, revokes this device's phone keys, and forgets the session
    /// and everything cached for it. Refused while
    /// driver actions are not synced, so nothing a driver recorded is lost. Without a connection
    /// the phone still forgets everything; the platform's token then ends with its lifetime.
    pub async fn sign_out(&self) -> Result<()> {
        self.ensure_outbox_empty().await?;
        // A renewed token if it is about to expire, so the keys are revoked before the session ends.
        let token = match self.token().await {
            Ok(token) => Some(token),
            Err(CaasError::Unauthorized) => None,
            Err(error) => return Err(error),
        };
        if let Some(token) = token {
            self.revoke_own_phone_keys(&token).await?;
            match self.inner.api.sign_out(&token).await {
                Ok(()) | Err(CaasError::Unauthorized) => {}
                Err(error) => tracing::warn!(error = error.chain(), "the platform was not told of the sign-out"),
            }
        }
        self.forget_phone_keys().await?;
        self.forget_tokens()?;
        self.forget_estimates();
        self.inner.store.write(|tx| store::clear_account_data(tx)).await?;
        self.scrub_after_clearing().await;
        self.notify(Change::All);
        Ok(())
    }

    /// Empties the cache's log after an account's rows were deleted (overwritten where they were,
    /// under `secure_delete`), so their older copies there go too. It cannot undo the sign-out or
    /// the sign-in it follows, so a failure is only logged; another reader of the cache (the
    /// iOS notification extension) can hold part of the log, which then goes at the next scrub or
    /// when the last connection closes.
    async fn scrub_after_clearing(&self) {
        if let Err(error) = self.inner.store.scrub().await {
            tracing::warn!(error = error.chain(), "the cache's log was not emptied after clearing an account");
        }
    }

    pub fn is_signed_in(&self) -> Result<bool> {
        Ok(self.inner.secrets.get(SESSION_KEY)?.is_some())
    }

    /// The role (`customer` or `driver`) whose data this cache holds, if any: a shell that keeps
    /// one cache per role reads it to put a cache it finds back where it belongs.
    pub async fn account_role(&self) -> Result<Option<String>> {
        let account = self.inner.store.read(|conn| store::get_meta(conn, ACCOUNT_META)).await?;
        Ok(account.and_then(|identity| identity.split_once(':').map(|(role, _)| role.to_owned())))
    }

    /// Registers this device's push channel (FCM token, APNs token, or an SSE label).
    pub async fn register_push_device(&self, platform: PushPlatform, token: &str) -> Result<Uuid> {
        let request = RegisterDeviceRequest { platform, token: token.to_owned() };
        Ok(self.inner.api.register_device(&self.token().await?, &request).await?.id)
    }
}
