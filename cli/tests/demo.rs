//! The README's first command: `caas demo` runs with no setup and `--json` ends with one object.

use std::process::Command;

use serde_json::json;

fn demo_json(extra: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_caas")).args(["demo", "--json"]).args(extra).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let last = stdout.lines().last().expect("a last line");
    serde_json::from_str(last).expect("JSON on the last line")
}

fn timeline(value: &serde_json::Value) -> Vec<&str> {
    value["timeline"].as_array().expect("array").iter().filter_map(|s| s.as_str()).collect()
}

#[test]
fn demo_json_ends_with_the_car_handed_over_at_the_door_and_operational() {
    let result = demo_json(&[]);
    assert_eq!(result["status"], "operational");
    assert_eq!(
        timeline(&result),
        [
            "sale_registered",
            "reservation_paid",
            "order_placed",
            "in_production",
            "assembly",
            "quality_control",
            "manufacturing_complete",
            "dispatched_to_locality",
            "awaiting_final_payment",
            "administrative_registration",
            "registered",
            "transport_scheduled",
            "in_transit",
            "at_customer_address",
            "delivered",
            "app_linked",
            "operational"
        ]
    );
    assert!(result["final_payment"]["paid_at"].is_string(), "{result}");
    let key = &result["phone_keys"][0];
    assert_eq!(result["app_link"]["grant_id"], key["grant_id"], "{result}");
    assert!(key["linked_at"].is_string() && key["revoked"] == false, "{result}");
    assert!(result["plate"].as_str().is_some_and(|p| p.len() == 8), "{result}");
    assert_eq!(result["delivery"]["handover"]["place"], "customer_address");
    let reasons: Vec<_> =
        result["arrival_estimates"].as_array().expect("estimates").iter().map(|e| &e["reason"]).collect();
    assert_eq!(reasons, ["departure", "traffic"], "the expected arrival, then revised on the way: {result}");
    assert!(result["delivery"]["embarkation"]["party"].as_str().is_some_and(|p| p.contains("driver")), "{result}");
    let option = &result["options"][0];
    assert_eq!(
        (&option["option"], &option["status"], &option["activated_via"]),
        (&json!("heated-seats"), &json!("activated"), &json!("bluetooth")),
        "{result}"
    );
    let maintenance = &result["maintenance"];
    assert_eq!(maintenance["odometer_km"], 19_312, "{result}");
    assert_eq!(maintenance["next_service"]["due_km"], 20_000, "{result}");
    assert!(maintenance["booking"]["start"].is_string(), "the service is booked: {result}");
}

#[test]
fn activation_refund_scenario_gives_back_an_option_the_car_never_received() {
    let result = demo_json(&["--scenario", "activation-refund"]);
    assert_eq!(result["status"], "operational");
    let option = &result["options"][0];
    assert_eq!((&option["option"], &option["status"]), (&json!("heated-seats"), &json!("refunded")), "{result}");
    assert!(option["refunded_at"].is_string() && option["activated_at"].is_null(), "{result}");
}

#[test]
fn absent_reschedule_scenario_delivers_on_the_second_trip() {
    let result = demo_json(&["--scenario", "absent-reschedule"]);
    assert_eq!(result["status"], "operational");
    assert!(timeline(&result).ends_with(&[
        "in_transit",
        "at_customer_address",
        "delivery_rescheduled",
        "in_transit",
        "at_customer_address",
        "delivered",
        "app_linked",
        "operational"
    ]));
    assert_eq!(result["delivery"]["attempt"], 2);
    let reasons: Vec<_> =
        result["delivery_windows"].as_array().expect("windows").iter().map(|w| &w["reason"]).collect();
    assert_eq!(reasons, ["booked", "agreed_by_phone"]);
}

#[test]
fn absent_pickup_scenario_hands_the_car_over_at_the_dealership() {
    let result = demo_json(&["--scenario", "absent-pickup"]);
    assert_eq!(result["status"], "operational");
    assert!(timeline(&result).ends_with(&[
        "at_customer_address",
        "returned_to_dealership",
        "held_at_dealership",
        "delivered",
        "app_linked",
        "operational"
    ]));
    assert_eq!(result["delivery"]["handover"]["place"], "dealership");
    assert!(result["delivery"]["pickup"]["address"].is_string(), "{result}");
    assert!(result["delivery"]["reception"]["at"].is_string(), "{result}");
}

#[test]
fn transit_incident_scenario_sends_the_car_back_and_hands_it_over_at_the_dealership() {
    let result = demo_json(&["--scenario", "transit-incident"]);
    assert_eq!(result["status"], "operational");
    assert!(timeline(&result).ends_with(&[
        "in_transit",
        "returned_to_dealership",
        "held_at_dealership",
        "delivered",
        "app_linked",
        "operational"
    ]));
    assert_eq!(result["delivery"]["incident"]["kind"], "road_closed", "{result}");
    assert!(result["delivery"]["incident"]["note"].as_str().is_some_and(|n| n.contains("A-6")), "{result}");
    assert_eq!(result["delivery"]["handover"]["place"], "dealership");
    assert!(result["delivery"]["arrived_at"].is_null(), "the car never reached the door: {result}");
}

#[test]
fn payment_failure_scenario_loses_the_reservation_and_sells_the_car_from_stock() {
    let result = demo_json(&["--scenario", "payment-failure"]);
    assert_eq!(result["status"], "dealership_stock");
    assert_eq!(result["reservation_lost"], true);
    assert!(timeline(&result).ends_with(&["awaiting_final_payment", "unassigned", "dealership_stock"]));
    let resale = &result["resale"];
    assert_eq!(resale["status"], "transport_scheduled");
    assert_eq!(resale["from_stock"], true);
    assert_eq!(resale["vin"], result["vin"], "the same car");
    assert_eq!(
        timeline(resale),
        [
            "sale_registered",
            "reservation_paid",
            "awaiting_final_payment",
            "administrative_registration",
            "registered",
            "transport_scheduled"
        ]
    );
}

#[test]
fn demo_for_people_shows_pushes_the_payment_and_the_timeline() {
    let output = Command::new(env!("CARGO_BIN_EXE_caas")).arg("demo").output().expect("runs");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("push"), "{stdout}");
    assert!(stdout.contains("is due before") && stdout.contains("plate"), "{stdout}");
    assert!(stdout.contains("Timeline:") && stdout.contains("registered"), "{stdout}");
    assert!(stdout.contains("Handed over") && stdout.contains("scans the customer's QR code"), "{stdout}");
    assert!(stdout.contains("ble   checking the car") && stdout.contains("operational"), "{stdout}");
}
