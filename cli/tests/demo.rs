//! The README's first command: `caas demo` runs with no setup and `--json` ends with one object.

use std::process::Command;

#[test]
fn demo_json_ends_with_the_final_state_and_the_timeline() {
    let output = Command::new(env!("CARGO_BIN_EXE_caas")).args(["demo", "--json"]).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let last = stdout.lines().last().expect("a last line");
    let result: serde_json::Value = serde_json::from_str(last).expect("JSON on the last line");
    assert_eq!(result["status"], "dispatched_to_locality");
    let timeline: Vec<&str> = result["timeline"].as_array().expect("array").iter().filter_map(|s| s.as_str()).collect();
    assert_eq!(
        timeline,
        [
            "sale_registered",
            "reservation_paid",
            "order_placed",
            "in_production",
            "assembly",
            "quality_control",
            "manufacturing_complete",
            "dispatched_to_locality"
        ]
    );
}

#[test]
fn demo_for_people_shows_pushes_and_the_timeline() {
    let output = Command::new(env!("CARGO_BIN_EXE_caas")).arg("demo").output().expect("runs");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("push"), "{stdout}");
    assert!(stdout.contains("Timeline:") && stdout.contains("dispatched_to_locality"), "{stdout}");
}
