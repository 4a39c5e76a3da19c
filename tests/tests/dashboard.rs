//! The sandbox dashboard at `/sandbox`. Its sign-in and cross-site rules are checked over plain
//! HTTP; a whole journey is played in a real headless Chromium driven over WebDriver: a sale by the
//! form, every step by a click up to `delivered` (a refused step included), the live log hearing a
//! push without a reload, the ledger's charge, a fault switch, the clock, and a phone key revoked.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver`; `cargo test --workspace`
//! skips it and `./scripts/test` runs it (`--ignored`).

use std::process::{Child, Command};
use std::time::Duration;

use anyhow::Context as _;
use caas_core::protocol::api::EventKind;
use caas_core::protocol::messages::{Language, Reader, event_sentence, state_label};
use caas_core::protocol::push::PushPlatform;
use caas_core::protocol::{Actor, OrderState};
use caas_core::{LinkConditions, PairingOptions};
use caas_e2e::{Platform, WAIT};
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
    for (path, body) in [
        (format!("/sandbox/orders/{}/steps", order.id), "to=reservation_paid"),
        ("/sandbox/sales".to_owned(), "email=x%40example.com"),
        ("/sandbox/controls/clock".to_owned(), "amount=1&unit=days"),
        ("/sandbox/keys/00000000-0000-0000-0000-000000000000/revoke".to_owned(), ""),
    ] {
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
    for (site, origin) in [
        (Some("cross-site"), None),
        (Some("same-site"), None),
        (None, Some("http://evil.example".to_owned())),
        (None, None),
    ] {
        let refused = step(site, origin.clone()).await?;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{site:?} {origin:?}");
    }
    assert_eq!(
        platform.dealership.order(order.id).await?.state,
        OrderState::SaleRegistered,
        "no forged step was taken"
    );
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
/// The longest the whole browser journey may take before it fails with what the browser showed.
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
    let platform = Platform::start().await?;
    let driver = ChromeDriver::start().await?;
    let profile = tempfile::tempdir()?;
    let browser = match tokio::time::timeout(Duration::from_secs(60), driver.browser(profile.path())).await {
        Ok(Ok(browser)) => browser,
        Ok(Err(error)) => return Err(error.context(format!("chromedriver said:\n{}", driver.output()))),
        Err(_) => anyhow::bail!("no browser in 60 s; chromedriver said:\n{}", driver.output()),
    };
    let outcome = match tokio::time::timeout(JOURNEY_LIMIT, journey(&platform, &browser)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!("the journey took more than {JOURNEY_LIMIT:?}")),
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
    fill(browser, "input[name=token]", &platform.mock.sandbox_token).await?;
    click_to_next_page(browser, "form button[type=submit]").await?;
    anyhow::ensure!(browser.current_url().await?.path() == "/sandbox", "signed in");

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

    // The phone pairs outside the browser (before the clock moves: a key needs a fresh sign-in); its key shows on the car's card and is revoked by a click.
    let radio = platform.radio(LinkConditions::default());
    phone.pair_vehicle(order, &radio, PairingOptions::default(), None).await?;
    let vin = platform.dealership.order(order).await?.vin.context("a VIN")?;
    browser.goto(&format!("{base}/sandbox/cars")).await?;
    let card = format!("section.car[data-vin=\"{vin}\"]");
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
