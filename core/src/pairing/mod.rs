//! Pairing the owner's phone with the car after delivery (the seed's "mobile app linking"):
//! fetch or refresh the grant, find the car by its rotating identifier, connect, run the
//! handshake, have the car link the app and read its status, then hand the car's signed receipt
//! to the platform, which moves the order to `app_linked` and `operational`.
//!
//! Pairing works without signal once the grant is on the phone: the receipt waits in the cache
//! and goes to the platform on the next sync.

mod conversation;
mod device_key;
pub mod simulated;
mod transport;

#[cfg(feature = "btleplug")]
pub mod btleplug_transport;

use std::time::Duration;

use caas_protocol::api::ErrorCode;
use caas_protocol::options::OptionCode;
use caas_protocol::pairing::api::{self, GrantRequest, GrantView, LinkRequest, grant_request_message};
use caas_protocol::pairing::{
    AdvertisingKey, Command, CommandId, ExpectedVehicle, Reply, Request, RotatingId, TelemetryReport, VehicleStatus,
    Vin, read_unverified,
};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

pub use conversation::{LinkReport, LinkUse};
pub use device_key::{DeviceKey, SoftwareDeviceKey};
pub use transport::{Advertisement, BleLink, BleTransport, TransportError};

use crate::client::Caas;
use crate::error::{CaasError, PairingFailure, Result};
use crate::store::{self, vehicle_keys};
use crate::updates::Change;
use conversation::{Conversation, refused, transport_failure};
use vehicle_keys::StoredGrant;

/// A grant with less than this left is refreshed before use (when the platform can be reached).
const REFRESH_BEFORE_END: TimeDelta = TimeDelta::hours(1);

/// Where the car's advertising key for an order is kept.
fn advertising_secret(order: Uuid) -> String {
    format!("pairing.advertising.{order}")
}

/// What the pairing screen shows while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingStep {
    Scanning,
    Connecting,
    Authenticating,
    Linked,
}

/// Hears the steps of a pairing.
pub trait PairingListener: Send + Sync {
    fn on_step(&self, step: PairingStep);
}

/// How patient a pairing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairingOptions {
    pub scan_timeout: Duration,
    /// How long to wait for each answer of the car.
    pub reply_timeout: Duration,
    /// How often a command is sent again when its response does not come.
    pub resends: u32,
    /// How many connections to try when a link drops.
    pub attempts: u32,
}

impl Default for PairingOptions {
    fn default() -> Self {
        Self { scan_timeout: Duration::from_secs(10), reply_timeout: Duration::from_secs(3), resends: 2, attempts: 2 }
    }
}

/// A finished pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired {
    pub vin: String,
    pub grant_id: Uuid,
    pub status: VehicleStatus,
    /// Whether the platform has the car's receipt; if not, the next sync sends it.
    pub reported: bool,
    pub link: LinkReport,
}

impl Caas {
    /// Pairs this phone with the order's car over `transport`.
    #[tracing::instrument(skip(self, transport, listener))]
    pub async fn pair_vehicle(
        &self,
        order_id: Uuid,
        transport: &dyn BleTransport,
        options: PairingOptions,
        listener: Option<&dyn PairingListener>,
    ) -> Result<Paired> {
        let step = |step| {
            tracing::info!(?step, "pairing");
            if let Some(listener) = listener {
                listener.on_step(step);
            }
        };
        // One id for the "link app" command across every try, so a car that linked before a link
        // dropped answers from memory.
        let errand = Errand::Link { command: CommandId::random() };
        let (done, link, grant) = self.on_car(order_id, transport, options, &step, &errand).await?;
        let ErrandDone::Linked(status) = done else {
            return Err(CaasError::Protocol("the car did another errand".into()));
        };
        let reported = self.report_link(order_id).await?;
        step(PairingStep::Linked);
        Ok(Paired { vin: grant.vin, grant_id: grant.grant_id, status, reported, link })
    }

    /// Runs `errand` on the order's car: scans, connects and authenticates with the order's
    /// phone key, trying again where another try can help.
    pub(crate) async fn on_car(
        &self,
        order_id: Uuid,
        transport: &dyn BleTransport,
        options: PairingOptions,
        step: &(dyn Fn(PairingStep) + Sync),
        errand: &Errand,
    ) -> Result<(ErrandDone, LinkReport, StoredGrant)> {
        let mut grant = self.grant_for(order_id, false).await?;
        let mut refreshed = false;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.errand_once(&grant, transport, errand, options, step).await {
                Ok((done, link)) => return Ok((done, link, grant)),
                // A grant the car finds expired, or a car that seems absent (the phone's idea of
                // the car's clock, which picks its identifier, may be stale): a fresh grant from
                // the platform brings both up to date, once.
                Err(
                    error @ CaasError::Pairing {
                        failure: PairingFailure::GrantExpired | PairingFailure::CarNotFound,
                        ..
                    },
                ) if !refreshed => {
                    tracing::info!(error = error.chain(), "fetching a fresh grant and trying again");
                    grant = match self.grant_for(order_id, true).await {
                        Ok(grant) => grant,
                        Err(unreachable) if unreachable.is_unreachable() => return Err(error),
                        // Revoked since: the car's new advertising key hid it from this phone.
                        Err(other) => return Err(self.forget_if_revoked(order_id, other).await?),
                    };
                    refreshed = true;
                }
                Err(error @ CaasError::Pairing { failure: PairingFailure::ConnectionLost, .. })
                    if tries >= options.attempts.max(1) =>
                {
                    return Err(error);
                }
                Err(CaasError::Pairing { failure: PairingFailure::ConnectionLost, message }) => {
                    tracing::info!(%message, "the link dropped; connecting again");
                }
                Err(error) => return Err(self.forget_if_revoked(order_id, error).await?),
            }
        }
    }

    /// A revoked grant opens nothing any more: keep neither it nor the car's secret. Returns
    /// `error` to pass on.
    async fn forget_if_revoked(&self, order_id: Uuid, error: CaasError) -> Result<CaasError> {
        if matches!(error, CaasError::Pairing { failure: PairingFailure::GrantRevoked, .. }) {
            self.inner.store.write(move |tx| vehicle_keys::forget_grant(tx, order_id)).await?;
            self.inner.secrets.delete(&advertising_secret(order_id))?;
        }
        Ok(error)
    }

    /// Fetches the phone key for a delivered order now, so the car can be paired later without
    /// signal (the shells call it when the order shows `delivered`).
    pub async fn prepare_pairing(&self, order_id: Uuid) -> Result<()> {
        self.grant_for(order_id, false).await.map(drop)
    }

    /// One connection: scan, connect, authenticate, then the errand.
    async fn errand_once(
        &self,
        grant: &StoredGrant,
        transport: &dyn BleTransport,
        errand: &Errand,
        options: PairingOptions,
        step: &(dyn Fn(PairingStep) + Sync),
    ) -> Result<(ErrandDone, LinkReport)> {
        step(PairingStep::Scanning);
        let secret = self.inner.secrets.get(&advertising_secret(grant.order_id))?.ok_or_else(|| {
            CaasError::pairing(
                PairingFailure::CarNotFound,
                "this phone has no key to recognise the car; pair online once",
            )
        })?;
        let advertising = AdvertisingKey::new(&decode_secret(&secret)?);
        let car_now = Utc::now().timestamp() + grant.clock_offset_seconds;
        let seen = transport.scan(options.scan_timeout).await.map_err(transport_failure)?;
        let car = seen
            .iter()
            .filter(|ad| {
                <[u8; 8]>::try_from(ad.service_data.as_slice())
                    .is_ok_and(|id| advertising.recognises(RotatingId(id), car_now))
            })
            .max_by_key(|ad| ad.rssi.unwrap_or(i16::MIN))
            .ok_or_else(|| {
                CaasError::pairing(
                    PairingFailure::CarNotFound,
                    format!("your car was not among the {} cars in range; go closer and try again", seen.len()),
                )
            })?;
        step(PairingStep::Connecting);
        let link = transport.connect(&car.peripheral_id).await.map_err(transport_failure)?;
        let mut conversation = Conversation::new(link);
        step(PairingStep::Authenticating);
        let expected = ExpectedVehicle {
            vin: Vin::parse(&grant.vin).map_err(|_| CaasError::corrupt("the stored VIN is invalid"))?,
            public_key: grant.vehicle_public_key,
            advertising,
            car_now_secs: car_now,
        };
        let outcome = self.run_errand(&mut conversation, expected, grant, errand, options).await;
        let report = conversation.close().await;
        tracing::info!(?report, "car link closed");
        outcome.map(|done| (done, report))
    }

    async fn run_errand(
        &self,
        conversation: &mut Conversation,
        expected: ExpectedVehicle,
        grant: &StoredGrant,
        errand: &Errand,
        options: PairingOptions,
    ) -> Result<ErrandDone> {
        let device_key = self.device_key()?;
        let mut session =
            conversation.authenticate(expected, &grant.grant, device_key.as_ref(), options.reply_timeout).await?;
        let mut ask = async |id, request| {
            let command = Command { id, request };
            conversation.command(&mut session, command, options.reply_timeout, options.resends).await
        };
        match errand {
            Errand::Link { command } => {
                let receipt = match ask(*command, Request::LinkApp).await? {
                    Reply::Linked(receipt) => receipt,
                    Reply::Refused(code) => return Err(refused(code)),
                    _ => return Err(other_reply()),
                };
                if receipt.grant_id != grant.grant_id || receipt.verify(&grant.vehicle_public_key).is_err() {
                    return Err(CaasError::pairing(
                        PairingFailure::WrongCar,
                        "the car's link receipt does not check out",
                    ));
                }
                let (order, encoded) = (grant.order_id, receipt.encode());
                self.inner.store.write(move |tx| vehicle_keys::set_link_receipt(tx, order, Some(&encoded))).await?;
                let status = read_status(ask(CommandId::random(), Request::ReadStatus).await?)?;
                Ok(ErrandDone::Linked(status))
            }
            Errand::ActivateOptions { entitlements } => {
                let mut outcomes = Vec::new();
                for entitlement in entitlements {
                    let outcome =
                        match ask(entitlement.command, Request::ActivateOption(entitlement.bytes.clone())).await? {
                            Reply::OptionActivated(receipt) => {
                                self.keep_option_receipt(grant, entitlement, receipt).await?;
                                Ok(())
                            }
                            Reply::Refused(code) => Err(refused(code)),
                            _ => return Err(other_reply()),
                        };
                    outcomes.push(outcome);
                }
                // What the car did stands: a status or list it then fails to give is only missing.
                let status = match ask(CommandId::random(), Request::ReadStatus).await {
                    Ok(reply) => read_status(reply).ok(),
                    Err(error) => {
                        tracing::info!(error = error.chain(), "the car's status after the options is missing");
                        None
                    }
                };
                let options = match ask(CommandId::random(), Request::ReadOptions).await {
                    Ok(Reply::Options(options)) => options,
                    _ => Vec::new(),
                };
                Ok(ErrandDone::Activated { outcomes, status, options })
            }
            Errand::ReadTelemetry => {
                let status = read_status(ask(CommandId::random(), Request::ReadStatus).await?)?;
                match ask(CommandId::random(), Request::ReadTelemetry).await? {
                    Reply::Telemetry(report) => Ok(ErrandDone::Telemetry { status, report }),
                    Reply::Refused(code) => Err(refused(code)),
                    _ => Err(other_reply()),
                }
            }
        }
    }

    /// The device key: the shell's, or the software key kept in the secret store.
    pub(crate) fn device_key(&self) -> Result<std::sync::Arc<dyn DeviceKey>> {
        match &self.inner.device_key {
            Some(key) => Ok(key.clone()),
            None => Ok(std::sync::Arc::new(SoftwareDeviceKey::load_or_create(self.inner.secrets.as_ref())?)),
        }
    }

    /// The order's grant: the stored one while it has time left, else a fresh one from the
    /// platform (or the stored one still, when offline and not yet expired).
    pub(crate) async fn grant_for(&self, order: Uuid, refresh: bool) -> Result<StoredGrant> {
        let stored = self.inner.store.read(move |conn| vehicle_keys::load_grant(conn, order)).await?;
        let now = Utc::now();
        let usable = |g: &StoredGrant, margin: TimeDelta| {
            g.not_after > now + TimeDelta::seconds(g.clock_offset_seconds) + margin
        };
        if let Some(grant) = stored.as_ref().filter(|g| !refresh && usable(g, REFRESH_BEFORE_END)) {
            return Ok(grant.clone());
        }
        match self.fetch_grant(order).await {
            Ok(grant) => Ok(grant),
            Err(error) if error.is_unreachable() => match stored.filter(|g| !refresh && usable(g, TimeDelta::zero())) {
                Some(grant) => Ok(grant),
                None if !self.handed_over(order).await => Err(not_delivered()),
                None => Err(error),
            },
            Err(CaasError::Rejected { code: ErrorCode::NotDelivered, .. }) => Err(not_delivered()),
            Err(CaasError::Rejected { code: ErrorCode::GrantRevoked, message }) => {
                Err(CaasError::pairing(PairingFailure::GrantRevoked, message))
            }
            Err(CaasError::Rejected { code: ErrorCode::StepUpRequired, message }) => {
                Err(CaasError::pairing(PairingFailure::ConfirmIdentity, message))
            }
            Err(error) => Err(error),
        }
    }

    /// Whether the cached order says the car was handed over.
    async fn handed_over(&self, order: Uuid) -> bool {
        self.order(order).await.is_ok_and(|o| o.summary.state.is_handed_over())
    }

    /// Asks the platform for a grant for this device's key, proving the key is ours.
    async fn fetch_grant(&self, order: Uuid) -> Result<StoredGrant> {
        let token = self.token().await?;
        let device_key = self.device_key()?;
        let public = device_key.public_key()?;
        let proof = device_key.sign(&grant_request_message(order, &public)).await?;
        let request = GrantRequest { device_public_key: api::encode(&public), proof: api::encode(&proof) };
        let view = self.inner.api.request_grant(&token, order, &request).await?;
        let grant = stored_grant(order, &view, &public)?;
        self.inner.secrets.set(&advertising_secret(order), &view.advertising_key)?;
        let kept = grant.clone();
        self.inner.store.write(move |tx| vehicle_keys::save_grant(tx, &kept)).await?;
        tracing::info!(%view, "phone key received");
        Ok(grant)
    }

    /// Sends the car's link receipt for `order` to the platform if one is waiting. `Ok(false)`
    /// when offline: the receipt stays for the next sync.
    pub(crate) async fn report_link(&self, order: Uuid) -> Result<bool> {
        let stored = self.inner.store.read(move |conn| vehicle_keys::load_grant(conn, order)).await?;
        let Some(receipt) = stored.and_then(|g| g.link_receipt) else {
            return Ok(true);
        };
        let request = LinkRequest { receipt: api::encode(&receipt) };
        match self.inner.api.report_link(&self.token().await?, order, &request).await {
            Ok(view) => {
                self.inner
                    .store
                    .write(move |tx| {
                        vehicle_keys::set_link_receipt(tx, order, None)?;
                        store::upsert_details(tx, &view)
                    })
                    .await?;
                let synced = self.sync_order(order).await;
                // The platform's answer is kept whatever the sync did: the listeners see it.
                self.notify(Change::Order(order));
                match synced {
                    Err(error) if !error.is_unreachable() => Err(error),
                    _ => Ok(true),
                }
            }
            Err(error) if error.is_unreachable() => {
                tracing::info!(error = error.chain(), "the link receipt waits for a connection");
                Ok(false)
            }
            Err(refused @ (CaasError::Rejected { .. } | CaasError::NotFound(_))) => {
                // The platform will never take this receipt: keeping it would retry it forever.
                tracing::warn!(error = refused.chain(), "the platform refused the car's link receipt");
                self.inner.store.write(move |tx| vehicle_keys::set_link_receipt(tx, order, None)).await?;
                Err(refused)
            }
            Err(error) => Err(error),
        }
    }

    /// Sends every waiting link receipt; part of a sync. A refused receipt does not stop the sync.
    pub(crate) async fn report_pending_links(&self) -> Result<()> {
        let pending = self.inner.store.read(vehicle_keys::pending_receipts).await?;
        for (order, _) in pending {
            match self.report_link(order).await {
                Ok(_) | Err(CaasError::Rejected { .. } | CaasError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Forgets this device's phone keys and the car secrets that go with them (signing out, or
    /// another account signing in).
    /// Revokes one of the phone keys of the customer's car (a lost phone, an old one): the car
    /// refuses it from its next command. Revoking this device's own key forgets it here too.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_phone_key(&self, order: Uuid, grant: Uuid) -> Result<()> {
        self.inner.api.revoke_phone_key(&self.token().await?, order, grant).await?;
        let own = self.inner.store.read(move |conn| vehicle_keys::load_grant(conn, order)).await?;
        if own.is_some_and(|kept| kept.grant_id == grant) {
            self.inner.store.write(move |tx| vehicle_keys::forget_grant(tx, order)).await?;
        }
        if let Err(error) = self.sync_order(order).await {
            tracing::info!(error = error.chain(), "the revocation shows after the next sync");
        }
        Ok(())
    }

    /// Revokes the keys this device holds, as it signs out: a signed-out phone opens no car.
    /// Best effort: without a connection the keys still end with their grants' lifetime.
    pub(crate) async fn revoke_own_phone_keys(&self, token: &str) -> Result<()> {
        for (order, grant) in self.inner.store.read(vehicle_keys::own_grants).await? {
            match self.inner.api.revoke_phone_key(token, order, grant).await {
                Ok(()) | Err(CaasError::NotFound(_)) => {}
                Err(error) => tracing::warn!(error = error.chain(), %grant, "a phone key was not revoked on sign-out"),
            }
        }
        Ok(())
    }

    pub(crate) async fn forget_phone_keys(&self) -> Result<()> {
        for order in self.inner.store.read(vehicle_keys::orders_with_keys).await? {
            self.inner.secrets.delete(&advertising_secret(order))?;
        }
        if self.inner.device_key.is_none() {
            self.inner.secrets.delete(device_key::SOFTWARE_KEY_SECRET)?;
        }
        Ok(())
    }
}

/// What the phone has the car do over one session.
pub(crate) enum Errand {
    /// Link the app as the owner's; one command id across every try.
    Link { command: CommandId },
    /// Switch on the options these entitlements name, one command each.
    ActivateOptions { entitlements: Vec<crate::options::HeldEntitlement> },
    /// Read the car's status and its signed report of odometer and warnings.
    ReadTelemetry,
}

/// What an errand brought back.
pub(crate) enum ErrandDone {
    Linked(VehicleStatus),
    /// Each entitlement's outcome, in the errand's order, the car's status after them and the
    /// options it lists.
    Activated {
        outcomes: Vec<Result<()>>,
        status: Option<VehicleStatus>,
        options: Vec<OptionCode>,
    },
    Telemetry {
        status: VehicleStatus,
        report: TelemetryReport,
    },
}

fn read_status(reply: Reply) -> Result<VehicleStatus> {
    match reply {
        Reply::Status(status) => Ok(status),
        Reply::Refused(code) => Err(refused(code)),
        _ => Err(other_reply()),
    }
}

fn other_reply() -> CaasError {
    CaasError::Protocol("the car answered another command".into())
}

fn not_delivered() -> CaasError {
    CaasError::pairing(PairingFailure::NotDelivered, "the car is paired after it is handed over to you")
}

fn decode_secret(text: &str) -> Result<[u8; 32]> {
    api::decode(text, 32)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| CaasError::Secrets("a stored car key is unreadable".into()))
}

/// Checks what the platform sent before keeping it: the grant must name this device's key and
/// the car the platform says it is for.
fn stored_grant(order: Uuid, view: &GrantView, device_public_key: &[u8]) -> Result<StoredGrant> {
    let garbled = |what: &str| CaasError::Protocol(format!("the platform's grant is unusable: {what}").into());
    let grant_bytes = api::decode(&view.grant, 512).map_err(|_| garbled("grant"))?;
    let grant = read_unverified(&grant_bytes).map_err(|_| garbled("grant"))?;
    if grant.device_public_key.as_slice() != device_public_key {
        return Err(garbled("it names another device's key"));
    }
    if grant.vin.as_str() != view.vin || grant.grant_id != view.grant_id {
        return Err(garbled("it names another car or grant"));
    }
    let vehicle_public_key: [u8; 32] = api::decode(&view.vehicle_public_key, 32)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| garbled("vehicle key"))?;
    decode_secret(&view.advertising_key).map_err(|_| garbled("advertising key"))?;
    Ok(StoredGrant {
        order_id: order,
        grant_id: grant.grant_id,
        grant: grant_bytes,
        vin: view.vin.clone(),
        vehicle_public_key,
        not_after: view.not_after,
        clock_offset_seconds: (view.platform_time - Utc::now()).num_seconds(),
        link_receipt: None,
    })
}
