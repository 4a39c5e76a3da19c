//! The dashboard's page shell (navigation, the notice of the last action, the live log beside
//! every page), its failure page, the notice carried across a redirect (signed with the session
//! key, so no other service on the host can plant one), and the headers every dashboard answer
//! gets.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::session::{Sessions, Signed};
use super::{DashboardState, labels, live};
use crate::error::AppError;
use crate::platform::AppState;

/// The cookie that carries an action's outcome to the page it redirects to.
const NOTICE_COOKIE: &str = "caas_notice";
/// The longest notice kept: a refusal's sentence fits many times over.
const MAX_NOTICE_CHARS: usize = 600;
/// What the session key signs a notice for.
const NOTICE_PURPOSE: &str = "notice";

/// What came of the last action, shown once at the top of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

impl Notice {
    pub fn ok(text: impl Into<String>) -> Self {
        Self { error: false, text: text.into() }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self { error: true, text: text.into() }
    }

    fn to_cookie(&self, sessions: &Sessions) -> String {
        let text: String = self.text.chars().take(MAX_NOTICE_CHARS).collect();
        let json = serde_json::to_vec(&Notice { error: self.error, text }).unwrap_or_default();
        let value = sessions.sign(NOTICE_PURPOSE, &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json));
        format!("{NOTICE_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/sandbox; Max-Age=60")
    }

    fn from_cookie(sessions: &Sessions, value: &str) -> Option<Self> {
        let payload = sessions.verify(NOTICE_PURPOSE, value)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
        let notice: Notice = serde_json::from_slice(&json).ok()?;
        (notice.text.chars().count() <= MAX_NOTICE_CHARS).then_some(notice)
    }
}

/// The notice a redirect left for this page, if any; the page clears it once shown.
#[derive(Debug, Default)]
pub struct Flash(pub Option<Notice>);

impl FromRequestParts<DashboardState> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &DashboardState) -> Result<Self, Self::Rejection> {
        let value = super::session::cookie(&parts.headers, NOTICE_COOKIE);
        Ok(Self(value.and_then(|value| Notice::from_cookie(&state.sessions, value))))
    }
}

/// After an action: back to the page at `to` (a path of the dashboard), with what came of it.
pub fn after(signed: &Signed, to: &str, notice: Notice) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&notice.to_cookie(&signed.sessions)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The dashboard's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Orders,
    NewSale,
    Controls,
    Ledger,
    Cars,
}

const SECTIONS: [(Section, &str, &str); 5] = [
    (Section::Orders, "/sandbox", "Orders"),
    (Section::NewSale, "/sandbox/sales/new", "New sale"),
    (Section::Controls, "/sandbox/controls", "Faults & clock"),
    (Section::Ledger, "/sandbox/ledger", "Ledger"),
    (Section::Cars, "/sandbox/cars", "Cars & keys"),
];

/// A page of the dashboard, with the live log of `order` (or of everything) beside it.
pub fn render(
    state: &AppState,
    section: Section,
    title: &str,
    flash: Flash,
    order: Option<Uuid>,
    body: Markup,
) -> Result<Response, Failure> {
    let live = live::panel(state, order)?;
    let shown = flash.0.is_some();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                header.top {
                    a.brand href="/sandbox" { "CaaS sandbox" }
                    nav {
                        @for (s, href, label) in SECTIONS {
                            a href=(href) aria-current=[(s == section).then_some("page")] { (label) }
                        }
                    }
                    form.inline method="post" action="/sandbox/sign-out" { button.link type="submit" { "Sign out" } }
                }
                div.layout {
                    main {
                        @if let Some(notice) = &flash.0 { (notice_markup(notice)) }
                        (body)
                    }
                    (live)
                }
                script src="/sandbox/assets/dashboard.js" {}
            }
        }
    };
    Ok(clearing(markup.into_response(), shown))
}

/// A page without navigation or live log: the sign-in form and failures.
pub fn bare(title: &str, notice: Option<Notice>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body.bare {
                main {
                    @if let Some(notice) = &notice { (notice_markup(notice)) }
                    (body)
                }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · CaaS sandbox" }
        link rel="stylesheet" href="/sandbox/assets/dashboard.css";
    }
}

fn notice_markup(notice: &Notice) -> Markup {
    html! {
        @if notice.error {
            p.notice.error role="alert" { (notice.text) }
        } @else {
            p.notice.ok role="status" { (notice.text) }
        }
    }
}

/// Clears the notice cookie once its page showed it.
fn clearing(mut response: Response, shown: bool) -> Response {
    if shown {
        let cleared = format!("{NOTICE_COOKIE}=; HttpOnly; SameSite=Strict; Path=/sandbox; Max-Age=0");
        if let Ok(cookie) = HeaderValue::from_str(&cleared) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A page that could not be shown, with the reason in words.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
}

pub fn failure(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure { status, message: message.into() }
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        Self { status: error.status, message: labels::refusal(&error, &[]) }
    }
}

/// The title of a page that could not be shown, in words.
fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "This could not be read",
        401 => "Not signed in",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible now",
        413 => "Too large",
        415 => "Not a form",
        422 => "Not accepted",
        429 => "Too many attempts",
        502..=504 => "Not answering",
        _ => "Something went wrong",
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let title = title(self.status);
        let body = html! {
            h1 { (title) }
            p { (self.message) }
            p { a href="/sandbox" { "Back to the orders" } }
        };
        (self.status, bare(title, None, body)).into_response()
    }
}

/// What every dashboard answer carries: a policy that runs only the dashboard's own script and
/// style (no inline script, so injected markup could not run one), no framing, no caching of pages
/// that show the sandbox's data.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(cookie: &str) -> &str {
        cookie.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v).expect("value")
    }

    #[test]
    fn a_notice_survives_its_cookie_and_an_unsigned_or_foreign_one_is_dropped() {
        let sessions = Sessions::new();
        let notice = Notice::error("The registry refused: <b>national id</b> missing");
        let cookie = notice.to_cookie(&sessions);
        assert_eq!(Notice::from_cookie(&sessions, value(&cookie)), Some(notice.clone()));
        assert_eq!(Notice::from_cookie(&sessions, "not base64!"), None);
        let unsigned = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"error":true,"text":"planted"}"#);
        assert_eq!(Notice::from_cookie(&sessions, &unsigned), None, "planted by another service on the host");
        assert_eq!(Notice::from_cookie(&Sessions::new(), value(&cookie)), None, "another mock's");
        let long = Notice::ok("x".repeat(MAX_NOTICE_CHARS * 2)).to_cookie(&sessions);
        assert_eq!(
            Notice::from_cookie(&sessions, value(&long)).map(|n| n.text.len()),
            Some(MAX_NOTICE_CHARS),
            "cut when set"
        );
    }

    #[test]
    fn a_failure_reads_as_words() {
        let failure = Failure::from(AppError::invalid("`customer.phone` must be in E.164 form"));
        assert_eq!(title(failure.status), "Not accepted");
        assert_eq!(failure.message, "“Phone” must be in E.164 form");
        let stored = Failure::from(AppError::internal("internal storage error"));
        assert!(!stored.message.contains("storage"), "{}", stored.message);
    }

    #[test]
    fn what_a_page_shows_is_escaped() {
        let page = bare("<title>", Some(Notice::error("<script>alert(1)</script>")), html! { p { ("<img src=x>") } });
        let text = page.into_string();
        assert!(!text.contains("<script>alert"), "{text}");
        assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(text.contains("&lt;img src=x&gt;") && text.contains("&lt;title&gt;"));
    }
}
