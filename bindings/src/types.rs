//! The platforms' own types at the boundary: ids are `java.util.UUID` / `Foundation.UUID`, days are
//! `java.time.LocalDate` / `DateComponents`, instants `java.time.Instant` / `Date`, as configured
//! in `uniffi.toml`. Between the core and the apps an id or a day is never text; the apps parse
//! one only where text comes from outside (a link, a push).

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
    try_lift: |at| instant(at).ok_or(OutOfRange.into()),
});

/// An instant from a shell further from 1970 than chrono reaches.
#[derive(Debug, thiserror::Error)]
#[error("an instant out of range")]
struct OutOfRange;

/// `at` on chrono's clock, checked: chrono's own conversion panics out of its range.
fn instant(at: SystemTime) -> Option<Timestamp> {
    let (seconds, nanos) = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => (i64::try_from(after.as_secs()).ok()?, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let seconds = i64::try_from(before.as_secs()).ok()?;
            match before.subsec_nanos() {
                0 => (-seconds, 0),
                nanos => (-seconds - 1, 1_000_000_000 - nanos),
            }
        }
    };
    chrono::DateTime::from_timestamp(seconds, nanos)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn instants_convert_both_ways_and_out_of_range_is_refused() {
        for at in [
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789),
            SystemTime::UNIX_EPOCH - Duration::new(86_400, 500_000_000),
        ] {
            let converted = instant(at).expect("in range");
            assert_eq!(SystemTime::from(converted), at);
        }
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 50);
        assert_eq!(instant(far), None);
    }
}
