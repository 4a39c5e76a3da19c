//! The platforms' own types at the boundary: ids are `java.util.UUID` / `Foundation.UUID`, days are
//! `java.time.LocalDate` / `DateComponents`, instants `java.time.Instant` / `Date`, as configured
//! in `uniffi.toml`. Kotlin and Swift never parse an id or a date out of a string.

use std::time::SystemTime;

use chrono::NaiveDate;
use uuid::Uuid;

/// An instant on the platform's clock.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

uniffi::custom_type!(Uuid, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| Ok(text.parse()?),
});

uniffi::custom_type!(NaiveDate, String, {
    remote,
    lower: |day| day.to_string(),
    try_lift: |text| Ok(text.parse()?),
});

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |at| at.into(),
    try_lift: |at| Ok(at.into()),
});
