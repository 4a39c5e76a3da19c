//! The contract between the customer's phone, the CaaS platform and (later) the car.
//!
//! Everything here is plain data and pure functions: no I/O, no clocks read implicitly, so the
//! phone core, the platform mock and tests all agree on one definition of each rule.

pub mod api;
pub mod arrival;
pub mod delivery;
pub mod handover;
pub mod lifecycle;
pub mod maintenance;
pub mod messages;
pub mod options;
pub mod pairing;
pub mod payment;
pub mod projection;
pub mod push;
pub mod record;
pub mod webhook;

pub use lifecycle::{Actor, OrderState, Transition};
