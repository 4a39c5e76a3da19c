//! The development push channel: the platform's per-device SSE stream stands in for FCM and
//! APNs. Each event goes through [`Caas::handle_push`] exactly as a real push would; after a
//! reconnection the core syncs everything, since hints sent while away are not replayed.

use std::sync::{Arc, Weak};
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};
use caas_protocol::push::PushPlatform;
use futures_util::StreamExt as _;
use uuid::Uuid;

use crate::client::{Caas, Inner};
use crate::error::{CaasError, Result};
use crate::sse::SseSplitter;
use crate::store;

const SSE_DEVICE_META: &str = "sse_device_id";

/// A connected push stream; dropping it disconnects.
#[derive(Debug)]
#[must_use = "dropping the stream disconnects it"]
pub struct PushStream {
    device_id: Uuid,
    task: tokio::task::JoinHandle<()>,
}

impl PushStream {
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }
}

impl Drop for PushStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Caas {
    /// Registers this installation as an SSE push device (once) and connects. Returns when the
    /// stream is established, so no push sent after this returns is missed; reconnects with
    /// backoff if the connection drops.
    pub async fn connect_push_stream(&self) -> Result<PushStream> {
        let (device_id, response) = self.open_push_stream().await?;
        let task = self.inner.runtime.spawn(run_push_stream(Arc::downgrade(&self.inner), response));
        Ok(PushStream { device_id, task })
    }

    async fn sse_device(&self, fresh: bool) -> Result<Uuid> {
        if !fresh {
            let known = self.inner.store.read(|conn| store::get_meta(conn, SSE_DEVICE_META)).await?;
            if let Some(id) = known.and_then(|id| id.parse().ok()) {
                return Ok(id);
            }
        }
        let label = format!("caas-core-sse-{}", Uuid::new_v4());
        let id = self.register_push_device(PushPlatform::Sse, &label).await?;
        let value = id.to_string();
        self.inner.store.write(move |tx| store::set_meta(tx, SSE_DEVICE_META, &value)).await?;
        Ok(id)
    }

    async fn open_push_stream(&self) -> Result<(Uuid, reqwest::Response)> {
        let token = self.token().await?;
        let device = self.sse_device(false).await?;
        match self.inner.api.device_stream(&token, device).await {
            Ok(response) => Ok((device, response)),
            // The platform forgot the device (removed, or a new backend): register again.
            Err(CaasError::NotFound(_)) => {
                let device = self.sse_device(true).await?;
                Ok((device, self.inner.api.device_stream(&token, device).await?))
            }
            Err(error) => Err(error),
        }
    }
}

/// Reads the stream, and reconnects with backoff when it drops, until sign-out or until the core
/// is gone: the task holds the core weakly, so a forgotten stream does not keep it open.
async fn run_push_stream(core: Weak<Inner>, mut response: reqwest::Response) {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(30))
        .without_max_times();
    let upgrade = |core: &Weak<Inner>| core.upgrade().map(|inner| Caas { inner });
    loop {
        if read_push_stream(&core, response).await.is_none() {
            return;
        }
        let mut delays = backoff.build();
        response = loop {
            tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(30))).await;
            let Some(caas) = upgrade(&core) else { return };
            match caas.open_push_stream().await {
                Ok((_, response)) => break response,
                Err(CaasError::Unauthorized) => {
                    tracing::warn!("push stream stopped: signed out");
                    return;
                }
                Err(error) => tracing::debug!(error = error.chain(), "push stream reconnect failed"),
            }
        };
        let Some(caas) = upgrade(&core) else { return };
        if let Err(error) = caas.sync().await {
            tracing::warn!(error = error.chain(), "catch-up sync after reconnecting failed");
        }
    }
}

/// Hands each event of the stream to the core until the stream ends (`Some`) or the core is gone
/// (`None`).
async fn read_push_stream(core: &Weak<Inner>, response: reqwest::Response) -> Option<()> {
    let mut splitter = SseSplitter::default();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let events = match chunk.map_err(|e| e.to_string()).and_then(|c| splitter.push(&c).map_err(|e| e.to_string())) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "push stream interrupted");
                return Some(());
            }
        };
        let caas = Caas { inner: core.upgrade()? };
        for event in events {
            if let Err(error) = caas.handle_push(&event).await {
                tracing::warn!(error = error.chain(), "push from the stream not handled");
            }
        }
    }
    tracing::debug!("push stream closed by the platform");
    Some(())
}
