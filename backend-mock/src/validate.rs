//! Bounds and shapes of the fields the API accepts; each failure names the field.

use caas_protocol::api::{CustomerDetails, Money, RegistrationDetails, VehicleConfiguration};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// One hundred million in major units: far above any car, far below any overflow.
const MAX_AMOUNT_MINOR: i64 = 10_000_000_000;

pub fn text(field: &str, value: &str, max: usize) -> AppResult<()> {
    let len = value.trim().chars().count();
    if len == 0 || len > max || value.chars().any(char::is_control) {
        return Err(AppError::invalid(format!("`{field}` must be 1 to {max} printable characters")));
    }
    Ok(())
}

pub fn email(value: &str) -> AppResult<String> {
    text("email", value, 254)?;
    let email = value.trim().to_lowercase();
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !email.contains(' ') => Ok(email),
        _ => Err(AppError::invalid("`email` is not an email address")),
    }
}

pub fn country(value: &str) -> AppResult<()> {
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(AppError::invalid("`country` must be an ISO 3166-1 alpha-2 code such as ES"))
    }
}

pub fn customer(details: &CustomerDetails) -> AppResult<String> {
    text("customer.name", &details.name, 120)?;
    country(&details.country)?;
    if let Some(phone) = &details.phone {
        let digits = phone.strip_prefix('+').unwrap_or(phone);
        if !(6..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::invalid("`customer.phone` must be in E.164 form, e.g. +34600123456"));
        }
    }
    email(&details.email)
}

pub fn configuration(configuration: &VehicleConfiguration) -> AppResult<()> {
    text("configuration.base_platform", &configuration.base_platform, 64)?;
    if configuration.options.len() > 32 {
        return Err(AppError::invalid("`configuration.options` holds at most 32 options"));
    }
    for option in &configuration.options {
        text("configuration.options[]", option, 64)?;
    }
    Ok(())
}

pub fn money(field: &str, money: &Money) -> AppResult<()> {
    if money.amount_minor <= 0 || money.amount_minor > MAX_AMOUNT_MINOR {
        return Err(AppError::invalid(format!("`{field}.amount_minor` must be positive and realistic")));
    }
    if money.currency.len() != 3 || !money.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::invalid(format!("`{field}.currency` must be an ISO 4217 code such as EUR")));
    }
    Ok(())
}

/// Registration details are checked for shape only; whether they satisfy a registry is the
/// registry's call.
pub fn registration(details: &RegistrationDetails) -> AppResult<()> {
    for (field, value, max) in [
        ("registration.national_id", &details.national_id, 16),
        ("registration.tax_number", &details.tax_number, 16),
        ("registration.address", &details.address, 200),
    ] {
        if let Some(value) = value {
            text(field, value, max)?;
        }
    }
    Ok(())
}

/// A gateway payment id as a path segment: `pi_` and up to 64 letters and digits, so it can be put
/// in a gateway URL as it is.
pub fn payment_id(id: &str) -> AppResult<()> {
    match id.strip_prefix("pi_") {
        Some(rest) if !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
        _ => Err(AppError::invalid("a payment id is `pi_` followed by letters and digits")),
    }
}

/// How many of the next calls a sandbox fault switch spoils (0 disarms it), at most
/// [`FaultCount::MAX`]. The bound is checked where the count is read, from JSON or from a
/// dashboard form, so every switch of the platform and of its simulators takes it from here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32")]
pub struct FaultCount(u32);

impl FaultCount {
    /// The most calls one switch spoils, so a slip of the finger cannot leave a switch armed for
    /// the rest of a run.
    pub const MAX: Self = Self(100);
    /// Every count a switch takes, as the dashboard's forms bound their fields.
    pub const RANGE: std::ops::RangeInclusive<Self> = Self(0)..=Self::MAX;

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Written by hand so the document's bound is [`FaultCount::MAX`] itself.
impl utoipa::PartialSchema for FaultCount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(0))
            .maximum(Some(Self::MAX.0))
            .description(Some("How many of the next calls the switch spoils; 0 disarms it."))
            .into()
    }
}

impl utoipa::ToSchema for FaultCount {}

impl TryFrom<u32> for FaultCount {
    type Error = String;

    fn try_from(count: u32) -> Result<Self, String> {
        if count <= Self::MAX.0 { Ok(Self(count)) } else { Err(format!("must be at most {}", Self::MAX)) }
    }
}

/// Read from a dashboard form's field.
impl std::str::FromStr for FaultCount {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.parse::<u32>().map_err(|e| e.to_string())?.try_into()
    }
}

impl std::fmt::Display for FaultCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_count_is_bounded_however_it_is_read() {
        let read = |json: &str| serde_json::from_str::<FaultCount>(json).map_err(|e| e.to_string());
        assert_eq!(read("100"), Ok(FaultCount::MAX));
        assert_eq!(read("101"), Err("must be at most 100".to_owned()), "from JSON, as the API reads it");
        assert!(read("-1").is_err());
        assert_eq!("0".parse(), Ok(FaultCount::default()));
        assert!("101".parse::<FaultCount>().is_err(), "from a form, as the dashboard reads it");
        assert_eq!(serde_json::to_string(&FaultCount::MAX).ok().as_deref(), Some("100"), "sent as a number");
    }
}
