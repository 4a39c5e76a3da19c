//! The live log beside every page: the pushes, emails, SMS and webhooks the platform sends, as the
//! sandbox feed streams them (the same stream as `GET /v1/sandbox/feed`, signed in by the cookie
//! instead of the bearer token, and ended when the session ends). The page's script shows each
//! item's label; the first ones are the last few items of the panel's own kinds (and order)
//! before the page was shown, so the log is never empty for no reason.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use maud::{Markup, html};
use uuid::Uuid;

use super::page::Failure;
use super::session::Signed;
use crate::platform::AppState;
use crate::platform::feed::{self, FeedFilter, FeedKind};

/// How many items the log opens with, of the kinds it shows.
const BACKLOG: u32 = 30;
/// How far back, in journal rows of any kind, the log looks for them.
const BACKLOG_HORIZON: i64 = 5_000;
/// What the log shows: what is sent out of the platform, not its own events.
const KINDS: [FeedKind; 4] = [FeedKind::Push, FeedKind::Email, FeedKind::Sms, FeedKind::Webhook];

/// The live log of `order`, or of everything.
pub fn panel(state: &AppState, order: Option<Uuid>) -> Result<Markup, Failure> {
    let filter = FeedFilter { order_id: order, kinds: KINDS.to_vec(), event_types: Vec::new() };
    let after = feed::cursor_before_last(&state.db.lock(), &filter, BACKLOG, BACKLOG_HORIZON)?;
    let kinds: Vec<&str> = KINDS.iter().map(|kind| kind.wire_name()).collect();
    let mut query = vec![("kind", kinds.join(",")), ("after", after.to_string())];
    if let Some(order) = order {
        query.push(("order_id", order.to_string()));
    }
    let src = format!("/sandbox/feed?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    Ok(html! {
        aside.live aria-labelledby="live-title" {
            h2 #live-title { "Live log" }
            p.muted {
                @if order.is_some() { "What this order's customer is sent, and the webhooks about it, as they go." }
                @else { "Pushes, emails, SMS and webhooks, as they go." }
            }
            p #live-state.muted { "Connecting…" }
            ol #live-log data-src=(src) data-kinds=(kinds.join(",")) {}
        }
    })
}

/// The feed for the page's script, until the session ends.
pub async fn feed(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match feed::open(&state, query.as_deref(), &headers) {
        Ok(stream) => {
            let over = signed.sessions.clone().until_over(signed.session);
            feed::sse(stream.take_until(over)).into_response()
        }
        Err(error) => Failure::from(error).into_response(),
    }
}
