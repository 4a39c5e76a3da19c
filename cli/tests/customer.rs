//! The customer's commands as a person runs them against `caas mock serve`: sign in at the
//! prompt, list orders, show a timeline, watch pushes live, and read the cache while offline.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

mod common;
use common::Killed;

const SANDBOX: &str = "sbx_cli_test";
const EMAIL: &str = "terminal@example.com";

fn caas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caas"))
}

/// A mock on a free port: its process, its URL and its car radio's address.
fn serve(db: &Path) -> (Killed, String, String) {
    let mut caas = caas();
    caas.env("CAAS_SANDBOX_TOKEN", SANDBOX);
    common::serve(caas, db, &[])
}

#[test]
fn link_conditions_no_ble_link_can_have_are_refused_before_anything_runs() {
    for (flag, value) in [("--interval-ms", "0"), ("--interval-ms", "5000"), ("--mtu", "22"), ("--loss", "51")] {
        let output = caas().args(["pair", "01a21558-f308-76ef-9288-7aa2d6a700b0", flag, value]).output().expect("runs");
        assert!(!output.status.success(), "{flag} {value} accepted");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains(flag) && error.contains("not in"), "{flag} {value}: {error}");
    }
}

fn run(url: &str, data: &Path, args: &[&str]) -> Output {
    caas().args(["--backend", url, "--data-dir"]).arg(data).args(args).output().expect("runs")
}

/// Reads the child's stdout on a thread, line by line, so a test can wait for a line with a timeout.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = lines.recv_timeout(Duration::from_secs(15)).unwrap_or_else(|_| panic!("no line with `{needle}`"));
        if line.contains(needle) {
            return line;
        }
    }
}

/// The sign-in code the sandbox reveals for `email`.
fn code_of(url: &str, email: &str) -> String {
    let output =
        caas().args(["--backend", url, "--sandbox-token", SANDBOX, "sandbox", "code", email]).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_follows_an_order_from_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("phone");
    let (mock, url, _) = serve(&dir.path().join("mock.db"));
    let staff = dir.path().join("desk");
    let dealer = |args: &[&str]| {
        let mut all = vec!["--sandbox-token", SANDBOX, "--json", "dealership"];
        all.extend_from_slice(args);
        let output = run(&url, &staff, &all);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        serde_json::from_slice::<Value>(&output.stdout).expect("one JSON document")
    };
    dealer(&["sign-in", "madrid-centro", "--sandbox"]);
    let order = dealer(&[
        "sale",
        "--email",
        EMAIL,
        "--name",
        "Terminal User",
        "--model",
        "cargo-van",
        "--option",
        "roof-rails",
        "--locality",
        "Valencia",
    ]);
    let order_id = order["id"].as_str().expect("id").to_owned();

    // Sign in at the prompt with the code the test inbox reveals.
    let mut sign_in = caas()
        .args(["--backend", &url, "--data-dir"])
        .arg(&data)
        .args(["sign-in", EMAIL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sign-in");
    let mut stdout = sign_in.stdout.take().expect("stdout");
    let mut stderr = sign_in.stderr.take().expect("stderr");
    let mut prompt = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&prompt).ends_with("Code: ") {
        assert_eq!(stderr.read(&mut byte).expect("prompt"), 1, "prompt never came");
        prompt.push(byte[0]);
    }
    let code = code_of(&url, EMAIL);
    writeln!(sign_in.stdin.take().expect("stdin"), "{code}").expect("typed");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("rest");
    assert!(sign_in.wait().expect("exit").success());
    assert!(rest.contains("1 order(s)"), "{rest}");

    let listed = run(&url, &data, &["orders", "--json"]);
    assert!(listed.status.success());
    let orders: Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(orders[0]["id"], order_id.as_str());
    assert_eq!(orders[0]["status"], "sale_registered");

    // Watch the live stream while the dealership records the deposit.
    let mut watch = Killed(
        caas()
            .args(["--backend", &url, "--data-dir"])
            .arg(&data)
            .arg("watch")
            .stdout(Stdio::piped())
            .spawn()
            .expect("watch"),
    );
    let watched = lines(watch.0.stdout.take().expect("stdout"));
    wait_for(&watched, "Watching pushes");
    dealer(&["deposit", &order_id, "--amount", "900"]);
    let line = wait_for(&watched, "order now order_placed");
    assert!(line.contains(&order_id), "{line}");
    drop(watch);

    let timeline = run(&url, &data, &["timeline", &order_id, "--json"]);
    assert!(timeline.status.success());
    let timeline: Value = serde_json::from_slice(&timeline.stdout).expect("json");
    assert_eq!(timeline["timeline"], json!(["sale_registered", "reservation_paid", "order_placed"]));
    assert_eq!(timeline["estimate_revisions"].as_array().map(Vec::len), Some(1));

    // With the platform gone, the cache still answers and says it is offline.
    drop(mock);
    let offline = run(&url, &data, &["timeline", &order_id]);
    assert!(offline.status.success());
    assert!(String::from_utf8_lossy(&offline.stderr).contains("offline"));
    assert!(String::from_utf8_lossy(&offline.stdout).contains("order_placed"));
    let sync = run(&url, &data, &["sync"]);
    assert!(!sync.status.success());
    assert!(String::from_utf8_lossy(&sync.stderr).contains("offline"));

    // The purchase record, exported offline and checked with the key pinned at the first sync;
    // a copy with one event changed, or a key that is not the platform's, does not check out.
    let file = dir.path().join("record.json");
    let path = file.to_str().expect("path");
    let exported = run(&url, &data, &["record", "export", &order_id, "--out", path]);
    assert!(exported.status.success(), "{}", text(&exported));
    let verified = run(&url, &data, &["record", "verify", path, "--json"]);
    assert!(verified.status.success(), "{}", text(&verified));
    let verdict: Value = serde_json::from_slice(&verified.stdout).expect("one JSON document");
    assert_eq!(
        (verdict["valid"].as_bool(), verdict["events"].as_u64()),
        (Some(true), Some(4)),
        "three states and an estimate"
    );
    let mut record: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    record["events"][1]["occurred_at"] = json!("2020-01-01T00:00:00Z");
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, record.to_string()).expect("write");
    let refused = run(&url, &data, &["record", "verify", changed.to_str().expect("path")]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("rewritten"), "{}", text(&refused));
    let impostor = "A".repeat(43);
    let wrong_key = run(&url, &data, &["record", "verify", path, "--key", &impostor]);
    assert!(!wrong_key.status.success());
    assert!(text(&wrong_key).contains("not by the platform's key"), "{}", text(&wrong_key));

    let signed_out = run(&url, &data, &["sign-out"]);
    assert!(signed_out.status.success());
    let after = run(&url, &data, &["orders"]);
    assert!(!after.status.success(), "signed out, the cache is gone and sync needs a session");
    assert!(String::from_utf8_lossy(&after.stderr).contains("not signed in"));
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_pays_a_driver_delivers_and_the_phone_pairs_from_the_terminal() {
    const PAYER: &str = "payer@example.com";
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("phone");
    let (_mock, url, radio) = serve(&dir.path().join("mock.db"));
    let staff = dir.path().join("desk");
    let as_staff = |args: &[&str]| {
        let mut all = vec!["--sandbox-token", SANDBOX, "--json"];
        all.extend_from_slice(args);
        let output = run(&url, &staff, &all);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        serde_json::from_slice::<Value>(&output.stdout).expect("one JSON document")
    };
    as_staff(&["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    let order = as_staff(&common::madrid_sale(PAYER, "Terminal Payer", "cargo-van"));
    let order_id = order["id"].as_str().expect("id").to_owned();
    as_staff(&["dealership", "deposit", &order_id, "--amount", "1000"]);
    let advanced = as_staff(&["factory", "advance", &order_id, "--to", "dispatched-to-locality"]);
    assert_eq!(advanced["state"], "awaiting_final_payment", "the platform asks for the rest at once: {advanced}");
    let signed_in = run(&url, &data, &["--sandbox-token", SANDBOX, "sign-in", PAYER, "--sandbox"]);
    assert!(signed_in.status.success(), "{}", text(&signed_in));

    let due = run(&url, &data, &["timeline", &order_id]);
    assert!(text(&due).contains("Final payment due: 35000.00 EUR"), "{}", text(&due));

    let declined = run(&url, &data, &["pay", &order_id, "--card", "4000000000000002"]);
    assert!(!declined.status.success());
    assert!(text(&declined).contains("declined"), "{}", text(&declined));

    let challenged = run(&url, &data, &["pay", &order_id, "--card", "4000 0027 6000 3184", "--exp", "11/31"]);
    assert!(challenged.status.success(), "{}", text(&challenged));
    let said = text(&challenged);
    assert!(!said.contains("4000002760003184") && !said.contains("4000 0027"), "the card is never echoed: {said}");
    let payment = said
        .split_whitespace()
        .find(|word| word.starts_with("pi_"))
        .map(|word| word.trim_end_matches(':'))
        .expect("the payment is named")
        .to_owned();
    let passed = caas()
        .args(["--backend", &url, "sandbox", "three-d-secure", &payment, "--pass"])
        .env("CAAS_SANDBOX_TOKEN", SANDBOX)
        .output()
        .expect("runs");
    assert!(passed.status.success(), "{}", text(&passed));
    let resumed = run(&url, &data, &["pay", &order_id, "--resume"]);
    assert!(text(&resumed).contains("Paid"), "{}", text(&resumed));

    // Registration and the transport booking follow the payment; the timeline shows them once
    // they are there.
    let mut plate = Value::Null;
    for _ in 0..100 {
        let shown: Value =
            serde_json::from_slice(&run(&url, &data, &["timeline", &order_id, "--json"]).stdout).expect("json");
        if shown["status"] == "transport_scheduled" {
            plate = shown["plate"].clone();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(plate.as_str().is_some_and(|p| p.len() == 8), "registered with a plate: {plate}");

    let slots = text(&run(&url, &data, &["delivery", "slots", &order_id]));
    assert!(slots.contains("free"), "{slots}");
    let confirmed = run(&url, &data, &["delivery", "confirm-address", &order_id]);
    assert!(confirmed.status.success(), "{}", text(&confirmed));

    // The driver's machine: sign in, load the car, then lose the signal at the door.
    const DRIVER: &str = "lucia@iberia-carriers.example";
    let cab = dir.path().join("driver");
    let signed_in = run(&url, &cab, &["--sandbox-token", SANDBOX, "driver", "sign-in", DRIVER, "--sandbox"]);
    assert!(text(&signed_in).contains("1 open deliveries"), "{}", text(&signed_in));
    let list: Value =
        serde_json::from_slice(&run(&url, &cab, &["driver", "deliveries", "--json"]).stdout).expect("json");
    let delivery = list[0]["delivery_id"].as_str().expect("delivery").to_owned();
    let vin = list[0]["vin"].as_str().expect("vin").to_owned();
    assert!(text(&run(&url, &cab, &["driver", "embark", &delivery, "--vin", &vin])).contains("synced"));
    let planned = text(&run(&url, &cab, &["driver", "deliveries"]));
    assert!(planned.contains("expected") && planned.contains("the driver set out"), "{planned}");
    let late = text(&run(&url, &cab, &["driver", "delay", "--minutes", "30", "--reason", "traffic"]));
    assert!(late.contains("30 min later: 1 estimate(s) sent"), "{late}");
    let timeline = text(&run(&url, &data, &["timeline", &order_id]));
    assert!(timeline.contains("Expected at the door") && timeline.contains("traffic"), "{timeline}");
    let no_signal = "http://127.0.0.1:9";
    let queued = run(no_signal, &cab, &["driver", "arrive", &delivery]);
    assert!(text(&queued).contains("1 action(s) wait"), "{}", text(&queued));
    let offline_list = text(&run(no_signal, &cab, &["driver", "deliveries"]));
    assert!(offline_list.contains("at_customer_address") && offline_list.contains("[1 not synced]"), "{offline_list}");
    let synced = text(&run(&url, &cab, &["driver", "sync"]));
    assert!(synced.contains("Sent 1, refused 0, waiting 0"), "{synced}");

    // The customer reads out the eight digits; the driver checks them and hands the car over.
    let shown = text(&run(&url, &data, &["delivery", "code", &order_id]));
    let short = shown.split_whitespace().skip_while(|w| *w != "Code").nth(1).expect("a short code").to_owned();
    assert_eq!(short.len(), 8, "{shown}");
    let checked = text(&run(&url, &cab, &["driver", "handover", &delivery, &short, "--check"]));
    assert!(checked.contains("Valid code of Terminal Payer"), "{checked}");
    assert!(text(&run(&url, &cab, &["driver", "handover", &delivery, &short])).contains("synced"));
    let timeline = text(&run(&url, &data, &["timeline", &order_id]));
    assert!(timeline.contains("Handed over") && timeline.contains("Lucía Gómez"), "{timeline}");

    // Pairing with the car over the simulated link to the mock's cars, on a tight link.
    let without_radio = run(&url, &data, &["pair", &order_id]);
    assert!(text(&without_radio).contains("CAAS_RADIO"), "{}", text(&without_radio));
    let paired = run(&url, &data, &["pair", &order_id, "--radio", &radio, "--mtu", "23", "--loss", "10"]);
    assert!(paired.status.success(), "{}", text(&paired));
    assert!(
        text(&paired).contains(&format!("linked to {vin}")) && text(&paired).contains("MTU 23"),
        "{}",
        text(&paired)
    );
    let timeline = text(&run(&url, &data, &["timeline", &order_id]));
    assert!(timeline.contains("operational") && timeline.contains(": linked to the car"), "{timeline}");
    let real = run(&url, &data, &["pair", &order_id, "--transport", "btleplug"]);
    assert!(!real.status.success(), "no radio here");

    // After delivery: an option bought for the car parked underground, handed over the link.
    let sandbox = |args: &[&str]| {
        let mut all = vec!["sandbox", "--sandbox-token", SANDBOX];
        all.extend_from_slice(args);
        run(&url, &data, &all)
    };
    let offered = text(&run(&url, &data, &["options", "list", &order_id]));
    assert!(offered.contains("Asientos calefactados") && offered.contains("300.00 EUR"), "{offered}");
    assert!(sandbox(&["coverage", &vin, "--off"]).status.success());
    let bought =
        run(&url, &data, &["options", "buy", &order_id, "heated-seats", "--card", "4242424242424242", "--json"]);
    let bought: Value = serde_json::from_slice(&bought.stdout).expect("one JSON object");
    assert_eq!(bought["status"], "succeeded", "{bought}");
    let activated = text(&run(&url, &data, &["options", "activate", &order_id, "--radio", &radio]));
    assert!(activated.contains("Activated: Heated seats"), "{activated}");

    // Months later: the car reports its odometer and warns; the workshop is booked and cancelled.
    assert!(sandbox(&["coverage", &vin, "--on"]).status.success());
    assert!(sandbox(&["drive", &vin, "--km", "19300", "--warning", "brake-wear"]).status.success());
    let status = text(&run(&url, &data, &["service", "status", &order_id]));
    assert!(status.contains("reported 19312 km") && status.contains("Warnings: brake wear"), "{status}");
    assert!(status.contains("Next service at 30000 km"), "a cargo van every 30,000 km: {status}");
    let slots: Value =
        serde_json::from_slice(&run(&url, &data, &["service", "slots", &order_id, "--json"]).stdout).expect("json");
    let start = slots[0]["start"].as_str().expect("a free slot").to_owned();
    let booked: Value =
        serde_json::from_slice(&run(&url, &data, &["service", "book", &order_id, &start, "--json"]).stdout)
            .expect("json");
    assert_eq!(booked["booking"]["start"].as_str(), Some(start.as_str()), "{booked}");
    assert!(text(&run(&url, &data, &["service", "status", &order_id])).contains("Service booked for"));
    assert!(text(&run(&url, &data, &["service", "cancel", &order_id])).contains("cancelled"));
    let read = text(&run(&url, &data, &["service", "read-car", &order_id, "--radio", &radio]));
    assert!(read.contains("The car reads 19312 km") && read.contains("brake wear"), "{read}");

    // The owner revokes the key from the terminal; signing out then ends the session.
    let shown: Value =
        serde_json::from_slice(&run(&url, &data, &["timeline", &order_id, "--json"]).stdout).expect("json");
    let grant = shown["phone_keys"][0]["grant_id"].as_str().expect("a phone key").to_owned();
    let revoked = run(&url, &data, &["revoke-key", &order_id, &grant]);
    assert!(revoked.status.success() && text(&revoked).contains("revoked"), "{}", text(&revoked));
    let timeline = text(&run(&url, &data, &["timeline", &order_id]));
    assert!(timeline.contains(": revoked"), "{timeline}");
    let again = run(&url, &data, &["revoke-key", &order_id, &grant]);
    assert!(!again.status.success(), "a revoked key is not revoked twice");
    let signed_out = run(&url, &data, &["sign-out"]);
    assert!(text(&signed_out).contains("session ended"), "{}", text(&signed_out));
    assert!(!run(&url, &data, &["sync"]).status.success(), "signed out");
}
