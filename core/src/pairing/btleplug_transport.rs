//! A real radio through btleplug: BlueZ over D-Bus on Linux, CoreBluetooth on macOS, WinRT on
//! Windows. The terminal shell uses it with `--transport btleplug`; where no adapter (or no
//! D-Bus) exists, opening it is a typed `Unavailable`, never a panic.

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use btleplug::api::{
    Central as _, CharPropFlags, Characteristic, Manager as _, Peripheral as _, PeripheralProperties, ScanFilter,
    ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral};
use caas_protocol::pairing::{INDICATE_CHARACTERISTIC_UUID, SERVICE_UUID, WRITE_CHARACTERISTIC_UUID};
use futures_util::{Stream, StreamExt as _};
use uuid::Uuid;

use super::transport::{Advertisement, BleLink, BleTransport, TransportError};

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap_or_else(|_| unreachable!("the pairing UUIDs are constants that parse"))
}

/// The first Bluetooth adapter of this machine.
pub struct BtleplugTransport {
    adapter: Adapter,
    /// Peripherals seen by the last scan, by the id given out in their advertisement.
    seen: Mutex<HashMap<String, Peripheral>>,
}

impl std::fmt::Debug for BtleplugTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtleplugTransport").finish_non_exhaustive()
    }
}

impl BtleplugTransport {
    pub async fn first_adapter() -> Result<Self, TransportError> {
        let unavailable = |e: btleplug::Error| TransportError::Unavailable(e.to_string());
        let manager = Manager::new().await.map_err(unavailable)?;
        let adapter = manager
            .adapters()
            .await
            .map_err(unavailable)?
            .into_iter()
            .next()
            .ok_or_else(|| TransportError::Unavailable("this machine has no Bluetooth adapter".into()))?;
        Ok(Self { adapter, seen: Mutex::default() })
    }
}

/// What a scan result says, if it advertises the pairing service.
fn advertisement(peripheral_id: String, properties: &PeripheralProperties) -> Option<Advertisement> {
    let service = uuid(SERVICE_UUID);
    let service_data = properties.service_data.get(&service).cloned();
    if service_data.is_none() && !properties.services.contains(&service) {
        return None;
    }
    Some(Advertisement { peripheral_id, service_data: service_data.unwrap_or_default(), rssi: properties.rssi })
}

/// The write (with response) and indicate characteristics of the pairing service.
fn pairing_characteristics(
    found: &BTreeSet<Characteristic>,
) -> Result<(Characteristic, Characteristic), TransportError> {
    let find = |id: &str, needs: CharPropFlags| {
        found
            .iter()
            .find(|c| c.uuid == uuid(id) && c.service_uuid == uuid(SERVICE_UUID) && c.properties.contains(needs))
            .cloned()
            .ok_or_else(|| TransportError::ServiceMissing(format!("characteristic {id} with {needs:?}")))
    };
    Ok((
        find(WRITE_CHARACTERISTIC_UUID, CharPropFlags::WRITE)?,
        find(INDICATE_CHARACTERISTIC_UUID, CharPropFlags::INDICATE)?,
    ))
}

#[async_trait]
impl BleTransport for BtleplugTransport {
    async fn scan(&self, timeout: Duration) -> Result<Vec<Advertisement>, TransportError> {
        let failed = |e: btleplug::Error| TransportError::Unavailable(e.to_string());
        self.adapter.start_scan(ScanFilter { services: vec![uuid(SERVICE_UUID)] }).await.map_err(failed)?;
        tokio::time::sleep(timeout).await;
        self.adapter.stop_scan().await.map_err(failed)?;
        let mut found = Vec::new();
        let mut seen = HashMap::new();
        for peripheral in self.adapter.peripherals().await.map_err(failed)? {
            let id = peripheral.id().to_string();
            if let Some(ad) = peripheral.properties().await.ok().flatten().and_then(|p| advertisement(id.clone(), &p)) {
                found.push(ad);
                seen.insert(id, peripheral);
            }
        }
        *self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = seen;
        Ok(found)
    }

    async fn connect(&self, peripheral_id: &str) -> Result<Box<dyn BleLink>, TransportError> {
        let peripheral = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(peripheral_id)
            .cloned()
            .ok_or_else(|| TransportError::ConnectFailed("the car was not seen by the last scan".into()))?;
        let failed = |e: btleplug::Error| TransportError::ConnectFailed(e.to_string());
        peripheral.connect().await.map_err(failed)?;
        peripheral.discover_services().await.map_err(failed)?;
        let (write, indicate) = pairing_characteristics(&peripheral.characteristics())?;
        peripheral.subscribe(&indicate).await.map_err(failed)?;
        let indications = peripheral.notifications().await.map_err(failed)?;
        Ok(Box::new(BtleplugLink { mtu: peripheral.mtu(), peripheral, write, indicate, indications }))
    }
}

struct BtleplugLink {
    peripheral: Peripheral,
    write: Characteristic,
    indicate: Characteristic,
    indications: Pin<Box<dyn Stream<Item = ValueNotification> + Send>>,
    mtu: u16,
}

impl std::fmt::Debug for BtleplugLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtleplugLink").field("mtu", &self.mtu).finish_non_exhaustive()
    }
}

#[async_trait]
impl BleLink for BtleplugLink {
    /// The MTU BlueZ reports for the link, or 23 where the platform does not tell.
    fn mtu(&self) -> u16 {
        self.mtu
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), TransportError> {
        self.peripheral
            .write(&self.write, chunk, WriteType::WithResponse)
            .await
            .map_err(|e| TransportError::ConnectionLost(e.to_string()))
    }

    async fn next_indication(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        let wanted = self.indicate.uuid;
        let next = async {
            while let Some(notification) = self.indications.next().await {
                if notification.uuid == wanted {
                    return Some(notification.value);
                }
            }
            None
        };
        match tokio::time::timeout(timeout, next).await {
            Err(_) => Ok(None),
            Ok(Some(value)) => Ok(Some(value)),
            Ok(None) => Err(TransportError::ConnectionLost("the car disconnected".into())),
        }
    }

    async fn disconnect(&mut self) {
        if let Err(error) = self.peripheral.disconnect().await {
            tracing::debug!(%error, "disconnecting from the car");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn characteristic(id: &str, properties: CharPropFlags) -> Characteristic {
        Characteristic { uuid: uuid(id), service_uuid: uuid(SERVICE_UUID), properties, descriptors: BTreeSet::new() }
    }

    #[test]
    fn only_cars_advertising_the_service_are_reported_with_their_identifier() {
        let mut properties = PeripheralProperties { rssi: Some(-60), ..PeripheralProperties::default() };
        assert_eq!(advertisement("a".into(), &properties), None, "another device");
        properties.service_data.insert(uuid(SERVICE_UUID), vec![1, 2, 3, 4, 5, 6, 7, 8]);
        let ad = advertisement("a".into(), &properties).expect("a car");
        assert_eq!((ad.service_data.len(), ad.rssi), (8, Some(-60)));
    }

    #[test]
    fn the_pairing_characteristics_must_write_with_response_and_indicate() {
        let write = characteristic(WRITE_CHARACTERISTIC_UUID, CharPropFlags::WRITE);
        let indicate = characteristic(INDICATE_CHARACTERISTIC_UUID, CharPropFlags::INDICATE);
        let found = BTreeSet::from([write.clone(), indicate.clone()]);
        assert_eq!(pairing_characteristics(&found), Ok((write, indicate)));
        let notify_only = characteristic(INDICATE_CHARACTERISTIC_UUID, CharPropFlags::NOTIFY);
        let wrong = BTreeSet::from([characteristic(WRITE_CHARACTERISTIC_UUID, CharPropFlags::WRITE), notify_only]);
        assert!(matches!(pairing_characteristics(&wrong), Err(TransportError::ServiceMissing(_))));
    }

    #[tokio::test]
    async fn without_a_radio_opening_it_is_a_typed_error() {
        // On a machine with a Bluetooth adapter this opens; on one without (or without D-Bus) it
        // must say so, not panic.
        if let Err(error) = BtleplugTransport::first_adapter().await {
            assert!(matches!(error, TransportError::Unavailable(_)), "{error:?}");
        }
    }
}
