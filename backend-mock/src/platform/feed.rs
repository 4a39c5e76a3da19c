//! The sandbox feed: what happens on the platform as it happens, as Server-Sent Events (like
//! `stripe listen`): every order event appended, every push, email and SMS sent, and every webhook
//! the factory and the payment gateway simulators send the platform.
//!
//! Items are read from the database's journal (`sandbox_feed`, filled by triggers) after the
//! listener's cursor, a page at a time, so nothing is lost between two reads and nothing is held in
//! memory beyond a page; a listener sleeps until [`crate::db::Db::announce_feed`] or a periodic
//! look. The SSE `id` of each frame is its cursor: a listener that reconnects with `Last-Event-ID`
//! (or `?after=`) goes on from there without loss or repeats. Every stream opens with a frame that
//! carries only the cursor, and a filtered listener is told the cursor again (a frame without
//! data) when it passed rows it does not want, so a reconnection never starts further back than
//! what was already looked at. Each read moves the cursor to the last row it looked at, matching
//! or not, readable or not, so neither a rarely matching filter nor a damaged row is read twice.
//! The dashboard's live log serves the same stream.

use crate::db::CachedSql as _;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use caas_protocol::OrderState;
use caas_protocol::api::{ApiError, EventKind};
use caas_protocol::messages::{Language, Reader, event_sentence, state_label};
use caas_protocol::payment::{GatewayEventType, GatewayWebhook};
use caas_protocol::webhook::{FactoryEventType, FactoryOrderUpdate};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::sandbox::{OUTBOUND_COLUMNS, OutboundMessage, outbound_message};
use crate::auth::SandboxAuth;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Items read per query: what a listener holds in memory at most.
const PAGE: u32 = 100;
/// The most journal rows one read looks at, so a filter that rarely matches holds the database
/// only briefly; the listener reads on at once while rows remain.
const MAX_SCAN: i64 = 2_000;
/// How often a listener looks without being woken, for a commit that did not announce itself.
const FALLBACK_LOOK: Duration = Duration::from_secs(2);
/// The most `kind` values a query may give.
const MAX_KINDS: usize = 32;
/// The longest text a label quotes from a message.
const MAX_QUOTED_CHARS: usize = 160;

/// What a feed item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// An event appended to an order's log.
    Event,
    /// A push to a device (FCM, APNs or SSE).
    Push,
    Email,
    Sms,
    /// A webhook the factory or the gateway simulator sent the platform (one per attempt).
    Webhook,
}

impl FeedKind {
    pub const ALL: [FeedKind; 5] = [FeedKind::Event, FeedKind::Push, FeedKind::Email, FeedKind::Sms, FeedKind::Webhook];

    /// The name in queries, in the journal and as the SSE `event:` of a frame.
    pub fn wire_name(self) -> &'static str {
        match self {
            FeedKind::Event => "event",
            FeedKind::Push => "push",
            FeedKind::Email => "email",
            FeedKind::Sms => "sms",
            FeedKind::Webhook => "webhook",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.wire_name() == name)
    }
}

/// One thing that happened on the platform: the `data` of a feed frame.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedItem {
    /// The cursor: a listener resumes after it (`Last-Event-ID` or `?after=`). Increasing, with
    /// gaps where a filter left items out.
    pub seq: i64,
    pub kind: FeedKind,
    /// What happened in words (English), for people: the event's sentence as the customer reads
    /// it, the message's text, or the webhook and what came of it.
    #[serde(default)]
    pub label: String,
    /// The order it is about, when it is about one (a sign-in email is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    /// When it happened; absent for an event an older version kept without a readable time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// For `event`: the event as the order's log keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<caas_protocol::api::OrderEvent>)]
    pub event: Option<Value>,
    /// For `push`, `email` and `sms`: the message as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<OutboundMessage>,
    /// For `webhook`: the attempt and what came of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSent>,
}

/// One attempt to deliver a webhook to the platform.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookSent {
    pub seq: i64,
    /// `factory` or `gateway`.
    pub sender: String,
    pub webhook_id: String,
    /// The webhook's type, e.g. `order.stage_changed` or `payment_intent.succeeded`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered`, `retrying` (the platform could not take it now) or `refused` (for good).
    pub outcome: String,
    /// The platform's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The body as sent (JSON), or its first 16 KiB as text when `truncated`.
    pub payload: Value,
    pub truncated: bool,
    pub sent_at: String,
}

/// Which items a listener wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    pub order_id: Option<Uuid>,
    /// Empty: every kind.
    pub kinds: Vec<FeedKind>,
    /// Event types (`state_changed`, ...); empty: every event.
    pub event_types: Vec<String>,
}

/// Where a listener starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only what happens from now on.
    Now,
    /// Everything the platform kept.
    Beginning,
    /// What came after this cursor.
    After(i64),
}

/// The query of the feed, as documented; read by [`parse_query`], which takes `kind` repeated.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "documents the query; `parse_query` reads it, repeated `kind` included")]
pub struct FeedQuery {
    /// Only the items about this order.
    order_id: Option<Uuid>,
    /// `event`, `push`, `email`, `sms`, `webhook`, or `event:TYPE` for events of one type (e.g.
    /// `event:state_changed`); repeated or comma-separated. Every kind when absent; a plain `event`
    /// is every event, whatever `event:TYPE` is given beside it.
    kind: Option<Vec<String>>,
    /// Resume after this cursor (a frame's `id`); the `Last-Event-ID` header wins over it. A cursor
    /// beyond the newest item (a listener coming back to a platform whose journal was started
    /// anew) is refused with `422`: connect again without it.
    after: Option<i64>,
    /// `true`: from the first item the platform kept (its journal keeps the newest 100 000).
    from_start: Option<bool>,
    /// `now` (the default): only what happens from now on.
    since: Option<String>,
}

/// Reads the feed's query: filters and where to start. `last_event_id` (the header a reconnecting
/// listener sends) wins over `after`, `from_start` and `since`.
pub fn parse_query(query: Option<&str>, last_event_id: Option<&str>) -> AppResult<(FeedFilter, Start)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|_| AppError::invalid("the query cannot be read"))?;
    let mut filter = FeedFilter::default();
    let (mut after, mut from_start, mut since_now, mut kinds_given) = (None, false, false, 0);
    let mut every_event = false;
    for (name, value) in &pairs {
        match name.as_str() {
            "order_id" => {
                let id = value.parse().map_err(|_| AppError::invalid("`order_id` must be a UUID"))?;
                if filter.order_id.replace(id).is_some() {
                    return Err(AppError::invalid("`order_id` is given once"));
                }
            }
            "kind" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    kinds_given += 1;
                    if kinds_given > MAX_KINDS {
                        return Err(AppError::invalid(format!("at most {MAX_KINDS} `kind` values")));
                    }
                    every_event |= part == FeedKind::Event.wire_name();
                    add_kind(&mut filter, part)?;
                }
            }
            "after" => after = Some(cursor(value, "`after`")?),
            "from_start" => {
                from_start = value.parse().map_err(|_| AppError::invalid("`from_start` is `true` or `false`"))?;
            }
            "since" if value == "now" => since_now = true,
            "since" => return Err(AppError::invalid("`since` is `now`; use `after` or `from_start` for the past")),
            _ => return Err(AppError::invalid(format!("`{name}` is not a parameter of the feed"))),
        }
    }
    // A plain `event` asks for every event: a type beside it does not narrow it.
    if every_event {
        filter.event_types.clear();
    }
    if [after.is_some(), from_start, since_now].into_iter().filter(|given| *given).count() > 1 {
        return Err(AppError::invalid("give one of `after`, `from_start` and `since`"));
    }
    let start = match (last_event_id, after) {
        (Some(id), _) => Start::After(cursor(id, "`Last-Event-ID`")?),
        (None, Some(after)) => Start::After(after),
        (None, None) if from_start => Start::Beginning,
        (None, None) => Start::Now,
    };
    Ok((filter, start))
}

fn add_kind(filter: &mut FeedFilter, part: &str) -> AppResult<()> {
    let (kind, event_type) = match part.split_once(':') {
        Some(("event", event_type)) => (FeedKind::Event, Some(event_type)),
        Some(_) => return Err(AppError::invalid("only events have types: `event:TYPE`")),
        None => {
            (FeedKind::parse(part).ok_or_else(|| AppError::invalid(format!("`{part}` is not a kind of item")))?, None)
        }
    };
    if let Some(event_type) = event_type {
        if !caas_protocol::push::is_type_name(event_type) {
            return Err(AppError::invalid("an event type is 1 to 64 lowercase letters, digits or `_`"));
        }
        if !filter.event_types.iter().any(|known| known == event_type) {
            filter.event_types.push(event_type.to_owned());
        }
    }
    if !filter.kinds.contains(&kind) {
        filter.kinds.push(kind);
    }
    Ok(())
}

fn cursor(text: &str, what: &str) -> AppResult<i64> {
    text.trim().parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| AppError::invalid(format!("{what} is a cursor")))
}

/// The cursor of the newest row of the journal (0 when it is empty).
fn newest(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row_cached("SELECT COALESCE(MAX(seq), 0) FROM sandbox_feed", [], |r| r.get(0))?)
}

/// Where `start` is in the journal now. A cursor beyond the newest row cannot be one this journal
/// gave (the platform started on a new database since): refused, rather than a listener silently
/// hearing nothing until the new journal catches up with it.
pub fn cursor_at(conn: &Connection, start: Start) -> AppResult<i64> {
    let newest = newest(conn)?;
    match start {
        Start::Beginning => Ok(0),
        Start::Now => Ok(newest),
        Start::After(cursor) if cursor <= newest => Ok(cursor),
        Start::After(cursor) => Err(AppError::invalid(format!(
            "the cursor {cursor} is beyond the newest item ({newest}): this platform's journal is not the one it came \
             from (it was started on a new database); connect again without `Last-Event-ID` or `after`"
        ))),
    }
}

/// The filter as SQL parameters: the order, and the kinds and event types as comma-delimited
/// lists (`,push,email,`). Kinds and event types are checked names (`[a-z0-9_]`), so the lists
/// are exact.
fn filter_params(filter: &FeedFilter) -> (Option<String>, Option<String>, Option<String>) {
    let listed = |names: Vec<&str>| (!names.is_empty()).then(|| format!(",{},", names.join(",")));
    (
        filter.order_id.map(|id| id.to_string()),
        listed(filter.kinds.iter().map(|k| k.wire_name()).collect()),
        listed(filter.event_types.iter().map(String::as_str).collect()),
    )
}

/// The condition of [`filter_params`] (`?2` to `?4`) on the journal `f`.
const FILTER_SQL: &str = "(?2 IS NULL OR f.order_id = ?2)
           AND (?3 IS NULL OR instr(?3, ',' || f.kind || ',') > 0)
           AND (f.kind <> 'event' OR ?4 IS NULL OR instr(?4, ',' || f.detail || ',') > 0)";

/// The number of columns in a comma-separated list.
const fn column_count(columns: &str) -> usize {
    let bytes = columns.as_bytes();
    let (mut count, mut i) = (1, 0);
    while i < bytes.len() {
        if bytes[i] == b',' {
            count += 1;
        }
        i += 1;
    }
    count
}

/// The journal's row and, for an event, its body: the first columns of a read.
const JOURNAL_COLUMNS: &str = "f.seq, f.kind, f.order_id, f.at, e.body";
/// The columns [`webhook_sent`] reads, in its order.
const WEBHOOK_COLUMNS: &str =
    "seq, sender, webhook_id, type, order_id, attempt, outcome, status, error, payload, truncated, sent_at";
/// Where the message's columns ([`OUTBOUND_COLUMNS`]) start.
const MESSAGE: usize = column_count(JOURNAL_COLUMNS);
/// The body of the event a push is about.
const PUSHED_EVENT: usize = MESSAGE + column_count(OUTBOUND_COLUMNS);
/// Where the webhook's columns ([`WEBHOOK_COLUMNS`]) start.
const WEBHOOK: usize = PUSHED_EVENT + 1;

/// What one read of the journal gave.
#[derive(Debug, Default)]
pub struct Page {
    /// The items that match, oldest first.
    pub items: Vec<FeedItem>,
    /// Where the next read starts: the last row looked at, whether it matched, could be read or
    /// still points to something.
    pub cursor: i64,
    /// Whether rows after `cursor` were there already: read on at once.
    pub more: bool,
}

/// Up to a page of items after `cursor`, oldest first, looking at [`MAX_SCAN`] rows at most. A row
/// that cannot be read is logged and passed over; one whose event, message or webhook is gone is
/// passed over.
pub fn read_after(conn: &Connection, filter: &FeedFilter, cursor: i64) -> AppResult<Page> {
    let newest = newest(conn)?;
    let until = newest.min(cursor.saturating_add(MAX_SCAN));
    if until <= cursor {
        return Ok(Page { items: Vec::new(), cursor, more: false });
    }
    let (order, kinds, types) = filter_params(filter);
    let prefixed =
        |columns: &str, table: &str| columns.split(", ").map(|c| format!("{table}.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {JOURNAL_COLUMNS}, {messages}, pe.body, {webhooks}
         FROM sandbox_feed f
         LEFT JOIN order_events e ON f.kind = 'event' AND e.order_id = f.order_id AND e.version = f.ref
         LEFT JOIN outbound_messages m ON f.kind IN ('push', 'email', 'sms') AND m.seq = f.ref
         LEFT JOIN order_events pe ON f.kind = 'push' AND pe.event_id = m.event_id
         LEFT JOIN webhook_log w ON f.kind = 'webhook' AND w.seq = f.ref
         WHERE f.seq > ?1 AND f.seq <= ?6 AND {FILTER_SQL}
         ORDER BY f.seq LIMIT ?5",
        messages = prefixed(OUTBOUND_COLUMNS, "m"),
        webhooks = prefixed(WEBHOOK_COLUMNS, "w"),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows =
        stmt.query_map(params![cursor, order, kinds, types, PAGE, until], |r| Ok((r.get::<_, i64>(0)?, item(r))))?;
    let (mut items, mut looked_at, mut last) = (Vec::new(), 0_u32, cursor);
    for row in rows {
        let (seq, item) = row?;
        looked_at += 1;
        last = seq;
        match item {
            Ok(Some(item)) => items.push(item),
            Ok(None) => tracing::debug!(seq, "a feed row points to nothing kept; passed over"),
            Err(error) => tracing::warn!(seq, %error, "a feed row could not be read; passed over"),
        }
    }
    // A full page may stop short of `until`; otherwise every row up to it was looked at.
    let (cursor, more) = if looked_at == PAGE { (last, true) } else { (until, until < newest) };
    Ok(Page { items, cursor, more })
}

/// The cursor after which the last `count` items of `filter` are, looking back no further than
/// `horizon` rows: where a log that opens with some history starts.
pub fn cursor_before_last(conn: &Connection, filter: &FeedFilter, count: u32, horizon: i64) -> AppResult<i64> {
    let newest = newest(conn)?;
    let (order, kinds, types) = filter_params(filter);
    let sql = format!(
        "SELECT MIN(seq) FROM (SELECT f.seq FROM sandbox_feed f WHERE f.seq > ?1 AND {FILTER_SQL}
                               ORDER BY f.seq DESC LIMIT ?5)"
    );
    let oldest: Option<i64> =
        conn.query_row_cached(&sql, params![newest.saturating_sub(horizon), order, kinds, types, count], |r| r.get(0))?;
    Ok(oldest.map_or(newest, |seq| seq - 1))
}

/// The item of a journal row, or none when what it points to is gone.
fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<FeedItem>> {
    let kind: String = r.get(1)?;
    let Some(kind) = FeedKind::parse(&kind) else { return Ok(None) };
    let reader = Reader::in_utc(Language::English);
    let mut item = FeedItem {
        seq: r.get(0)?,
        kind,
        label: String::new(),
        order_id: r.get::<_, Option<String>>(2)?.and_then(|id| id.parse().ok()),
        at: r.get::<_, Option<String>>(3)?.and_then(|at| DateTime::parse_from_rfc3339(&at).ok()).map(|at| at.to_utc()),
        event: None,
        message: None,
        webhook: None,
    };
    match kind {
        FeedKind::Event => {
            let Some(body) = r.get::<_, Option<String>>(4)? else { return Ok(None) };
            let event = serde_json::from_str(&body).unwrap_or(Value::String(body));
            item.label = event_label(&event, &reader);
            item.event = Some(event);
        }
        FeedKind::Push | FeedKind::Email | FeedKind::Sms => {
            if r.get::<_, Option<i64>>(MESSAGE)?.is_none() {
                return Ok(None);
            }
            let message = outbound_message(r, MESSAGE)?;
            let pushed: Option<Value> =
                r.get::<_, Option<String>>(PUSHED_EVENT)?.and_then(|body| serde_json::from_str(&body).ok());
            item.label = message_label(kind, &message, pushed.as_ref(), &reader);
            item.message = Some(message);
        }
        FeedKind::Webhook => {
            let Some(webhook) = webhook_sent(r, WEBHOOK)? else { return Ok(None) };
            item.label = webhook_label(&webhook, &reader);
            item.webhook = Some(webhook);
        }
    }
    Ok(Some(item))
}

/// A webhook attempt from a row whose columns from `first` on are [`WEBHOOK_COLUMNS`]; none when
/// the attempt is no longer kept.
fn webhook_sent(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<WebhookSent>> {
    let Some(seq) = r.get::<_, Option<i64>>(first)? else { return Ok(None) };
    let payload: String = r.get(first + 9)?;
    Ok(Some(WebhookSent {
        seq,
        sender: r.get(first + 1)?,
        webhook_id: r.get(first + 2)?,
        kind: r.get(first + 3)?,
        order_id: r.get::<_, Option<String>>(first + 4)?.and_then(|id| id.parse().ok()),
        attempt: r.get(first + 5)?,
        outcome: r.get(first + 6)?,
        status: r.get(first + 7)?,
        error: r.get(first + 8)?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
        truncated: r.get(first + 10)?,
        sent_at: r.get(first + 11)?,
    }))
}

/// An event as its customer reads it.
fn event_label(event: &Value, reader: &Reader) -> String {
    match serde_json::from_value::<EventKind>(event.clone()) {
        Ok(kind) => event_sentence(&kind, reader),
        Err(_) => "An update to the order that this platform cannot put in words.".to_owned(),
    }
}

/// A message in words: where it went and what it said.
fn message_label(kind: FeedKind, message: &OutboundMessage, pushed: Option<&Value>, reader: &Reader) -> String {
    let quoted = |pointer: &str| message.payload.pointer(pointer).and_then(Value::as_str).map(first_words);
    match kind {
        FeedKind::Push => {
            let device = match message.channel.as_str() {
                "fcm" => "an Android phone",
                "apns" => "an iPhone",
                "sse" => "the app's live connection",
                _ => "a device",
            };
            let said = pushed.map_or_else(|| "an update to the order.".to_owned(), |event| event_label(event, reader));
            format!("Push to {device}: {said}")
        }
        FeedKind::Sms => format!("SMS to {}: {}", message.recipient, quoted("/body").unwrap_or_default()),
        _ => {
            let said = quoted("/body").or_else(|| quoted("/subject")).unwrap_or_default();
            format!("Email to {}: {said}", message.recipient)
        }
    }
}

/// A message's text cut to its first line and [`MAX_QUOTED_CHARS`].
fn first_words(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let mut words: String = line.chars().take(MAX_QUOTED_CHARS).collect();
    if line.chars().count() > MAX_QUOTED_CHARS {
        words.push('…');
    }
    words
}

/// A webhook attempt in words: who said what, and what the platform made of it.
fn webhook_label(webhook: &WebhookSent, reader: &Reader) -> String {
    let sender = match webhook.sender.as_str() {
        "factory" => "The factory",
        "gateway" => "The payment gateway",
        _ => "A simulator",
    };
    let said = webhook_words(webhook, reader).unwrap_or_else(|| "sent the platform an update".to_owned());
    let outcome = match webhook.outcome.as_str() {
        "delivered" => "the platform took it",
        "retrying" => "the platform could not take it now; it will be sent again",
        "refused" => "the platform refused it for good",
        _ => "what came of it is not known",
    };
    let attempt = if webhook.attempt > 1 { format!(" (attempt {})", webhook.attempt) } else { String::new() };
    format!("{sender} {said}: {outcome}{attempt}.")
}

/// What a webhook said, when its body can be read.
fn webhook_words(webhook: &WebhookSent, reader: &Reader) -> Option<String> {
    let kind = webhook.kind.as_deref()?;
    if let Some(factory) = wire_type::<FactoryEventType>(kind) {
        let update: FactoryOrderUpdate = serde_json::from_value(webhook.payload.get("data")?.clone()).ok()?;
        return Some(match factory {
            FactoryEventType::StageChanged if update.stage != OrderState::Unknown => {
                format!("says the car is now “{}”", state_label(update.stage, Language::English))
            }
            FactoryEventType::StageChanged => "says the car moved on".to_owned(),
            FactoryEventType::EstimateRevised => {
                format!("expects to finish the car on {}", update.estimated_completion.format("%Y-%m-%d"))
            }
        });
    }
    let gateway = wire_type::<GatewayEventType>(kind)?;
    let amount = serde_json::from_value::<GatewayWebhook>(webhook.payload.clone())
        .map(|body| format!(" of {}", reader.money(&body.data.amount)))
        .unwrap_or_default();
    Some(match gateway {
        GatewayEventType::Succeeded => format!("says a payment{amount} went through"),
        GatewayEventType::Processing => format!("says a payment{amount} is being processed"),
        GatewayEventType::PaymentFailed => format!("says a payment{amount} failed"),
    })
}

/// A webhook type by its wire name, if it is one of `T`'s.
fn wire_type<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(Value::String(name.to_owned())).ok()
}

/// What a listener is sent next: an item, or only where it stands.
enum Next {
    Item(Box<FeedItem>),
    Cursor(i64),
}

/// A listener's place in the journal and the page it has read but not sent yet.
struct Listener {
    db: Db,
    filter: FeedFilter,
    cursor: i64,
    /// The cursor the listener was last told (by an item's or a cursor frame's id).
    told: Option<i64>,
    page: VecDeque<FeedItem>,
    changes: tokio::sync::watch::Receiver<u64>,
}

impl Listener {
    /// The next frame, waiting for one as long as it takes: first the cursor it starts from, then
    /// the items, and the cursor again when a read passed rows the listener does not want.
    async fn next(&mut self) -> Next {
        loop {
            if let Some(item) = self.page.pop_front() {
                self.told = Some(item.seq);
                return Next::Item(Box::new(item));
            }
            if self.told != Some(self.cursor) {
                self.told = Some(self.cursor);
                return Next::Cursor(self.cursor);
            }
            // Marked seen before the read: an announcement after it wakes the wait below.
            self.changes.borrow_and_update();
            let read = read_after(&self.db.lock(), &self.filter, self.cursor);
            match read {
                Ok(page) => {
                    let advanced = page.cursor != self.cursor;
                    self.cursor = page.cursor;
                    self.page.extend(page.items);
                    if advanced || page.more {
                        continue;
                    }
                }
                Err(error) => tracing::warn!(?error, "the sandbox feed could not be read; trying again"),
            }
            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(FALLBACK_LOOK).await;
                    }
                }
                () = tokio::time::sleep(FALLBACK_LOOK) => {}
            }
        }
    }
}

/// The SSE frame of what comes next: `event: <kind>`, `id: <seq>`, `data: <the item as JSON>`, or
/// `id: <cursor>` alone.
fn frame(next: &Next) -> Option<Event> {
    match next {
        Next::Cursor(cursor) => Some(Event::default().id(cursor.to_string()).comment("cursor")),
        Next::Item(item) => match serde_json::to_string(item) {
            Ok(data) => Some(Event::default().event(item.kind.wire_name()).id(item.seq.to_string()).data(data)),
            Err(error) => {
                tracing::error!(%error, seq = item.seq, "a feed item could not be written");
                None
            }
        },
    }
}

/// The live feed from `cursor` on, until the mock stops.
pub fn stream(
    state: &AppState,
    filter: FeedFilter,
    cursor: i64,
) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    let listener = Listener {
        db: state.db.clone(),
        filter,
        cursor,
        told: None,
        page: VecDeque::new(),
        changes: state.db.feed_changes(),
    };
    let frames = futures_util::stream::unfold(listener, |mut listener| async move {
        let next = listener.next().await;
        Some((next, listener))
    })
    .filter_map(|next| std::future::ready(frame(&next).map(Ok)));
    let mut stopping = state.stopping.clone();
    frames.take_until(async move {
        let _sender_gone_means_stop = stopping.wait_for(|stop| *stop).await;
    })
}

/// The stream a feed request asks for, or why it cannot have it.
pub fn open(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
) -> AppResult<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| v.to_str().map_err(|_| AppError::invalid("`Last-Event-ID` is a cursor")))
        .transpose()?;
    let (filter, start) = parse_query(query, last_event_id)?;
    let cursor = cursor_at(&state.db.lock(), start)?;
    tracing::debug!(?filter, cursor, "a sandbox feed listener connected");
    Ok(stream(state, filter, cursor))
}

/// A stream as an SSE answer, kept alive through idle proxies.
pub fn sse<S>(stream: S) -> Sse<KeepAliveStream<S>>
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[utoipa::path(get, path = "/v1/sandbox/feed", tag = "sandbox",
    params(FeedQuery,
           ("Last-Event-ID" = Option<String>, Header, description = "the `id` of the last frame received: resume after it")),
    responses((status = 200, content_type = "text/event-stream", body = FeedItem,
               description = "Server-Sent Events. The first frame carries only `id:`, the cursor the stream starts \
                              from, and no data; then one frame per item: `event:` the item's `kind`, `id:` its `seq` \
                              (the cursor), `data:` the item as one JSON object. A frame with only `id:` also comes \
                              when the listener's filter passed items over, so a reconnection starts after them. A \
                              comment line every 15 s keeps an idle stream open; the stream ends when the platform \
                              stops"),
              (status = 422, body = ApiError, description = "invalid_request: a filter or a cursor cannot be read, or \
                                                             the cursor is beyond the newest item (the platform \
                                                             started on a new database): connect again without it")),
    security(("bearer" = [])))]
/// What happens on the platform as it happens: every order event, every push, email and SMS and
/// every webhook the factory and gateway simulators send, filtered by order and kind. Starts with
/// what happens from now on, or from the first item kept (`from_start`), or after a cursor
/// (`Last-Event-ID`, `after`), so a listener that reconnects loses nothing and sees nothing twice.
pub async fn feed(
    State(state): State<AppState>,
    _: SandboxAuth,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    open(&state, query.as_deref(), &headers).map(sse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_repeated_or_comma_separated_and_event_types_narrow_events() {
        let (filter, start) =
            parse_query(Some("kind=push,email&kind=event:state_changed&kind=push"), None).expect("ok");
        assert_eq!(filter.kinds, vec![FeedKind::Push, FeedKind::Email, FeedKind::Event]);
        assert_eq!(filter.event_types, vec!["state_changed".to_owned()]);
        assert_eq!(start, Start::Now, "only new items unless asked");
        for bad in [
            "kind=letters",
            "kind=push:x",
            "kind=event:Bad",
            "since=yesterday",
            "after=-1",
            "colour=red",
            "after=3&from_start=true",
            "order_id=nope",
        ] {
            assert!(parse_query(Some(bad), None).is_err(), "{bad} is refused");
        }
        let too_many = vec!["kind=push"; MAX_KINDS + 1].join("&");
        assert!(parse_query(Some(&too_many), None).is_err(), "bounded");
    }

    #[test]
    fn a_plain_event_kind_is_every_event_whatever_type_is_given_beside_it() {
        for query in ["kind=event&kind=event:state_changed", "kind=event:state_changed,event"] {
            let (filter, _) = parse_query(Some(query), None).expect("ok");
            assert_eq!(filter.kinds, vec![FeedKind::Event], "{query}");
            assert!(filter.event_types.is_empty(), "{query}: every event");
        }
    }

    #[test]
    fn the_last_event_id_of_a_reconnecting_listener_wins() {
        assert_eq!(parse_query(Some("from_start=true"), None).expect("ok").1, Start::Beginning);
        assert_eq!(parse_query(Some("after=7"), None).expect("ok").1, Start::After(7));
        assert_eq!(parse_query(Some("after=7"), Some("12")).expect("ok").1, Start::After(12));
        assert_eq!(parse_query(Some("from_start=true"), Some("12")).expect("ok").1, Start::After(12));
        assert!(parse_query(None, Some("twelve")).is_err());
    }

    fn database() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("feed.sqlite3")).expect("db");
        (dir, db)
    }

    #[test]
    fn reads_follow_the_journal_with_their_filters() {
        let (_dir, db) = database();
        let conn = db.lock();
        let order = Uuid::new_v4();
        conn.execute_batch(&format!(
            "INSERT INTO outbound_messages (channel, recipient, order_id, payload, created_at)
             VALUES ('fcm', 'device', '{order}', '{{\"hint\":1}}', '2026-11-01T10:00:00+00:00');
             INSERT INTO outbound_messages (channel, recipient, payload, created_at)
             VALUES ('email', 'ana@example.com', '{{\"subject\":\"Your code\",\"body\":\"Your code is 123456\"}}',
                     '2026-11-01T10:00:01+00:00');
             INSERT INTO webhook_log (sender, webhook_id, type, order_id, attempt, outcome, status, payload, sent_at)
             VALUES ('factory', 'msg_1', 'order.stage_changed', '{order}', 1, 'delivered', 204, 'not json',
                     '2026-11-01T10:00:02+00:00');"
        ))
        .expect("rows");
        let all = read_after(&conn, &FeedFilter::default(), 0).expect("read").items;
        assert_eq!(
            all.iter().map(|i| i.kind).collect::<Vec<_>>(),
            [FeedKind::Push, FeedKind::Email, FeedKind::Webhook]
        );
        assert_eq!(all[0].message.as_ref().map(|m| m.payload.clone()), Some(serde_json::json!({ "hint": 1 })));
        assert_eq!(all[1].label, "Email to ana@example.com: Your code is 123456");
        let webhook = all[2].webhook.as_ref().expect("webhook");
        assert_eq!(
            (webhook.kind.as_deref(), webhook.status, webhook.attempt),
            (Some("order.stage_changed"), Some(204), 1)
        );
        assert_eq!(webhook.payload, Value::String("not json".into()), "a body that is not JSON is shown as text");
        let of_order = FeedFilter { order_id: Some(order), ..FeedFilter::default() };
        assert_eq!(read_after(&conn, &of_order, 0).expect("read").items.len(), 2);
        assert_eq!(read_after(&conn, &of_order, all[0].seq).expect("read").items.len(), 1, "after the cursor only");
        let emails = FeedFilter { kinds: vec![FeedKind::Email], ..FeedFilter::default() };
        assert_eq!(read_after(&conn, &emails, 0).expect("read").items.len(), 1);
        assert_eq!(cursor_at(&conn, Start::Now).expect("now"), all[2].seq);
    }

    #[test]
    fn a_read_moves_the_cursor_past_every_row_it_looked_at() {
        let (_dir, db) = database();
        let conn = db.lock();
        let (wanted, other) = (Uuid::new_v4(), Uuid::new_v4());
        let message = |order: Uuid| {
            format!(
                "INSERT INTO outbound_messages (channel, recipient, order_id, payload, created_at)
                 VALUES ('email', 'a@example.com', '{order}', '{{}}', '2026-11-01T10:00:00Z');"
            )
        };
        conn.execute_batch(&message(wanted)).expect("row");
        for _ in 0..(PAGE * 3) {
            conn.execute_batch(&message(other)).expect("row");
        }
        let newest = cursor_at(&conn, Start::Now).expect("now");
        let rare = FeedFilter { order_id: Some(wanted), ..FeedFilter::default() };
        let page = read_after(&conn, &rare, 0).expect("read");
        assert_eq!(page.items.len(), 1);
        assert_eq!((page.cursor, page.more), (newest, false), "to the newest row, though the last ones did not match");
        let nothing = read_after(&conn, &rare, page.cursor).expect("read");
        assert_eq!((nothing.items.len(), nothing.cursor), (0, newest), "nothing read twice");

        // Rows whose message is gone, a page of them and more, do not hold the feed.
        conn.execute_batch(&format!("DELETE FROM outbound_messages WHERE order_id = '{other}';")).expect("gone");
        conn.execute_batch(&message(wanted)).expect("row");
        let mut cursor = 0;
        let mut heard = Vec::new();
        for _ in 0..10 {
            let page = read_after(&conn, &FeedFilter::default(), cursor).expect("read");
            heard.extend(page.items);
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        assert_eq!(heard.len(), 2, "the messages before and after the gone ones");
        assert_eq!(cursor, cursor_at(&conn, Start::Now).expect("now"));
    }

    #[test]
    fn a_row_that_cannot_be_read_is_passed_over_and_the_rest_follows() {
        let (_dir, db) = database();
        let conn = db.lock();
        conn.execute_batch(
            "INSERT INTO webhook_log (sender, webhook_id, type, attempt, outcome, payload, sent_at)
             VALUES ('factory', 'msg_bad', 'order.stage_changed', 'not a number', 'delivered', '{}', 'now');
             INSERT INTO outbound_messages (channel, recipient, payload, created_at)
             VALUES ('sms', '+34600000000', '{\"body\":\"Your car is built\"}', '2026-11-01T10:00:00Z');",
        )
        .expect("rows");
        let page = read_after(&conn, &FeedFilter::default(), 0).expect("a damaged row does not fail the page");
        assert_eq!(page.items.iter().map(|i| i.kind).collect::<Vec<_>>(), [FeedKind::Sms]);
        assert_eq!(page.items[0].label, "SMS to +34600000000: Your car is built");
        assert_eq!(page.cursor, cursor_at(&conn, Start::Now).expect("now"));
    }

    #[test]
    fn a_cursor_beyond_the_newest_row_is_refused() {
        let (_dir, db) = database();
        let conn = db.lock();
        assert_eq!(cursor_at(&conn, Start::After(0)).expect("the empty journal's own cursor"), 0);
        let refused = cursor_at(&conn, Start::After(5)).expect_err("a cursor of another journal");
        assert_eq!(refused.status, http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.message.contains("beyond the newest item (0)"), "{}", refused.message);
    }

    #[test]
    fn the_backlog_counts_only_the_items_the_filter_wants() {
        let (_dir, db) = database();
        let conn = db.lock();
        for channel in ["email", "sms", "email", "fcm", "fcm", "fcm"] {
            conn.execute_cached(
                "INSERT INTO outbound_messages (channel, recipient, payload, created_at) VALUES (?1, 'r', '{}', 'now')",
                [channel],
            )
            .expect("row");
        }
        let emails = FeedFilter { kinds: vec![FeedKind::Email], ..FeedFilter::default() };
        let after = cursor_before_last(&conn, &emails, 2, 1_000).expect("cursor");
        assert_eq!(read_after(&conn, &emails, after).expect("read").items.len(), 2, "both emails, not the pushes");
        assert_eq!(cursor_before_last(&conn, &emails, 2, 2).expect("cursor"), 6, "no further back than the horizon");
    }

    #[test]
    fn labels_are_words_not_wire_names() {
        let reader = Reader::in_utc(Language::English);
        let webhook = |kind: &str, outcome: &str, attempt: u32, payload: Value| WebhookSent {
            seq: 1,
            sender: "factory".into(),
            webhook_id: "msg_1".into(),
            kind: Some(kind.into()),
            order_id: None,
            attempt,
            outcome: outcome.into(),
            status: None,
            error: None,
            payload,
            truncated: false,
            sent_at: "now".into(),
        };
        let stage = serde_json::json!({ "data": { "factory_order_id": "f1", "platform_order_id": Uuid::nil(),
                                                   "stage": "in_production", "estimated_completion": "2027-01-15" } });
        assert_eq!(
            webhook_label(&webhook("order.stage_changed", "delivered", 1, stage.clone()), &reader),
            "The factory says the car is now “In production”: the platform took it."
        );
        let retried = webhook_label(&webhook("order.estimate_revised", "retrying", 2, stage), &reader);
        assert_eq!(
            retried,
            "The factory expects to finish the car on 2027-01-15: the platform could not take it now; it will be \
             sent again (attempt 2)."
        );
        let unknown = webhook_label(&webhook("order.teleported", "refused", 1, Value::Null), &reader);
        assert_eq!(unknown, "The factory sent the platform an update: the platform refused it for good.");
        let event = serde_json::json!({ "type": "estimate_revised", "estimated_completion": "2027-01-15",
                                        "reason": "a supplier is late" });
        assert!(event_label(&event, &reader).starts_with("The factory now expects your car on"));
        for label in [retried, unknown, event_label(&event, &reader)] {
            for wire in ["order.", "retrying", "estimate_revised", "stage_changed"] {
                assert!(!label.contains(wire), "{wire} in {label}");
            }
        }
    }

    #[test]
    fn the_column_offsets_follow_the_column_lists() {
        assert_eq!(MESSAGE, 5);
        assert_eq!(PUSHED_EVENT - MESSAGE, OUTBOUND_COLUMNS.split(", ").count());
        assert_eq!(WEBHOOK_COLUMNS.split(", ").count(), 12);
    }
}
