//! The platform's state on a temporary database, without servers, and orders walked along the
//! lifecycle by its own functions: for unit tests of what happens between two parties' calls,
//! which the end-to-end tests cannot time.

use std::path::Path;
use std::sync::Arc;

use caas_protocol::api::{CustomerDetails, Money, RegistrationDetails, VehicleConfiguration};
use caas_protocol::lifecycle::Transition;
use caas_protocol::webhook::WebhookVerifier;
use caas_protocol::{Actor, OrderState};
use uuid::Uuid;

use super::orders::{self, NewOrder};
use super::{AppState, PaymentSettings, PlatformConfig, SandboxSettings, delivery, sales};
use crate::db::Db;
use crate::error::AppResult;

/// Where nothing listens: the factory and the gateway are never called by these tests.
const NOWHERE: &str = "http://127.0.0.1:9";

/// The platform's state on a fresh database in `dir`, with the catalogue seeded.
pub fn state(dir: &Path) -> AppState {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let db = Db::open(&dir.join("platform.sqlite3")).expect("the database opens");
    crate::seed(&db).expect("the catalogue is seeded");
    let clock = crate::clock::Clock::load(&db.lock()).expect("the clock loads");
    let seed = [7u8; 32];
    let verifier = || WebhookVerifier::new(vec![crate::random_webhook_secret()]);
    AppState {
        db: db.clone(),
        config: Arc::new(PlatformConfig {
            sandbox_token: "sbx_test".into(),
            webhooks: verifier(),
            payments: PaymentSettings {
                window: chrono::TimeDelta::days(7),
                remind_before: chrono::TimeDelta::days(1),
                public: caas_protocol::payment::PaymentsConfig {
                    gateway_url: NOWHERE.into(),
                    publishable_key: "pk_test".into(),
                },
                webhooks: verifier(),
            },
            sandbox: SandboxSettings {
                deposit: Money { amount_minor: 150_000, currency: "EUR".into() },
                robot_courier: false,
            },
        }),
        hub: super::notify::PushHub::default(),
        factory: super::FactoryClient::new(NOWHERE.into(), "fct_test".into()),
        gateway: super::GatewayClient::new(NOWHERE.into(), "sk_test".into()),
        registries: crate::registry::Registries::default(),
        clock: clock.clone(),
        handover: delivery::HandoverDesk::new(&seed),
        codes: crate::auth::CodeKey::derive(&seed, "test sign-in code digest"),
        record: Arc::new(caas_protocol::record::RecordSigner::from_seed(&seed)),
        inbox: crate::inbox::Inbox::default(),
        fleet: crate::vehicle::Fleet::new(&seed, db, clock),
        driver_faults: Arc::default(),
        sweeping: Arc::default(),
        stopping: tokio::sync::watch::channel(false).1,
        registering: super::OrderClaims::default(),
        stepping: super::OrderClaims::default(),
        couriers: super::robot_courier::Couriers::default(),
    }
}

/// A sale at Madrid's dealership walked along the lifecycle to `to` (at most
/// `at_customer_address`) by the platform's own functions, each edge by its party: the factory's
/// car assigned on the way, the transport booked.
pub fn order_at(state: &AppState, email: &str, to: OrderState) -> Uuid {
    const PATH: [OrderState; 13] = [
        OrderState::ReservationPaid,
        OrderState::OrderPlaced,
        OrderState::InProduction,
        OrderState::Assembly,
        OrderState::QualityControl,
        OrderState::ManufacturingComplete,
        OrderState::DispatchedToLocality,
        OrderState::AwaitingFinalPayment,
        OrderState::AdministrativeRegistration,
        OrderState::Registered,
        OrderState::TransportScheduled,
        OrderState::InTransit,
        OrderState::AtCustomerAddress,
    ];
    let walked = state.change(|tx| {
        let details = CustomerDetails {
            email: email.into(),
            name: "Test Customer".into(),
            country: "ES".into(),
            phone: Some("+34600000001".into()),
            registration: RegistrationDetails {
                national_id: Some("12345678Z".into()),
                tax_number: None,
                address: Some("Calle Mayor 1, 28013 Madrid".into()),
            },
        };
        let configuration = VehicleConfiguration { base_platform: "urban-ev".into(), options: vec![] };
        let customer_id = sales::find_or_create_customer(tx, email, &details)?;
        let new = NewOrder {
            customer_id,
            dealership_id: "madrid-centro",
            configuration: &configuration,
            delivery_locality: "Madrid",
            price: Some(Money { amount_minor: 3_000_000, currency: "EUR".into() }),
            stock_vin: None,
            registration: &details.registration,
        };
        let (id, created) = orders::create(tx, &new)?;
        let mut events = vec![created];
        let mut at = OrderState::SaleRegistered;
        for next in PATH {
            if at == to {
                break;
            }
            match next {
                OrderState::TransportScheduled => events.extend(delivery::book(tx, id, state.clock.now())?),
                next => {
                    let by = at.transition_to(next).map_or(Actor::Unknown, |edge: &Transition| edge.by);
                    events.push(orders::transition(tx, id, next, by)?);
                }
            }
            if next == OrderState::OrderPlaced {
                let vin = format!("VSSZZZ{:011}", id.as_u128() % 100_000_000_000);
                orders::set_factory_order(tx, id, &format!("F-{id}"), &vin)?;
            }
            at = next;
        }
        AppResult::Ok((id, events))
    });
    let id = walked.expect("the order walks along the lifecycle");
    let now_in = orders::state(&state.db.lock(), id).expect("the order exists");
    assert_eq!(now_in, to, "the walk reaches `{to}`");
    id
}
