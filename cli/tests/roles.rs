//! Issue 16's observations as tests: distinct exit statuses with the wire code and the fix, one
//! JSON document with `--json` (errors too), and one data folder per role, so a driver signing in
//! on the same machine never wipes the customer's session.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::Value;

mod common;
use common::Killed;

const SANDBOX: &str = "sbx_roles_test";

fn caas(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_caas"));
    command
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("CAAS_DATA_DIR")
        .env_remove("CAAS_BACKEND")
        .env("CAAS_SANDBOX_TOKEN", SANDBOX);
    command
}

/// A mock on a free port: its process, its URL and its car radio's address.
fn serve(dir: &Path) -> (Killed, String, String) {
    common::serve(caas(dir), &dir.join("mock.db"), &[])
}

/// Runs `caas --json ARGS` and reads its stdout as one JSON document.
fn json(home: &Path, url: &str, args: &[&str]) -> (Output, Value) {
    let output = caas(home).args(["--backend", url, "--json"]).args(args).output().expect("runs");
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one JSON document ({e}): {}", String::from_utf8_lossy(&output.stdout))
    });
    (output, value)
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

#[test]
fn each_kind_of_failure_has_its_exit_status_its_code_and_a_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();

    // Usage: `caas sandbox clock` used to send 0 seconds and get the platform's 422.
    let (output, error) = json(home, "http://127.0.0.1:9", &["sandbox", "clock"]);
    assert_eq!((status(&output), error["error"]["code"].as_str()), (2, Some("usage")), "{error}");
    // A usage error names what is missing, not only clap's first line.
    let some_order = "0190f5a0-0000-7000-8000-000000000002";
    let (output, error) = json(home, "http://127.0.0.1:9", &["dealership", "deposit", some_order]);
    assert_eq!(status(&output), 2, "{error}");
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("--amount <AMOUNT>")), "{error}");
    assert!(error["error"]["fix"].as_str().is_some_and(|f| f.contains("caas dealership deposit --amount")), "{error}");

    // Offline: nothing listens there.
    let (output, error) = json(home, "http://127.0.0.1:9", &["sandbox", "orders"]);
    assert_eq!((status(&output), error["error"]["code"].as_str()), (4, Some("offline")), "{error}");
    assert!(error["error"]["fix"].as_str().is_some_and(|fix| fix.contains("CAAS_BACKEND")), "{error}");

    let (_mock, url, _radio) = serve(home);
    // Refused, by the wire code: an order that does not exist, a step that is not legal now.
    let missing = "0190f5a0-0000-7000-8000-000000000001";
    let (output, error) = json(home, &url, &["sandbox", "events", missing]);
    assert_eq!((status(&output), error["error"]["code"].as_str()), (3, Some("not_found")), "{error}");
    let (_, staff) = json(home, &url, &["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    assert_eq!(staff["dealership_id"], "madrid-centro");
    let (output, order) = json(
        home,
        &url,
        &[
            "dealership",
            "sale",
            "--email",
            "exit@example.com",
            "--name",
            "Exit Status",
            "--model",
            "urban-ev",
            "--locality",
            "Madrid",
        ],
    );
    assert!(output.status.success(), "{order}");
    let order = order["id"].as_str().expect("id").to_owned();
    let (output, robot) = json(home, &url, &["sandbox", "robot", &order, "--on", "--scenario", "absent-unreachable"]);
    assert!(output.status.success(), "{robot}");
    assert_eq!((robot["enabled"].as_bool(), robot["scenario"].as_str()), (Some(true), Some("absent_unreachable")));
    let (output, error) = json(home, &url, &["factory", "advance", &order]);
    assert_eq!(status(&output), 3, "the factory has no order before the deposit: {error}");
    assert!(error["error"]["code"].as_str().is_some_and(|code| !code.contains(char::is_uppercase)), "{error}");
    let text = caas(home).args(["--backend", &url, "factory", "advance", &order]).output().expect("runs");
    let said = String::from_utf8_lossy(&text.stderr);
    assert!(said.starts_with("error: ") && said.contains("\nfix: "), "a person reads the code and the fix: {said}");
    assert!(text.stdout.is_empty(), "errors go to stderr without --json");

    // Internal: a cache that is not a database.
    let customer = home.join(".local/share/caas/customer");
    std::fs::create_dir_all(&customer).expect("folder");
    std::fs::write(customer.join("caas.sqlite3"), b"not a database, not at all, just bytes").expect("write");
    let (output, error) = json(home, &url, &["orders"]);
    assert_eq!((status(&output), error["error"]["code"].as_str()), (5, Some("internal")), "{error}");
}

/// Issue 16: with the default data folder, `caas driver sign-in` wiped the customer's cache and
/// phone keys. Both roles on one machine, through a delivery: a customer signing in leaves the
/// driver's actions queued without signal, and a driver signing in leaves the customer signed in
/// with the phone key the car knows, usable without signal.
#[test]
fn a_driver_and_a_customer_signing_in_on_one_machine_leave_each_others_data_alone() {
    const EMAIL: &str = "both@example.com";
    const DRIVER: &str = "lucia@iberia-carriers.example";
    const NO_SIGNAL: &str = "http://127.0.0.1:9";
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let (_mock, url, radio) = serve(home);
    let ok = |backend: &str, args: &[&str]| {
        let (output, value) = json(home, backend, args);
        assert!(output.status.success(), "{args:?}: {value}");
        value
    };
    ok(&url, &["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    let order = ok(&url, &common::madrid_sale(EMAIL, "Both Roles", "urban-ev"));
    let order = order["id"].as_str().expect("id").to_owned();
    ok(&url, &["dealership", "deposit", &order, "--amount", "1500"]);
    ok(&url, &["factory", "advance", &order, "--to", "dispatched-to-locality"]);
    assert_eq!(ok(&url, &["sign-in", EMAIL, "--sandbox"])["orders"], 1);
    ok(&url, &["pay", &order, "--card", "4242424242424242"]);
    ok(&url, &["sandbox", "wait", &order, "transport-scheduled", "--timeout", "30"]);
    ok(&url, &["delivery", "confirm-address", &order]);

    // The driver signs in and loads the car without signal: the action waits on this machine.
    ok(&url, &["driver", "sign-in", DRIVER, "--sandbox"]);
    assert_eq!(ok(&url, &["orders"])[0]["id"], order.as_str(), "the customer is still signed in");
    let deliveries = ok(&url, &["driver", "deliveries"]);
    let delivery = deliveries[0]["delivery_id"].as_str().expect("the delivery").to_owned();
    let vin = deliveries[0]["vin"].as_str().expect("its car").to_owned();
    let queued = ok(NO_SIGNAL, &["driver", "embark", &delivery, "--vin", &vin]);
    assert_eq!((queued["status"].as_str(), queued["pending"].as_u64()), (Some("queued"), Some(1)), "{queued}");

    // The customer signs in again; the driver's queued action is still there and syncs.
    ok(&url, &["sign-in", EMAIL, "--sandbox"]);
    let kept = ok(NO_SIGNAL, &["driver", "deliveries"]);
    assert_eq!(kept[0]["unsynced_actions"], 1, "the driver's action survived the customer's sign-in: {kept}");
    let synced = ok(&url, &["driver", "sync"]);
    assert_eq!((synced["report"]["sent"].as_u64(), synced["report"]["pending"].as_u64()), (Some(1), Some(0)));

    // The handover, then the customer's phone pairs with the car.
    ok(&url, &["driver", "arrive", &delivery]);
    let code = ok(&url, &["delivery", "code", &order]);
    ok(&url, &["driver", "handover", &delivery, code["short_code"].as_str().expect("eight digits")]);
    ok(&url, &["sandbox", "wait", &order, "delivered", "--timeout", "30"]);
    let paired = ok(&url, &["pair", &order, "--radio", &radio]);
    let grant = paired["grant_id"].as_str().expect("the phone's key").to_owned();

    // The driver signs in again; the customer's phone key still opens the car, without signal.
    ok(&url, &["driver", "sign-in", DRIVER, "--sandbox"]);
    let read = ok(NO_SIGNAL, &["service", "read-car", &order, "--radio", &radio]);
    assert!(read["odometer_km"].is_u64(), "the phone's key and grant survived the driver's sign-in: {read}");
    let shown = ok(&url, &["timeline", &order]);
    let keys = shown["phone_keys"].as_array().expect("the car's phone keys");
    assert!(keys.iter().any(|key| key["grant_id"] == grant.as_str()), "the same key, still the car's: {shown}");
    let root = home.join(".local/share/caas");
    assert!(root.join("customer/caas.sqlite3").exists() && root.join("driver/caas.sqlite3").exists());
}

/// A customer signed in with the one-folder layout, as an earlier version kept it in `root`.
async fn legacy_cache(home: &Path, url: &str, root: &Path, email: &str) {
    json(home, url, &["dealership", "sign-in", "madrid-centro", "--sandbox"]);
    json(
        home,
        url,
        &[
            "dealership",
            "sale",
            "--email",
            email,
            "--name",
            "Kept Before",
            "--model",
            "urban-ev",
            "--locality",
            "Madrid",
        ],
    );
    let secrets = Arc::new(caas_core::FileSecretStore::new(root.join("secrets")).expect("secrets"));
    let config = caas_core::CaasConfig { backend_url: url.to_owned(), data_dir: root.to_path_buf() };
    let core = caas_core::Caas::open(config, secrets).await.expect("core");
    core.request_sign_in_code(email).await.expect("code sent");
    let code = caas(home).args(["--backend", url, "sandbox", "code", email]).output().expect("runs");
    let code = String::from_utf8_lossy(&code.stdout).trim().to_owned();
    core.sign_in(email, &code).await.expect("signed in");
}

/// `caas orders` on `root` lists the one order, signed in.
fn still_signed_in(home: &Path, url: &str, root: &Path) {
    let output =
        caas(home).args(["--backend", url, "--data-dir"]).arg(root).args(["--json", "orders"]).output().expect("runs");
    assert!(output.status.success(), "still signed in: {}", String::from_utf8_lossy(&output.stdout));
    let orders: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    assert!(root.join("customer/caas.sqlite3").exists() && root.join("customer/secrets").exists());
    assert!(!root.join("caas.sqlite3").exists() && !root.join("secrets").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_kept_before_one_folder_per_role_moves_to_its_role_and_keeps_its_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (home, root) = (dir.path(), dir.path().join("phone"));
    let (_mock, url, _radio) = serve(home);
    legacy_cache(home, &url, &root, "legacy@example.com").await;
    still_signed_in(home, &url, &root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_cut_short_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (home, root) = (dir.path(), dir.path().join("phone"));
    let (_mock, url, _radio) = serve(home);
    legacy_cache(home, &url, &root, "halfway@example.com").await;
    // The database went over, the secrets (the session) did not.
    let staging = root.join(".customer-moving");
    std::fs::create_dir(&staging).expect("staging");
    for entry in ["caas.sqlite3", "caas.sqlite3-wal", "caas.sqlite3-shm"] {
        if root.join(entry).exists() {
            std::fs::rename(root.join(entry), staging.join(entry)).expect("moved");
        }
    }
    still_signed_in(home, &url, &root);
}

/// `caas --json mock serve` starts with one JSON document too: where it listens and its car
/// radio (the sandbox token is the one given, so it is not repeated).
#[test]
fn the_mock_started_with_json_tells_its_start_as_one_document() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = caas(dir.path())
        .args(["--json", "mock", "serve", "--port", "0", "--db"])
        .arg(dir.path().join("mock.db"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the mock starts");
    let stdout = child.stdout.take().expect("stdout");
    let _mock = Killed(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("announces");
    let started: Value = serde_json::from_str(&first).expect("one JSON document");
    let url = started["listening"].as_str().expect("the address");
    assert!(started["car_radio"].as_str().is_some(), "{started}");
    assert!(started.get("sandbox_token").is_none(), "the token given is not printed: {started}");
    let (output, orders) = json(dir.path(), url, &["sandbox", "orders"]);
    assert_eq!(status(&output), 0, "the mock it announced answers: {orders}");
}
