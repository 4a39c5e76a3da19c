//! The sandbox dashboard at `/sandbox`. Its sign-in and cross-site rules are checked over plain
//! HTTP; a whole journey is played in a real headless Chromium driven over WebDriver: a sale by the
//! form, every step by a click up to `delivered` (a refused step included), the live log hearing a
//! push without a reload, the ledger's charge, a car's switches, the clock, and a phone key revoked.
//! A second browser session clicks every other fault switch of the dashboard and checks what each
//! did, on the page or through the sandbox API.
//!
//! The browser tests need Debian's `chromium` and `chromium-driver`; `cargo test --workspace`
//! skips them and `./scripts/test` runs them (`--ignored`).

use std::process::{Child, Command};
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::messages::{Language, Reader, event_sentence, state_label};
use caas_core::protocol::push::PushPlatform;
use caas_core::protocol::{Actor, OrderState};
use caas_core::{DriverActionOutcome, LinkConditions, PairingOptions};
use caas_e2e::{DRIVER, Platform, WAIT};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A body as a browser posts a form.
trait WebForm {
    fn web_form(self, fields: &[(&str, &str)]) -> Self;
}

impl WebForm for reqwest::RequestBuilder {
    fn web_form(self, fields: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap_or_default())
    }
}

/// A client that shows redirects instead of following them.
fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// Signs in over HTTP as a browser would, and returns the session cookie (`name=value`).
async fn session_cookie(platform: &Platform) -> anyhow::Result<String> {
    let response = http()
        .post(format!("{}/sandbox/sign-in", platform.url()))
        .header("sec-fetch-site", "same-origin")
        .web_form(&[("token", platform.mock.sandbox_token.as_str())])
        .send()
        .await?;
    anyhow::ensure!(response.status() == StatusCode::SEE_OTHER, "signed in: {}", response.status());
    let cookie = response.headers().get(SET_COOKIE).context("a cookie")?.to_str()?.to_owned();
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_action_without_the_session_goes_to_the_sign_in_form() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let order = platform.sell_to("unseen@example.com").await?;
    let client = http();
    let gets =
        ["/sandbox", "/sandbox/sales/new", "/sandbox/controls", "/sandbox/ledger", "/sandbox/cars", "/sandbox/feed"];
    for path in gets.iter().map(|p| (*p).to_owned()).chain([format!("/sandbox/orders/{}", order.id)]) {
        let response = client.get(format!("{}{path}", platform.url())).send().await?;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers().get(LOCATION).and_then(|l| l.to_str().ok()), Some("/sandbox/sign-in"), "{path}");
    }
    let forged = format!("caas_sandbox={}", platform.mock.sandbox_token);
    for (path, body) in actions(order.id) {
        for cookie in ["", forged.as_str()] {
            let response = client
                .post(format!("{}{path}", platform.url()))
                .header("sec-fetch-site", "same-origin")
                .header("content-type", "application/x-www-form-urlencoded")
                .header(COOKIE, cookie)
                .body(body)
                .send()
                .await?;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} with {cookie:?}");
            assert_eq!(response.headers().get(LOCATION).and_then(|l| l.to_str().ok()), Some("/sandbox/sign-in"));
        }
    }
    let view = platform.dealership.order(order.id).await?;
    assert_eq!(view.state, OrderState::SaleRegistered, "no action was taken");
    assert_eq!(platform.sandbox.order_events(order.id).await?.len(), 1, "nothing was played on the order");
    Ok(())
}

/// Every action of the dashboard, each a POST with a form a browser could send, on `order`: every
/// POST route but the sign-in form (whose forgery is tested on its own), so a test over them all
/// leaves none out. Signing out is last, so the session lasts through the others.
fn actions(order: uuid::Uuid) -> Vec<(String, &'static str)> {
    let vin = "VCAUEX00000000001";
    vec![
        (format!("/sandbox/orders/{order}/steps"), "to=reservation_paid"),
        (format!("/sandbox/orders/{order}/robot-courier"), "enabled=true&scenario=deliver"),
        (format!("/sandbox/orders/{order}/duplicate-charge"), ""),
        (format!("/sandbox/orders/{order}/history/rewrite"), "version=1"),
        (format!("/sandbox/orders/{order}/events"), "type=loyalty_points_awarded"),
        ("/sandbox/sales".to_owned(), "email=x%40example.com"),
        ("/sandbox/controls/payments".to_owned(), "drop_answers=1"),
        ("/sandbox/controls/gateway".to_owned(), "unavailable=true"),
        ("/sandbox/controls/factory".to_owned(), "unavailable=true"),
        ("/sandbox/controls/registries".to_owned(), "country=ES&transient_failures=1"),
        ("/sandbox/controls/drivers".to_owned(), "drop_answers=1"),
        ("/sandbox/controls/drivers/answer".to_owned(), "status=503"),
        ("/sandbox/controls/clock".to_owned(), "amount=1&unit=days"),
        (format!("/sandbox/cars/{vin}/coverage"), "connected=false"),
        (format!("/sandbox/cars/{vin}/replies"), "drop_replies=1"),
        ("/sandbox/keys/00000000-0000-0000-0000-000000000000/revoke".to_owned(), ""),
        ("/sandbox/sign-out".to_owned(), ""),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_posted_from_another_site_is_refused_even_with_the_session() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let order = platform.sell_to("forged@example.com").await?;
    let cookie = session_cookie(&platform).await?;
    let before = clock_moved_a_second(&platform).await?;
    let client = http();
    for (path, body) in actions(order.id) {
        for (site, origin) in
            [(Some("cross-site"), None), (Some("same-site"), None), (None, Some("http://evil.example")), (None, None)]
        {
            let mut request = client
                .post(format!("{}{path}", platform.url()))
                .header(COOKIE, &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let refused = request.send().await?;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path} from {site:?} {origin:?}");
        }
    }
    let view = platform.dealership.order(order.id).await?;
    assert_eq!(view.state, OrderState::SaleRegistered, "no step was taken");
    assert_eq!(platform.sandbox.order_events(order.id).await?.len(), 1, "nothing was played on the order");
    assert_eq!(faults(&platform, "payments").await?["unavailable"], false, "the gateway is up");
    assert_eq!(faults(&platform, "factory").await?["unavailable"], false, "the factory is up");
    let after = clock_moved_a_second(&platform).await?;
    assert!(after - before < chrono::TimeDelta::hours(1), "the clock was not moved a day: {before} -> {after}");
    let page = client.get(format!("{}/sandbox", platform.url())).header(COOKIE, &cookie).send().await?;
    assert_eq!(page.status(), StatusCode::OK, "the session was not signed out");
    Ok(())
}

/// The platform's time, read by moving its clock the least the sandbox moves it.
async fn clock_moved_a_second(platform: &Platform) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(serde_json::from_value(platform.sandbox.advance_clock(1).await?["now"].clone())?)
}

/// The fault switches of the sandbox API's `service` (`payments`, `factory`) as they are now.
async fn faults(platform: &Platform, service: &str) -> anyhow::Result<serde_json::Value> {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/sandbox/{service}/faults", platform.url()))
        .bearer_auth(&platform.mock.sandbox_token)
        .send()
        .await?;
    anyhow::ensure!(response.status() == StatusCode::OK, "{service} faults: {}", response.status());
    Ok(response.json().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_left_on_shows_on_the_controls_page_and_in_the_sandbox_api() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let cookie = session_cookie(&platform).await?;
    let shown = async |card: &str| -> anyhow::Result<String> {
        let page = http().get(format!("{}/sandbox/controls", platform.url())).header(COOKIE, &cookie).send().await?;
        let page = page.text().await?;
        let section = page.split(&format!("id=\"{card}\"")).nth(1).context("the card")?;
        let shown = section.split("data-down=\"").nth(1).and_then(|rest| rest.split('"').next());
        Ok(shown.context("the card says whether it is down")?.to_owned())
    };
    for down in [true, false] {
        platform.sandbox.set_gateway_unavailable(down).await?;
        platform.sandbox.set_factory_unavailable(down).await?;
        assert_eq!(faults(&platform, "payments").await?["unavailable"], down, "the gateway, by the API");
        assert_eq!(faults(&platform, "factory").await?["unavailable"], down, "the factory, by the API");
        assert_eq!(shown("gateway-outage").await?, down.to_string(), "the gateway, on the page");
        assert_eq!(shown("factory-outage").await?, down.to_string(), "the factory, on the page");
    }
    platform.sandbox.drop_payment_answers(3).await?;
    let armed = faults(&platform, "payments").await?;
    assert_eq!(armed, serde_json::json!({ "drop_answers": 3, "unavailable": false }), "arming one kept the other");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_takes_the_token_once_and_actions_must_come_from_the_dashboard() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let order = platform.sell_to("signed@example.com").await?;
    let client = http();
    let sign_in = |token: &str, site: Option<&'static str>| {
        let mut request = client.post(format!("{}/sandbox/sign-in", platform.url())).web_form(&[("token", token)]);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    let wrong = sign_in("sbx_wrong", Some("same-origin")).await?;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(wrong.text().await?.contains("not this mock"), "the form says why");
    let forged_login = sign_in(&platform.mock.sandbox_token, Some("cross-site")).await?;
    assert_eq!(forged_login.status(), StatusCode::FORBIDDEN, "a sign-in posted from another site");
    assert_eq!(sign_in(&platform.mock.sandbox_token, None).await?.status(), StatusCode::FORBIDDEN, "from nowhere");

    let right = sign_in(&platform.mock.sandbox_token, Some("same-origin")).await?;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let set = right.headers().get(SET_COOKIE).context("a cookie")?.to_str()?.to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/sandbox"] {
        assert!(set.split("; ").any(|a| a == attribute), "{attribute} in {set}");
    }
    assert!(!set.contains(&platform.mock.sandbox_token), "the cookie is not the token");
    let cookie = set.split(';').next().unwrap_or_default().to_owned();

    let page = client.get(format!("{}/sandbox", platform.url())).header(COOKIE, &cookie).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(page.text().await?.contains(&order.id.to_string()), "the orders are listed");
    // The API's bearer check does not take the cookie's value, nor the cookie.
    let api = client.get(format!("{}/v1/sandbox/orders", platform.url())).header(COOKIE, &cookie).send().await?;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    let step = |site: Option<&'static str>, origin: Option<String>| {
        let mut request = client
            .post(format!("{}/sandbox/orders/{}/steps", platform.url(), order.id))
            .header(COOKIE, &cookie)
            .web_form(&[("to", "reservation_paid")]);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    // One forgery here; every action forged every way in the test over `actions`.
    let refused = step(Some("cross-site"), None).await?;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "a step posted from another site");
    let host = platform.url().trim_start_matches("http://").to_owned();
    let taken = step(None, Some(format!("http://{host}"))).await?;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER, "an older browser's same-origin POST, by its Origin");
    assert_ne!(platform.dealership.order(order.id).await?.state, OrderState::SaleRegistered, "the step was taken");

    let out = client
        .post(format!("{}/sandbox/sign-out", platform.url()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await?;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers().get(SET_COOKIE).and_then(|c| c.to_str().ok()).is_some_and(|c| c.contains("Max-Age=0")));
    // The browser may keep the cookie: the mock does not take it any more.
    let kept = client.get(format!("{}/sandbox", platform.url())).header(COOKIE, &cookie).send().await?;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER, "a signed-out session is over");
    assert_eq!(kept.headers().get(LOCATION).and_then(|l| l.to_str().ok()), Some("/sandbox/sign-in"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_of_another_mock_signs_nothing_in_and_a_planted_notice_is_not_shown() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let other = Platform::start().await?;
    let theirs = session_cookie(&other).await?;
    let client = http();
    let refused = client.get(format!("{}/sandbox", platform.url())).header(COOKIE, &theirs).send().await?;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER, "a session of the mock on another port");

    let cookie = session_cookie(&platform).await?;
    let unsigned = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"error":true,"text":"Planted by another service on localhost"}"#,
    );
    let planted = client
        .get(format!("{}/sandbox", platform.url()))
        .header(COOKIE, format!("{cookie}; caas_notice={unsigned}"))
        .send()
        .await?;
    assert_eq!(planted.status(), StatusCode::OK);
    assert!(!planted.text().await?.contains("Planted"), "an unsigned notice is not shown");

    // A notice the dashboard signed is.
    let order = platform.sell_to("noticed@example.com").await?;
    let taken = client
        .post(format!("{}/sandbox/orders/{}/steps", platform.url(), order.id))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .web_form(&[("to", "reservation_paid")])
        .send()
        .await?;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    let notice = taken.headers().get(SET_COOKIE).context("a notice")?.to_str()?.split(';').next().unwrap_or_default();
    let page = client
        .get(format!("{}/sandbox/orders/{}", platform.url(), order.id))
        .header(COOKIE, format!("{cookie}; {notice}"))
        .send()
        .await?;
    assert!(page.text().await?.contains("Done: the order"), "the signed notice shows");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_not_in_the_api_document_and_its_forms_are_bounded() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let document: serde_json::Value = reqwest::get(format!("{}/openapi.json", platform.url())).await?.json().await?;
    let paths = document["paths"].as_object().context("paths")?;
    assert!(paths.contains_key("/v1/sandbox/feed"));
    assert!(paths.keys().all(|path| !path.starts_with("/sandbox")), "the dashboard is not the API");

    let cookie = session_cookie(&platform).await?;
    let oversized = http()
        .post(format!("{}/sandbox/sales", platform.url()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .web_form(&[("email", "a@example.com"), ("name", &"x".repeat(20_000))])
        .send()
        .await?;
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let refused = http()
        .post(format!("{}/sandbox/sales", platform.url()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .web_form(&[
            ("email", "not-an-address"),
            ("name", "<script>alert(1)</script>"),
            ("model", "urban-ev"),
            ("dealership", "madrid-centro"),
        ])
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await?;
    assert!(page.contains("The sale was refused"), "the refusal is on the form");
    assert!(!page.contains("<script>alert(1)"), "what was typed comes back escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // The platform's refusal names the field as the form labels it.
    let phone = http()
        .post(format!("{}/sandbox/sales", platform.url()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .web_form(&[
            ("email", "phone@example.com"),
            ("name", "Ana"),
            ("phone", "12"),
            ("model", "urban-ev"),
            ("dealership", "madrid-centro"),
        ])
        .send()
        .await?;
    assert_eq!(phone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = phone.text().await?;
    assert!(page.contains("“Phone” must be in E.164 form"), "{page}");
    assert!(!page.contains("customer.phone"), "no API field path");

    // A field the form cannot take shows the form again as typed, the rest kept.
    let long = http()
        .post(format!("{}/sandbox/sales", platform.url()))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .web_form(&[("email", "kept@example.com"), ("name", &"n".repeat(300)), ("model", "urban-ev")])
        .send()
        .await?;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = long.text().await?;
    assert!(page.contains("“Name” is longer than 120 characters"), "{page}");
    assert!(page.contains("value=\"kept@example.com\""), "the email as typed");

    // A page that cannot be shown says why in words, under a title in words.
    let missing = http()
        .get(format!("{}/sandbox/orders/{}", platform.url(), uuid::Uuid::new_v4()))
        .header(COOKIE, &cookie)
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let page = missing.text().await?;
    assert!(page.contains("<h1>Not found</h1>") && page.contains("Order not found"), "{page}");
    for http_title in ["Unprocessable Entity", "Not Found"] {
        assert!(!page.contains(http_title), "{http_title}");
    }
    Ok(())
}

/// chromedriver on a port of its own choosing (`--port=0`, read from what it prints: no race for a
/// port picked beforehand), its output kept in a file attached to any failure, killed with its
/// browsers when dropped (the test failing included).
struct ChromeDriver {
    child: Child,
    url: String,
    log: tempfile::NamedTempFile,
}

/// What chromedriver prints once it listens.
const LISTENING: &str = "ChromeDriver was started successfully on port ";
/// The longest a whole browser session may take before it fails with what the browser showed.
const JOURNEY_LIMIT: Duration = Duration::from_secs(300);

impl ChromeDriver {
    async fn start() -> anyhow::Result<Self> {
        let log = tempfile::NamedTempFile::new()?;
        let output = || std::fs::OpenOptions::new().append(true).open(log.path());
        let mut command = Command::new("chromedriver");
        command.arg("--port=0").stdout(output()?).stderr(output()?);
        // Its own process group, so the browsers it starts end with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().context("chromedriver (Debian's chromium-driver) is not installed")?;
        let mut driver = Self { child, url: String::new(), log };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let port = loop {
            let said = driver.output();
            let port = said.lines().find_map(|line| {
                line.strip_prefix(LISTENING).and_then(|rest| rest.trim().trim_end_matches('.').parse::<u16>().ok())
            });
            if let Some(port) = port {
                break port;
            }
            if let Some(status) = driver.child.try_wait()? {
                anyhow::bail!("chromedriver ended ({status}) before it listened:\n{said}");
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "chromedriver did not listen in 20 s:\n{said}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        driver.url = format!("http://127.0.0.1:{port}");
        while tokio::time::Instant::now() < deadline {
            if let Ok(status) = reqwest::get(format!("{}/status", driver.url)).await {
                let body: serde_json::Value = status.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return Ok(driver);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("chromedriver was not ready in 20 s:\n{}", driver.output())
    }

    /// What chromedriver printed so far (its last 8 KiB).
    fn output(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let cut = text.char_indices().map(|(i, _)| i).find(|i| text.len() - i <= 8 * 1024).unwrap_or(0);
        text[cut..].to_owned()
    }

    async fn browser(&self, profile: &std::path::Path) -> anyhow::Result<Client> {
        let mut options = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--disable-breakpad", format!("--user-data-dir={}", profile.display())],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        Ok(ClientBuilder::new(connector).capabilities(capabilities).connect(&self.url).await?)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _already_gone = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _already_gone = self.child.kill();
        let _reaped = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver; ./scripts/test runs it"]
async fn a_developer_plays_a_whole_journey_in_the_browser() -> anyhow::Result<()> {
    in_browser(journey).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver; ./scripts/test runs it"]
async fn every_fault_switch_of_the_dashboard_does_what_it_says() -> anyhow::Result<()> {
    in_browser(every_switch).await
}

/// Plays `session` against a mock of its own in a fresh headless Chromium, within
/// [`JOURNEY_LIMIT`]; a failure carries where the browser was, what it showed and what
/// chromedriver said.
async fn in_browser(session: impl AsyncFnOnce(&Platform, &Client) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let driver = ChromeDriver::start().await?;
    let profile = tempfile::tempdir()?;
    let browser = match tokio::time::timeout(Duration::from_secs(60), driver.browser(profile.path())).await {
        Ok(Ok(browser)) => browser,
        Ok(Err(error)) => return Err(error.context(format!("chromedriver said:\n{}", driver.output()))),
        Err(_) => anyhow::bail!("no browser in 60 s; chromedriver said:\n{}", driver.output()),
    };
    let outcome = match tokio::time::timeout(JOURNEY_LIMIT, session(&platform, &browser)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!("the browser session took more than {JOURNEY_LIMIT:?}")),
    };
    // On a failure, where the browser was, what it showed and what chromedriver said go with it.
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err(error) => {
            let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let shown = match browser.find(Locator::Css("main")).await {
                Ok(main) => main.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            Err(error.context(format!(
                "the browser was at {url}, showing:\n{shown}\nchromedriver said:\n{}",
                driver.output()
            )))
        }
    };
    let _closing = browser.close().await;
    drop(driver);
    outcome
}

/// Signs in with the mock's sandbox token by the form, as a developer would.
async fn sign_in(platform: &Platform, browser: &Client) -> anyhow::Result<()> {
    browser.goto(&format!("{}/sandbox/sign-in", platform.url())).await?;
    fill(browser, "input[name=token]", &platform.mock.sandbox_token).await?;
    click_to_next_page(browser, "form button[type=submit]").await?;
    anyhow::ensure!(browser.current_url().await?.path() == "/sandbox", "signed in");
    Ok(())
}

/// Clicks what `css` finds and waits for the page the click leads to.
async fn click_to_next_page(browser: &Client, css: &str) -> anyhow::Result<()> {
    browser.execute("window.caasPageBeforeClick = true;", vec![]).await?;
    browser.find(Locator::Css(css)).await.with_context(|| format!("no {css} on the page"))?.click().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let old = browser.execute("return window.caasPageBeforeClick === true;", vec![]).await;
        if matches!(old, Ok(serde_json::Value::Bool(false))) {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the click on {css} led nowhere");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(browser: &Client, css: &str) -> anyhow::Result<String> {
    Ok(browser.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?.text().await?)
}

async fn fill(browser: &Client, css: &str, value: &str) -> anyhow::Result<()> {
    let field = browser.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?;
    field.clear().await?;
    field.send_keys(value).await?;
    Ok(())
}

async fn shown_state(browser: &Client) -> anyhow::Result<OrderState> {
    let badge = browser.find(Locator::Css("h1 .state")).await?;
    let wire = badge.attr("data-state").await?.context("the badge names its state")?;
    let state: OrderState = wire.parse().map_err(|_| anyhow::anyhow!("not a state: {wire}"))?;
    anyhow::ensure!(badge.text().await? == state_label(state, Language::English), "the badge reads as words");
    Ok(state)
}

/// Waits until the page's script says `#live-state` is `live` (`true`, `closed`).
async fn live_state(browser: &Client, live: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let css = format!("#live-state[data-live={live}]");
    while browser.find(Locator::Css(&css)).await.is_err() {
        let now = browser.find(Locator::Css("#live-state")).await?.text().await.unwrap_or_default();
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the live log is not {live}: it says {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The happy road, factory to the door.
const ROAD: [OrderState; 15] = [
    OrderState::SaleRegistered,
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
    OrderState::Delivered,
];

/// Where a state is on the road.
fn on_road(state: OrderState) -> anyhow::Result<usize> {
    ROAD.iter().position(|s| *s == state).with_context(|| format!("off the road at {state}"))
}

async fn journey(platform: &Platform, browser: &Client) -> anyhow::Result<()> {
    let base = platform.url();
    browser.goto(&format!("{base}/sandbox")).await?;
    anyhow::ensure!(browser.current_url().await?.path() == "/sandbox/sign-in", "sent to the sign-in form");
    fill(browser, "input[name=token]", "sbx_not_it").await?;
    click_to_next_page(browser, "form button[type=submit]").await?;
    anyhow::ensure!(text(browser, ".notice.error").await?.contains("not this mock"), "a wrong token is refused");
    sign_in(platform, browser).await?;

    // A sale by the form.
    let email = "browser@example.com";
    browser.goto(&format!("{base}/sandbox/sales/new")).await?;
    fill(browser, "input[name=email]", email).await?;
    fill(browser, "input[name=name]", "Beatriz Navegador").await?;
    fill(browser, "input[name=phone]", "+34600000002").await?;
    fill(browser, "input[name=national_id]", "12345678Z").await?;
    fill(browser, "input[name=address]", "Calle Mayor 1, 28013 Madrid").await?;
    browser.find(Locator::Css("select[name=model]")).await?.select_by_value("urban-ev").await?;
    browser.find(Locator::Css("input[name=option][value=heat-pump]")).await?.click().await?;
    browser.find(Locator::Css("select[name=dealership]")).await?.select_by_value("madrid-centro").await?;
    click_to_next_page(browser, "#new-sale button[type=submit]").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("Sale registered"), "the sale is told");
    let path = browser.current_url().await?.path().to_owned();
    let order: uuid::Uuid =
        path.strip_prefix("/sandbox/orders/").context("on the order's page")?.parse().context("an order id")?;
    anyhow::ensure!(shown_state(browser).await? == OrderState::SaleRegistered);

    // The customer's phone, beside the browser: it gets the pushes, and later its key.
    let dir = tempfile::tempdir()?;
    let phone = platform.phone(email, dir.path()).await?;
    phone.register_push_device(PushPlatform::Fcm, "fcm-token-browser").await?;

    let mut refused_once = false;
    let mut heard_live = false;
    let mut timeline = 1;
    for _ in 0..40 {
        let state = shown_state(browser).await?;
        let shown = browser.find_all(Locator::Css("#timeline li")).await?.len();
        anyhow::ensure!(shown >= timeline, "the timeline only grows: {shown} after {timeline}");
        timeline = shown;
        if state == OrderState::Delivered {
            break;
        }
        if state == OrderState::InProduction && !heard_live {
            heard_live = true;
            live_push_without_reload(platform, browser, order).await?;
        }
        let next = ROAD[on_road(state)? + 1];
        let button = format!("#next-steps button[data-to={}]", next.wire_name());
        let takeable = browser.find(Locator::Css(&button)).await?.attr("data-takeable").await?;
        if next == OrderState::InTransit && !refused_once {
            // The driver cannot leave before the customer confirms the address: the step is shown
            // as one the sandbox cannot take, and trying it says why.
            anyhow::ensure!(takeable.as_deref() == Some("false"), "the step to {next} is not offered as takeable");
            refused_once = true;
            click_to_next_page(browser, &button).await?;
            let notice = text(browser, ".notice.error").await?;
            anyhow::ensure!(notice.contains("address"), "a readable refusal: {notice}");
            anyhow::ensure!(shown_state(browser).await? == OrderState::TransportScheduled, "nothing moved");
            phone.confirm_delivery_address(order, None).await?;
            // The page is read again: its buttons now say what the sandbox can take.
            browser.refresh().await?;
            continue;
        }
        anyhow::ensure!(takeable.as_deref() == Some("true"), "the step to {next} is one the sandbox takes");
        anyhow::ensure!(
            browser.find(Locator::Css(&format!("{button}.secondary"))).await.is_err(),
            "a takeable step is the primary button"
        );
        click_to_next_page(browser, &button).await?;
        let notice = text(browser, ".notice").await?;
        anyhow::ensure!(notice.starts_with("Done"), "the step to {next} was taken: {notice}");
        let now = shown_state(browser).await?;
        anyhow::ensure!(on_road(now)? >= on_road(next)?, "the page shows {now} after the step to {next}");
    }
    anyhow::ensure!(shown_state(browser).await? == OrderState::Delivered, "delivered by clicks");
    anyhow::ensure!(refused_once && heard_live, "the refusal and the live push were seen");
    let delivered = event_sentence(
        &EventKind::StateChanged {
            from: Some(OrderState::AtCustomerAddress),
            to: OrderState::Delivered,
            by: Actor::Driver,
        },
        &Reader::in_utc(Language::English),
    );
    let newest = text(browser, "#timeline li[data-type=state_changed]").await?;
    anyhow::ensure!(newest.contains(&delivered), "the timeline tells the delivery in words: {newest}");
    let all = text(browser, "#timeline").await?;
    anyhow::ensure!(!all.contains("state_changed") && !all.contains("StateChanged"), "no wire or Rust names");

    // The ledger shows the final payment's charge.
    let due = platform.dealership.order(order).await?.final_payment.context("a final payment")?;
    browser.goto(&format!("{base}/sandbox/ledger")).await?;
    let charged = text(browser, &format!("#ledger tr[data-order=\"{order}\"] td.amount")).await?;
    anyhow::ensure!(charged == Reader::in_utc(Language::English).money(&due.amount_due), "the charge: {charged}");

    // A fault switch, then switched off again.
    browser.goto(&format!("{base}/sandbox/controls")).await?;
    fill(browser, "#payment-faults input[name=drop_answers]", "2").await?;
    click_to_next_page(browser, "#payment-faults button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("next 2 charge"), "armed");
    fill(browser, "#payment-faults input[name=drop_answers]", "0").await?;
    click_to_next_page(browser, "#payment-faults button").await?;
    let reset = text(browser, ".notice.ok").await?;
    anyhow::ensure!(reset.starts_with("Switched off"), "the switch is off again: {reset}");

    // The car's first reply is lost on the air by a click on its card; the phone pairs outside the
    // browser (before the clock moves: a key needs a fresh sign-in), sending the link again, and
    // the car links it once. The key shows on the car's card and is revoked by a click.
    let vin = platform.dealership.order(order).await?.vin.context("a VIN")?;
    browser.goto(&format!("{base}/sandbox/cars")).await?;
    let card = format!("section.car[data-vin=\"{vin}\"]");
    fill(browser, &format!("{card} form.replies input[name=drop_replies]"), "1").await?;
    click_to_next_page(browser, &format!("{card} form.replies button")).await?;
    let armed = text(browser, ".notice.ok").await?;
    anyhow::ensure!(armed.contains("next 1 reply"), "the car's replies are armed: {armed}");
    let radio = platform.radio(LinkConditions::default());
    // The lost reply costs one wait; one long enough that a busy machine's slow reply is never
    // taken for a lost one (the round trips are counted).
    let patient = PairingOptions {
        scan_timeout: Duration::from_secs(2),
        reply_timeout: Duration::from_secs(2),
        ..PairingOptions::default()
    };
    let paired = phone.pair_vehicle(order, &radio, patient, None).await?;
    anyhow::ensure!(paired.link.total.round_trips == 4, "the link went twice: {:?}", paired.link.total);
    let car = platform.sandbox.vehicle(&vin).await?;
    anyhow::ensure!(car.links_executed == 1, "linked once, the lost reply answered from memory: {car:?}");
    browser.refresh().await?;
    anyhow::ensure!(browser.find_all(Locator::Css(&format!("{card} tr[data-grant]"))).await?.len() == 1, "one key");
    click_to_next_page(browser, &format!("{card} tr[data-grant] button.danger")).await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("revoked"), "the revocation is told");
    anyhow::ensure!(
        text(browser, &format!("{card} tr[data-grant]")).await?.contains("Revoked"),
        "the key reads revoked"
    );
    click_to_next_page(browser, &format!("{card} form.inline button.secondary")).await?;
    let coverage = browser.find(Locator::Css(&format!("{card} .coverage"))).await?.attr("data-connected").await?;
    anyhow::ensure!(coverage.as_deref() == Some("false"), "the car is out of coverage");
    // The clock, two days on.
    browser.goto(&format!("{base}/sandbox/controls")).await?;
    let before = platform_time(&text(browser, "#platform-time").await?)?;
    fill(browser, "#clock input[name=amount]", "2").await?;
    browser.find(Locator::Css("#clock select[name=unit]")).await?.select_by_value("days").await?;
    click_to_next_page(browser, "#clock button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("now reads"), "the clock moved");
    let after = platform_time(&text(browser, "#platform-time").await?)?;
    anyhow::ensure!(after - before >= chrono::TimeDelta::days(2), "{before} -> {after}");

    // Signed out from elsewhere (here the page's own script; another tab alike): the open live log
    // ends and says so instead of reconnecting for ever.
    browser.goto(&format!("{base}/sandbox/orders/{order}")).await?;
    live_state(browser, "true").await?;
    browser
        .execute("fetch('/sandbox/sign-out', { method: 'POST', credentials: 'same-origin' }); return true;", vec![])
        .await?;
    live_state(browser, "closed").await?;
    let said = text(browser, "#live-state").await?;
    anyhow::ensure!(said.contains("signed out") && said.contains("Reload"), "the log says why it stopped: {said}");
    browser.refresh().await?;
    anyhow::ensure!(browser.current_url().await?.path() == "/sandbox/sign-in", "signed out for good");
    Ok(())
}

/// Clicks every fault switch the dashboard has beyond the journey's, each followed by what it does:
/// the factory and the gateway down and back, a charge's answer lost, a registry failing, an
/// order's second charge, rewritten history, a newer platform's event and robot courier, and the
/// drivers' lost and scripted answers.
async fn every_switch(platform: &Platform, browser: &Client) -> anyhow::Result<()> {
    let base = platform.url();
    sign_in(platform, browser).await?;
    let email = "switches@example.com";
    let order = platform.sell_to(email).await?.id;
    let order_page = format!("{base}/sandbox/orders/{order}");
    let step = async |to: OrderState| -> anyhow::Result<String> {
        browser.goto(&order_page).await?;
        click_to_next_page(browser, &format!("#next-steps button[data-to={}]", to.wire_name())).await?;
        text(browser, ".notice").await
    };

    // The factory down: the deposit is kept and the factory order fails; back, it is placed.
    outage(platform, browser, "#factory-outage", true, "factory is down").await?;
    let refused = step(OrderState::ReservationPaid).await?;
    anyhow::ensure!(refused.contains("factory did not answer"), "the factory order failed: {refused}");
    let kept = platform.dealership.order(order).await?;
    anyhow::ensure!(kept.state == OrderState::ReservationPaid && kept.factory_order_id.is_none(), "{kept:?}");
    outage(platform, browser, "#factory-outage", false, "factory is back").await?;
    let placed = step(OrderState::OrderPlaced).await?;
    anyhow::ensure!(placed.starts_with("Done") && shown_state(browser).await? == OrderState::OrderPlaced, "{placed}");
    platform.sandbox.advance_factory(order, Some(OrderState::DispatchedToLocality)).await?;

    // The gateway down: the payment step takes nothing.
    outage(platform, browser, "#gateway-outage", true, "gateway is down").await?;
    let refused = step(OrderState::AdministrativeRegistration).await?;
    anyhow::ensure!(refused.contains("payment gateway did not answer"), "the payment failed: {refused}");
    anyhow::ensure!(platform.sandbox.charges(order).await?.is_empty(), "nothing was taken while it was down");
    outage(platform, browser, "#gateway-outage", false, "gateway is back").await?;

    // A charge that loses its answer takes the money; the step taken again resumes it, charged
    // once. Spain's registry fails meanwhile, beyond the platform's retries: the order says so
    // until the registry is back and the registration is asked again.
    browser.goto(&format!("{base}/sandbox/controls")).await?;
    fill(browser, "#payment-faults input[name=drop_answers]", "1").await?;
    click_to_next_page(browser, "#payment-faults button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("next 1 charge"), "the lost answer is armed");
    browser.find(Locator::Css("#registry-faults select[name=country]")).await?.select_by_value("ES").await?;
    fill(browser, "#registry-faults input[name=transient_failures]", "20").await?;
    click_to_next_page(browser, "#registry-faults button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("Spain"), "the registry is armed");
    let lost = step(OrderState::AdministrativeRegistration).await?;
    anyhow::ensure!(lost.contains("payment gateway did not answer"), "the answer was lost: {lost}");
    // The gateway's webhook tells the platform of the charge all the same: the order moves on to
    // its registration, which the registry fails beyond the platform's retries.
    until(platform, order, "blocked by the registry", |view| view.blocker.is_some()).await?;
    anyhow::ensure!(platform.sandbox.charges(order).await?.len() == 1, "the money was taken, once");
    browser.goto(&order_page).await?;
    let blocked = text(browser, "dl.facts").await?;
    anyhow::ensure!(blocked.contains("Blocked") && blocked.contains("registry"), "the order says why: {blocked}");
    browser.goto(&format!("{base}/sandbox/controls")).await?;
    browser.find(Locator::Css("#registry-faults select[name=country]")).await?.select_by_value("ES").await?;
    fill(browser, "#registry-faults input[name=transient_failures]", "0").await?;
    click_to_next_page(browser, "#registry-faults button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.starts_with("Switched off"), "the registry is back");
    let registered = step(OrderState::Registered).await?;
    anyhow::ensure!(registered.starts_with("Done"), "registered: {registered}");
    anyhow::ensure!(shown_state(browser).await? == OrderState::TransportScheduled, "and booked on a transport");

    // A second charge of the final amount, outside the customer's payment.
    click_to_next_page(browser, "#duplicate-charge button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("Charged the final amount again"), "charged");
    anyhow::ensure!(platform.sandbox.charges(order).await?.len() == 2, "the gateway took it twice");

    // The first event dated a day earlier, the record signed again from there.
    let first = |events: Vec<caas_core::protocol::api::OrderEvent>| events.first().map(|e| e.occurred_at);
    let before = first(platform.sandbox.order_events(order).await?).context("a first event")?;
    fill(browser, "#rewrite-history input[name=version]", "1").await?;
    click_to_next_page(browser, "#rewrite-history button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("Event 1 is now dated"), "rewritten");
    let after = first(platform.sandbox.order_events(order).await?).context("a first event")?;
    anyhow::ensure!(before - after == chrono::TimeDelta::days(1), "{before} -> {after}");

    // An event a newer platform would send shows on the timeline.
    fill(browser, "#newer-event input[name=type]", "loyalty_points_awarded").await?;
    click_to_next_page(browser, "#newer-event button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("loyalty_points_awarded"), "appended");
    browser.find(Locator::Css("#timeline li[data-type=loyalty_points_awarded]")).await.context("on the timeline")?;
    let newest = platform.sandbox.order_events(order).await?.pop().context("an event")?;
    anyhow::ensure!(newest.kind.type_name() == "loyalty_points_awarded", "{newest:?}");

    // A robot courier drives the delivery by itself once the address is confirmed; switched off,
    // the page says so.
    let dir = tempfile::tempdir()?;
    let phone = platform.phone(email, &dir.path().join("customer")).await?;
    phone.confirm_delivery_address(order, None).await?;
    browser.goto(&order_page).await?;
    anyhow::ensure!(browser.find(Locator::Css("#robot-courier[data-enabled=false]")).await.is_ok(), "none yet");
    browser.find(Locator::Css("#robot-courier select[name=scenario]")).await?.select_by_value("deliver").await?;
    click_to_next_page(browser, "#robot-courier button[value=true]").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("robot courier drives"), "switched on");
    anyhow::ensure!(browser.find(Locator::Css("#robot-courier[data-enabled=true]")).await.is_ok(), "shown on");
    until(platform, order, "at the door", |view| view.state == OrderState::AtCustomerAddress).await?;
    browser.refresh().await?;
    anyhow::ensure!(shown_state(browser).await? == OrderState::AtCustomerAddress, "the robot reached the door");
    click_to_next_page(browser, "#robot-courier button[value=false]").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("switched off"), "switched off");
    anyhow::ensure!(browser.find(Locator::Css("#robot-courier[data-enabled=false]")).await.is_ok(), "shown off");

    // Drivers' phones: an action applied whose answer is lost, then one answered 503 and not
    // applied, both sent again by the phone.
    let booked = platform.booked_customer("driven@example.com", &dir.path().join("driven")).await?;
    booked.core.confirm_delivery_address(booked.order, None).await?;
    let driver = platform.driver(DRIVER, &dir.path().join("driver")).await?;
    let job = driver.refresh_deliveries().await?.into_iter().find(|j| j.order_id == booked.order).context("a job")?;
    browser.goto(&format!("{base}/sandbox/controls")).await?;
    fill(browser, "#driver-faults input[name=drop_answers]", "1").await?;
    click_to_next_page(browser, "form[action='/sandbox/controls/drivers'] button").await?;
    anyhow::ensure!(text(browser, ".notice.ok").await?.contains("next 1 driver action"), "armed");
    let embarked = driver.embark(job.delivery_id, &job.vin).await?;
    anyhow::ensure!(embarked != DriverActionOutcome::Synced, "the phone did not hear back: {embarked:?}");
    let state = platform.dealership.order(booked.order).await?.state;
    anyhow::ensure!(state == OrderState::InTransit, "yet the platform applied it: {state}");
    anyhow::ensure!(driver.sync_driver().await?.pending == 0, "sent again, it is heard");
    fill(browser, "#driver-answer input[name=status]", "503").await?;
    fill(browser, "#driver-answer input[name=code]", "maintenance_window").await?;
    click_to_next_page(browser, "#driver-answer button").await?;
    let armed = text(browser, ".notice.ok").await?;
    anyhow::ensure!(armed.contains("answered 503 (maintenance_window)"), "armed: {armed}");
    let arrived = driver.arrive(job.delivery_id).await?;
    anyhow::ensure!(matches!(arrived, DriverActionOutcome::Queued { .. }), "answered 503: {arrived:?}");
    let state = platform.dealership.order(booked.order).await?.state;
    anyhow::ensure!(state == OrderState::InTransit, "and not applied: {state}");
    anyhow::ensure!(driver.sync_driver().await?.pending == 0, "sent again, it is applied");
    until(platform, booked.order, "at the door", |view| view.state == OrderState::AtCustomerAddress).await?;
    Ok(())
}

/// Takes a service down (`down`) or brings it back by its card's switch on the controls page, and
/// checks the page's notice says `told` and the card shows the service down or up now.
async fn outage(platform: &Platform, browser: &Client, card: &str, down: bool, told: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{}/sandbox/controls", platform.url())).await?;
    click_to_next_page(browser, &format!("{card} button[value={down}]")).await?;
    let notice = text(browser, ".notice.ok").await?;
    anyhow::ensure!(notice.contains(told), "{card} switched: {notice}");
    let now = text(browser, &format!("{card} .availability strong[data-down={down}]")).await?;
    anyhow::ensure!(now == if down { "down" } else { "up" }, "{card} shows it {now}");
    Ok(())
}

/// Waits until the dealership's view of `order` is `what` the test waits for.
async fn until(
    platform: &Platform,
    order: uuid::Uuid,
    what: &str,
    wanted: impl Fn(&caas_core::protocol::api::OrderView) -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let view = platform.dealership.order(order).await?;
        if wanted(&view) {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "{order} is not {what}: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps the order's page open while the factory revises its estimate through the API: the push
/// to the customer's phone shows in the live log, in words and with the time as the pages write
/// it, and the page was not reloaded.
async fn live_push_without_reload(platform: &Platform, browser: &Client, order: uuid::Uuid) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    live_state(browser, "true").await?;
    let newest = "return Math.max(0, ...Array.from(document.querySelectorAll('#live-log li')).map(li => Number(li.dataset.seq)));";
    let before = browser.execute(newest, vec![]).await?.as_i64().unwrap_or_default();
    browser.execute("window.caasStillHere = true;", vec![]).await?;
    platform.sandbox.delay_factory(order, 3, "a supplier is late").await?;
    let reader = Reader::in_utc(Language::English);
    loop {
        // The revision's sentence, once the factory's webhook put it on the order's log.
        let revised =
            platform.sandbox.order_events(order).await?.into_iter().rev().find_map(|event| match event.kind {
                kind @ EventKind::EstimateRevised { .. } => Some(event_sentence(&kind, &reader)),
                _ => None,
            });
        if let Some(sentence) = revised {
            let wanted = format!(
                "return Array.from(document.querySelectorAll('#live-log li[data-kind=push]'))
                     .some(li => Number(li.dataset.seq) > {before} && li.textContent.includes({}));",
                serde_json::Value::String(format!("Push to an Android phone: {sentence}"))
            );
            if browser.execute(&wanted, vec![]).await? == serde_json::Value::Bool(true) {
                break;
            }
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the push did not show in the live log in words");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still = browser.execute("return window.caasStillHere === true;", vec![]).await?;
    anyhow::ensure!(still == serde_json::Value::Bool(true), "the page was not reloaded");
    let log = text(browser, "#live-log").await?;
    for wire in ["estimate_revised", "estimate revised", "order.stage_changed", "retrying", "state_changed"] {
        anyhow::ensure!(!log.contains(wire), "a wire name in the live log: {wire} in {log}");
    }
    let time = browser.find(Locator::Css("#live-log li time")).await?.text().await?;
    platform_time(&time).with_context(|| format!("the log's times as the pages write them: {time:?}"))?;
    Ok(())
}

fn platform_time(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S UTC")?;
    Ok(naive.and_utc())
}
