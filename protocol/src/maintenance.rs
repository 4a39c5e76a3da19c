//! Maintenance from `operational` on: the plan of the car's base platform (every so many km or
//! months, whichever comes first), what the car reports (odometer, warnings), when the next
//! service is due and when the customer is reminded, service slots at the dealership's workshop
//! with the rules for moving and cancelling them, and the visits on the car's history.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The customer is reminded this many km before the service is due...
pub const REMIND_BEFORE_KM: u32 = 1_000;
/// ...or this many days before its date, whichever comes first.
pub const REMIND_BEFORE_DAYS: u64 = 30;
/// A booked service cannot be moved or cancelled within this many hours of its start.
pub const SERVICE_CHANGE_CUTOFF_HOURS: i64 = 24;
/// How many times a customer may move a booking.
pub const MAX_SERVICE_CHANGES: u32 = 3;
/// The longest description of the work done at a visit.
pub const MAX_WORK_LEN: usize = 500;
/// The highest odometer reading taken: above it, a typo.
pub const MAX_ODOMETER_KM: u32 = 2_000_000;

/// Something the car warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    TyrePressure,
    BrakeWear,
    BatteryHealth,
    WasherFluid,
    /// A warning a newer car or platform added: shown as "the car reports a warning".
    #[serde(other)]
    Unknown,
}

impl WarningCode {
    pub const KNOWN: [WarningCode; 4] =
        [WarningCode::TyrePressure, WarningCode::BrakeWear, WarningCode::BatteryHealth, WarningCode::WasherFluid];

    /// The code's byte in the car's report.
    pub fn wire(self) -> u8 {
        match self {
            WarningCode::TyrePressure => 1,
            WarningCode::BrakeWear => 2,
            WarningCode::BatteryHealth => 3,
            WarningCode::WasherFluid => 4,
            WarningCode::Unknown => 0,
        }
    }

    /// A byte of a car's report: a code a newer car added reads as `Unknown`.
    pub fn from_wire(byte: u8) -> Self {
        Self::KNOWN.into_iter().find(|code| code.wire() == byte).unwrap_or(WarningCode::Unknown)
    }
}

/// Every `every_km` or `every_months`, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenancePlan {
    pub every_km: u32,
    pub every_months: u32,
}

/// When the next service is due: at `due_km` or on `due_by`, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextService {
    pub due_km: u32,
    pub due_by: NaiveDate,
}

impl NextService {
    /// The service after one at `km` on `day` (the handover counts as the first).
    pub fn after(plan: MaintenancePlan, km: u32, day: NaiveDate) -> Self {
        Self {
            due_km: km.saturating_add(plan.every_km),
            due_by: day.checked_add_months(Months::new(plan.every_months)).unwrap_or(NaiveDate::MAX),
        }
    }

    /// Whether the customer should be reminded now: within [`REMIND_BEFORE_KM`] of the due
    /// distance or [`REMIND_BEFORE_DAYS`] of the due date, or past either.
    pub fn is_near(&self, odometer_km: u32, today: NaiveDate) -> bool {
        let by_date = self.due_by.checked_sub_days(chrono::Days::new(REMIND_BEFORE_DAYS)).unwrap_or(NaiveDate::MIN);
        odometer_km.saturating_add(REMIND_BEFORE_KM) >= self.due_km || today >= by_date
    }
}

/// A workshop slot the customer can book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Workshop bays still free in it.
    pub free: u32,
}

/// The customer's booked service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceBooking {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// How many more times it may be moved.
    pub changes_left: u32,
}

/// A visit to the dealership's workshop, on the car's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceVisit {
    pub at: DateTime<Utc>,
    pub odometer_km: u32,
    /// What the workshop did, in its words (one line, at most 500 characters).
    pub work: String,
}

/// The car's maintenance, as the order shows it from `operational` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceView {
    pub plan: MaintenancePlan,
    /// The odometer as the car last reported it.
    pub odometer_km: u32,
    /// When the car last reported, by its clock; `None` before its first report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
    /// What the car warns about in its last report.
    #[serde(default)]
    pub warnings: Vec<WarningCode>,
    pub next_service: NextService,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<ServiceBooking>,
    /// The visits to the workshop, oldest first.
    #[serde(default)]
    pub visits: Vec<ServiceVisit>,
}

/// Why a service was booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BookingReason {
    Booked,
    Moved,
    #[serde(other)]
    Unknown,
}

/// `POST /v1/orders/{id}/service/booking`: books the slot starting at `start`, or moves the
/// booking there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookServiceRequest {
    pub start: DateTime<Utc>,
}

/// `POST /v1/dealership/orders/{id}/service/visits`: the workshop records a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordVisitRequest {
    pub odometer_km: u32,
    pub work: String,
}

/// `POST /v1/orders/{id}/vehicle/reports`: the car's signed report, forwarded by the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VehicleReportRequest {
    /// The car-signed report, base64url.
    pub report: String,
}

/// The maintenance of an order if this version can read it; `None` otherwise, so a newer
/// platform's shape never makes the whole order unreadable (the phone keeps it as received).
pub fn readable<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<MaintenanceView>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|value| MaintenanceView::deserialize(value).ok()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a day")
    }

    #[test]
    fn the_next_service_comes_by_distance_or_date_and_is_told_ahead() {
        let plan = MaintenancePlan { every_km: 20_000, every_months: 12 };
        let next = NextService::after(plan, 12, day("2026-11-28"));
        assert_eq!(next, NextService { due_km: 20_012, due_by: day("2027-11-28") });
        assert!(!next.is_near(12, day("2026-12-01")));
        assert!(next.is_near(19_012, day("2026-12-01")), "1,000 km before");
        assert!(!next.is_near(19_011, day("2026-12-01")));
        assert!(next.is_near(12, day("2027-10-29")), "30 days before");
        assert!(!next.is_near(12, day("2027-10-28")));
        assert!(next.is_near(30_000, day("2028-01-01")), "past both");
    }

    #[test]
    fn a_newer_cars_warning_reads_as_unknown() {
        for code in WarningCode::KNOWN {
            assert_eq!(WarningCode::from_wire(code.wire()), code);
        }
        assert_eq!(WarningCode::from_wire(99), WarningCode::Unknown);
        let read: WarningCode = serde_json::from_str("\"coolant_level\"").expect("reads");
        assert_eq!(read, WarningCode::Unknown);
    }

    proptest! {
        /// No plan, odometer or day makes the computation panic.
        #[test]
        fn any_input_gets_an_answer(km in any::<u32>(), every_km in any::<u32>(), months in any::<u32>(),
                                    days in -1_000_000i32..1_000_000, odometer in any::<u32>()) {
            let start = NaiveDate::from_num_days_from_ce_opt(days.rem_euclid(3_000_000)).unwrap_or(NaiveDate::MIN);
            let next = NextService::after(MaintenancePlan { every_km, every_months: months }, km, start);
            let _ = next.is_near(odometer, start);
        }
    }
}
