//! The vehicle registry simulators, one per country, behind one routing function: the platform
//! registers a paid car with the registry of its dealership's country, synchronously.
//!
//! Spain's registry (DGT) needs the owner's DNI/NIE and address and issues plates like `1234 BCD`;
//! Portugal's (IMT) needs the owner's NIF and address and issues plates like `AB-12-CD`. Either can
//! be made to fail transiently by the sandbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use caas_protocol::api::RegistrationDetails;
use ring::digest::{SHA256, digest};

/// What the platform sends a registry.
#[derive(Debug, Clone)]
pub struct RegistryRequest<'a> {
    /// The dealership's country: which registry is competent.
    pub country: &'a str,
    pub vin: &'a str,
    pub owner_name: &'a str,
    pub details: &'a RegistrationDetails,
}

/// A registered car.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub plate: String,
    pub authority: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Try again later.
    #[error("the registry is unavailable: {0}")]
    Unavailable(String),
    /// The request cannot succeed as it is; `fix` says what must change.
    #[error("the registry refused: {reason}")]
    Rejected { code: &'static str, reason: String, fix: String },
}

/// The registries, with the sandbox's transient-failure switches.
#[derive(Debug, Clone, Default)]
pub struct Registries {
    /// Per country: how many next submissions fail transiently.
    transient_failures: Arc<Mutex<HashMap<String, u32>>>,
}

impl Registries {
    /// Sandbox: the next `count` submissions to `country`'s registry fail transiently.
    pub fn fail_next(&self, country: &str, count: u32) {
        self.lock().insert(country.to_owned(), count);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.transient_failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Submits a registration to the competent registry.
    pub fn submit(&self, request: &RegistryRequest<'_>) -> Result<Registered, RegistryError> {
        if let Some(left) = self.lock().get_mut(request.country).filter(|n| **n > 0) {
            *left -= 1;
            return Err(RegistryError::Unavailable(format!("the {} registry timed out", request.country)));
        }
        owner(request)?;
        match request.country {
            "ES" => spain(request),
            "PT" => portugal(request),
            other => Err(RegistryError::Rejected {
                code: "no_registry",
                reason: format!("no vehicle registry is connected for country `{other}`"),
                fix: "register the car through the dealership's local office".into(),
            }),
        }
    }
}

/// Both registries put the owner's full name on the registration.
fn owner(request: &RegistryRequest<'_>) -> Result<(), RegistryError> {
    if request.owner_name.split_whitespace().count() >= 2 {
        Ok(())
    } else {
        Err(RegistryError::Rejected {
            code: "incomplete_owner_name",
            reason: "the owner's full name (given name and surname) is needed".into(),
            fix: "the dealership corrects the customer's name".into(),
        })
    }
}

fn address(details: &RegistrationDetails) -> Result<&str, RegistryError> {
    details.address.as_deref().map(str::trim).filter(|a| a.len() >= 8).ok_or_else(|| RegistryError::Rejected {
        code: "missing_address",
        reason: "the owner's postal address is missing or incomplete".into(),
        fix: "the dealership adds the owner's full postal address".into(),
    })
}

fn spain(request: &RegistryRequest<'_>) -> Result<Registered, RegistryError> {
    let id = request.details.national_id.as_deref().map(str::trim).ok_or_else(|| RegistryError::Rejected {
        code: "missing_national_id",
        reason: "the DGT needs the owner's DNI or NIE".into(),
        fix: "the dealership adds the owner's DNI or NIE".into(),
    })?;
    if !valid_dni_or_nie(id) {
        return Err(RegistryError::Rejected {
            code: "invalid_national_id",
            reason: format!("`{}` is not a valid DNI or NIE (its control letter does not match)", mask(id)),
            fix: "the dealership corrects the owner's DNI or NIE".into(),
        });
    }
    address(request.details)?;
    let n = seed(request.vin);
    const LETTERS: &[u8] = b"BCDFGHJKLMNPRSTVWXYZ";
    let letters: String = (0..3).map(|i| char::from(LETTERS[usize::from(n[i]) % LETTERS.len()])).collect();
    let number = (u16::from(n[3]) << 8 | u16::from(n[4])) % 10_000;
    Ok(Registered { plate: format!("{number:04} {letters}"), authority: "ES-DGT" })
}

fn portugal(request: &RegistryRequest<'_>) -> Result<Registered, RegistryError> {
    let nif = request.details.tax_number.as_deref().map(str::trim).ok_or_else(|| RegistryError::Rejected {
        code: "missing_tax_number",
        reason: "the IMT needs the owner's NIF".into(),
        fix: "the dealership adds the owner's NIF".into(),
    })?;
    if !valid_nif(nif) {
        return Err(RegistryError::Rejected {
            code: "invalid_tax_number",
            reason: format!("`{}` is not a valid NIF (its check digit does not match)", mask(nif)),
            fix: "the dealership corrects the owner's NIF".into(),
        });
    }
    address(request.details)?;
    let n = seed(request.vin);
    let letter = |b: u8| char::from(b'A' + b % 26);
    Ok(Registered {
        plate: format!("{}{}-{:02}-{}{}", letter(n[0]), letter(n[1]), n[2] % 100, letter(n[3]), letter(n[4])),
        authority: "PT-IMT",
    })
}

/// Plates are derived from the VIN, so a retried registration gets the same plate.
fn seed(vin: &str) -> Vec<u8> {
    digest(&SHA256, vin.as_bytes()).as_ref().to_vec()
}

/// An identity number in a message shows its last three characters only.
fn mask(id: &str) -> String {
    let tail: String = id.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
    format!("***{tail}")
}

/// A Spanish DNI (8 digits + control letter) or NIE (X/Y/Z + 7 digits + control letter).
pub fn valid_dni_or_nie(id: &str) -> bool {
    const CONTROL: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let id = id.to_ascii_uppercase();
    let bytes = id.as_bytes();
    if bytes.len() != 9 {
        return false;
    }
    let prefix = match bytes[0] {
        b'X' => Some(b'0'),
        b'Y' => Some(b'1'),
        b'Z' => Some(b'2'),
        b'0'..=b'9' => None,
        _ => return false,
    };
    let mut digits: Vec<u8> = bytes[..8].to_vec();
    if let Some(p) = prefix {
        digits[0] = p;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number: usize = digits.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0'));
    CONTROL[number % 23] == bytes[8]
}

/// A Portuguese NIF: nine digits, the last a mod-11 check digit.
pub fn valid_nif(nif: &str) -> bool {
    let bytes = nif.as_bytes();
    if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) || !b"1235689".contains(&bytes[0]) {
        return false;
    }
    let sum: u32 = bytes[..8].iter().zip((2..=9).rev()).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    u32::from(bytes[8] - b'0') == check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(country: &'a str, details: &'a RegistrationDetails) -> RegistryRequest<'a> {
        RegistryRequest { country, vin: "VF1CAAS0000000001", owner_name: "Ana García", details }
    }

    #[test]
    fn identity_numbers_are_checked() {
        assert!(valid_dni_or_nie("12345678Z"));
        assert!(valid_dni_or_nie("X1234567L"));
        assert!(!valid_dni_or_nie("12345678A"));
        assert!(!valid_dni_or_nie("1234567Z"));
        assert!(valid_nif("123456789"));
        assert!(valid_nif("501964843"));
        assert!(!valid_nif("123456780"));
        assert!(!valid_nif("423456789"));
    }

    #[test]
    fn each_country_asks_for_its_own_data() {
        let spanish = RegistrationDetails {
            national_id: Some("12345678Z".into()),
            tax_number: None,
            address: Some("Calle Mayor 1, 28013 Madrid".into()),
        };
        let registries = Registries::default();
        let plate = registries.submit(&request("ES", &spanish)).expect("registered").plate;
        assert!(plate.len() == 8 && plate.as_bytes()[4] == b' ', "{plate}");
        let refused = registries.submit(&request("PT", &spanish));
        assert!(matches!(refused, Err(RegistryError::Rejected { code: "missing_tax_number", .. })), "{refused:?}");
        let portuguese = RegistrationDetails { tax_number: Some("123456789".into()), ..spanish.clone() };
        assert_eq!(registries.submit(&request("PT", &portuguese)).expect("registered").authority, "PT-IMT");
    }

    #[test]
    fn transient_failures_run_out_and_plates_are_stable() {
        let details = RegistrationDetails {
            national_id: Some("12345678Z".into()),
            tax_number: None,
            address: Some("Calle Mayor 1, 28013 Madrid".into()),
        };
        let registries = Registries::default();
        let first = registries.submit(&request("ES", &details)).expect("registered");
        registries.fail_next("ES", 2);
        assert!(matches!(registries.submit(&request("ES", &details)), Err(RegistryError::Unavailable(_))));
        assert!(matches!(registries.submit(&request("ES", &details)), Err(RegistryError::Unavailable(_))));
        assert_eq!(registries.submit(&request("ES", &details)), Ok(first));
    }
}
