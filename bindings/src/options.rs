//! Options after delivery as the shells see them: the catalogue, the purchase (the final
//! payment's progress and refusals), the purchases on the order, and the activation over BLE.
//! Most are the protocol's own types, declared here as remote records.

use std::sync::Arc;

use caas_core::protocol::api::Money;
use caas_core::protocol::messages::{self, Language};
use caas_core::protocol::options::{
    ActivationChannel, Availability, OptionCatalogue, OptionKind, OptionOffer, OptionPurchase, PurchaseStatus,
};
use uuid::Uuid;

pub use caas_core::protocol::options::OptionCode;

use crate::Caas;
use crate::error::CaasError;
use crate::pairing::{
    BleTransport, ForeignTransport, LinkReport, PairingListener, PairingOptions, Steps, VehicleStatus, core_options,
};
use crate::records::CardDetails;
use crate::types::Timestamp;

uniffi::custom_type!(OptionCode, String, {
    remote,
    lower: |code| code.to_string(),
    try_lift: |text| Ok(OptionCode::parse(&text)?),
});

#[uniffi::remote(Enum)]
pub enum OptionKind {
    /// The car has the hardware; the platform's entitlement switches it on.
    Software,
    /// Fitted at the dealership's workshop.
    Workshop,
    /// A kind a newer platform added.
    Unknown,
}

/// Whether the car can take an option now, and if not, why.
#[uniffi::remote(Enum)]
pub enum Availability {
    Available,
    Installed,
    /// Bought; the car has not confirmed it yet.
    Pending,
    NeedsWorkshop,
    Requires {
        option: OptionCode,
    },
    ConflictsWith {
        option: OptionCode,
    },
    /// A reason a newer platform added: not offered by this version.
    Unknown,
}

#[uniffi::remote(Record)]
pub struct OptionOffer {
    pub code: OptionCode,
    /// The option's name, as the platform writes it for the customer.
    pub name: String,
    pub price: Money,
    pub kind: OptionKind,
    pub requires: Vec<OptionCode>,
    pub conflicts_with: Vec<OptionCode>,
    pub availability: Availability,
}

#[uniffi::remote(Record)]
pub struct OptionCatalogue {
    pub base_platform: String,
    pub offers: Vec<OptionOffer>,
}

#[uniffi::remote(Enum)]
pub enum PurchaseStatus {
    /// Paid; the car has not confirmed it yet (near the car, `activate_options` hands it over).
    Paid,
    Activated,
    /// Not confirmed in time: the price went back to the card.
    Refunded,
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum ActivationChannel {
    Bluetooth,
    ConnectedCar,
    Unknown,
}

/// An option bought for the car.
#[uniffi::remote(Record)]
pub struct OptionPurchase {
    pub purchase_id: Uuid,
    pub option: OptionCode,
    pub name: String,
    pub price: Money,
    pub status: PurchaseStatus,
    pub paid_at: Timestamp,
    /// The car must confirm it by then, or the price is refunded.
    pub activate_by: Timestamp,
    /// The platform's signed entitlement the phone hands to the car; not for display.
    pub entitlement: Option<String>,
    pub activated_at: Option<Timestamp>,
    pub activated_via: Option<ActivationChannel>,
    pub refunded_at: Option<Timestamp>,
}

/// An option the car refused, with why.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RefusedOption {
    pub option: OptionCode,
    pub failure: caas_core::PairingFailure,
}

/// What handing the waiting options to the car did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OptionsActivation {
    pub activated: Vec<OptionCode>,
    pub refused: Vec<RefusedOption>,
    /// The car's status after them; `None` when nothing waited (the car was not asked) or the
    /// car did not give it.
    pub status: Option<VehicleStatus>,
    /// The options the car lists as switched on (empty when it was not asked).
    pub car_options: Vec<OptionCode>,
    /// Whether the platform has every receipt; if not, the next sync sends them.
    pub reported: bool,
    /// What the link cost; `None` when nothing waited and the phone did not go to the car.
    pub link: Option<LinkReport>,
}

impl From<caas_core::OptionsActivation> for OptionsActivation {
    fn from(done: caas_core::OptionsActivation) -> Self {
        Self {
            activated: done.activated,
            refused: done.refused.into_iter().map(|(option, failure)| RefusedOption { option, failure }).collect(),
            status: done.status.map(Into::into),
            car_options: done.car_options,
            reported: done.reported,
            link: done.link.map(Into::into),
        }
    }
}

/// An option's name in the language of `locale` (fitted at the factory or sold after delivery),
/// for a name the catalogue does not carry (what an option requires or conflicts with); "an option"
/// in that language for one this version does not know.
#[uniffi::export]
pub fn option_name(option: OptionCode, locale: String) -> String {
    messages::capitalized(&messages::option_words(&option, Language::from_locale(&locale)))
}

#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// The options the order's car can take after delivery, with their prices, what each needs,
    /// and whether it can be bought now. Needs a connection.
    pub async fn option_catalogue(&self, order_id: Uuid) -> Result<OptionCatalogue, CaasError> {
        Ok(self.inner.option_catalogue(order_id).await?)
    }

    /// Buys an option for the car at `price`, the offer's price the customer was shown, as the
    /// final payment is paid (3-D Secure, typed refusals, one attempt at a time, never charged
    /// twice): another price is refused (`AmountChanged`) before any charge. The platform then sends
    /// it to the car; near the car, `activate_options` hands it over.
    pub async fn buy_option(
        &self,
        order_id: Uuid,
        option: OptionCode,
        price: Money,
        card: CardDetails,
    ) -> Result<caas_core::PaymentProgress, CaasError> {
        Ok(self.inner.buy_option(order_id, option, price, card.into()).await?)
    }

    /// How the payment in flight for an option ended (after 3-D Secure, or when the app starts).
    pub async fn resume_option_payment(
        &self,
        order_id: Uuid,
        option: OptionCode,
    ) -> Result<Option<caas_core::PaymentProgress>, CaasError> {
        Ok(self.inner.resume_option_payment(order_id, option).await?)
    }

    /// Hands the car, over BLE, every option paid for and not yet confirmed, then reads its status.
    /// Works without signal; the car's receipts reach the platform now or on the next sync.
    pub async fn activate_options(
        &self,
        order_id: Uuid,
        transport: Arc<dyn BleTransport>,
        options: Option<PairingOptions>,
        listener: Option<Arc<dyn PairingListener>>,
    ) -> Result<OptionsActivation, CaasError> {
        let steps = listener.map(Steps);
        let done = self
            .inner
            .activate_options(
                order_id,
                &ForeignTransport(transport),
                core_options(options),
                steps.as_ref().map(|s| s as &dyn caas_core::PairingListener),
            )
            .await?;
        Ok(done.into())
    }
}
