//! The customer's side of the delivery: the windows on offer, moving the delivery, confirming the
//! address, and the handover code shown to the driver or the dealership.
//!
//! Moving the delivery needs a connection and is not queued: a window is only worth choosing
//! while the transport company still has room in it, which only the platform knows at that moment.
//! The handover code is kept in memory only (it is a short-lived credential) so the screen can show
//! it again without signal until it expires. The phone names its device key when it asks for a
//! code and signs the moment each time it shows it, so a driver without signal can prove later
//! when the code was checked (see `caas_protocol::handover`).

use caas_protocol::delivery::{
    ChooseSlotRequest, ConfirmAddressRequest, DeliverySlot, DisputeHandoverRequest, HandoverCodeRequest,
    HandoverCodeView,
};
use caas_protocol::handover;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::updates::Change;

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

    /// A handover code to show: a fresh one when online, else the last one while it is valid;
    /// either way signed by this phone for the moment it is shown.
    #[tracing::instrument(skip(self))]
    pub async fn handover_code(&self, order: Uuid) -> Result<HandoverCodeView> {
        let holder_key = self.holder_key();
        let request = HandoverCodeRequest { holder_key: holder_key.clone() };
        match self.inner.api.handover_code(&self.token().await?, order, &request).await {
            Ok(code) => {
                let claims = handover::unverified_claims(&code.token);
                // The platform's clock, as far as this phone's is off from it.
                let offset = claims.as_ref().map_or_else(TimeDelta::zero, |c| c.issued_at - Utc::now());
                // Signed only if this phone holds it (the platform named its key).
                let ours = claims.filter(|c| holder_key.is_some() && c.holder == holder_key).map(|c| c.code_id);
                self.handover_codes().insert(order, KeptCode { view: code, offset, ours });
                self.present_handover_code(order).await
            }
            Err(error) if error.is_unreachable() => match self.present_handover_code(order).await {
                Err(CaasError::NotFound(_)) => Err(error),
                shown => shown,
            },
            Err(error) => Err(error),
        }
    }

    /// The code this phone shows for `order`, signed again for this moment on the platform's
    /// clock; the screen asks every [`handover::PRESENTATION_REFRESH`], without a connection. A
    /// code this phone cannot sign (another phone's, or the key is unavailable) is shown bare:
    /// good while it lasts, and as eight digits read out.
    #[tracing::instrument(skip(self))]
    pub async fn present_handover_code(&self, order: Uuid) -> Result<HandoverCodeView> {
        let kept = self.handover_codes().get(&order).filter(|c| c.view.expires_at > Utc::now()).cloned();
        let Some(KeptCode { mut view, offset, ours }) = kept else {
            return Err(CaasError::NotFound(format!("a valid handover code for order {order}; ask for a new one")));
        };
        let Some(code_id) = ours else {
            return Ok(view);
        };
        let now = Utc::now() + offset;
        let shown_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let signed = match self.device_key() {
            Ok(key) => key.sign(&handover::shown_message(code_id, shown_at)).await,
            Err(error) => Err(error),
        };
        match signed {
            Ok(signature) => view.token = handover::present(&view.token, shown_at, &signature),
            Err(error) => tracing::warn!(error = error.chain(), "the device key could not sign; showing the bare code"),
        }
        Ok(view)
    }

    /// This phone's public key as a code's holder, when the device key is there.
    fn holder_key(&self) -> Option<String> {
        match self.device_key().and_then(|key| key.public_key()) {
            Ok(key) => Some(caas_protocol::pairing::api::encode(&key)),
            Err(error) => {
                tracing::warn!(error = error.chain(), "no device key; a code is good only while it lasts");
                None
            }
        }
    }

    fn handover_codes(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, KeptCode>> {
        self.inner.handover_codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Brings the order's log up to date after a change the customer made, so the screen shows it
    /// at once; the push would bring it too.
    async fn refresh_after(&self, order: Uuid) -> Result<()> {
        if let Err(error) = self.sync_order(order).await {
            tracing::debug!(error = error.chain(), "refresh after a delivery change failed; the push will bring it");
            self.notify(Change::Order(order));
        }
        Ok(())
    }
}

/// A handover code as it came from the platform, and how far the platform's clock was ahead of
/// this phone's when it came.
#[derive(Debug, Clone)]
pub(crate) struct KeptCode {
    view: HandoverCodeView,
    offset: TimeDelta,
    /// The code's id when this phone holds it, so it can sign the moments it shows it.
    ours: Option<Uuid>,
}
