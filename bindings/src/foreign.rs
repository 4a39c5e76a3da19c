//! Traits the shells implement: the secret store (Keystore, Keychain) and the listeners the
//! core's update streams feed (`SubscriptionHandle`).

use std::sync::Arc;

use caas_core::protocol::push::PushHint;
use caas_core::{AssignedDelivery, OrderDetail, OrderSummary};

use crate::records::PushOutcome;

/// Why the shell's secret store failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SecretStoreError {
    #[error("secret store failed: {reason}")]
    Failed { reason: String },
    /// The user declined the unlock prompt (biometrics, device credential) of a store that asks
    /// for one; the stores shipped here never do.
    #[error("the user declined")]
    Cancelled,
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecretStoreError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SecretStoreError::Failed { reason: error.reason }
    }
}

/// Secure storage for small secrets (the session token, later the device's keys): Android
/// Keystore-backed preferences, the iOS Keychain. Never the SQLite cache.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    fn get(&self, key: String) -> Result<Option<String>, SecretStoreError>;
    fn set(&self, key: String, value: String) -> Result<(), SecretStoreError>;
    fn delete(&self, key: String) -> Result<(), SecretStoreError>;
}

/// The core's view of a shell's secret store.
pub(crate) struct ForeignSecrets(pub Arc<dyn SecretStore>);

impl std::fmt::Debug for ForeignSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignSecrets")
    }
}

impl From<SecretStoreError> for caas_core::CaasError {
    fn from(error: SecretStoreError) -> Self {
        match error {
            SecretStoreError::Cancelled => caas_core::CaasError::Cancelled,
            failed @ SecretStoreError::Failed { .. } => caas_core::CaasError::Secrets(failed.into()),
        }
    }
}

impl caas_core::SecretStore for ForeignSecrets {
    fn get(&self, key: &str) -> caas_core::Result<Option<String>> {
        self.0.get(key.to_owned()).map_err(Into::into)
    }

    fn set(&self, key: &str, value: &str) -> caas_core::Result<()> {
        self.0.set(key.to_owned(), value.to_owned()).map_err(Into::into)
    }

    fn delete(&self, key: &str) -> caas_core::Result<()> {
        self.0.delete(key.to_owned()).map_err(Into::into)
    }
}

/// Receives the orders list now and after every change.
#[uniffi::export(with_foreign)]
pub trait OrdersListener: Send + Sync {
    fn on_orders(&self, orders: Vec<OrderSummary>);
}

/// Receives one order now and after every change to it.
#[uniffi::export(with_foreign)]
pub trait OrderListener: Send + Sync {
    fn on_order(&self, order: OrderDetail);
}

/// Receives every push the core handled.
#[uniffi::export(with_foreign)]
pub trait PushListener: Send + Sync {
    fn on_push(&self, hint: PushHint, outcome: PushOutcome);
}

/// Receives the driver's deliveries now and after every change.
#[uniffi::export(with_foreign)]
pub trait DeliveriesListener: Send + Sync {
    fn on_deliveries(&self, deliveries: Vec<AssignedDelivery>);
}
