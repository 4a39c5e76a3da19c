//! The sandbox feed (`GET /v1/sandbox/feed`), as `caas listen` reads it: a listener connected
//! before a sale hears the sale's events, the customer's pushes and emails and the factory's
//! webhooks as they happen, each with a label in words; filters by order and kind hold; every
//! stream opens with its cursor, so a listener that drops before any item came, or after, and
//! reconnects with `Last-Event-ID` loses nothing and hears nothing twice; a cursor from another
//! journal is refused; a filter that rarely matches moves its cursor on; rows that point to
//! nothing or cannot be read do not hold the feed; a commit wakes a listener at once; the stream
//! ends when the mock stops.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use caas_core::protocol::OrderState;
use caas_core::protocol::push::PushPlatform;
use caas_e2e::{Platform, WAIT};
use caas_mock::{FeedItem, FeedKind};
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

/// One Server-Sent Events frame that carries an item.
#[derive(Debug, Clone)]
struct Frame {
    event: String,
    id: String,
    item: FeedItem,
}

/// What a listener reads: an item, or a frame that carries only the cursor.
#[derive(Debug, Clone)]
enum Block {
    Item(Box<Frame>),
    Cursor(i64),
}

/// A listener on the feed, reading frames off the response body.
struct Listener {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

/// A feed request, as a listener sends it.
async fn request(platform: &Platform, query: &str, last_event_id: Option<&str>) -> anyhow::Result<reqwest::Response> {
    let mut request = reqwest::Client::new()
        .get(format!("{}/v1/sandbox/feed?{query}", platform.url()))
        .bearer_auth(&platform.mock.sandbox_token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    Ok(request.send().await?)
}

impl Listener {
    async fn connect(platform: &Platform, query: &str, last_event_id: Option<&str>) -> anyhow::Result<Self> {
        let response = request(platform, query, last_event_id).await?;
        anyhow::ensure!(response.status().is_success(), "the feed answered {}", response.status());
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        anyhow::ensure!(content_type.starts_with("text/event-stream"), "content type {content_type}");
        Ok(Self { body: response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(), buffer: String::new() })
    }

    /// Connects and reads the frame every stream opens with: the cursor it starts from.
    async fn open(platform: &Platform, query: &str, last_event_id: Option<&str>) -> anyhow::Result<(Self, i64)> {
        let mut listener = Self::connect(platform, query, last_event_id).await?;
        match listener.block().await?.context("the feed ended at once")? {
            Block::Cursor(cursor) => Ok((listener, cursor)),
            Block::Item(frame) => anyhow::bail!("the stream opened with an item, not its cursor: {frame:?}"),
        }
    }

    /// The next frame with an item or a cursor, or `None` when the stream ended; fails after
    /// [`WAIT`] without one.
    async fn block(&mut self) -> anyhow::Result<Option<Block>> {
        self.block_within(WAIT).await
    }

    async fn block_within(&mut self, wait: Duration) -> anyhow::Result<Option<Block>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|line| line.strip_prefix(name)).map(|v| v.trim_start().to_owned())
                };
                match (field("event:"), field("id:"), field("data:")) {
                    (Some(event), Some(id), Some(data)) => {
                        let item = serde_json::from_str(&data).context("a frame's data")?;
                        return Ok(Some(Block::Item(Box::new(Frame { event, id, item }))));
                    }
                    (None, Some(id), None) => return Ok(Some(Block::Cursor(id.parse().context("a cursor")?))),
                    // A comment (the keep-alive) carries no fields.
                    (None, None, None) => continue,
                    _ => anyhow::bail!("a frame neither an item nor a cursor: {block:?}"),
                }
            }
            match tokio::time::timeout(wait, self.body.next()).await.context("no frame in time")? {
                Some(chunk) => self.buffer.push_str(&String::from_utf8_lossy(&chunk?)),
                None => return Ok(None),
            }
        }
    }

    /// The next frame with an item, past the cursor frames, or `None` when the stream ended.
    async fn next(&mut self) -> anyhow::Result<Option<Frame>> {
        loop {
            match self.block().await? {
                Some(Block::Item(frame)) => return Ok(Some(*frame)),
                Some(Block::Cursor(_)) => {}
                None => return Ok(None),
            }
        }
    }

    /// Frames until one satisfies `done` (included).
    async fn until(&mut self, what: &str, done: impl Fn(&Frame) -> bool) -> anyhow::Result<Vec<Frame>> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await.with_context(|| format!("waiting for {what}"))?.context("the feed ended")?;
            let last = done(&frame);
            frames.push(frame);
            if last {
                return Ok(frames);
            }
        }
    }
}

/// The newest cursor of the platform's journal, as a listener starting now is told.
async fn newest(platform: &Platform) -> anyhow::Result<i64> {
    Ok(Listener::open(platform, "", None).await?.1)
}

fn is_state(frame: &Frame, state: OrderState) -> bool {
    frame.item.event.as_ref().is_some_and(|e| e["type"] == "state_changed" && e["to"] == state.wire_name())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_hears_a_sale_as_it_happens_filtered_and_resumed_without_loss() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let mut all = Listener::connect(&platform, "", None).await?;
    let email = "listened@example.com";
    let order = platform.sell_to(email).await?;
    let dir = tempfile::tempdir()?;
    let phone = platform.phone(email, dir.path()).await?;
    phone.register_push_device(PushPlatform::Fcm, "fcm-token-listened").await?;
    platform.reserve(order.id).await?;
    platform.sandbox.advance_factory(order.id, Some(OrderState::InProduction)).await?;

    let heard = all
        .until("the factory's webhook for in_production", |f| {
            f.item.webhook.as_ref().is_some_and(|w| w.payload["data"]["stage"] == "in_production")
        })
        .await?;
    for frame in &heard {
        assert_eq!(frame.event, frame.item.kind.wire_name(), "the frame's event is the item's kind");
        assert_eq!(frame.id, frame.item.seq.to_string(), "the frame's id is its cursor");
        assert!(!frame.item.label.is_empty(), "each item in words: {frame:?}");
    }
    let seqs: Vec<i64> = heard.iter().map(|f| f.item.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert!(heard.iter().any(|f| is_state(f, OrderState::SaleRegistered) && f.item.order_id == Some(order.id)));
    let of_order =
        |kind: FeedKind| heard.iter().filter(move |f| f.item.kind == kind && f.item.order_id == Some(order.id));
    assert!(of_order(FeedKind::Email).any(|f| f.item.message.as_ref().is_some_and(|m| m.recipient == email)));
    assert!(
        of_order(FeedKind::Push).any(|f| f.item.message.as_ref().is_some_and(|m| m.channel == "fcm")),
        "the push to the phone registered after the sale"
    );
    let webhook = of_order(FeedKind::Webhook).next_back().and_then(|f| f.item.webhook.clone()).context("a webhook")?;
    assert_eq!((webhook.sender.as_str(), webhook.kind.as_deref()), ("factory", Some("order.stage_changed")));
    assert_eq!((webhook.outcome.as_str(), webhook.attempt), ("delivered", 1));
    assert!(webhook.status.is_some_and(|s| (200..300).contains(&s)));
    assert!(
        heard.iter().any(|f| f.item.kind == FeedKind::Email && f.item.order_id.is_none()),
        "the sign-in code's email, about no order"
    );

    // Filters: one order's pushes and webhooks, from the start; events of one type.
    let mut filtered =
        Listener::connect(&platform, &format!("order_id={}&kind=push&kind=webhook&from_start=true", order.id), None)
            .await?;
    let frames = filtered.until("the same webhook", |f| f.item.seq == heard.last().map_or(0, |l| l.item.seq)).await?;
    assert!(frames.iter().all(|f| matches!(f.item.kind, FeedKind::Push | FeedKind::Webhook)));
    assert!(frames.iter().all(|f| f.item.order_id == Some(order.id)));
    let expected: Vec<i64> = heard
        .iter()
        .filter(|f| matches!(f.item.kind, FeedKind::Push | FeedKind::Webhook) && f.item.order_id == Some(order.id))
        .map(|f| f.item.seq)
        .collect();
    assert_eq!(frames.iter().map(|f| f.item.seq).collect::<Vec<_>>(), expected, "exactly those, in order");
    let mut states = Listener::connect(&platform, "kind=event:state_changed&from_start=true", None).await?;
    let frames = states.until("in production", |f| is_state(f, OrderState::InProduction)).await?;
    assert!(frames.iter().all(|f| f.item.event.as_ref().is_some_and(|e| e["type"] == "state_changed")));

    // Drop the connection, let the factory move on meanwhile, and resume with Last-Event-ID.
    let last_seen = heard.last().map(|f| f.id.clone()).context("frames")?;
    drop(all);
    platform.sandbox.advance_factory(order.id, Some(OrderState::Assembly)).await?;
    let mut resumed = Listener::connect(&platform, "since=now", Some(&last_seen)).await?;
    let after = resumed
        .until("assembly's webhook", |f| {
            f.item.webhook.as_ref().is_some_and(|w| w.payload["data"]["stage"] == "assembly")
        })
        .await?;
    let mut fresh = Listener::connect(&platform, "from_start=true", None).await?;
    let whole = fresh.until("the same last item", |f| f.item.seq == after.last().map_or(0, |l| l.item.seq)).await?;
    let before_drop: Vec<i64> =
        whole.iter().map(|f| f.item.seq).filter(|seq| *seq <= heard.last().map_or(0, |l| l.item.seq)).collect();
    let heard_seqs: Vec<i64> = heard.iter().map(|f| f.item.seq).collect();
    assert_eq!(heard_seqs, before_drop[before_drop.len() - heard_seqs.len()..], "the first listener heard every item");
    let joined: Vec<i64> = heard_seqs.iter().copied().chain(after.iter().map(|f| f.item.seq)).collect();
    let unique: BTreeSet<i64> = joined.iter().copied().collect();
    assert_eq!(unique.len(), joined.len(), "nothing heard twice");
    let whole_since_first: Vec<i64> = whole.iter().map(|f| f.item.seq).filter(|seq| *seq >= heard_seqs[0]).collect();
    assert_eq!(joined, whole_since_first, "nothing lost across the reconnect");
    assert!(after.iter().any(|f| is_state(f, OrderState::Assembly)));

    // A listener asking for nothing it can read is refused in the API's error shape.
    let refused = reqwest::Client::new()
        .get(format!("{}/v1/sandbox/feed?kind=letters", platform.url()))
        .bearer_auth(&platform.mock.sandbox_token)
        .send()
        .await?;
    assert_eq!(refused.status(), 422);
    let nobody = reqwest::get(format!("{}/v1/sandbox/feed", platform.url())).await?;
    assert_eq!(nobody.status(), 401);

    // The stream ends when the mock stops.
    let Platform { mock, .. } = platform;
    tokio::time::timeout(WAIT, mock.stop()).await.context("the mock stops with a listener connected")?;
    // Whatever was in flight is read, then the stream ends.
    while resumed.next().await?.is_some() {}
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_drops_before_any_item_resumes_from_the_cursor_it_opened_with() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    platform.sell_to("before@example.com").await?;
    let newest = newest(&platform).await?;
    let (early, cursor) = Listener::open(&platform, "kind=event", None).await?;
    assert_eq!(cursor, newest, "a stream from now opens with the newest cursor");
    drop(early);
    // While the listener is away, before it heard any item.
    let order = platform.sell_to("meanwhile@example.com").await?;
    let (mut back, resumed) = Listener::open(&platform, "kind=event", Some(&cursor.to_string())).await?;
    assert_eq!(resumed, cursor, "it opens where it was asked to");
    let heard = back.until("the sale made meanwhile", |f| f.item.order_id == Some(order.id)).await?;
    assert!(heard.iter().all(|f| f.item.seq > cursor));
    assert!(is_state(heard.last().context("a frame")?, OrderState::SaleRegistered), "nothing lost: {heard:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_beyond_the_newest_item_is_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    platform.sell_to("cursor@example.com").await?;
    let newest = newest(&platform).await?;
    let beyond = (newest + 1_000).to_string();
    for (query, header) in [(format!("after={beyond}"), None), (String::new(), Some(beyond.as_str()))] {
        let refused = request(&platform, &query, header).await?;
        assert_eq!(refused.status(), 422, "{query} {header:?}");
        let error: serde_json::Value = refused.json().await?;
        assert_eq!(error["code"], "invalid_request");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("beyond the newest item")), "{error}");
    }
    let (_, at) = Listener::open(&platform, &format!("after={newest}"), None).await?;
    assert_eq!(at, newest, "the newest cursor itself is taken");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rarely_matching_filter_moves_its_cursor_on() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let quiet = platform.sell_to("quiet@example.com").await?;
    let (mut listener, opened) = Listener::open(&platform, &format!("order_id={}", quiet.id), None).await?;
    let busy = platform.sell_to("busy@example.com").await?;
    platform.reserve(busy.id).await?;
    let passed = newest(&platform).await?;
    // Told the cursor past the busy order's rows, without an item.
    loop {
        match listener.block().await?.context("the feed ended")? {
            Block::Cursor(cursor) if cursor >= passed => break,
            Block::Cursor(cursor) => assert!(cursor > opened, "the cursor only moves on"),
            Block::Item(frame) => anyhow::bail!("an item of another order: {frame:?}"),
        }
    }
    // The quiet order's next item still comes.
    platform.reserve(quiet.id).await?;
    let heard = listener.until("the quiet order's reservation", |f| is_state(f, OrderState::ReservationPaid)).await?;
    assert!(heard.iter().all(|f| f.item.order_id == Some(quiet.id) && f.item.seq > passed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_point_to_nothing_or_cannot_be_read_do_not_hold_the_feed() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (mut listener, _) = Listener::open(&platform, "", None).await?;
    let db = rusqlite::Connection::open(platform.dir.path().join("platform.sqlite3"))?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute_batch(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
         INSERT INTO sandbox_feed (kind, ref, at) SELECT 'push', 1000000 + i, '2026-11-01T10:00:00Z' FROM n;
         INSERT INTO webhook_log (sender, webhook_id, type, attempt, outcome, payload, sent_at)
         VALUES ('factory', 'msg_damaged', 'order.stage_changed', 'not a number', 'delivered', '{}', 'now');
         INSERT INTO outbound_messages (channel, recipient, payload, created_at)
         VALUES ('sms', '+34600000009', '{\"body\":\"after the damage\"}', '2026-11-01T10:00:00Z');
         COMMIT;",
    )?;
    // Not announced: the listener's periodic look finds it.
    let frame = listener.next().await?.context("the feed ended")?;
    assert_eq!(frame.item.kind, FeedKind::Sms, "past 250 rows pointing to nothing and a damaged one: {frame:?}");
    assert_eq!(frame.item.label, "SMS to +34600000009: after the damage");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_a_listener_at_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let (mut listener, _) = Listener::open(&platform, "kind=event", None).await?;
    // The periodic look comes every 2 s: four prompt wake-ups in a row are no luck.
    for round in 0..4 {
        let order = platform.sell_to(&format!("prompt{round}@example.com")).await?;
        let sold = Instant::now();
        listener.until("the sale's first event", |f| f.item.order_id == Some(order.id)).await?;
        let waited = sold.elapsed();
        assert!(waited < Duration::from_millis(700), "round {round}: heard {waited:?} after the commit");
    }
    Ok(())
}
