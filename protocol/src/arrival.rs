//! The delivery day's expected arrival: where each stop is on the platform's simulated map, how
//! long the road between two stops takes, and the plan a driver's phone makes from them at
//! departure and after every stop. The platform keeps each estimate on the delivery's record and
//! tells the customer when it moves by more than [`NOTIFY_MARGIN`] or the driver is one stop away.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Where a stop is, in metres east and north of its locality's depot (the dealership): the
/// platform's simulated map, the same for an address every time, so figures are repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutePoint {
    pub east_m: i32,
    pub north_m: i32,
}

/// The average speed on the simulated roads, in km/h (town and ring roads).
pub const ROAD_SPEED_KMH: i64 = 40;
/// Roads are this much longer than the straight line, in percent.
pub const ROAD_DETOUR_PERCENT: i64 = 130;
/// How long a stop takes at the customer's door: the handover, or the call when nobody is there.
pub const STOP: TimeDelta = TimeDelta::minutes(15);
/// How far an estimate moves before the customer is told again.
pub const NOTIFY_MARGIN: TimeDelta = TimeDelta::minutes(15);
/// The latest an estimate may name, from when it is made.
pub const MAX_AHEAD: TimeDelta = TimeDelta::hours(24);
/// The most stops a driver's estimate may count before a delivery.
pub const MAX_STOPS_BEFORE: u32 = 30;
/// The least time between two estimates the customer is told of, but for the one stop away.
pub const MIN_TELL_INTERVAL: TimeDelta = TimeDelta::minutes(10);
/// The most estimates a customer is told of on one trip: a driver cannot flood them.
pub const MAX_TELLS_PER_TRIP: u32 = 6;

impl RoutePoint {
    /// The depot the day starts from.
    pub const DEPOT: RoutePoint = RoutePoint { east_m: 0, north_m: 0 };

    /// The simulated road time from here to `to`, to the minute and at least one.
    pub fn drive_to(self, to: RoutePoint) -> TimeDelta {
        let east = f64::from(to.east_m) - f64::from(self.east_m);
        let north = f64::from(to.north_m) - f64::from(self.north_m);
        let road_m = east.hypot(north) * ROAD_DETOUR_PERCENT as f64 / 100.0;
        // At most about twelve million minutes between two points of the map: no overflow.
        let minutes = (road_m * 60.0 / (ROAD_SPEED_KMH * 1000) as f64).ceil() as i64;
        TimeDelta::minutes(minutes.max(1))
    }
}

/// Why the expected arrival was set or moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EtaReason {
    /// The driver set out with the car.
    Departure,
    /// The driver finished a stop before this one.
    StopCompleted,
    Traffic,
    Weather,
    /// A stop before this one took longer.
    LongerStop,
    /// A reason a newer platform added; never accepted from a driver.
    #[serde(other)]
    Unknown,
}

impl EtaReason {
    /// The reasons a driver gives for a delay.
    pub const DELAYS: [EtaReason; 3] = [EtaReason::Traffic, EtaReason::Weather, EtaReason::LongerStop];
}

/// When the car is expected at the customer's door, as the driver estimated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArrivalEstimate {
    pub expected_at: DateTime<Utc>,
    /// Deliveries the driver makes before this one.
    pub stops_before: u32,
    pub reason: EtaReason,
    /// When the driver made the estimate.
    pub at: DateTime<Utc>,
}

/// A stop still to make, as the driver's phone holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedStop<K> {
    pub key: K,
    pub point: RoutePoint,
}

/// The expected arrival at each of `stops`, in the order given, leaving `from` at `now`: the road
/// to each stop, then [`STOP`] at its door.
pub fn plan<K: Copy>(
    from: RoutePoint,
    now: DateTime<Utc>,
    stops: &[PlannedStop<K>],
    reason: EtaReason,
) -> Vec<(K, ArrivalEstimate)> {
    // Stops the calendar cannot hold (a map no platform draws) are left out, never a panic.
    let mut leaving = Some((now, from));
    stops
        .iter()
        .zip(0u32..)
        .map_while(|(stop, stops_before)| {
            let (at, here) = leaving?;
            let arrival = at.checked_add_signed(here.drive_to(stop.point))?;
            leaving = arrival.checked_add_signed(STOP).map(|done| (done, stop.point));
            Some((stop.key, ArrivalEstimate { expected_at: arrival, stops_before, reason, at: now }))
        })
        .collect()
}

/// Why a driver's estimate cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstimateRefusal {
    #[error("the expected arrival must be between now and 24 hours ahead")]
    Implausible,
    #[error("the estimate counts more stops than a day has")]
    TooManyStops,
    #[error("the reason must be one the platform knows")]
    UnknownReason,
}

/// Checks a driver's estimate against the platform's clock: not in the past (beyond the
/// allowance for another clock), at most a day ahead, with a known reason.
pub fn check_estimate(estimate: &ArrivalEstimate, now: DateTime<Utc>) -> Result<(), EstimateRefusal> {
    if estimate.reason == EtaReason::Unknown {
        return Err(EstimateRefusal::UnknownReason);
    }
    if estimate.stops_before > MAX_STOPS_BEFORE {
        return Err(EstimateRefusal::TooManyStops);
    }
    let earliest = now - crate::handover::CLOCK_SKEW;
    if estimate.expected_at < earliest || estimate.expected_at > now + MAX_AHEAD {
        return Err(EstimateRefusal::Implausible);
    }
    Ok(())
}

/// Whether a new estimate is worth telling the customer, after `told` (the last one they were
/// told of, one of `tells` on this trip): the first; the one that says the driver is one stop
/// away; one that moves by [`NOTIFY_MARGIN`] or more (after a revision they were told of, only
/// [`MIN_TELL_INTERVAL`] after it); and never more than [`MAX_TELLS_PER_TRIP`].
pub fn worth_telling(told: Option<&ArrivalEstimate>, tells: u32, new: &ArrivalEstimate) -> bool {
    let Some(told) = told else { return true };
    if tells >= MAX_TELLS_PER_TRIP {
        return false;
    }
    let one_stop_away = new.stops_before == 1 && told.stops_before != 1;
    let moved = (new.expected_at - told.expected_at).abs() >= NOTIFY_MARGIN;
    let rested = tells <= 1 || new.at - told.at >= MIN_TELL_INTERVAL;
    one_stop_away || (moved && rested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, h, m, 0).single().expect("valid")
    }

    #[test]
    fn the_road_takes_longer_than_the_crow_flies() {
        let ten_km_east = RoutePoint { east_m: 10_000, north_m: 0 };
        // 13 km of road at 40 km/h: 19.5 minutes, to the next minute.
        assert_eq!(RoutePoint::DEPOT.drive_to(ten_km_east), TimeDelta::minutes(20));
        assert_eq!(ten_km_east.drive_to(ten_km_east), TimeDelta::minutes(1), "a stop next door still takes a minute");
        let far = RoutePoint { east_m: i32::MIN, north_m: i32::MAX };
        assert!(far.drive_to(RoutePoint { east_m: i32::MAX, north_m: i32::MIN }) > TimeDelta::days(100), "no overflow");
    }

    #[test]
    fn each_stop_waits_for_the_road_and_the_stops_before_it() {
        let stops = [
            PlannedStop { key: 'a', point: RoutePoint { east_m: 10_000, north_m: 0 } },
            PlannedStop { key: 'b', point: RoutePoint { east_m: 10_000, north_m: 10_000 } },
        ];
        let plan = plan(RoutePoint::DEPOT, at(8, 0), &stops, EtaReason::Departure);
        assert_eq!(plan[0].1.expected_at, at(8, 20));
        assert_eq!(plan[0].1.stops_before, 0);
        // 15 minutes at the first door, then 20 minutes of road.
        assert_eq!(plan[1].1.expected_at, at(8, 55));
        assert_eq!((plan[1].0, plan[1].1.stops_before, plan[1].1.reason), ('b', 1, EtaReason::Departure));
    }

    #[test]
    fn a_plan_past_the_calendar_stops_short_instead_of_panicking() {
        let stops = [PlannedStop { key: 1, point: RoutePoint { east_m: 10_000, north_m: 0 } }; 3];
        let near_the_end = DateTime::<Utc>::MAX_UTC - TimeDelta::minutes(30);
        assert_eq!(plan(RoutePoint::DEPOT, near_the_end, &stops, EtaReason::Traffic).len(), 1);
    }

    #[test]
    fn the_customer_is_told_of_the_first_estimate_a_real_move_and_the_last_stop_before_theirs() {
        let first =
            ArrivalEstimate { expected_at: at(10, 0), stops_before: 2, reason: EtaReason::Departure, at: at(8, 0) };
        assert!(worth_telling(None, 0, &first));
        let small = ArrivalEstimate { expected_at: at(10, 10), reason: EtaReason::Traffic, at: at(8, 30), ..first };
        assert!(!worth_telling(Some(&first), 1, &small), "ten minutes is within the margin");
        let late = ArrivalEstimate { expected_at: at(10, 20), ..small };
        assert!(worth_telling(Some(&first), 1, &late));
        let early = ArrivalEstimate { expected_at: at(9, 40), ..small };
        assert!(worth_telling(Some(&first), 1, &early), "earlier counts too");
        let next = ArrivalEstimate { stops_before: 1, reason: EtaReason::StopCompleted, ..small };
        assert!(worth_telling(Some(&first), 1, &next), "one stop away");
        assert!(!worth_telling(Some(&next), 2, &next), "said once");
    }

    #[test]
    fn a_driver_cannot_flood_the_customer() {
        let first =
            ArrivalEstimate { expected_at: at(10, 0), stops_before: 3, reason: EtaReason::Departure, at: at(8, 0) };
        let soon = ArrivalEstimate { expected_at: at(10, 30), reason: EtaReason::Traffic, at: at(8, 5), ..first };
        assert!(
            worth_telling(Some(&first), 1, &soon),
            "the first revision of the departure's estimate is told at once"
        );
        assert!(
            !worth_telling(Some(&first), 2, &soon),
            "a later one, five minutes after the last revision told, waits"
        );
        let later = ArrivalEstimate { at: at(8, 10), ..soon };
        assert!(worth_telling(Some(&first), 2, &later));
        assert!(!worth_telling(Some(&first), MAX_TELLS_PER_TRIP, &later), "the trip's tells are spent");
        let next = ArrivalEstimate { stops_before: 1, at: at(8, 1), ..first };
        assert!(!worth_telling(Some(&first), MAX_TELLS_PER_TRIP, &next), "even one stop away");
    }

    #[test]
    fn a_drivers_estimate_is_checked_by_the_platforms_clock() {
        let now = at(8, 0);
        let ok = ArrivalEstimate { expected_at: at(9, 0), stops_before: 0, reason: EtaReason::Traffic, at: now };
        assert_eq!(check_estimate(&ok, now), Ok(()));
        let past = ArrivalEstimate { expected_at: at(7, 0), ..ok };
        assert_eq!(check_estimate(&past, now), Err(EstimateRefusal::Implausible));
        let far = ArrivalEstimate { expected_at: now + TimeDelta::hours(25), ..ok };
        assert_eq!(check_estimate(&far, now), Err(EstimateRefusal::Implausible));
        let many = ArrivalEstimate { stops_before: 31, ..ok };
        assert_eq!(check_estimate(&many, now), Err(EstimateRefusal::TooManyStops));
        let newer = ArrivalEstimate { reason: EtaReason::Unknown, ..ok };
        assert_eq!(check_estimate(&newer, now), Err(EstimateRefusal::UnknownReason));
    }
}
