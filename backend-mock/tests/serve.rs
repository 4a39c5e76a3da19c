//! `caas-mock serve` as a separate process: it announces its address, serves, and resumes from
//! its database after a restart.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _already_gone = self.0.kill();
        let _reaped = self.0.wait();
    }
}

/// Starts the binary on a free port and returns it with the URL it printed.
fn serve(db: &std::path::Path) -> (Server, String) {
    serve_with(db, &[])
}

fn serve_with(db: &std::path::Path, extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_caas-mock"))
        .args(["serve", "--port", "0", "--db"])
        .arg(db)
        .args(extra)
        .env("CAAS_SANDBOX_TOKEN", "sbx_test")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("a first line");
    let url = first.trim().strip_prefix("listening on ").expect("announces its address").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Server(child), url)
}

#[tokio::test]
async fn serves_on_a_free_port_and_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("mock.db");
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let token = {
        let (_server, url) = serve(&db);
        let health = http.get(format!("{url}/health")).send().await.expect("health");
        assert!(health.status().is_success());
        let answer: serde_json::Value = http
            .post(format!("{url}/v1/sandbox/dealerships/madrid-centro/staff-tokens"))
            .bearer_auth("sbx_test")
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        answer["access_token"].as_str().expect("token").to_owned()
    };
    let (_server, url) = serve(&db);
    let orders = http.get(format!("{url}/v1/dealership/orders")).bearer_auth(&token).send().await.expect("orders");
    assert_eq!(orders.status(), 200, "the staff token issued before the restart still works");
}

/// Webhook secrets come from configuration: a delivery signed with a configured `whsec_` secret
/// passes the signature check (and is judged on its content), one signed with another is refused.
#[tokio::test]
async fn webhook_secrets_are_configuration() {
    use caas_protocol::webhook::{self, WebhookSecret};
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let configured: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().expect("secret");
    let (_server, url) = serve_with(&dir.path().join("mock.db"), &["--webhook-secret", &configured.to_config_string()]);
    let other = WebhookSecret::from_bytes(vec![7; 32]).expect("secret");
    let body = r#"{"type":"order.stage_changed","timestamp":"2026-01-01T00:00:00Z","data":{"factory_order_id":"FO-404","platform_order_id":"00000000-0000-0000-0000-000000000000","stage":"in_production","estimated_completion":"2027-01-01"}}"#;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for (id, secret) in [("msg_configured", &configured), ("msg_other", &other)] {
        let signed = webhook::sign(std::slice::from_ref(secret), id, chrono::Utc::now().timestamp(), body.as_bytes());
        let response = http
            .post(format!("{url}/v1/webhooks/factory"))
            .header(webhook::HEADER_WEBHOOK_ID, &signed.id)
            .header(webhook::HEADER_WEBHOOK_TIMESTAMP, signed.timestamp.to_string())
            .header(webhook::HEADER_WEBHOOK_SIGNATURE, &signed.signature)
            .body(body)
            .send()
            .await
            .expect("delivered");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [404, 401], "accepted signature reaches the unknown order; the other is refused");
}

/// With `--json` the startup facts are one JSON document on one line: the address, the car radio
/// and the sandbox token the server made, which then opens the sandbox.
#[tokio::test]
async fn json_startup_is_one_document_with_what_the_launcher_needs() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_caas-mock"))
        .args(["--json", "serve", "--port", "0", "--db"])
        .arg(dir.path().join("mock.db"))
        .env_remove("CAAS_SANDBOX_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Server(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("a first line");
    let started: serde_json::Value = serde_json::from_str(&first).expect("one JSON document");
    let url = started["listening"].as_str().expect("the address");
    assert!(started["car_radio"].as_str().is_some_and(|radio| radio.starts_with("127.0.0.1:")), "{started}");
    assert!(started["webhook_secret"].as_str().is_some_and(|secret| secret.starts_with("whsec_")), "{started}");
    let token = started["sandbox_token"].as_str().expect("the token it made");
    let staff = reqwest::Client::new()
        .post(format!("{url}/v1/sandbox/dealerships/madrid-centro/staff-tokens"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sandbox");
    assert_eq!(staff.status(), 201, "the printed token opens the sandbox");
}

/// A period the mock cannot keep is a usage error before it starts: a payment window whose seconds
/// overflow (it wrapped to an hour in a release build) or a factory ticking every 0 seconds (its
/// task panicked while the mock went on serving without it).
#[test]
fn a_period_it_cannot_keep_is_refused_at_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in
        [["--payment-window-hours", "5124095576030432"], ["--payment-window-hours", "0"], ["--auto-advance", "0"]]
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_caas-mock"))
            .args(["serve", "--port", "0", "--db"])
            .arg(dir.path().join("mock.db"))
            .args(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let _server = Server(child);
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{flag:?} is a usage error, not a server");
    }
}
