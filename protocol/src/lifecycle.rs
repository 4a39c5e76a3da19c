//! The order lifecycle: every state of the seed's state machine and its legal transitions, as data.
//!
//! The platform mock enforces this table on every change and the phone core uses it to decide which
//! actions to offer, so the two can never disagree about what may happen next. Later features add
//! behaviour around these states; they do not add states.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a purchase stands, from the sale at the dealership to the car running for its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    SaleRegistered,
    ReservationPaid,
    OrderPlaced,
    InProduction,
    Assembly,
    QualityControl,
    ManufacturingComplete,
    DispatchedToLocality,
    AwaitingFinalPayment,
    Unassigned,
    DealershipStock,
    AdministrativeRegistration,
    Registered,
    TransportScheduled,
    InTransit,
    AtCustomerAddress,
    DeliveryRescheduled,
    ReturnedToDealership,
    HeldAtDealership,
    Delivered,
    AppLinked,
    Operational,
    /// A state a newer platform added. This platform never produces it and refuses it as input;
    /// a phone that reads it keeps the order's raw record and shows a status it cannot describe.
    #[serde(other)]
    Unknown,
}

/// Who is entitled to move an order along a transition; the platform checks the caller's role
/// against it, and the phone uses it to tell "waiting for the factory" from "your turn".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Dealership,
    Platform,
    Factory,
    PaymentGateway,
    Registry,
    Driver,
    Customer,
    /// A party a newer platform added; never produced by this one.
    #[serde(other)]
    Unknown,
}

/// One legal edge of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: OrderState,
    pub to: OrderState,
    pub by: Actor,
}

const fn edge(from: OrderState, to: OrderState, by: Actor) -> Transition {
    Transition { from, to, by }
}

use OrderState as S;

/// The legal transitions. A purchase record ends either with the car operational for its customer
/// or, when the final payment never came, with the car back in dealership stock; a later sale of
/// that stock car is a new purchase record that skips the factory (`reservation_paid` straight to
/// `awaiting_final_payment`).
pub const TRANSITIONS: &[Transition] = &[
    edge(S::SaleRegistered, S::ReservationPaid, Actor::Dealership),
    edge(S::ReservationPaid, S::OrderPlaced, Actor::Platform),
    edge(S::ReservationPaid, S::AwaitingFinalPayment, Actor::Platform),
    edge(S::OrderPlaced, S::InProduction, Actor::Factory),
    edge(S::InProduction, S::Assembly, Actor::Factory),
    edge(S::Assembly, S::QualityControl, Actor::Factory),
    edge(S::QualityControl, S::ManufacturingComplete, Actor::Factory),
    edge(S::ManufacturingComplete, S::DispatchedToLocality, Actor::Factory),
    edge(S::DispatchedToLocality, S::AwaitingFinalPayment, Actor::Platform),
    edge(S::AwaitingFinalPayment, S::AdministrativeRegistration, Actor::PaymentGateway),
    edge(S::AwaitingFinalPayment, S::Unassigned, Actor::Platform),
    edge(S::Unassigned, S::DealershipStock, Actor::Platform),
    edge(S::AdministrativeRegistration, S::Registered, Actor::Registry),
    edge(S::Registered, S::TransportScheduled, Actor::Platform),
    edge(S::TransportScheduled, S::InTransit, Actor::Driver),
    edge(S::InTransit, S::AtCustomerAddress, Actor::Driver),
    // An incident on the way: the seed's `InTransit --> AtDealership: Failed Delivery`.
    edge(S::InTransit, S::ReturnedToDealership, Actor::Driver),
    edge(S::AtCustomerAddress, S::Delivered, Actor::Driver),
    edge(S::AtCustomerAddress, S::DeliveryRescheduled, Actor::Driver),
    edge(S::AtCustomerAddress, S::ReturnedToDealership, Actor::Driver),
    edge(S::DeliveryRescheduled, S::InTransit, Actor::Driver),
    edge(S::ReturnedToDealership, S::HeldAtDealership, Actor::Dealership),
    edge(S::HeldAtDealership, S::Delivered, Actor::Dealership),
    edge(S::Delivered, S::AppLinked, Actor::Customer),
    edge(S::AppLinked, S::Operational, Actor::Platform),
];

/// The stages the factory reports, in production order.
pub const FACTORY_STAGES: &[OrderState] = &[
    S::OrderPlaced,
    S::InProduction,
    S::Assembly,
    S::QualityControl,
    S::ManufacturingComplete,
    S::DispatchedToLocality,
];

/// The broad phase a state belongs to, for grouping a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Sale,
    Manufacturing,
    Payment,
    Registration,
    Delivery,
    Linking,
    /// The phase of a state a newer platform added.
    Unknown,
}

impl OrderState {
    pub const ALL: [OrderState; 22] = [
        S::SaleRegistered,
        S::ReservationPaid,
        S::OrderPlaced,
        S::InProduction,
        S::Assembly,
        S::QualityControl,
        S::ManufacturingComplete,
        S::DispatchedToLocality,
        S::AwaitingFinalPayment,
        S::Unassigned,
        S::DealershipStock,
        S::AdministrativeRegistration,
        S::Registered,
        S::TransportScheduled,
        S::InTransit,
        S::AtCustomerAddress,
        S::DeliveryRescheduled,
        S::ReturnedToDealership,
        S::HeldAtDealership,
        S::Delivered,
        S::AppLinked,
        S::Operational,
    ];

    /// The snake_case name used on the wire and in storage.
    pub const fn wire_name(self) -> &'static str {
        match self {
            S::SaleRegistered => "sale_registered",
            S::ReservationPaid => "reservation_paid",
            S::OrderPlaced => "order_placed",
            S::InProduction => "in_production",
            S::Assembly => "assembly",
            S::QualityControl => "quality_control",
            S::ManufacturingComplete => "manufacturing_complete",
            S::DispatchedToLocality => "dispatched_to_locality",
            S::AwaitingFinalPayment => "awaiting_final_payment",
            S::Unassigned => "unassigned",
            S::DealershipStock => "dealership_stock",
            S::AdministrativeRegistration => "administrative_registration",
            S::Registered => "registered",
            S::TransportScheduled => "transport_scheduled",
            S::InTransit => "in_transit",
            S::AtCustomerAddress => "at_customer_address",
            S::DeliveryRescheduled => "delivery_rescheduled",
            S::ReturnedToDealership => "returned_to_dealership",
            S::HeldAtDealership => "held_at_dealership",
            S::Delivered => "delivered",
            S::AppLinked => "app_linked",
            S::Operational => "operational",
            S::Unknown => "unknown",
        }
    }

    /// The legal transitions out of this state.
    pub fn transitions(self) -> impl Iterator<Item = &'static Transition> {
        TRANSITIONS.iter().filter(move |t| t.from == self)
    }

    /// The states reachable in one legal step.
    pub fn next_states(self) -> impl Iterator<Item = OrderState> {
        self.transitions().map(|t| t.to)
    }

    /// The edge from `self` to `to`, if the lifecycle allows it.
    pub fn transition_to(self, to: OrderState) -> Option<&'static Transition> {
        self.transitions().find(|t| t.to == to)
    }

    pub fn can_transition_to(self, to: OrderState) -> bool {
        self.transition_to(to).is_some()
    }

    /// A purchase record in a terminal state never changes state again.
    pub fn is_terminal(self) -> bool {
        self.transitions().next().is_none()
    }

    /// The factory's next stage after this one, while the car is being built.
    pub fn next_factory_stage(self) -> Option<OrderState> {
        let at = FACTORY_STAGES.iter().position(|s| *s == self)?;
        FACTORY_STAGES.get(at + 1).copied()
    }

    pub fn is_factory_stage(self) -> bool {
        FACTORY_STAGES.contains(&self)
    }

    /// Whether the car physically exists and is finished. Until then every date the factory gives
    /// is an estimate, never a promise.
    pub fn is_manufactured(self) -> bool {
        !matches!(
            self,
            S::SaleRegistered | S::ReservationPaid | S::OrderPlaced | S::InProduction | S::Assembly | S::QualityControl
        )
    }

    /// Whether the car is its customer's: handed over, and every state after.
    pub fn is_handed_over(self) -> bool {
        matches!(self, S::Delivered | S::AppLinked | S::Operational)
    }

    /// Whether the final payment was made: every state from registration on. (A purchase record
    /// that lost its reservation was never paid.)
    pub fn is_paid(self) -> bool {
        matches!(self.phase(), Phase::Registration | Phase::Delivery | Phase::Linking)
    }

    pub fn phase(self) -> Phase {
        match self {
            S::SaleRegistered | S::ReservationPaid => Phase::Sale,
            S::OrderPlaced
            | S::InProduction
            | S::Assembly
            | S::QualityControl
            | S::ManufacturingComplete
            | S::DispatchedToLocality => Phase::Manufacturing,
            S::AwaitingFinalPayment | S::Unassigned | S::DealershipStock => Phase::Payment,
            S::AdministrativeRegistration | S::Registered => Phase::Registration,
            S::TransportScheduled
            | S::InTransit
            | S::AtCustomerAddress
            | S::DeliveryRescheduled
            | S::ReturnedToDealership
            | S::HeldAtDealership
            | S::Delivered => Phase::Delivery,
            S::AppLinked | S::Operational => Phase::Linking,
            S::Unknown => Phase::Unknown,
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl Actor {
    /// Every party of the lifecycle (not [`Actor::Unknown`]).
    pub const ALL: [Actor; 7] = [
        Actor::Dealership,
        Actor::Platform,
        Actor::Factory,
        Actor::PaymentGateway,
        Actor::Registry,
        Actor::Driver,
        Actor::Customer,
    ];

    /// The snake_case name used on the wire, and in what the platform tells people.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Actor::Dealership => "dealership",
            Actor::Platform => "platform",
            Actor::Factory => "factory",
            Actor::PaymentGateway => "payment_gateway",
            Actor::Registry => "registry",
            Actor::Driver => "driver",
            Actor::Customer => "customer",
            Actor::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// A state name that is not part of the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order state `{0}`")]
pub struct UnknownState(pub String);

impl FromStr for OrderState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderState::ALL
            .into_iter()
            .find(|state| state.wire_name() == s)
            .ok_or_else(|| UnknownState(s.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet, VecDeque};

    use proptest::prelude::*;

    use super::*;

    /// The seed's state machine written down a second time, independently of `TRANSITIONS`, as
    /// the oracle the table is checked against.
    const SEED_EDGES: &[(&str, &str)] = &[
        ("sale_registered", "reservation_paid"),
        ("reservation_paid", "order_placed"),
        ("reservation_paid", "awaiting_final_payment"),
        ("order_placed", "in_production"),
        ("in_production", "assembly"),
        ("assembly", "quality_control"),
        ("quality_control", "manufacturing_complete"),
        ("manufacturing_complete", "dispatched_to_locality"),
        ("dispatched_to_locality", "awaiting_final_payment"),
        ("awaiting_final_payment", "administrative_registration"),
        ("awaiting_final_payment", "unassigned"),
        ("unassigned", "dealership_stock"),
        ("administrative_registration", "registered"),
        ("registered", "transport_scheduled"),
        ("transport_scheduled", "in_transit"),
        ("in_transit", "at_customer_address"),
        ("in_transit", "returned_to_dealership"),
        ("at_customer_address", "delivered"),
        ("at_customer_address", "delivery_rescheduled"),
        ("at_customer_address", "returned_to_dealership"),
        ("delivery_rescheduled", "in_transit"),
        ("returned_to_dealership", "held_at_dealership"),
        ("held_at_dealership", "delivered"),
        ("delivered", "app_linked"),
        ("app_linked", "operational"),
    ];

    fn seed_allows(from: OrderState, to: OrderState) -> bool {
        SEED_EDGES.contains(&(from.wire_name(), to.wire_name()))
    }

    fn any_state() -> impl Strategy<Value = OrderState> {
        proptest::sample::select(OrderState::ALL.to_vec())
    }

    fn reachable_from(start: OrderState) -> HashSet<OrderState> {
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(state) = queue.pop_front() {
            for next in state.next_states() {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        seen
    }

    proptest! {
        #[test]
        fn table_accepts_exactly_the_seed_edges(from in any_state(), to in any_state()) {
            prop_assert_eq!(from.can_transition_to(to), seed_allows(from, to));
        }

        /// A walk that mostly follows the table and sometimes jumps anywhere is accepted by the
        /// table exactly when every step is a seed edge.
        #[test]
        fn paths_are_accepted_exactly_when_the_seed_allows_them(
            start in any_state(),
            steps in proptest::collection::vec((0usize..4, any_state(), proptest::bool::weighted(0.1)), 0..30)
        ) {
            let mut path = vec![start];
            for (pick, jump_to, jump) in steps {
                let here = *path.last().expect("never empty");
                let next: Vec<_> = here.next_states().collect();
                path.push(if jump || next.is_empty() { jump_to } else { next[pick % next.len()] });
            }
            let table = path.windows(2).all(|w| w[0].can_transition_to(w[1]));
            let seed = path.windows(2).all(|w| seed_allows(w[0], w[1]));
            prop_assert_eq!(table, seed);
        }

        #[test]
        fn wire_names_round_trip(state in any_state()) {
            prop_assert_eq!(state.wire_name().parse::<OrderState>().ok(), Some(state));
            let json = serde_json::to_string(&state).expect("serialises");
            prop_assert_eq!(json, format!("\"{}\"", state.wire_name()));
        }
    }

    #[test]
    fn every_state_is_reachable_from_the_sale() {
        let reachable = reachable_from(OrderState::SaleRegistered);
        let all: HashSet<_> = OrderState::ALL.into_iter().collect();
        assert_eq!(reachable, all);
    }

    #[test]
    fn every_state_can_reach_an_end_and_the_ends_are_the_seeds() {
        let ends: BTreeSet<_> = OrderState::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(ends, BTreeSet::from([OrderState::DealershipStock, OrderState::Operational]));
        for state in OrderState::ALL {
            assert!(reachable_from(state).iter().any(|s| s.is_terminal()), "{state} cannot reach an end");
        }
    }

    #[test]
    fn seed_edges_are_all_in_the_table() {
        assert_eq!(TRANSITIONS.len(), SEED_EDGES.len());
        let unique: HashSet<_> = TRANSITIONS.iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(unique.len(), TRANSITIONS.len(), "duplicate edge in the table");
    }

    #[test]
    fn factory_stages_follow_the_table() {
        for pair in FACTORY_STAGES.windows(2) {
            assert_eq!(pair[0].next_factory_stage(), Some(pair[1]));
            assert_eq!(pair[0].transition_to(pair[1]).map(|t| t.by), Some(Actor::Factory));
        }
        assert_eq!(OrderState::DispatchedToLocality.next_factory_stage(), None);
    }

    #[test]
    fn actors_are_named_as_on_the_wire() {
        for actor in Actor::ALL.into_iter().chain([Actor::Unknown]) {
            let json = serde_json::to_string(&actor).expect("serialises");
            assert_eq!(json, format!("\"{}\"", actor.wire_name()));
            assert_eq!(actor.to_string(), actor.wire_name());
        }
        assert!(TRANSITIONS.iter().all(|t| Actor::ALL.contains(&t.by)), "every edge's party is listed");
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!("shipped".parse::<OrderState>().is_err());
        assert!("".parse::<OrderState>().is_err());
    }
}
