//! The car's signed report of its odometer and warnings: read over the owner's BLE link and
//! forwarded by the phone, or read by the platform over the connected-car network. Signed by the
//! vehicle key, so neither the phone nor anyone on the way can turn the odometer back.

use super::command::signed_by_car;
use super::wire::{self, Layout, Reader, Writer};
use super::{PairingError, Vin};
use crate::maintenance::WarningCode;

const TELEMETRY_CONTEXT: &[u8] = b"CAAS-TELEMETRY-v1\0";
/// The most warnings one report carries.
pub const MAX_WARNINGS: usize = 8;

/// What the car measured, and when by its clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryReport {
    pub vin: Vin,
    pub odometer_km: u32,
    /// The warnings' bytes as the car sent them (a newer car's read as `Unknown`), at most
    /// [`MAX_WARNINGS`]; kept raw so the signature still checks.
    pub warning_codes: Vec<u8>,
    /// Unix seconds of the car's clock.
    pub measured_at: i64,
    pub signature: [u8; 64],
}

impl TelemetryReport {
    /// The bytes the vehicle key signs.
    pub fn signed_part(vin: &Vin, odometer_km: u32, warning_codes: &[u8], measured_at: i64) -> Vec<u8> {
        let mut w = Writer::with_capacity(TELEMETRY_CONTEXT.len() + 40);
        w.bytes(TELEMETRY_CONTEXT)
            .bytes(vin.as_str().as_bytes())
            .u32(odometer_km)
            .short_field(&warning_codes[..warning_codes.len().min(MAX_WARNINGS)])
            .i64(measured_at);
        w.into_vec()
    }

    /// The warnings, in this version's words.
    pub fn warnings(&self) -> Vec<WarningCode> {
        self.warning_codes.iter().map(|byte| WarningCode::from_wire(*byte)).collect()
    }

    /// Checks the car's signature with its public key (Ed25519, 32 bytes).
    pub fn verify(&self, vehicle_public_key: &[u8]) -> Result<(), PairingError> {
        let signed = Self::signed_part(&self.vin, self.odometer_km, &self.warning_codes, self.measured_at);
        signed_by_car(vehicle_public_key, &signed, &self.signature)
    }

    pub fn encode(&self) -> Vec<u8> {
        wire::encode(self)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PairingError> {
        wire::decode(bytes)
    }
}

impl Layout for TelemetryReport {
    fn write(&self, w: &mut Writer) {
        w.bytes(self.vin.as_str().as_bytes())
            .u32(self.odometer_km)
            .short_field(&self.warning_codes[..self.warning_codes.len().min(MAX_WARNINGS)])
            .i64(self.measured_at)
            .bytes(&self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, PairingError> {
        let vin = Vin::parse(std::str::from_utf8(r.bytes(17)?).map_err(|_| PairingError::Malformed("not a VIN"))?)?;
        let odometer_km = r.u32()?;
        let warning_codes = r.short_field()?;
        if warning_codes.len() > MAX_WARNINGS {
            return Err(PairingError::Malformed("too many warnings"));
        }
        Ok(Self {
            vin,
            odometer_km,
            warning_codes: warning_codes.to_vec(),
            measured_at: r.i64()?,
            signature: r.array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use ring::signature::{Ed25519KeyPair, KeyPair as _};

    use super::*;

    #[test]
    fn a_report_reads_back_checks_against_the_cars_key_and_keeps_a_newer_cars_warning() {
        let car = Ed25519KeyPair::from_seed_unchecked(&[5; 32]).expect("key");
        let vin = Vin::parse("VCAUEX00000000001").expect("vin");
        let codes = vec![WarningCode::BrakeWear.wire(), 42];
        let signed = TelemetryReport::signed_part(&vin, 18_500, &codes, 1_800_000_000);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(car.sign(&signed).as_ref());
        let report =
            TelemetryReport { vin, odometer_km: 18_500, warning_codes: codes, measured_at: 1_800_000_000, signature };
        assert_eq!(TelemetryReport::parse(&report.encode()), Ok(report.clone()));
        assert_eq!(report.verify(car.public_key().as_ref()), Ok(()));
        assert_eq!(report.warnings(), vec![WarningCode::BrakeWear, WarningCode::Unknown]);
        let rolled_back = TelemetryReport { odometer_km: 500, ..report.clone() };
        assert!(rolled_back.verify(car.public_key().as_ref()).is_err(), "the odometer is signed");
        let mut many = report.encode();
        many[17 + 4] = 9;
        assert!(TelemetryReport::parse(&many).is_err());
    }
}
