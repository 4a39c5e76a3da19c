//! The purchase record as evidence: exported from the phone as a JSON document, and checked
//! offline against the platform's public key by anyone.

use caas_core::protocol::record::{RecordExport, RecordKey};
use uuid::Uuid;

use crate::Caas;
use crate::error::CaasError;

/// What checking a record found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RecordVerdict {
    /// Every event links to the one before it and the platform signed the last one.
    Valid { order_id: Uuid, events: u64 },
    /// The record was changed, cut short, or not signed by the platform's key; `reason` says how.
    Invalid { reason: String },
}

/// Checks an exported record (`export_record`) against the platform's public key (Ed25519,
/// base64url), without any connection.
#[uniffi::export]
pub fn verify_record(record: String, public_key: String) -> Result<RecordVerdict, CaasError> {
    let key =
        RecordKey::from_public_key(public_key.trim()).map_err(|e| CaasError::InvalidInput { reason: e.to_string() })?;
    Ok(match RecordExport::from_json(&record).and_then(|record| record.verify(&key)) {
        Ok(verified) => RecordVerdict::Valid { order_id: verified.order_id, events: verified.events },
        Err(e) => RecordVerdict::Invalid { reason: e.to_string() },
    })
}

#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// The order's purchase record as this phone holds it, signed by the platform: a JSON
    /// document to keep or share. Works offline once the order is synced.
    pub async fn export_record(&self, order_id: Uuid) -> Result<String, CaasError> {
        Ok(self.inner.export_record(order_id).await?.to_json())
    }

    /// The platform's record key this phone pinned at its first sync (base64url), to check records
    /// with; none before the first sync.
    pub async fn record_public_key(&self) -> Result<Option<String>, CaasError> {
        Ok(self.inner.pinned_record_key().await?.map(|key| key.public_key))
    }
}
