//! Bounds and shapes of the fields the API accepts; each failure names the field.

use caas_protocol::api::{CustomerDetails, Money, RegistrationDetails, VehicleConfiguration};

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
