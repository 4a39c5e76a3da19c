//! What each event of an order's log does to the order's summary: its state, what blocks it and
//! the factory's estimate. The platform keeps its order row by this one function and the phone
//! its cache, so the two cannot disagree about, say, whether an order is blocked.

use chrono::NaiveDate;

use crate::api::{Blocker, EventKind};
use crate::lifecycle::OrderState;

/// An order's summary as its log makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderProjection {
    /// `None` until the first state change (every log starts with one).
    pub state: Option<OrderState>,
    /// Why the order cannot move on. It stands until the order changes state: a later event of
    /// another kind (a reminder, an update this version does not know) does not clear it.
    pub blocker: Option<Blocker>,
    /// The factory's latest estimate of completion.
    pub estimated_completion: Option<NaiveDate>,
}

impl OrderProjection {
    /// The summary after the events of a whole log, in version order.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a EventKind>) -> Self {
        let mut projection = Self::default();
        events.into_iter().for_each(|kind| projection.apply(kind));
        projection
    }

    /// The summary after one more event.
    pub fn apply(&mut self, kind: &EventKind) {
        match kind {
            EventKind::StateChanged { to, .. } => {
                self.state = Some(*to);
                self.blocker = None;
            }
            EventKind::EstimateRevised { estimated_completion, .. } => {
                self.estimated_completion = Some(*estimated_completion);
            }
            EventKind::ConfigurationRejected { code, reason } => {
                self.blocker = Some(Blocker { code: code.clone(), reason: reason.clone(), fix: None });
            }
            EventKind::RegistrationBlocked { code, reason, fix } => {
                self.blocker = Some(Blocker { code: code.clone(), reason: reason.clone(), fix: Some(fix.clone()) });
            }
            // These describe the payment, the delivery, the keys and the link, which the order's
            // record carries in its own sections; the summary does not change.
            EventKind::FinalPaymentRequested { .. }
            | EventKind::PaymentReminder { .. }
            | EventKind::DeliveryScheduled { .. }
            | EventKind::DeliveryAddressConfirmed
            | EventKind::Embarked { .. }
            | EventKind::CustomerAbsent { .. }
            | EventKind::TransitIncident { .. }
            | EventKind::ArrivalEstimated { .. }
            | EventKind::ReceivedAtDealership { .. }
            | EventKind::PickupRequired { .. }
            | EventKind::HandedOver { .. }
            | EventKind::KeyIssued { .. }
            | EventKind::KeyRevoked { .. }
            | EventKind::AppLinked { .. }
            | EventKind::PaymentRefunded { .. }
            | EventKind::HandoverDisputed { .. }
            | EventKind::OptionPurchased { .. }
            | EventKind::OptionActivated { .. }
            | EventKind::OptionRefunded { .. }
            | EventKind::ServiceDue { .. }
            | EventKind::VehicleWarning { .. }
            | EventKind::ServiceBooked { .. }
            | EventKind::ServiceCancelled { .. }
            | EventKind::ServiceVisitRecorded { .. }
            | EventKind::Unknown(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Actor;

    fn rejected() -> EventKind {
        EventKind::ConfigurationRejected { code: "paint".into(), reason: "not offered".into() }
    }

    #[test]
    fn a_blocker_stands_until_the_state_changes() {
        let reminder = EventKind::DeliveryAddressConfirmed;
        let newer: EventKind =
            serde_json::from_value(serde_json::json!({ "type": "warranty_extended" })).expect("reads");
        let placed = EventKind::StateChanged {
            from: Some(OrderState::ReservationPaid),
            to: OrderState::OrderPlaced,
            by: Actor::Platform,
        };
        let blocked = OrderProjection::of([&rejected(), &reminder, &newer]);
        assert_eq!(blocked.blocker.map(|b| b.code), Some("paint".into()));
        let moved = OrderProjection::of([&rejected(), &reminder, &placed]);
        assert_eq!((moved.state, moved.blocker), (Some(OrderState::OrderPlaced), None));
    }

    /// A newer platform's state is a state change like any other: the order is no longer in the
    /// state this version last knew.
    #[test]
    fn a_state_this_version_does_not_know_is_still_a_state_change() {
        let event: EventKind = serde_json::from_value(serde_json::json!({
            "type": "state_changed", "from": "operational", "to": "in_maintenance", "by": "workshop"
        }))
        .expect("reads");
        assert_eq!(
            event,
            EventKind::StateChanged {
                from: Some(OrderState::Operational),
                to: OrderState::Unknown,
                by: Actor::Unknown
            }
        );
        let projection = OrderProjection::of([&rejected(), &event]);
        assert_eq!((projection.state, projection.blocker), (Some(OrderState::Unknown), None));
    }
}
