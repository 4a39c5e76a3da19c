//! The customer's side of the delivery: the windows on offer, moving the delivery, confirming the
//! address, and the handover code shown to the driver or the dealership.
//!
//! Moving the delivery needs a connection and is not queued: a window is only worth choosing
//! while the transport company still has room in it, which only the platform knows at that moment.
//! The handover code is kept in memory only (it is a short-lived credential) so the screen can show
//! it again without signal until it expires.

use caas_protocol::delivery::{
    ChooseSlotRequest, ConfirmAddressRequest, DeliverySlot, DisputeHandoverRequest, HandoverCodeView,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::listeners::Change;

impl Caas {
    /// The windows the delivery of `order` can move to.
    #[tracing::instrument(skip(self))]
    pub async fn delivery_slots(&self, order: Uuid) -> Result<Vec<DeliverySlot>> {
        self.inner.api.delivery_slots(&self.token().await?, order).await
    }

    /// Moves the delivery to the offered window starting at `start`.
    #[tracing::instrument(skip(self))]
    pub async fn choose_delivery_window(&self, order: Uuid, start: DateTime<Utc>) -> Result<()> {
        let view = self.inner.api.choose_window(&self.token().await?, order, &ChooseSlotRequest { start }).await?;
        self.refresh_after(view.id).await
    }

    /// Confirms the delivery address, correcting it when `address` is given.
    #[tracing::instrument(skip(self, address))]
    pub async fn confirm_delivery_address(&self, order: Uuid, address: Option<String>) -> Result<()> {
        let view =
            self.inner.api.confirm_address(&self.token().await?, order, &ConfirmAddressRequest { address }).await?;
        self.refresh_after(view.id).await
    }

    /// Disputes the recorded handover of `order` (the car did not reach the customer): kept on the
    /// purchase record, and the dealership is told at once. Needs a connection.
    #[tracing::instrument(skip(self, reason))]
    pub async fn dispute_handover(&self, order: Uuid, reason: &str) -> Result<()> {
        let request = DisputeHandoverRequest { reason: reason.to_owned() };
        let view = self.inner.api.dispute_handover(&self.token().await?, order, &request).await?;
        self.refresh_after(view.id).await
    }

    /// A handover code to show: a fresh one when online, else the last one while it is valid.
    #[tracing::instrument(skip(self))]
    pub async fn handover_code(&self, order: Uuid) -> Result<HandoverCodeView> {
        match self.inner.api.handover_code(&self.token().await?, order).await {
            Ok(code) => {
                self.handover_codes().insert(order, code.clone());
                Ok(code)
            }
            Err(CaasError::Offline(reason)) => {
                let kept = self.handover_codes().get(&order).filter(|c| c.expires_at > Utc::now()).cloned();
                kept.ok_or(CaasError::Offline(reason))
            }
            Err(error) => Err(error),
        }
    }

    fn handover_codes(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, HandoverCodeView>> {
        self.inner.handover_codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Brings the order's log up to date after a change the customer made, so the screen shows it
    /// at once; the push would bring it too.
    async fn refresh_after(&self, order: Uuid) -> Result<()> {
        if let Err(error) = self.sync_order(order).await {
            tracing::debug!(%error, "refresh after a delivery change failed; the push will bring it");
            self.notify(Change::Order(order));
        }
        Ok(())
    }
}
