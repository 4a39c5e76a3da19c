//! Signing in to the dashboard: the sandbox token, typed once into a form, becomes an HttpOnly,
//! SameSite=Strict cookie scoped to `/sandbox`; every page and action checks it.
//!
//! The cookie carries no secret: a random session id and when it was issued, signed (HMAC-SHA256)
//! with a key made when the mock starts and never kept. So a cookie from another mock on another
//! port, or from before a restart, signs nothing in; the issue time is checked here, so a session
//! ends after its lifetime whatever the browser keeps; signing out records the session as ended
//! (until its lifetime is over, when it would end anyway) and ends its live log. The same key
//! signs the notice carried across a redirect ([`super::page`]), so another service on the same
//! host cannot plant one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use maud::html;
use ring::hmac;
use tokio::sync::watch;

use super::DashboardState;
use super::form::{Field, Form};
use super::page::{self, Notice};
use crate::auth::same_secret;
use crate::platform::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "caas_sandbox";
/// Where a visitor without the cookie is sent.
pub const SIGN_IN: &str = "/sandbox/sign-in";
/// A dashboard session lasts a working day, like a member of staff's token.
const LIFETIME_SECONDS: u64 = 12 * 3600;
/// How far ahead of this mock's clock an issue time may be (none is: the mock issues them).
const SKEW_SECONDS: u64 = 60;
/// The longest token the form takes (the API's bearer check takes no longer).
const MAX_TOKEN_CHARS: usize = 256;
/// The sign-in form's one field.
const TOKEN: Field = Field { name: "token", label: "Sandbox token", api: &[] };

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch, by the machine's clock (not the sandbox's, which a developer moves).
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One signed-in browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    id: [u8; 16],
    issued: u64,
}

impl Session {
    fn ends(self) -> u64 {
        self.issued.saturating_add(LIFETIME_SECONDS)
    }
}

/// The dashboard's sessions of this run of the mock: the key that signs their cookies and the
/// notices, and the sessions signed out before their end.
pub struct Sessions {
    key: hmac::Key,
    /// Signed-out sessions, each with when it would have ended; forgotten once that passed.
    ended: Mutex<HashMap<[u8; 16], u64>>,
    /// Bumped at every sign-out, so the live logs of the session stop.
    signed_out: watch::Sender<u64>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions signed with a key made now, known to this run of the mock only.
    pub fn new() -> Self {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, &crate::random_seed()));
        Self { key, ended: Mutex::new(HashMap::new()), signed_out: watch::channel(0).0 }
    }

    /// `payload` with its signature for `purpose` (`payload.signature`).
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        let tag = hmac::sign(&self.key, format!("caas dashboard {purpose}\n{payload}").as_bytes());
        format!("{payload}.{}", base64(tag.as_ref()))
    }

    /// The payload of a value [`Sessions::sign`] made for `purpose`; none for anything else.
    pub fn verify<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (payload, tag) = signed.rsplit_once('.')?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, format!("caas dashboard {purpose}\n{payload}").as_bytes(), &tag).ok()?;
        Some(payload)
    }

    /// A new session issued at `issued`, as its cookie's value.
    fn issue(&self, issued: u64) -> String {
        let mut id = [0_u8; 16];
        id.copy_from_slice(&crate::random_seed()[..16]);
        self.sign("session", &format!("{issued}.{}", base64(&id)))
    }

    /// The session a cookie's value proves at `now`: signed by this mock, not over, not signed out.
    fn check(&self, value: &str, now: u64) -> Option<Session> {
        let (issued, id) = self.verify("session", value)?.split_once('.')?;
        let issued: u64 = issued.parse().ok()?;
        let id: [u8; 16] = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).ok()?.try_into().ok()?;
        let session = Session { id, issued };
        let current = issued <= now.saturating_add(SKEW_SECONDS) && now < session.ends();
        (current && !self.is_signed_out(session)).then_some(session)
    }

    fn is_signed_out(&self, session: Session) -> bool {
        self.ended.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(&session.id)
    }

    /// Ends `session` before its time.
    fn sign_out(&self, session: Session, now: u64) {
        {
            let mut ended = self.ended.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            ended.retain(|_, ends| *ends > now);
            ended.insert(session.id, session.ends());
        }
        self.signed_out.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Resolves when `session` ends: signed out, or over.
    pub fn until_over(self: Arc<Self>, session: Session) -> impl Future<Output = ()> + Send + 'static {
        let mut sign_outs = self.signed_out.subscribe();
        async move {
            let over = tokio::time::sleep(Duration::from_secs(session.ends().saturating_sub(now())));
            tokio::pin!(over);
            while !self.is_signed_out(session) {
                tokio::select! {
                    () = &mut over => return,
                    changed = sign_outs.changed() => {
                        if changed.is_err() {
                            over.as_mut().await;
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The session the request's cookie proves, if any.
    fn of(&self, headers: &HeaderMap) -> Option<Session> {
        cookie(headers, COOKIE).and_then(|value| self.check(value, now()))
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

/// The `Set-Cookie` that signs the browser in.
fn session_cookie(value: &str) -> String {
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/sandbox; Max-Age={LIFETIME_SECONDS}")
}

/// The `Set-Cookie` that signs it out.
fn cleared_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/sandbox; Max-Age=0")
}

/// The value of the cookie `name` the request carries, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A request from a signed-in browser; any other is sent to the sign-in form.
#[derive(Debug, Clone)]
pub struct Signed {
    pub sessions: Arc<Sessions>,
    pub session: Session,
}

impl FromRequestParts<DashboardState> for Signed {
    type Rejection = Redirect;

    async fn from_request_parts(parts: &mut Parts, state: &DashboardState) -> Result<Self, Redirect> {
        match state.sessions.of(&parts.headers) {
            Some(session) => Ok(Self { sessions: state.sessions.clone(), session }),
            None => Err(Redirect::to(SIGN_IN)),
        }
    }
}

/// The sign-in form; a signed-in browser goes straight to the orders.
pub async fn sign_in_page(State(sessions): State<Arc<Sessions>>, headers: HeaderMap) -> Response {
    if sessions.of(&headers).is_some() {
        return Redirect::to("/sandbox").into_response();
    }
    sign_in_form(StatusCode::OK, None)
}

fn sign_in_form(status: StatusCode, notice: Option<Notice>) -> Response {
    let body = html! {
        h1 { "Sign in to the sandbox" }
        p { "Paste the sandbox token the mock printed when it started (" code { "sbx_…" } ")." }
        form.card method="post" action=(SIGN_IN) {
            label { (TOKEN.label) input type="password" name=(TOKEN.name) autocomplete="off" required maxlength=(MAX_TOKEN_CHARS); }
            button type="submit" { "Sign in" }
        }
    };
    let mut response = page::bare("Sign in", notice, body).into_response();
    *response.status_mut() = status;
    response
}

/// Checks the token and, when it is this mock's, signs the browser in.
pub async fn sign_in(State(state): State<AppState>, State(sessions): State<Arc<Sessions>>, form: Form) -> Response {
    let token = match form.text(TOKEN, MAX_TOKEN_CHARS) {
        Ok(token) => token,
        Err(problem) => return sign_in_form(StatusCode::UNPROCESSABLE_ENTITY, Some(Notice::error(problem))),
    };
    if !same_secret(&token, &state.config.sandbox_token) {
        tracing::warn!("dashboard sign-in with a wrong sandbox token");
        let notice = Notice::error("That is not this mock's sandbox token.");
        return sign_in_form(StatusCode::UNAUTHORIZED, Some(notice));
    }
    tracing::info!("dashboard signed in");
    with_cookie(Redirect::to("/sandbox"), &session_cookie(&sessions.issue(now())))
}

/// Signs the browser out: its session ends here, whatever the browser keeps.
pub async fn sign_out(signed: Signed) -> Response {
    signed.sessions.sign_out(signed.session, now());
    with_cookie(Redirect::to(SIGN_IN), &cleared_cookie())
}

fn with_cookie(redirect: Redirect, cookie: &str) -> Response {
    let mut response = redirect.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

impl FromRef<DashboardState> for Arc<Sessions> {
    fn from_ref(state: &DashboardState) -> Self {
        state.sessions.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in cookies {
            headers.append(header::COOKIE, HeaderValue::from_str(line).expect("ascii"));
        }
        headers
    }

    #[test]
    fn only_a_cookie_this_mock_issued_signs_in() {
        let sessions = Sessions::new();
        let good = format!("{COOKIE}={}", sessions.issue(now()));
        assert!(sessions.of(&with(&[&good])).is_some());
        assert!(sessions.of(&with(&["theme=dark", &format!("a=b; {good}")])).is_some(), "among other cookies");
        assert!(sessions.of(&with(&[])).is_none(), "no cookie");
        let another_run = Sessions::new();
        assert!(another_run.of(&with(&[&good])).is_none(), "another mock's, or this one's before a restart");
        assert!(sessions.of(&with(&[&format!("x{good}")])).is_none(), "another name");
        let value = good.split_once('=').map(|(_, v)| v.to_owned()).expect("value");
        let (payload, tag) = value.rsplit_once('.').expect("signed");
        let (_, id) = payload.split_once('.').expect("issued and id");
        let later = format!("{COOKIE}={}.{id}.{tag}", now() + 3600);
        assert!(sessions.of(&with(&[&later])).is_none(), "an issue time moved is no longer signed");
    }

    #[test]
    fn a_session_ends_after_its_lifetime_whatever_the_browser_keeps() {
        let sessions = Sessions::new();
        let start = now();
        let value = sessions.issue(start - LIFETIME_SECONDS + 10);
        assert!(sessions.check(&value, start).is_some(), "within its lifetime");
        assert!(sessions.check(&value, start + 10).is_none(), "over");
        assert!(sessions.check(&sessions.issue(start + 3600), start).is_none(), "issued in the future");
    }

    #[test]
    fn a_signed_out_session_signs_nothing_in_and_its_live_log_ends() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        runtime.block_on(async {
            let sessions = Arc::new(Sessions::new());
            let value = sessions.issue(now());
            let other = sessions.check(&sessions.issue(now()), now()).expect("another browser");
            let session = sessions.check(&value, now()).expect("signed in");
            let over = tokio::spawn(sessions.clone().until_over(session));
            let other_over = tokio::spawn(sessions.clone().until_over(other));
            sessions.sign_out(session, now());
            assert!(sessions.check(&value, now()).is_none(), "the same cookie, kept by the browser");
            tokio::time::timeout(Duration::from_secs(5), over).await.expect("the live log ends").expect("task");
            assert!(sessions.check(&sessions.issue(now()), now()).is_some(), "a new sign-in works");
            assert!(!other_over.is_finished(), "another browser's session goes on");
            other_over.abort();
        });
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_dashboard() {
        let cookie = session_cookie("v");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/sandbox", "Max-Age=43200"] {
            assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} in {cookie}");
        }
        assert!(cleared_cookie().contains("Max-Age=0"));
    }
}
