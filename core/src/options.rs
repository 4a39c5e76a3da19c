//! Options bought after delivery: the catalogue for the customer's car, the purchase with the
//! final payment's machinery, and the activation over BLE when the phone is near the car.
//!
//! The platform also sends each entitlement over its connected-car network, so a car in coverage
//! switches the option on without the phone. Near the car (an underground garage), the phone hands
//! the entitlements the cache holds to the car itself, offline too; the car's signed receipts wait
//! in the cache until the platform has them, and count only once the platform checked them.

use caas_protocol::api::Money;
use caas_protocol::options::{OptionCatalogue, OptionCode, PurchaseStatus};
use caas_protocol::pairing::api::decode;
use caas_protocol::pairing::{CommandId, Entitlement, MAX_ENTITLEMENT_LEN, OptionReceipt, VehicleStatus};
use caas_protocol::payment::CardDetails;
use uuid::Uuid;

use crate::client::Caas;
use crate::error::{CaasError, PairingFailure, Result};
use crate::pairing::{BleTransport, Errand, ErrandDone, LinkReport, PairingListener, PairingOptions, PairingStep};
use crate::payments::PaymentProgress;
use crate::store::vehicle_keys::{self, CarStatement, StoredGrant};
use crate::store::{self, PaymentPurpose};
use crate::updates::Change;

/// An entitlement from the cache, on its way to the car.
#[derive(Debug, Clone)]
pub(crate) struct HeldEntitlement {
    pub purchase_id: Uuid,
    pub option: OptionCode,
    pub bytes: Vec<u8>,
    /// One id per entitlement across every try, so a car that switched the option on before a
    /// link dropped answers from memory.
    pub command: CommandId,
}

/// What handing the waiting options to the car did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsActivation {
    /// The options the car confirmed.
    pub activated: Vec<OptionCode>,
    /// The options the car refused, with why.
    pub refused: Vec<(OptionCode, PairingFailure)>,
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

impl Caas {
    /// The options the order's car can take, with their prices and what each needs.
    #[tracing::instrument(skip(self))]
    pub async fn option_catalogue(&self, order: Uuid) -> Result<OptionCatalogue> {
        self.inner.api.option_catalogue(&self.token().await?, order).await
    }

    /// Buys `option` for the order's car with `card` at `price`, the price the customer was shown
    /// in the catalogue: the platform refuses another price (`AmountChanged`) and an option the car
    /// cannot take now (`OptionUnavailable`) before any charge. An attempt still in flight for the
    /// same option is resumed first and never doubled.
    #[tracing::instrument(skip(self, card), fields(card = %card.last4()))]
    pub async fn buy_option(
        &self,
        order: Uuid,
        option: OptionCode,
        price: Money,
        card: CardDetails,
    ) -> Result<PaymentProgress> {
        let token = self.token().await?;
        let purpose = PaymentPurpose::Option(option);
        if let Some(progress) = self.resume_or_abandon(&token, order, &purpose).await? {
            return Ok(progress);
        }
        self.start_attempt(&token, order, purpose, price, &card).await
    }

    /// Finds out how the payment in flight for an option ended (after 3-D Secure, or when the app
    /// starts again); `None` when none is in flight.
    #[tracing::instrument(skip(self))]
    pub async fn resume_option_payment(&self, order: Uuid, option: OptionCode) -> Result<Option<PaymentProgress>> {
        let token = self.token().await?;
        self.resume(&token, order, &PaymentPurpose::Option(option)).await
    }

    /// Hands the car every option paid for and not yet confirmed, over BLE, then reads its
    /// status. Works without signal: the entitlements come from the cache, and the car's receipts
    /// wait there for the next sync.
    #[tracing::instrument(skip(self, transport, listener))]
    pub async fn activate_options(
        &self,
        order: Uuid,
        transport: &dyn BleTransport,
        options: PairingOptions,
        listener: Option<&dyn PairingListener>,
    ) -> Result<OptionsActivation> {
        match self.sync_order(order).await {
            Err(error) if !error.is_unreachable() => return Err(error),
            _ => {}
        }
        let grant = self.grant_for(order, false).await?;
        let (entitlements, unusable) = self.held_entitlements(&grant).await?;
        let mut refused: Vec<(OptionCode, PairingFailure)> =
            unusable.into_iter().map(|option| (option, PairingFailure::EntitlementRefused)).collect();
        if entitlements.is_empty() {
            return Ok(OptionsActivation {
                activated: Vec::new(),
                refused,
                status: None,
                car_options: Vec::new(),
                reported: self.report_car_statements().await,
                link: None,
            });
        }
        let step = |step: PairingStep| {
            tracing::info!(?step, "activating options");
            if let Some(listener) = listener {
                listener.on_step(step);
            }
        };
        let errand = Errand::ActivateOptions { entitlements: entitlements.clone() };
        let (done, link, _) = self.on_car(order, transport, options, &step, &errand).await?;
        let ErrandDone::Activated { outcomes, status, options: car_options } = done else {
            return Err(CaasError::Protocol("the car did another errand".into()));
        };
        let mut activated = Vec::new();
        for (entitlement, outcome) in entitlements.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => activated.push(entitlement.option),
                Err(CaasError::Pairing { failure, message }) => {
                    tracing::warn!(option = %entitlement.option, %message, "the car refused an option");
                    refused.push((entitlement.option, failure));
                }
                Err(other) => return Err(other),
            }
        }
        // The car switched the options on: nothing from here on may turn that into a failure.
        let reported = self.report_car_statements().await;
        self.notify(Change::Order(order));
        Ok(OptionsActivation { activated, refused, status, car_options, reported, link: Some(link) })
    }

    /// The entitlements of the order's paid options the car has not confirmed, as cached, each
    /// checked to name the car of this phone's key and its own purchase, so nothing else is handed
    /// to the car; the options whose entitlement does not (unreadable, a newer platform's, another
    /// car's) come back apart, to be told as refused.
    async fn held_entitlements(&self, grant: &StoredGrant) -> Result<(Vec<HeldEntitlement>, Vec<OptionCode>)> {
        let order = grant.order_id;
        let (stored, kept) = self
            .inner
            .store
            .read(move |conn| Ok((store::load_order(conn, order)?, vehicle_keys::pending_statements(conn)?)))
            .await?;
        let Some(stored) = stored else { return Ok((Vec::new(), Vec::new())) };
        let (mut held, mut unusable) = (Vec::new(), Vec::new());
        for purchase in stored.summary.details.options {
            let waiting = purchase.status == PurchaseStatus::Paid
                && !kept.iter().any(|(_, _, statement)| {
                    matches!(statement, CarStatement::OptionReceipt { entitlement, .. } if *entitlement == purchase.purchase_id)
                });
            let Some(text) = purchase.entitlement.filter(|_| waiting) else { continue };
            let usable = decode(&text, MAX_ENTITLEMENT_LEN)
                .ok()
                .and_then(|bytes| {
                    Entitlement::read_unverified(&bytes).ok().map(|(entitlement, _, _)| (bytes, entitlement))
                })
                .filter(|(_, entitlement)| {
                    entitlement.vin.as_str() == grant.vin
                        && entitlement.entitlement_id == purchase.purchase_id
                        && entitlement.option == purchase.option
                });
            match usable {
                Some((bytes, _)) => held.push(HeldEntitlement {
                    purchase_id: purchase.purchase_id,
                    option: purchase.option,
                    bytes,
                    command: CommandId::random(),
                }),
                None => {
                    tracing::warn!(option = %purchase.option, "an entitlement from the platform is unusable");
                    unusable.push(purchase.option);
                }
            }
        }
        Ok((held, unusable))
    }

    /// Checks the car's receipt for an entitlement and keeps it for the platform.
    pub(crate) async fn keep_option_receipt(
        &self,
        grant: &StoredGrant,
        entitlement: &HeldEntitlement,
        receipt: OptionReceipt,
    ) -> Result<()> {
        let genuine = receipt.vin.as_str() == grant.vin
            && receipt.entitlement_id == entitlement.purchase_id
            && receipt.option == entitlement.option
            && receipt.verify(&grant.vehicle_public_key).is_ok();
        if !genuine {
            return Err(CaasError::pairing(PairingFailure::WrongCar, "the car's option receipt does not check out"));
        }
        let order = grant.order_id;
        let statement = CarStatement::OptionReceipt { entitlement: entitlement.purchase_id, receipt: receipt.encode() };
        self.inner.store.write(move |tx| vehicle_keys::keep_statement(tx, order, &statement)).await
    }
}
