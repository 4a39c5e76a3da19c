//! caas-ffi: the UniFFI surface of caas-core for the Kotlin and Swift shells.
//!
//! `Caas` wraps the core (`struct Caas { inner: caas_core::Caas }`), async methods become Kotlin
//! `suspend` and Swift `async` functions (snapshot reads also come as plain synchronous calls,
//! served from the core's memory), snapshots are records, and every error is one
//! [`CaasError`] whose variants a caller can act on. Nothing of the core's internals leaks.

#[cfg(target_os = "android")]
mod android;
mod delivery;
mod error;
mod foreign;
mod logging;
mod maintenance;
mod options;
mod pairing;
mod purchase_record;
mod records;
mod types;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use delivery::*;
pub use error::CaasError;
pub use foreign::{DeliveriesListener, OrderListener, OrdersListener, PushListener, SecretStore, SecretStoreError};
pub use logging::{LogLevel, LogSink, install_log_sink};
pub use pairing::*;
pub use purchase_record::*;
pub use records::*;

use caas_core::NotificationContent;
use caas_core::protocol::messages::Reader;
use caas_core::protocol::push::PushPlatform;
use caas_core::{OrderDetail, OrderSummary, PaymentProgress};
use foreign::ForeignSecrets;
use futures_util::{Stream, StreamExt as _};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

uniffi::setup_scaffolding!();

/// The version of the core inside this library, so a shell can log what it runs.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// How the core reaches its backend and where it keeps its cache.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CaasConfig {
    pub backend_url: String,
    /// The app's private data directory (the cache lives here; secrets never do).
    pub data_dir: String,
}

/// A listener fed from one of the core's update streams, on the core's runtime, until `cancel()`
/// (or closing/dropping the object), after matrix-rust-sdk's `TaskHandle`. The stream holds the
/// core weakly, so a forgotten handle does not keep a closed core alive: its stream ends.
#[derive(Debug, uniffi::Object)]
pub struct SubscriptionHandle(Mutex<Option<AbortOnDropHandle<()>>>);

impl SubscriptionHandle {
    /// Feeds each item of `updates` to `deliver` on `runtime` until the stream ends or the
    /// handle stops it.
    pub(crate) fn spawn<T: Send + 'static>(
        runtime: &tokio::runtime::Handle,
        updates: impl Stream<Item = T> + Send + 'static,
        deliver: impl Fn(T) + Send + 'static,
    ) -> Arc<Self> {
        let task = runtime.spawn(async move {
            let mut updates = std::pin::pin!(updates);
            while let Some(item) = updates.next().await {
                deliver(item);
            }
        });
        Arc::new(Self(Mutex::new(Some(AbortOnDropHandle::new(task)))))
    }
}

#[uniffi::export]
impl SubscriptionHandle {
    pub fn cancel(&self) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }
}

/// The development push channel while connected; `disconnect()` (or dropping) closes it.
#[derive(Debug, uniffi::Object)]
pub struct PushStreamHandle {
    device_id: Uuid,
    stream: Mutex<Option<caas_core::PushStream>>,
}

#[uniffi::export]
impl PushStreamHandle {
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    pub fn disconnect(&self) {
        self.stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }
}

/// The companion app's core.
#[derive(Debug, uniffi::Object)]
pub struct Caas {
    pub(crate) inner: caas_core::Caas,
}

#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// Opens (creating or upgrading) the cache in `config.data_dir`.
    #[uniffi::constructor]
    pub async fn open(config: CaasConfig, secrets: Arc<dyn SecretStore>) -> Result<Arc<Self>, CaasError> {
        let config =
            caas_core::CaasConfig { backend_url: config.backend_url, data_dir: PathBuf::from(config.data_dir) };
        let inner = caas_core::Caas::open(config, Arc::new(ForeignSecrets(secrets))).await?;
        Ok(Arc::new(Self { inner }))
    }

    /// Like `open`, with the device key the shell keeps in hardware (Android Keystore, the
    /// Secure Enclave). Without one, a software key is kept in `secrets`.
    #[uniffi::constructor]
    pub async fn open_with_device_key(
        config: CaasConfig,
        secrets: Arc<dyn SecretStore>,
        device_key: Arc<dyn DeviceKey>,
    ) -> Result<Arc<Self>, CaasError> {
        let config =
            caas_core::CaasConfig { backend_url: config.backend_url, data_dir: PathBuf::from(config.data_dir) };
        let key: Arc<dyn caas_core::DeviceKey> = Arc::new(ForeignDeviceKey(device_key));
        let inner = caas_core::Caas::open_with_device_key(config, Arc::new(ForeignSecrets(secrets)), Some(key)).await?;
        Ok(Arc::new(Self { inner }))
    }

    pub async fn request_sign_in_code(&self, email: String) -> Result<(), CaasError> {
        Ok(self.inner.request_sign_in_code(&email).await?)
    }

    /// Signs in with the emailed code; returns the customer id.
    pub async fn sign_in(&self, email: String, code: String) -> Result<Uuid, CaasError> {
        Ok(self.inner.sign_in(&email, &code).await?)
    }

    /// Forgets the session and everything cached for it.
    pub async fn sign_out(&self) -> Result<(), CaasError> {
        Ok(self.inner.sign_out().await?)
    }

    pub fn is_signed_in(&self) -> Result<bool, CaasError> {
        Ok(self.inner.is_signed_in()?)
    }

    /// Registers this device's push token; returns the device id.
    pub async fn register_push_device(&self, platform: PushPlatform, token: String) -> Result<Uuid, CaasError> {
        Ok(self.inner.register_push_device(platform, &token).await?)
    }

    /// Hands over a push exactly as received (FCM data as JSON, the APNs payload, an SSE event).
    pub async fn handle_push(&self, payload: Vec<u8>) -> Result<PushOutcome, CaasError> {
        Ok(self.inner.handle_push(&payload).await?.into())
    }

    /// Handles a push as `handle_push` does and says what to show for it, in the language of
    /// `locale` (`es-ES`, `pt_PT`, or the person's preference list `ca-ES,es-ES`), with times in `time_zone` (IANA, e.g. `Europe/Madrid`) or, for
    /// a zone this build does not know, at `utc_offset_minutes` from UTC: nothing for a push
    /// handled before, the synced event's words otherwise, and a short notice in its channel for
    /// an order this phone follows when the sync cannot finish in a few seconds.
    pub async fn notification_for_push(
        &self,
        payload: Vec<u8>,
        locale: String,
        time_zone: String,
        utc_offset_minutes: i32,
    ) -> Result<Option<NotificationContent>, CaasError> {
        let reader = Reader::on_phone(&locale, &time_zone, utc_offset_minutes);
        Ok(self.inner.notification_for_push(&payload, reader).await?)
    }

    /// Fetches what changed; offline this fails with `Offline` and the cache keeps answering.
    pub async fn sync(&self) -> Result<SyncReport, CaasError> {
        let report = self.inner.sync().await?;
        Ok(SyncReport { orders: report.orders as u64, new_events: report.new_events as u64 })
    }

    /// The cached orders, newest first; never touches the network.
    pub async fn orders(&self) -> Result<Vec<OrderSummary>, CaasError> {
        Ok(self.inner.orders().await?)
    }

    /// One cached order with its timeline; never touches the network.
    pub async fn order(&self, id: Uuid) -> Result<OrderDetail, CaasError> {
        Ok(self.inner.order(id).await?)
    }

    /// `orders` without the async runtime (a plain call in Kotlin and Swift): from the core's
    /// memory while the cache has not changed since the last read, otherwise a short read of the
    /// local cache on the calling thread. Never touches the network.
    pub fn orders_snapshot(&self) -> Result<Vec<OrderSummary>, CaasError> {
        Ok(self.inner.orders_snapshot()?)
    }

    /// `order` without the async runtime, read as `orders_snapshot` is; the payment's countdown
    /// is as of the call.
    pub fn order_snapshot(&self, id: Uuid) -> Result<OrderDetail, CaasError> {
        Ok(self.inner.order_snapshot(id)?)
    }

    /// Pays the amount due of an order. A payment still in flight is resumed, never doubled.
    /// Offline this fails at once with `Offline`; nothing is queued.
    pub async fn pay(&self, order_id: Uuid, card: CardDetails) -> Result<PaymentProgress, CaasError> {
        Ok(self.inner.pay(order_id, card.into()).await?)
    }

    /// Finds out how the payment in flight ended (after 3-D Secure, or when the app starts);
    /// `null`/`nil` when none is in flight.
    pub async fn resume_payment(&self, order_id: Uuid) -> Result<Option<PaymentProgress>, CaasError> {
        Ok(self.inner.resume_payment(order_id).await?)
    }

    /// Connects the development push stream; returns once no later push can be missed.
    pub async fn connect_push_stream(&self) -> Result<Arc<PushStreamHandle>, CaasError> {
        let stream = self.inner.connect_push_stream().await?;
        Ok(Arc::new(PushStreamHandle { device_id: stream.device_id(), stream: Mutex::new(Some(stream)) }))
    }

    /// The orders list now, then after every change.
    pub fn subscribe_orders(&self, listener: Arc<dyn OrdersListener>) -> Arc<SubscriptionHandle> {
        SubscriptionHandle::spawn(&self.inner.runtime(), self.inner.orders_updates(), move |orders| {
            listener.on_orders(orders);
        })
    }

    /// One order now (once it is cached), then after every change to it.
    pub fn subscribe_order(&self, id: Uuid, listener: Arc<dyn OrderListener>) -> Arc<SubscriptionHandle> {
        SubscriptionHandle::spawn(&self.inner.runtime(), self.inner.order_updates(id), move |order| {
            listener.on_order(order)
        })
    }

    /// Every push handled from now on, with what came of it.
    pub fn subscribe_pushes(&self, listener: Arc<dyn PushListener>) -> Arc<SubscriptionHandle> {
        SubscriptionHandle::spawn(&self.inner.runtime(), self.inner.push_updates(), move |(hint, outcome)| {
            listener.on_push(hint, outcome.into());
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A listener fed from a channel of numbers, recording what it was given.
    fn listen(
        runtime: &tokio::runtime::Runtime,
    ) -> (tokio::sync::mpsc::UnboundedSender<u32>, Arc<SubscriptionHandle>, Arc<Mutex<Vec<u32>>>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let updates = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|n| (n, rx)) });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let handle = SubscriptionHandle::spawn(runtime.handle(), updates, move |n| log.lock().expect("log").push(n));
        (tx, handle, seen)
    }

    fn until(seen: &Mutex<Vec<u32>>, expected: &[u32]) {
        for _ in 0..200 {
            if seen.lock().expect("log").as_slice() == expected {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("saw {:?}, expected {expected:?}", seen.lock().expect("log"));
    }

    /// A secret store that holds nothing: a core that never signs in.
    struct NoSecrets;

    impl SecretStore for NoSecrets {
        fn get(&self, _key: String) -> Result<Option<String>, SecretStoreError> {
            Ok(None)
        }

        fn set(&self, _key: String, _value: String) -> Result<(), SecretStoreError> {
            Ok(())
        }

        fn delete(&self, _key: String) -> Result<(), SecretStoreError> {
            Ok(())
        }
    }

    /// A shell's UI thread knows nothing of the core's runtime: the synchronous reads must not
    /// need one, and must answer as the async ones do.
    #[test]
    fn snapshots_are_read_on_a_thread_outside_the_runtime() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let dir = std::env::temp_dir().join(format!("caas-ffi-{}", Uuid::now_v7()));
        let config = CaasConfig { backend_url: "http://127.0.0.1:9".into(), data_dir: dir.display().to_string() };
        let core = runtime.block_on(Caas::open(config, Arc::new(NoSecrets))).expect("open");
        let order = Uuid::now_v7();
        let (orders, detail) = std::thread::spawn({
            let core = Arc::clone(&core);
            move || (core.orders_snapshot(), core.order_snapshot(order))
        })
        .join()
        .expect("the UI thread");
        assert_eq!(orders.expect("orders"), runtime.block_on(core.orders()).expect("orders"));
        assert!(matches!(detail, Err(CaasError::NotFound { .. })), "{detail:?}");
        drop(core);
        std::fs::remove_dir_all(dir).expect("clean up");
    }

    #[test]
    fn a_cancelled_or_dropped_handle_stops_its_listener() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        for stop in [|handle: Arc<SubscriptionHandle>| handle.cancel(), drop] {
            let (tx, handle, seen) = listen(&runtime);
            tx.send(1).expect("send");
            until(&seen, &[1]);
            stop(handle);
            // Sending fails once the task is gone: the receiver went with it.
            for _ in 0..200 {
                if tx.send(2).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(tx.send(3).is_err(), "the listener's task ended");
            assert_eq!(seen.lock().expect("log").as_slice(), [1], "nothing after the stop");
        }
    }
}
