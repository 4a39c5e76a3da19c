//! What the UI shows, computed from the cache alone so it is instant and works offline.

use caas_protocol::api::{Blocker, EventKind, Money, Registration, ScheduleReason, VehicleConfiguration};
use caas_protocol::arrival::ArrivalEstimate;
use caas_protocol::delivery::{DeliveryView, DeliveryWindow};
use caas_protocol::lifecycle::Phase;
use caas_protocol::maintenance::MaintenanceView;
use caas_protocol::options::{OptionCode, OptionPurchase};
use caas_protocol::pairing::api::AppLink;
use caas_protocol::{Actor, OrderState, Transition};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::store::{StoredOrder, StoredSummary};

/// The factory's completion date. Until the car is built it is an estimate the factory may revise,
/// never a promise; `confirmed` turns true only once the car is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionDate {
    pub date: NaiveDate,
    pub confirmed: bool,
}

/// One line of the orders list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: Uuid,
    pub state: OrderState,
    pub phase: Phase,
    pub version: u64,
    pub base_platform: String,
    pub dealership: String,
    pub completion: Option<CompletionDate>,
    /// Set while the order cannot move on until someone acts.
    pub blocker: Option<Blocker>,
    /// Whose move it is next, e.g. the factory during production.
    pub waiting_for: Vec<Actor>,
    pub updated_at: DateTime<Utc>,
}

/// One state the order went through, with when and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub version: u64,
    pub state: OrderState,
    pub by: Actor,
    pub at: DateTime<Utc>,
}

/// A change to the factory's estimate, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateRevision {
    pub version: u64,
    pub date: NaiveDate,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A delivery window as booked or moved, with why: the history of the delivery date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRevision {
    pub version: u64,
    pub attempt: u32,
    pub window: DeliveryWindow,
    pub reason: ScheduleReason,
    pub at: DateTime<Utc>,
}

/// An expected arrival the customer was told of, with why it was set or moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalRevision {
    pub version: u64,
    pub attempt: u32,
    pub estimate: ArrivalEstimate,
}

/// What the customer can do now. Only actions the current state allows are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerAction {
    PayFinalAmount,
    ManageDelivery,
    ShowHandoverCode,
    PairVehicle,
    /// Add options to the car, from its handover on.
    BuyOptions,
    /// Book, move or cancel a service at the workshop, once the car is operational.
    BookService,
}

/// The final payment as the payment screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalPaymentDue {
    pub amount_due: Money,
    pub deadline: DateTime<Utc>,
    /// Whole seconds left until the deadline by this device's clock when the snapshot was read, 0
    /// once it passed; the screen counts down from here.
    pub seconds_left: u64,
    /// When the gateway confirmed the payment.
    pub paid_at: Option<DateTime<Utc>>,
    /// A payment attempt is in flight (its outcome not known yet): resume it, do not pay anew.
    pub attempt_in_flight: bool,
}

/// An order with its whole purchase record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub configuration: VehicleConfiguration,
    pub delivery_locality: String,
    pub deposit: Option<Money>,
    pub vin: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub estimate_revisions: Vec<EstimateRevision>,
    pub actions: Vec<CustomerAction>,
    /// The full price of the car.
    pub price: Option<Money>,
    pub final_payment: Option<FinalPaymentDue>,
    /// The plate and registry, once the car is registered.
    pub registration: Option<Registration>,
    /// The final payment was not made in time: the car went back to the dealership's stock.
    pub reservation_lost: bool,
    /// The car was built for an earlier order and sold from stock.
    pub from_stock: bool,
    /// Transport and handover, once booked: company, window, address, who had the car when, and
    /// where to collect it when it went back to the dealership.
    pub delivery: Option<DeliveryView>,
    /// Every window the delivery was booked for, oldest first.
    pub delivery_windows: Vec<WindowRevision>,
    /// Every expected arrival the customer was told of, oldest first (the latest estimate is on
    /// the delivery).
    pub arrival_estimates: Vec<ArrivalRevision>,
    /// Every phone key issued for the car, oldest first: the owner sees each key that can open it.
    pub phone_keys: Vec<PhoneKey>,
    /// The app's link with the car, once the car confirmed it.
    pub app_link: Option<AppLink>,
    /// Charges the order did not need, given back to the card, oldest first.
    pub refunds: Vec<Refund>,
    /// Options bought for the car after delivery, oldest first.
    pub options: Vec<OptionPurchase>,
    /// The options with a payment in flight (its outcome not known yet): resume it, do not buy anew.
    pub option_payments_in_flight: Vec<OptionCode>,
    /// The car's maintenance from `operational` on: the plan, the last report, the next service,
    /// the booked slot and the workshop's visits.
    pub maintenance: Option<MaintenanceView>,
    /// Updates from a newer platform this version cannot describe, oldest first: shown as such
    /// ("update the app to see it"), so nothing the platform recorded goes unmentioned.
    pub unknown_updates: Vec<UnknownUpdate>,
}

/// An update this version of the app does not know how to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownUpdate {
    pub version: u64,
    pub at: DateTime<Utc>,
}

/// A charge the platform gave back: the order was paid already when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A phone key for the car, from the order's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneKey {
    pub grant_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked: bool,
    /// When the car linked the app with this key.
    pub linked_at: Option<DateTime<Utc>>,
}

impl CustomerAction {
    /// The actions a customer may take now: those of the state, with payment offered only while a
    /// payment is still possible (before the deadline, not paid).
    pub fn available(state: OrderState, payment: Option<&FinalPaymentDue>) -> Vec<CustomerAction> {
        let payable = payment.is_some_and(|p| p.seconds_left > 0 && p.paid_at.is_none());
        Self::allowed_in(state).into_iter().filter(|a| *a != CustomerAction::PayFinalAmount || payable).collect()
    }

    /// The actions a customer may take in `state`, read from the lifecycle table's edges out of
    /// it and who takes them: the customer's payment is what lets the gateway move the order on;
    /// the delivery can be managed until the driver sets out; the code is shown once the handover
    /// (or the driver's arrival before it) is the next edge; the customer's own edge is pairing.
    pub fn allowed_in(state: OrderState) -> Vec<CustomerAction> {
        let edges: Vec<_> = state.transitions().collect();
        let offers = |action, allowed: fn(&Transition) -> bool| edges.iter().any(|t| allowed(t)).then_some(action);
        [
            offers(CustomerAction::PayFinalAmount, |t| t.by == Actor::PaymentGateway),
            offers(CustomerAction::ManageDelivery, |t| t.to == OrderState::InTransit),
            offers(CustomerAction::ShowHandoverCode, |t| {
                matches!(t.to, OrderState::Delivered | OrderState::AtCustomerAddress)
            }),
            offers(CustomerAction::PairVehicle, |t| t.by == Actor::Customer),
            state.is_handed_over().then_some(CustomerAction::BuyOptions),
            (state == OrderState::Operational).then_some(CustomerAction::BookService),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

impl OrderSummary {
    pub(crate) fn from_stored(order: &StoredSummary) -> Self {
        let state = order.state.unwrap_or(order.details.state);
        let mut waiting_for: Vec<Actor> = state.transitions().map(|t| t.by).collect();
        waiting_for.dedup();
        OrderSummary {
            id: order.details.id,
            state,
            phase: state.phase(),
            version: order.cursor,
            base_platform: order.details.configuration.base_platform.clone(),
            dealership: order.details.dealership.name.clone(),
            completion: order.estimate.map(|date| CompletionDate { date, confirmed: state.is_manufactured() }),
            blocker: order.blocker.clone(),
            waiting_for,
            updated_at: order.last_event_at.unwrap_or(order.details.updated_at),
        }
    }
}

impl OrderDetail {
    /// The order as the cache holds it, with its countdown and actions as of `now`.
    pub(crate) fn from_stored(order: &StoredOrder, now: DateTime<Utc>) -> Self {
        let summary = OrderSummary::from_stored(&order.summary);
        let details = &order.summary.details;
        let mut timeline = Vec::new();
        let mut estimate_revisions = Vec::new();
        let mut delivery_windows = Vec::new();
        let mut arrival_estimates = Vec::new();
        let mut phone_keys: Vec<PhoneKey> = Vec::new();
        let mut refunds = Vec::new();
        let mut unknown_updates = Vec::new();
        for event in &order.events {
            match &event.kind {
                EventKind::StateChanged { to, by, .. } => {
                    timeline.push(TimelineEntry { version: event.version, state: *to, by: *by, at: event.occurred_at });
                }
                EventKind::EstimateRevised { estimated_completion, reason } => {
                    estimate_revisions.push(EstimateRevision {
                        version: event.version,
                        date: *estimated_completion,
                        reason: reason.clone(),
                        at: event.occurred_at,
                    });
                }
                EventKind::DeliveryScheduled { attempt, window, reason, .. } => {
                    delivery_windows.push(WindowRevision {
                        version: event.version,
                        attempt: *attempt,
                        window: *window,
                        reason: *reason,
                        at: event.occurred_at,
                    });
                }
                EventKind::ArrivalEstimated { attempt, estimate } => {
                    arrival_estimates.push(ArrivalRevision {
                        version: event.version,
                        attempt: *attempt,
                        estimate: *estimate,
                    });
                }
                EventKind::KeyIssued { grant_id, not_after } => phone_keys.push(PhoneKey {
                    grant_id: *grant_id,
                    issued_at: event.occurred_at,
                    not_after: *not_after,
                    revoked: false,
                    linked_at: None,
                }),
                EventKind::KeyRevoked { grant_id } => {
                    phone_keys.iter_mut().filter(|k| k.grant_id == *grant_id).for_each(|k| k.revoked = true);
                }
                EventKind::AppLinked { link } => {
                    phone_keys
                        .iter_mut()
                        .filter(|k| k.grant_id == link.grant_id)
                        .for_each(|k| k.linked_at = Some(link.linked_at));
                }
                EventKind::PaymentRefunded { payment_id, amount, reason } => refunds.push(Refund {
                    payment_id: payment_id.clone(),
                    amount: amount.clone(),
                    reason: reason.clone(),
                    at: event.occurred_at,
                }),
                EventKind::ConfigurationRejected { .. }
                | EventKind::RegistrationBlocked { .. }
                | EventKind::FinalPaymentRequested { .. }
                | EventKind::PaymentReminder { .. }
                | EventKind::DeliveryAddressConfirmed
                | EventKind::Embarked { .. }
                | EventKind::CustomerAbsent { .. }
                | EventKind::TransitIncident { .. }
                | EventKind::ReceivedAtDealership { .. }
                | EventKind::PickupRequired { .. }
                | EventKind::HandedOver { .. }
                | EventKind::HandoverDisputed { .. }
                | EventKind::OptionPurchased { .. }
                | EventKind::OptionActivated { .. }
                | EventKind::OptionRefunded { .. }
                | EventKind::ServiceDue { .. }
                | EventKind::VehicleWarning { .. }
                | EventKind::ServiceBooked { .. }
                | EventKind::ServiceCancelled { .. }
                | EventKind::ServiceVisitRecorded { .. } => {}
                EventKind::Unknown(_) => {
                    unknown_updates.push(UnknownUpdate { version: event.version, at: event.occurred_at });
                }
            }
        }
        let final_payment = details.final_payment.as_ref().map(|due| FinalPaymentDue {
            amount_due: due.amount_due.clone(),
            deadline: due.deadline,
            seconds_left: 0,
            paid_at: due.paid_at,
            attempt_in_flight: order.payment_attempt.is_some(),
        });
        OrderDetail {
            actions: Vec::new(),
            reservation_lost: matches!(summary.state, OrderState::Unassigned | OrderState::DealershipStock),
            price: details.price.clone(),
            final_payment,
            registration: details.registration.clone(),
            from_stock: details.from_stock,
            delivery: details.delivery.clone(),
            delivery_windows,
            arrival_estimates,
            phone_keys,
            refunds,
            options: details.options.clone(),
            option_payments_in_flight: order.options_in_flight.clone(),
            maintenance: details.maintenance.clone(),
            unknown_updates,
            app_link: details.app_link.clone(),
            summary,
            configuration: details.configuration.clone(),
            delivery_locality: details.delivery_locality.clone(),
            deposit: details.deposit.clone(),
            vin: details.vin.clone(),
            timeline,
            estimate_revisions,
        }
        .at(now)
    }

    /// This snapshot at `now`: the countdown to the payment's deadline and the actions it allows
    /// move with the clock, so a snapshot kept in memory is brought to the moment it is shown.
    pub(crate) fn at(mut self, now: DateTime<Utc>) -> Self {
        let state = self.summary.state;
        if let Some(due) = &mut self.final_payment {
            due.seconds_left = if state == OrderState::AwaitingFinalPayment {
                u64::try_from((due.deadline - now).num_seconds()).unwrap_or(0)
            } else {
                0
            };
        }
        self.actions = CustomerAction::available(state, self.final_payment.as_ref());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the customer is offered in each state, written out as the product defines it: the
    /// oracle the derivation from the lifecycle table is checked against.
    #[test]
    fn actions_follow_the_lifecycle() {
        use CustomerAction::*;
        for state in OrderState::ALL.into_iter().chain([OrderState::Unknown]) {
            let expected = match state {
                OrderState::AwaitingFinalPayment => vec![PayFinalAmount],
                OrderState::TransportScheduled | OrderState::DeliveryRescheduled => vec![ManageDelivery],
                OrderState::InTransit | OrderState::AtCustomerAddress | OrderState::HeldAtDealership => {
                    vec![ShowHandoverCode]
                }
                OrderState::Delivered => vec![PairVehicle, BuyOptions],
                OrderState::AppLinked => vec![BuyOptions],
                OrderState::Operational => vec![BuyOptions, BookService],
                _ => vec![],
            };
            assert_eq!(CustomerAction::allowed_in(state), expected, "{state}");
        }
    }

    #[test]
    fn payment_is_offered_only_while_possible() {
        let due = |seconds_left, paid: bool| FinalPaymentDue {
            amount_due: Money { amount_minor: 100, currency: "EUR".into() },
            deadline: DateTime::UNIX_EPOCH,
            seconds_left,
            paid_at: paid.then_some(DateTime::UNIX_EPOCH),
            attempt_in_flight: false,
        };
        let state = OrderState::AwaitingFinalPayment;
        assert_eq!(CustomerAction::available(state, Some(&due(60, false))), vec![CustomerAction::PayFinalAmount]);
        assert_eq!(CustomerAction::available(state, Some(&due(0, false))), vec![]);
        assert_eq!(CustomerAction::available(state, Some(&due(60, true))), vec![]);
        assert_eq!(CustomerAction::available(state, None), vec![]);
        assert_eq!(
            CustomerAction::available(OrderState::Delivered, None),
            vec![CustomerAction::PairVehicle, CustomerAction::BuyOptions]
        );
    }
}
