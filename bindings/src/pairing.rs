//! Pairing with the car as the shells see it: the BLE transport and the device key are foreign
//! traits (BluetoothGatt / CoreBluetooth, Keystore / Secure Enclave), the simulated link to a
//! platform mock's cars is one implementation of the same transport made in Rust, and progress
//! reaches a listener.
//!
//! The transport is flat (every call names its peripheral) because that is how Android's and
//! iOS's BLE stacks address a connection; the core's own transport is per link, and an adapter
//! joins the two.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use caas_core::PairingStep;
use caas_core::protocol::pairing::{INDICATE_CHARACTERISTIC_UUID, SERVICE_UUID, WRITE_CHARACTERISTIC_UUID};
use uuid::Uuid;

use crate::Caas;
use crate::error::CaasError;

#[uniffi::remote(Enum)]
pub enum PairingStep {
    Scanning,
    Connecting,
    Authenticating,
    Linked,
}

/// The pairing service's UUID, to scan for.
#[uniffi::export]
pub fn pairing_service_uuid() -> String {
    SERVICE_UUID.to_owned()
}

/// The characteristic the phone writes (with response).
#[uniffi::export]
pub fn pairing_write_characteristic_uuid() -> String {
    WRITE_CHARACTERISTIC_UUID.to_owned()
}

/// The characteristic the car indicates on.
#[uniffi::export]
pub fn pairing_indicate_characteristic_uuid() -> String {
    INDICATE_CHARACTERISTIC_UUID.to_owned()
}

/// Why the BLE stack could not do what was asked.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum BleError {
    /// Bluetooth is off, missing, or the permission was not granted.
    #[error("Bluetooth unavailable: {reason}")]
    Unavailable { reason: String },
    #[error("could not connect: {reason}")]
    ConnectFailed { reason: String },
    #[error("connection lost: {reason}")]
    ConnectionLost { reason: String },
    /// The car does not offer the pairing service's characteristics.
    #[error("pairing service missing: {reason}")]
    ServiceMissing { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for BleError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        BleError::ConnectionLost { reason: error.reason }
    }
}

impl From<caas_core::TransportError> for BleError {
    fn from(error: caas_core::TransportError) -> Self {
        use caas_core::TransportError as T;
        match error {
            T::Unavailable(reason) => Self::Unavailable { reason },
            T::ConnectFailed(reason) => Self::ConnectFailed { reason },
            T::ConnectionLost(reason) => Self::ConnectionLost { reason },
            T::ServiceMissing(reason) => Self::ServiceMissing { reason },
        }
    }
}

impl From<BleError> for caas_core::TransportError {
    fn from(error: BleError) -> Self {
        match error {
            BleError::Unavailable { reason } => Self::Unavailable(reason),
            BleError::ConnectFailed { reason } => Self::ConnectFailed(reason),
            BleError::ConnectionLost { reason } => Self::ConnectionLost(reason),
            BleError::ServiceMissing { reason } => Self::ServiceMissing(reason),
        }
    }
}

/// A car seen while scanning for the pairing service.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BleAdvertisement {
    pub peripheral_id: String,
    /// The service data advertised with the pairing service (the car's rotating identifier).
    pub service_data: Vec<u8>,
    pub rssi: Option<i16>,
}

/// The phone's BLE stack, as the pairing needs it. Android implements it over `BluetoothGatt`,
/// iOS over CoreBluetooth; [`simulated_ble_transport`] gives one over the simulated link.
// The tokio runtime serves the Rust implementation (the simulated link) when a shell calls it.
#[uniffi::export(with_foreign, async_runtime = "tokio")]
#[async_trait]
pub trait BleTransport: Send + Sync {
    /// Scans for peripherals advertising [`pairing_service_uuid`] for up to `timeout_ms`.
    async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleAdvertisement>, BleError>;
    /// Connects, negotiates the MTU, discovers the service and subscribes to the indicate
    /// characteristic; returns the ATT MTU in use.
    async fn connect(&self, peripheral_id: String) -> Result<u16, BleError>;
    /// Writes one chunk (at most MTU-3 bytes) to the write characteristic, with response.
    async fn write(&self, peripheral_id: String, chunk: Vec<u8>) -> Result<(), BleError>;
    /// The next chunk the car indicated, or `null`/`nil` when none came within `timeout_ms`.
    async fn next_indication(&self, peripheral_id: String, timeout_ms: u32) -> Result<Option<Vec<u8>>, BleError>;
    async fn disconnect(&self, peripheral_id: String);
}

/// The device's identity key: P-256, made on the device, its private half never leaving it
/// (Android Keystore, the iOS Secure Enclave).
#[uniffi::export(with_foreign)]
#[async_trait]
pub trait DeviceKey: Send + Sync {
    /// The public key, an uncompressed P-256 point (65 bytes).
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError>;
    /// ECDSA P-256 with SHA-256 over `message`, DER-encoded (what both platforms produce).
    async fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyError>;
}

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyError {
    /// The key store refused.
    #[error("device key failed: {reason}")]
    Failed { reason: String },
    /// The user declined to confirm (biometrics, device credential), for a key that asks; the
    /// keys shipped here never do.
    #[error("the user declined")]
    Cancelled,
}

impl From<DeviceKeyError> for caas_core::CaasError {
    fn from(error: DeviceKeyError) -> Self {
        match error {
            DeviceKeyError::Cancelled => caas_core::CaasError::Cancelled,
            failed @ DeviceKeyError::Failed { .. } => caas_core::CaasError::Secrets(failed.into()),
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DeviceKeyError::Failed { reason: error.reason }
    }
}

/// Hears the steps of a pairing.
#[uniffi::export(with_foreign)]
pub trait PairingListener: Send + Sync {
    fn on_step(&self, step: PairingStep);
}

/// The simulated link's character.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct LinkConditions {
    /// The ATT MTU to ask for (23 to 517).
    pub mtu: u16,
    /// Brought into 7.5 ms to 4 s, the range a BLE link can have.
    pub connection_interval_ms: u32,
    /// Percent of packets lost and sent again; six losses in a row drop the link.
    pub loss_percent: u8,
    /// The link drops after this many writes.
    pub drop_after_writes: Option<u32>,
}

/// How patient a pairing is; `null`/`nil` takes the defaults (10 s scan, 3 s per answer).
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct PairingOptions {
    pub scan_timeout_ms: u32,
    pub reply_timeout_ms: u32,
    pub resends: u32,
    pub attempts: u32,
}

#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct VehicleStatus {
    pub odometer_km: u32,
    pub battery_percent: u8,
    pub locked: bool,
    pub owner_linked: bool,
}

impl From<caas_core::protocol::pairing::VehicleStatus> for VehicleStatus {
    fn from(s: caas_core::protocol::pairing::VehicleStatus) -> Self {
        Self {
            odometer_km: s.odometer_km,
            battery_percent: s.battery_percent,
            locked: s.locked,
            owner_linked: s.owner_linked,
        }
    }
}

impl From<caas_core::LinkReport> for LinkReport {
    fn from(link: caas_core::LinkReport) -> Self {
        Self { mtu: link.mtu, to_first_reply: link.to_first_reply.into(), total: link.total.into() }
    }
}

#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct LinkUse {
    pub round_trips: u32,
    pub bytes_to_car: u64,
    pub bytes_to_phone: u64,
    /// Time on the air, where the transport can tell (the simulated link can).
    pub air_time_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct LinkReport {
    pub mtu: u16,
    pub to_first_reply: LinkUse,
    pub total: LinkUse,
}

/// A finished pairing.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Paired {
    pub vin: String,
    pub grant_id: Uuid,
    pub status: VehicleStatus,
    /// Whether the platform has the car's receipt yet; if not, the next sync sends it.
    pub reported: bool,
    pub link: LinkReport,
}

impl From<caas_core::LinkUse> for LinkUse {
    fn from(u: caas_core::LinkUse) -> Self {
        Self {
            round_trips: u.round_trips,
            bytes_to_car: u.bytes_to_car,
            bytes_to_phone: u.bytes_to_phone,
            air_time_ms: u.air_time.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

impl From<caas_core::Paired> for Paired {
    fn from(p: caas_core::Paired) -> Self {
        Self { vin: p.vin, grant_id: p.grant_id, status: p.status.into(), reported: p.reported, link: p.link.into() }
    }
}

/// The core's patience for a car link, from the shell's (the defaults where it gives none).
pub(crate) fn core_options(options: Option<PairingOptions>) -> caas_core::PairingOptions {
    options.map_or_else(caas_core::PairingOptions::default, |o| caas_core::PairingOptions {
        scan_timeout: Duration::from_millis(o.scan_timeout_ms.into()),
        reply_timeout: Duration::from_millis(o.reply_timeout_ms.into()),
        resends: o.resends,
        attempts: o.attempts,
    })
}

/// The core's transport over a shell's flat one.
pub(crate) struct ForeignTransport(pub(crate) Arc<dyn BleTransport>);

impl std::fmt::Debug for ForeignTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignTransport")
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

#[async_trait]
impl caas_core::BleTransport for ForeignTransport {
    async fn scan(&self, timeout: Duration) -> Result<Vec<caas_core::Advertisement>, caas_core::TransportError> {
        let seen = self.0.scan(millis(timeout)).await?;
        Ok(seen
            .into_iter()
            .map(|ad| caas_core::Advertisement {
                peripheral_id: ad.peripheral_id,
                service_data: ad.service_data,
                rssi: ad.rssi,
            })
            .collect())
    }

    async fn connect(&self, peripheral_id: &str) -> Result<Box<dyn caas_core::BleLink>, caas_core::TransportError> {
        let mtu = self.0.connect(peripheral_id.to_owned()).await?;
        Ok(Box::new(ForeignLink { transport: self.0.clone(), peripheral_id: peripheral_id.to_owned(), mtu }))
    }
}

struct ForeignLink {
    transport: Arc<dyn BleTransport>,
    peripheral_id: String,
    mtu: u16,
}

impl std::fmt::Debug for ForeignLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignLink").field("mtu", &self.mtu).finish_non_exhaustive()
    }
}

#[async_trait]
impl caas_core::BleLink for ForeignLink {
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), caas_core::TransportError> {
        Ok(self.transport.write(self.peripheral_id.clone(), chunk.to_vec()).await?)
    }

    async fn next_indication(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, caas_core::TransportError> {
        Ok(self.transport.next_indication(self.peripheral_id.clone(), millis(timeout)).await?)
    }

    async fn disconnect(&mut self) {
        self.transport.disconnect(self.peripheral_id.clone()).await;
    }
}

/// The simulated link to a platform mock's cars, as a shell's transport.
struct SimulatedBle {
    inner: caas_core::SimulatedTransport,
    links: tokio::sync::Mutex<HashMap<String, Box<dyn caas_core::BleLink>>>,
}

fn not_connected() -> BleError {
    BleError::ConnectionLost { reason: "not connected".into() }
}

#[async_trait]
impl BleTransport for SimulatedBle {
    async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleAdvertisement>, BleError> {
        use caas_core::BleTransport as _;
        let seen = self.inner.scan(Duration::from_millis(timeout_ms.into())).await?;
        Ok(seen
            .into_iter()
            .map(|ad| BleAdvertisement {
                peripheral_id: ad.peripheral_id,
                service_data: ad.service_data,
                rssi: ad.rssi,
            })
            .collect())
    }

    async fn connect(&self, peripheral_id: String) -> Result<u16, BleError> {
        use caas_core::BleTransport as _;
        let link = self.inner.connect(&peripheral_id).await?;
        let mtu = link.mtu();
        self.links.lock().await.insert(peripheral_id, link);
        Ok(mtu)
    }

    async fn write(&self, peripheral_id: String, chunk: Vec<u8>) -> Result<(), BleError> {
        let mut links = self.links.lock().await;
        let link = links.get_mut(&peripheral_id).ok_or_else(not_connected)?;
        Ok(link.write(&chunk).await?)
    }

    async fn next_indication(&self, peripheral_id: String, timeout_ms: u32) -> Result<Option<Vec<u8>>, BleError> {
        let mut links = self.links.lock().await;
        let link = links.get_mut(&peripheral_id).ok_or_else(not_connected)?;
        Ok(link.next_indication(Duration::from_millis(timeout_ms.into())).await?)
    }

    async fn disconnect(&self, peripheral_id: String) {
        if let Some(mut link) = self.links.lock().await.remove(&peripheral_id) {
            link.disconnect().await;
        }
    }
}

/// A transport over the simulated BLE link to the cars of a platform mock whose car radio listens
/// on `radio_address` (`host:port`, as `caas-mock serve` prints it).
#[uniffi::export]
pub fn simulated_ble_transport(
    radio_address: String,
    conditions: LinkConditions,
) -> Result<Arc<dyn BleTransport>, CaasError> {
    let address = radio_address
        .parse()
        .map_err(|_| CaasError::InvalidInput { reason: format!("`{radio_address}` is not a host:port address") })?;
    let conditions = caas_core::LinkConditions {
        mtu: conditions.mtu,
        connection_interval: Duration::from_millis(conditions.connection_interval_ms.into()),
        loss_percent: conditions.loss_percent,
        drop_after_writes: conditions.drop_after_writes,
        ..caas_core::LinkConditions::default()
    };
    let inner = caas_core::SimulatedTransport::new(caas_core::Air::Tcp(address), conditions);
    Ok(Arc::new(SimulatedBle { inner, links: tokio::sync::Mutex::default() }))
}

/// The core's device key over a shell's.
pub(crate) struct ForeignDeviceKey(pub Arc<dyn DeviceKey>);

impl std::fmt::Debug for ForeignDeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignDeviceKey")
    }
}

#[async_trait]
impl caas_core::DeviceKey for ForeignDeviceKey {
    fn public_key(&self) -> caas_core::Result<Vec<u8>> {
        Ok(self.0.public_key()?)
    }

    async fn sign(&self, message: &[u8]) -> caas_core::Result<Vec<u8>> {
        Ok(self.0.sign(message.to_vec()).await?)
    }
}

pub(crate) struct Steps(pub(crate) Arc<dyn PairingListener>);

impl caas_core::PairingListener for Steps {
    fn on_step(&self, step: PairingStep) {
        self.0.on_step(step);
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Caas {
    /// Pairs this phone with the order's delivered car over `transport`: fetches or refreshes the
    /// phone key, finds the car by its rotating identifier, runs the handshake, has the car link
    /// the app, reads its status and reports the link (`app_linked`, then `operational`).
    /// Failures are `CaasError.Pairing` with what the customer can do.
    pub async fn pair_vehicle(
        &self,
        order_id: Uuid,
        transport: Arc<dyn BleTransport>,
        options: Option<PairingOptions>,
        listener: Option<Arc<dyn PairingListener>>,
    ) -> Result<Paired, CaasError> {
        let options = core_options(options);
        let steps = listener.map(Steps);
        let paired = self
            .inner
            .pair_vehicle(
                order_id,
                &ForeignTransport(transport),
                options,
                steps.as_ref().map(|s| s as &dyn caas_core::PairingListener),
            )
            .await?;
        Ok(paired.into())
    }

    /// Fetches the phone key for a delivered order now, so pairing works later without signal.
    pub async fn prepare_pairing(&self, order_id: Uuid) -> Result<(), CaasError> {
        Ok(self.inner.prepare_pairing(order_id).await?)
    }

    /// Revokes one of the phone keys listed on the order (`OrderDetail.phone_keys`): the car
    /// refuses it from its next command. Needs a connection.
    pub async fn revoke_phone_key(&self, order_id: Uuid, grant_id: Uuid) -> Result<(), CaasError> {
        Ok(self.inner.revoke_phone_key(order_id, grant_id).await?)
    }
}
