//! The purchase record as the phone holds it: the events as the platform sent them, checked as a
//! chain at every sync, with the platform's signature on the last one. Exported, it is evidence a
//! customer can keep or hand over, checked offline with only the platform's public key.

use caas_protocol::record::{EXPORT_FORMAT, RecordExport, RecordKey};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::store;

impl Caas {
    /// The order's record as this phone holds it, signed by the platform up to its last event.
    /// Works offline; an order not synced since its last event needs a sync first.
    #[tracing::instrument(skip(self))]
    pub async fn export_record(&self, order_id: Uuid) -> Result<RecordExport> {
        let key = self.pinned_record_key().await?.ok_or_else(|| not_signed(order_id))?;
        let (events, head) = self.inner.store.read(move |conn| store::record(conn, order_id)).await?;
        let held = u64::try_from(events.len()).unwrap_or(u64::MAX);
        let head = head.filter(|head| head.version == held && held > 0).ok_or_else(|| not_signed(order_id))?;
        Ok(RecordExport { format: EXPORT_FORMAT.to_owned(), order_id, key, head, events })
    }

    /// The platform's record key this phone pinned at its first sync, if it synced.
    pub async fn pinned_record_key(&self) -> Result<Option<RecordKey>> {
        self.inner.store.read(pinned_key).await
    }
}

/// The platform's record key pinned in the cache at the first sync, if any.
pub(crate) fn pinned_key(conn: &rusqlite::Connection) -> Result<Option<RecordKey>> {
    store::get_meta(conn, crate::sync::RECORD_KEY_META)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| crate::error::StorageError::Invalid(format!("the pinned record key: {e}")).into())
}

fn not_signed(order_id: Uuid) -> CaasError {
    CaasError::NotFound(format!("a signed record of order {order_id} on this phone (sync it first)"))
}
