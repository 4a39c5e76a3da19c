//! The delivery windows a transport company can still take: its daily windows, minus the cars
//! already booked in each, from a lead time on.

use caas_protocol::delivery::{DeliverySlot, DeliveryWindow};
use chrono::{DateTime, Days, Utc};
use rusqlite::Connection;
use uuid::Uuid;

use crate::catalogue::{DELIVERY_WINDOWS, TransportCompany};
use crate::error::AppResult;

/// How far ahead windows are offered.
pub const HORIZON_DAYS: u64 = 14;

/// The windows of `company` starting at `from` or later within the horizon that still have room,
/// earliest first. `ignoring` is an order whose own booking does not count against the room, so
/// a customer can see the window they hold.
pub fn offered(
    conn: &Connection,
    company: &TransportCompany,
    from: DateTime<Utc>,
    ignoring: Option<Uuid>,
) -> AppResult<Vec<DeliverySlot>> {
    let mut slots = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT COUNT(*) FROM deliveries WHERE company_id = ?1 AND window_start = ?2 AND active = 1
         AND order_id IS NOT ?3",
    )?;
    let ignoring = ignoring.map(|id| id.to_string());
    for window in windows(from) {
        let booked: u32 =
            stmt.query_row(rusqlite::params![company.id, window.start.to_rfc3339(), ignoring], |r| r.get(0))?;
        if booked < company.cars_per_window {
            slots.push(DeliverySlot { window, free: company.cars_per_window - booked });
        }
    }
    Ok(slots)
}

/// Every daily window starting at `from` or later within the horizon.
fn windows(from: DateTime<Utc>) -> impl Iterator<Item = DeliveryWindow> {
    let first_day = from.date_naive();
    (0..=HORIZON_DAYS).filter_map(move |d| first_day.checked_add_days(Days::new(d))).flat_map(move |day| {
        DELIVERY_WINDOWS.iter().filter_map(move |&(start, end)| {
            let start = day.and_hms_opt(start, 0, 0)?.and_utc();
            let end = day.and_hms_opt(end, 0, 0)?.and_utc();
            (start >= from).then_some(DeliveryWindow { start, end })
        })
    })
}

/// The offered window starting at `start`, if there is one.
pub fn find(slots: &[DeliverySlot], start: DateTime<Utc>) -> Option<DeliveryWindow> {
    slots.iter().find(|s| s.window.start == start).map(|s| s.window)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn windows_start_at_or_after_from_in_order() {
        let from = "2026-03-02T12:30:00Z".parse::<DateTime<Utc>>().expect("time");
        let all: Vec<_> = windows(from).collect();
        assert_eq!(all[0].start, "2026-03-02T15:00:00Z".parse::<DateTime<Utc>>().expect("time"));
        assert!(all.windows(2).all(|w| w[0].start < w[1].start));
        assert!(all.iter().all(|w| w.end - w.start == TimeDelta::hours(2)));
        assert_eq!(all.len(), 2 + HORIZON_DAYS as usize * DELIVERY_WINDOWS.len());
    }
}
