//! Bearer tokens for the platform's roles and the extractors that check them.
//!
//! Customer and dealership tokens are random and stored only as SHA-256 digests; the sandbox token
//! comes from configuration. Each extractor proves one role, so a handler's signature says who may
//! call it.

use crate::db::CachedSql as _;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::AppError;
use crate::platform::AppState;

/// A random token with a readable prefix naming its role.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Marks an answer that carries a credential (a token, a handover code): it goes out with
/// `Cache-Control: no-store`, and the idempotency layer never keeps it for a replay.
#[derive(Debug, Clone, Copy)]
pub struct CarriesCredential;

impl IntoResponseParts for CarriesCredential {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        parts.extensions_mut().insert(self);
        Ok(parts)
    }
}

/// Keys the digests of short codes people type (sign-in codes, the handover's eight digits): a
/// plain hash of a six- or eight-digit code is reversed by trying them all, a keyed one is not
/// without the key, which lives only in the platform's configuration.
#[derive(Clone)]
pub struct CodeKey(ring::hmac::Key);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(<redacted>)")
    }
}

impl CodeKey {
    /// A key for one use (`label`) derived from a configured seed.
    pub fn derive(seed: &[u8; 32], label: &str) -> Self {
        let key = digest(&SHA256, &[label.as_bytes(), b"\n", seed].concat());
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_ref()))
    }

    /// The digest stored for `code` of `owner` (an order, an email address).
    pub fn digest(&self, owner: &str, code: &str) -> Vec<u8> {
        ring::hmac::sign(&self.0, format!("{owner}\n{code}").as_bytes()).as_ref().to_vec()
    }

    /// Whether `code` of `owner` is the one `stored` is the digest of, in constant time.
    pub fn matches(&self, stored: &[u8], owner: &str, code: &str) -> bool {
        ring::hmac::verify(&self.0, format!("{owner}\n{code}").as_bytes(), stored).is_ok()
    }
}

/// `digits` uniformly random decimal digits (at most nine), for codes people type or read out.
pub fn random_digits(digits: u32) -> Result<String, AppError> {
    let modulus = 10u32.pow(digits.min(9));
    // The largest multiple of the modulus that fits: values above it would favour low codes.
    let limit = u32::MAX - u32::MAX % modulus;
    let rng = SystemRandom::new();
    loop {
        let mut raw = [0u8; 4];
        rng.fill(&mut raw).map_err(|_| AppError::internal("the system random source failed"))?;
        let value = u32::from_le_bytes(raw);
        if value < limit {
            return Ok(format!("{:0width$}", value % modulus, width = digits.min(9) as usize));
        }
    }
}

/// Compares a presented secret with the configured one through their digests, so the comparison
/// time says nothing about the configured value.
pub fn same_secret(presented: &str, configured: &str) -> bool {
    token_digest(presented) == token_digest(configured)
}

fn token_digest(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// How long a customer's access token lives; the refresh token renews it.
pub const CUSTOMER_ACCESS_LIFETIME: TimeDelta = TimeDelta::hours(1);
/// How long a customer stays signed in without opening the app.
pub const REFRESH_LIFETIME: TimeDelta = TimeDelta::days(30);
/// How soon a refresh token used once may be presented again, by a phone that lost the answer.
const LOST_ANSWER_GRACE: TimeDelta = TimeDelta::seconds(30);
/// A driver's or dealership staff's working day: their tokens end with it, with no refresh.
pub const SHIFT: TimeDelta = TimeDelta::hours(12);

/// Tokens handed out at a sign-in or a refresh.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    /// Customers only.
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

/// Starts a session for `subject` in `role`, who proved the account (a sign-in code) at
/// `proven_at` by the platform's clock: an access token for the role's lifetime and, for a
/// customer, a single-use refresh token. Only digests are kept; both belong to one family, which
/// sign-out and a replayed refresh token end together.
pub fn issue_session(
    conn: &Connection,
    role: Role,
    subject: &str,
    proven_at: DateTime<Utc>,
) -> rusqlite::Result<Issued> {
    issue_in_family(conn, role, subject, &Uuid::new_v4().to_string(), proven_at)
}

fn issue_in_family(
    conn: &Connection,
    role: Role,
    subject: &str,
    family: &str,
    proven_at: DateTime<Utc>,
) -> rusqlite::Result<Issued> {
    let now = Utc::now();
    let lifetime = role.access_lifetime();
    let access_token = random_token(role.prefix());
    conn.execute_cached(
        "INSERT INTO tokens (digest, role, subject, created_at, expires_at, family, proven_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token_digest(&access_token),
            role.name(),
            subject,
            now.to_rfc3339(),
            (now + lifetime).to_rfc3339(),
            family,
            proven_at.to_rfc3339()
        ],
    )?;
    let refresh_token = if role == Role::Customer {
        let refresh = random_token("rfr");
        conn.execute_cached(
            "INSERT INTO refresh_tokens (digest, subject, family, expires_at, proven_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_digest(&refresh),
                subject,
                family,
                (now + REFRESH_LIFETIME).to_rfc3339(),
                proven_at.to_rfc3339()
            ],
        )?;
        Some(refresh)
    } else {
        None
    };
    Ok(Issued { access_token, refresh_token, expires_in: lifetime.num_seconds().unsigned_abs() })
}

/// Why a refresh token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRefused {
    Unknown,
    Expired,
    /// Presented a second time: someone else may hold a copy, so the whole session ended.
    Replayed,
}

/// A refresh token's row.
struct StoredRefresh {
    subject: String,
    family: String,
    expires_at: String,
    used_at: Option<String>,
    proven_at: Option<String>,
}

/// Spends a customer's refresh token for a new session in the same family. A token presented
/// again after a short grace for lost answers ends the family: its access and refresh tokens stop
/// working at once.
pub fn refresh_session(
    conn: &Connection,
    refresh_token: &str,
) -> rusqlite::Result<Result<(Uuid, Issued), RefreshRefused>> {
    let row = conn
        .query_row_cached(
            "SELECT subject, family, expires_at, used_at, proven_at FROM refresh_tokens WHERE digest = ?1",
            [token_digest(refresh_token)],
            |r| {
                Ok(StoredRefresh {
                    subject: r.get(0)?,
                    family: r.get(1)?,
                    expires_at: r.get(2)?,
                    used_at: r.get(3)?,
                    proven_at: r.get(4)?,
                })
            },
        )
        .optional()?;
    let Some(StoredRefresh { subject, family, expires_at, used_at, proven_at }) = row else {
        return Ok(Err(RefreshRefused::Unknown));
    };
    if let Some(used_at) = used_at {
        // A phone whose answer was lost on the way presents the same token again at once: it
        // gets a new pair. Later, a second use means a copy: the session ends.
        let lost_answer = parse_time(Some(&used_at)).is_some_and(|used| Utc::now() - used < LOST_ANSWER_GRACE);
        if !lost_answer {
            end_family(conn, &family)?;
            return Ok(Err(RefreshRefused::Replayed));
        }
    }
    if !still_valid(&expires_at) {
        return Ok(Err(RefreshRefused::Expired));
    }
    let Ok(customer) = subject.parse::<Uuid>() else { return Ok(Err(RefreshRefused::Unknown)) };
    conn.execute_cached(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?2) WHERE digest = ?1",
        params![token_digest(refresh_token), Utc::now().to_rfc3339()],
    )?;
    // A renewal proves nothing new: the session keeps the time its account was last proven.
    let proven_at = parse_time(proven_at.as_deref()).unwrap_or(DateTime::<Utc>::MIN_UTC);
    Ok(Ok((customer, issue_in_family(conn, Role::Customer, &subject, &family, proven_at)?)))
}

/// Ends the session the bearer token belongs to (its family); false when the token is unknown.
pub fn sign_out(conn: &Connection, token: &str) -> rusqlite::Result<bool> {
    let family: Option<Option<String>> = conn
        .query_row_cached("SELECT family FROM tokens WHERE digest = ?1", [token_digest(token)], |r| r.get(0))
        .optional()?;
    let Some(family) = family else { return Ok(false) };
    conn.execute_cached("DELETE FROM tokens WHERE digest = ?1", [token_digest(token)])?;
    if let Some(family) = family {
        end_family(conn, &family)?;
    }
    Ok(true)
}

/// How many sessions of `subject` are live. A session is a token family, live while one of its
/// tokens still opens it: an access token not expired, or a refresh token neither spent nor
/// expired. So a renewal, which adds a pair to its family, is no second session, and a session
/// whose access token's hour is up is still live while its refresh token renews it. (A spent token
/// presented again within the grace for lost answers renews too, but its family already holds the
/// unspent token that renewal issued.)
pub fn live_sessions(conn: &Connection, subject: &str) -> rusqlite::Result<u32> {
    conn.query_row_cached(
        "SELECT COUNT(*) FROM (
             SELECT family FROM tokens WHERE subject = ?1 AND expires_at > ?2
             UNION
             SELECT family FROM refresh_tokens WHERE subject = ?1 AND expires_at > ?2 AND used_at IS NULL
         )",
        params![subject, Utc::now().to_rfc3339()],
        |r| r.get(0),
    )
}

fn end_family(conn: &Connection, family: &str) -> rusqlite::Result<()> {
    conn.execute_cached("DELETE FROM tokens WHERE family = ?1", [family])?;
    conn.execute_cached("DELETE FROM refresh_tokens WHERE family = ?1", [family])?;
    Ok(())
}

/// Whether a stored expiry is still ahead; an unreadable or missing one is not.
fn still_valid(expires_at: &str) -> bool {
    parse_time(Some(expires_at)).is_some_and(|t| t > Utc::now())
}

fn parse_time(stored: Option<&str>) -> Option<DateTime<Utc>> {
    stored.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Dealership,
    Driver,
}

impl Role {
    fn access_lifetime(self) -> TimeDelta {
        match self {
            Role::Customer => CUSTOMER_ACCESS_LIFETIME,
            Role::Dealership | Role::Driver => SHIFT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Dealership => "dealership",
            Role::Driver => "driver",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Role::Customer => "cust",
            Role::Dealership => "dlr",
            Role::Driver => "drv",
        }
    }
}

pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// Who holds the request's token in `role`: 401 without a live token, 403 for a live token of
/// another role.
fn holder_for(state: &AppState, parts: &Parts, role: Role) -> Result<Holder, AppError> {
    let token = bearer(&parts.headers).ok_or_else(AppError::unauthorized)?;
    match holder(&state.db.lock(), token)? {
        Some(holder) if holder.role == role.name() => Ok(holder),
        Some(_) => Err(another_role()),
        None => Err(AppError::unauthorized()),
    }
}

fn another_role() -> AppError {
    AppError::forbidden("this token is of another role; sign in as the role this needs")
}

/// The role and subject a live token was issued to, and when its account was last proven.
#[derive(Debug, PartialEq, Eq)]
struct Holder {
    role: String,
    subject: String,
    proven_at: Option<DateTime<Utc>>,
}

/// Whether `token` is still live: not expired, not revoked (a sign-out).
pub fn is_live(conn: &Connection, token: &str) -> rusqlite::Result<bool> {
    Ok(holder(conn, token)?.is_some())
}

/// Who holds `token`, while it has not expired or been revoked.
fn holder(conn: &Connection, token: &str) -> rusqlite::Result<Option<Holder>> {
    let found: Option<(String, String, Option<String>, Option<String>)> = conn
        .query_row_cached(
            "SELECT role, subject, expires_at, proven_at FROM tokens WHERE digest = ?1",
            [token_digest(token)],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    Ok(match found {
        Some((role, subject, Some(expires_at), proven_at)) if still_valid(&expires_at) => {
            Some(Holder { role, subject, proven_at: parse_time(proven_at.as_deref()) })
        }
        _ => None,
    })
}

/// Who a request's bearer token stands for, as `role:subject` (tokens of one account share it), or
/// a digest of the presented key for the configured keys (sandbox, gateway merchant) and for
/// tokens no longer live, or `anonymous`: what idempotent answers are kept under.
pub fn principal(db: &crate::db::Db, headers: &http::HeaderMap) -> String {
    let Some(token) = bearer(headers) else { return "anonymous".to_owned() };
    match holder(&db.lock(), token) {
        Ok(Some(Holder { role, subject, .. })) => principal_of(&role, &subject),
        _ => format!("key:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token_digest(token))),
    }
}

fn principal_of(role: &str, subject: &str) -> String {
    format!("{role}:{subject}")
}

/// A signed-in customer.
#[derive(Debug, Clone, Copy)]
pub struct CustomerAuth {
    pub customer_id: Uuid,
    /// When the customer last proved the account with a sign-in code (platform clock).
    pub proven_at: Option<DateTime<Utc>>,
}

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let holder = holder_for(state, parts, Role::Customer)?;
        let customer_id = holder.subject.parse().map_err(|_| AppError::unauthorized())?;
        Ok(Self { customer_id, proven_at: holder.proven_at })
    }
}

/// A member of a dealership's staff.
#[derive(Debug, Clone)]
pub struct DealershipAuth {
    pub dealership_id: String,
}

impl FromRequestParts<AppState> for DealershipAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let dealership_id = holder_for(state, parts, Role::Dealership)?.subject;
        Ok(Self { dealership_id })
    }
}

/// A driver of a transport company; sees only the company's deliveries.
#[derive(Debug, Clone)]
pub struct DriverAuth {
    pub driver: &'static crate::catalogue::Driver,
}

impl DriverAuth {
    /// The driver's principal, as [`principal`] says it for the driver's live tokens: taken from
    /// the account the token was checked for, so a token that expires while a body comes in
    /// changes nothing.
    pub fn principal(&self) -> String {
        principal_of(Role::Driver.name(), self.driver.id)
    }
}

impl FromRequestParts<AppState> for DriverAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let driver_id = holder_for(state, parts, Role::Driver)?.subject;
        let driver = crate::catalogue::driver(&driver_id).ok_or_else(AppError::unauthorized)?;
        Ok(Self { driver })
    }
}

/// The developer's test-mode key.
#[derive(Debug, Clone, Copy)]
pub struct SandboxAuth;

impl FromRequestParts<AppState> for SandboxAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(&parts.headers).ok_or_else(AppError::unauthorized)?;
        if same_secret(token, &state.config.sandbox_token) {
            return Ok(Self);
        }
        match holder(&state.db.lock(), token)? {
            Some(_) => Err(another_role()),
            None => Err(AppError::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::db::Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = crate::db::Db::open(&dir.path().join("auth.sqlite3")).expect("db");
        (dir, db)
    }

    #[test]
    fn tokens_stop_working_when_they_expire() {
        let (_dir, db) = db();
        let conn = db.lock();
        let issued = issue_session(&conn, Role::Driver, "ic-lucia", Utc::now()).expect("issued");
        assert_eq!(issued.expires_in, SHIFT.num_seconds().unsigned_abs(), "a driver's token ends with the shift");
        assert!(issued.refresh_token.is_none(), "drivers sign in again for the next shift");
        let held = holder(&conn, &issued.access_token).expect("read").expect("live");
        assert_eq!((held.role.as_str(), held.subject.as_str()), ("driver", "ic-lucia"));
        conn.execute_cached("UPDATE tokens SET expires_at = ?1", [(Utc::now() - TimeDelta::seconds(1)).to_rfc3339()])
            .expect("age");
        assert_eq!(holder(&conn, &issued.access_token).expect("read"), None, "expired");
    }

    /// The sandbox counted unexpired access tokens: a renewed session read 2, and one still
    /// renewable by its refresh token read 0 once its hour was up.
    #[test]
    fn a_session_counts_once_while_its_access_or_refresh_token_is_live() {
        let (_dir, db) = db();
        let conn = db.lock();
        let customer = Uuid::new_v4().to_string();
        let live = || live_sessions(&conn, &customer).expect("counted");
        let refresh = issue_session(&conn, Role::Customer, &customer, Utc::now())
            .expect("issued")
            .refresh_token
            .expect("refresh");
        assert_eq!(live(), 1);
        let renewed = refresh_session(&conn, &refresh).expect("read").expect("renewed").1;
        assert_eq!(live(), 1, "a renewal is the same session");
        let past = (Utc::now() - TimeDelta::seconds(1)).to_rfc3339();
        conn.execute_cached("UPDATE tokens SET expires_at = ?1", [&past]).expect("age");
        assert_eq!(live(), 1, "its refresh token still renews it");
        issue_session(&conn, Role::Customer, &customer, Utc::now()).expect("a second phone");
        assert_eq!(live(), 2, "two sign-ins are two sessions");
        sign_out(&conn, &renewed.access_token).expect("signed out");
        assert_eq!(live(), 1, "signing out ends its session only");
        conn.execute_cached("UPDATE tokens SET expires_at = ?1", [&past]).expect("age");
        conn.execute_cached("UPDATE refresh_tokens SET expires_at = ?1", [&past]).expect("age");
        assert_eq!(live(), 0, "nothing renews it any more");
    }

    #[test]
    fn an_expired_refresh_token_renews_nothing() {
        let (_dir, db) = db();
        let conn = db.lock();
        let issued = issue_session(&conn, Role::Customer, &Uuid::new_v4().to_string(), Utc::now()).expect("issued");
        let refresh = issued.refresh_token.expect("customers get a refresh token");
        conn.execute_cached(
            "UPDATE refresh_tokens SET expires_at = ?1",
            [(Utc::now() - TimeDelta::seconds(1)).to_rfc3339()],
        )
        .expect("age");
        assert_eq!(refresh_session(&conn, &refresh).expect("read").err(), Some(RefreshRefused::Expired));
        assert_eq!(refresh_session(&conn, "rfr_unknown").expect("read").err(), Some(RefreshRefused::Unknown));
    }

    #[test]
    fn a_refresh_token_repeated_at_once_renews_and_later_ends_the_session() {
        let (_dir, db) = db();
        let conn = db.lock();
        let customer = Uuid::new_v4().to_string();
        let refresh = issue_session(&conn, Role::Customer, &customer, Utc::now())
            .expect("issued")
            .refresh_token
            .expect("refresh");
        let first = refresh_session(&conn, &refresh).expect("read").expect("renewed");
        let lost_answer = refresh_session(&conn, &refresh).expect("read").expect("renewed again after a lost answer");
        conn.execute_cached(
            "UPDATE refresh_tokens SET used_at = ?1 WHERE used_at IS NOT NULL",
            [(Utc::now() - LOST_ANSWER_GRACE - TimeDelta::seconds(1)).to_rfc3339()],
        )
        .expect("age");
        assert_eq!(refresh_session(&conn, &refresh).expect("read").err(), Some(RefreshRefused::Replayed));
        for ended in [first.1.access_token, lost_answer.1.access_token] {
            assert_eq!(holder(&conn, &ended).expect("read"), None, "the whole session ended");
        }
    }
}
