//! The BLE transport the pairing runs over: what a phone's BLE stack lets an app do with the
//! car's GATT service. Three implementations: the simulated link (tests, the CLI, the demo),
//! btleplug (a real radio from the terminal), and the shells' native stacks (BluetoothGatt,
//! CoreBluetooth) through the bindings.

use std::time::Duration;

use async_trait::async_trait;

/// A car seen while scanning for the pairing service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The stack's handle for the peripheral, valid for [`BleTransport::connect`].
    pub peripheral_id: String,
    /// The service data advertised with the pairing service: the car's rotating identifier.
    pub service_data: Vec<u8>,
    pub rssi: Option<i16>,
}

/// Why the radio could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No adapter, Bluetooth off, or the permission missing.
    #[error("Bluetooth is not available: {0}")]
    Unavailable(String),
    /// The peripheral is gone or never answered the connection.
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// The link dropped.
    #[error("the connection was lost: {0}")]
    ConnectionLost(String),
    /// The car does not offer the pairing service's characteristics.
    #[error("the car does not offer the pairing service: {0}")]
    ServiceMissing(String),
}

/// Scans and connects.
#[async_trait]
pub trait BleTransport: Send + Sync + std::fmt::Debug {
    /// Scans for cars advertising the pairing service for up to `timeout`.
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError>;
    /// Connects to a scanned car, discovers the pairing service and subscribes to its
    /// indications.
    async fn connect(&self, peripheral_id: &str) -> Result<Box<dyn BleLink>, TransportError>;
}

/// One connection to the car's pairing service.
#[async_trait]
pub trait BleLink: Send + std::fmt::Debug {
    /// The ATT MTU agreed on this link; chunks are at most this minus 3 bytes.
    fn mtu(&self) -> u16;
    /// Writes one chunk to the write characteristic, with response.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), TransportError>;
    /// The next chunk the car indicated, or `None` if none came within `timeout`.
    async fn next_indication(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError>;
    async fn disconnect(&mut self);
    /// Time spent on the air, where the transport can tell (the simulated link can).
    fn air_time(&self) -> Option<Duration> {
        None
    }
}
