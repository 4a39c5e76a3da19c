//! The dealership's and the sandbox's commands end to end against `caas mock serve`: a
//! configuration the factory refuses, amended; a registration the registry refuses, corrected; a
//! car brought back, received and handed over at the desk; a workshop visit; a car nobody paid for,
//! sold again from stock; and every fault switch, the ledger, the car and its keys.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;

const SANDBOX: &str = "sbx_dealership_test";

struct Terminal {
    url: String,
    radio: String,
    home: std::path::PathBuf,
}

impl Terminal {
    /// `caas --json ARGS`: its exit status and its one JSON document.
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let output = Command::new(env!("CARGO_BIN_EXE_caas"))
            .args(["--backend", &self.url, "--json"])
            .args(args)
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("CAAS_DATA_DIR")
            .env("CAAS_SANDBOX_TOKEN", SANDBOX)
            .env("CAAS_RADIO", &self.radio)
            .output()
            .expect("runs");
        let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("{args:?}: not one JSON document ({e}): {}", String::from_utf8_lossy(&output.stdout))
        });
        (output.status.code().expect("exited"), value)
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str]) -> Value {
        let (status, value) = self.run(args);
        assert_eq!(status, 0, "{args:?}: {value}");
        value
    }

    fn wait(&self, order: &str, state: &str) {
        self.ok(&["sandbox", "wait", order, state, "--timeout", "30"]);
    }
}

fn start(dir: &Path) -> (common::Killed, Terminal) {
    let mut caas = Command::new(env!("CARGO_BIN_EXE_caas"));
    caas.env("CAAS_SANDBOX_TOKEN", SANDBOX);
    let (mock, url, radio) = common::serve(caas, &dir.join("mock.db"), &[]);
    (mock, Terminal { url, radio, home: dir.to_path_buf() })
}

#[test]
fn the_dealership_amends_corrects_receives_hands_over_and_records_a_visit_from_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_mock, caas) = start(dir.path());
    caas.ok(&["dealership", "sign-in", "madrid-centro", "--sandbox"]);

    // A roof the rails cannot go on: the factory refuses it at the deposit; the amended
    // configuration is ordered.
    let order = caas.ok(&[
        "dealership",
        "sale",
        "--email",
        "desk@example.com",
        "--name",
        "Desk Customer",
        "--phone",
        "+34600111222",
        "--model",
        "urban-ev",
        "--option",
        "panoramic-roof",
        "--option",
        "roof-rails",
        "--locality",
        "Madrid",
    ]);
    let order = order["id"].as_str().expect("id").to_owned();
    let (status, refused) = caas.run(&["dealership", "deposit", &order, "--amount", "1500"]);
    assert_eq!((status, refused["error"]["code"].as_str()), (3, Some("configuration_rejected")), "{refused}");
    let placed = caas.ok(&["dealership", "amend", &order, "--model", "urban-ev", "--option", "panoramic-roof"]);
    assert_eq!(placed["state"], "order_placed", "{placed}");
    let (status, again) = caas.run(&["dealership", "retry-factory", &order]);
    assert_eq!(status, 3, "an order placed is not placed twice: {again}");

    // No DNI or address on the sale: the registry refuses; the corrected data registers the car.
    caas.ok(&["sign-in", "desk@example.com", "--sandbox"]);
    caas.ok(&["factory", "advance", &order, "--to", "dispatched-to-locality"]);
    caas.ok(&["pay", &order, "--card", "4242424242424242"]);
    let mut refused = Value::Null;
    for _ in 0..100 {
        refused = caas.ok(&["dealership", "order", &order])["blocker"].clone();
        if refused.is_object() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(refused["code"], "missing_national_id", "the registry says what is missing: {refused}");
    let corrected = caas.ok(&[
        "dealership",
        "retry-registration",
        &order,
        "--national-id",
        "12345678Z",
        "--address",
        "Calle de Alcalá 42, 28014 Madrid",
    ]);
    assert_ne!(corrected["state"], "administrative_registration", "{corrected}");
    caas.wait(&order, "transport-scheduled");

    // Nobody at the door: the car goes back, the desk receives it and hands it over on the code.
    caas.ok(&["delivery", "confirm-address", &order]);
    for state in ["in-transit", "at-customer-address", "returned-to-dealership"] {
        caas.ok(&["sandbox", "step", &order, state]);
    }
    assert_eq!(caas.ok(&["dealership", "receive", &order])["state"], "held_at_dealership");
    let code = caas.ok(&["delivery", "code", &order]);
    let short = code["short_code"].as_str().expect("eight digits").to_owned();
    assert_eq!(caas.ok(&["dealership", "hand-over", &order, &short])["state"], "delivered");

    // After the phone pairs, the workshop's visit goes on the car's history.
    caas.ok(&["pair", &order]);
    caas.wait(&order, "operational");
    let visited = caas.ok(&["dealership", "visit", &order, "--km", "150", "--work", "Pre-winter check"]);
    assert!(visited["maintenance"]["visits"].as_array().is_some_and(|v| v.len() == 1), "{visited}");
}

#[test]
fn a_car_nobody_paid_for_is_sold_again_from_stock_from_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_mock, caas) = start(dir.path());
    caas.ok(&["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    let order = caas.ok(&[
        "dealership",
        "sale",
        "--email",
        "gone@example.com",
        "--name",
        "Gone Away",
        "--model",
        "family-suv",
        "--locality",
        "Madrid",
    ]);
    let order = order["id"].as_str().expect("id").to_owned();
    caas.ok(&["dealership", "deposit", &order, "--amount", "2000"]);
    caas.ok(&["factory", "advance", &order, "--to", "dispatched-to-locality"]);
    caas.ok(&["sandbox", "step", &order, "unassigned"]);
    caas.wait(&order, "dealership-stock");
    let stock = caas.ok(&["dealership", "stock"]);
    let vin = stock[0]["vin"].as_str().expect("the car is in stock").to_owned();
    let resold = caas.ok(&[
        "dealership",
        "sell-stock",
        &vin,
        "--email",
        "next@example.com",
        "--name",
        "Next Buyer",
        "--locality",
        "Madrid",
    ]);
    assert_eq!(resold["vin"], vin.as_str(), "{resold}");
    assert_eq!(resold["from_stock"], true, "{resold}");
    let deposit = caas.ok(&["dealership", "deposit", resold["id"].as_str().expect("id"), "--amount", "2000"]);
    assert_eq!(deposit["state"], "awaiting_final_payment", "no factory order for a car built already: {deposit}");
    assert_eq!(caas.ok(&["dealership", "stock"]).as_array().map(Vec::len), Some(0), "sold");
}

#[test]
fn every_sandbox_switch_works_from_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_mock, caas) = start(dir.path());
    caas.ok(&["dealership", "sign-in", "valencia-puerto", "--sandbox"]);
    let order = caas.ok(&[
        "dealership",
        "sale",
        "--email",
        "switches@example.com",
        "--name",
        "Switch Tester",
        "--national-id",
        "12345678Z",
        "--address",
        "Calle de la Paz 1, 46003 Valencia",
        "--model",
        "cargo-van",
        "--locality",
        "Valencia",
    ]);
    let order = order["id"].as_str().expect("id").to_owned();
    caas.ok(&["dealership", "deposit", &order, "--amount", "1000"]);
    let listed = caas.ok(&["sandbox", "orders"]);
    assert!(listed.as_array().is_some_and(|orders| orders.iter().any(|o| o["id"] == order.as_str())), "{listed}");
    let events = caas.ok(&["sandbox", "events", &order]);
    assert_eq!(events[0]["type"], "state_changed", "{events}");
    caas.ok(&["sign-in", "switches@example.com", "--sandbox"]);
    caas.ok(&["factory", "advance", &order, "--to", "dispatched-to-locality"]);

    // The registry fails twice and is retried by the platform; the gateway takes the money and
    // loses its answer, and the phone's retry finds the same payment charged once.
    assert_eq!(caas.ok(&["sandbox", "fault", "registry", "ES", "--fail", "2"])["fail"], 2);
    assert_eq!(caas.ok(&["sandbox", "fault", "payments", "--drop-answers", "1"])["drop_answers"], 1);
    let (status, lost) = caas.run(&["pay", &order, "--card", "4242424242424242"]);
    if status != 0 {
        assert_eq!(status, 4, "a lost answer is worth trying again: {lost}");
        caas.ok(&["pay", &order, "--resume"]);
    }
    caas.wait(&order, "transport-scheduled");
    assert_eq!(caas.ok(&["sandbox", "ledger", "--order", &order]).as_array().map(Vec::len), Some(1), "charged once");
    let twice = caas.ok(&["sandbox", "fault", "duplicate-charge", &order]);
    assert!(twice["id"].as_str().is_some(), "{twice}");
    assert_eq!(caas.ok(&["sandbox", "ledger", "--order", &order]).as_array().map(Vec::len), Some(2));

    // The driver's answers and the car's replies get lost; the car and its phone keys.
    assert_eq!(caas.ok(&["sandbox", "fault", "driver", "--drop-answers", "1"])["drop_answers"], 1);
    let scripted = caas.ok(&["sandbox", "fault", "driver", "--answer-status", "503", "--retry-after", "5"]);
    assert_eq!(scripted["answer_status"], 503);
    caas.ok(&["delivery", "confirm-address", &order]);
    for state in ["in-transit", "at-customer-address", "delivered"] {
        caas.ok(&["sandbox", "step", &order, state]);
    }
    let vin = caas.ok(&["dealership", "order", &order])["vin"].as_str().expect("vin").to_owned();
    assert_eq!(caas.ok(&["sandbox", "fault", "car", &vin, "--drop-replies", "1"])["drop_replies"], 1);
    let paired = caas.ok(&["pair", &order]);
    let grant = paired["grant_id"].as_str().expect("the phone's key").to_owned();
    let car = caas.ok(&["sandbox", "car", &vin]);
    assert_eq!((car["on_air"].as_bool(), car["linked_phones"].as_u64()), (Some(true), Some(1)), "{car}");
    assert_eq!(caas.ok(&["sandbox", "revoke-key", &grant])["revoked"], true);
    let timeline = caas.ok(&["timeline", &order]);
    assert!(timeline.to_string().contains(&grant), "the key and its revocation are on the record: {timeline}");
}
