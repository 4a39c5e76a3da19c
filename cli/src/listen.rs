//! `caas listen`: what the platform does as it happens (order events, pushes, emails, SMS and the
//! webhooks it receives), like `stripe listen`. A dropped connection is picked up where it left,
//! so nothing is missed or printed twice.

use std::time::Duration;

use caas_core::sse::SseSplitter;
use caas_mock::FeedKind;
use caas_mock::client::{ClientError, FeedFilter};
use clap::Args;
use clap::builder::TypedValueParser as _;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::App;
use crate::output::{Output, print_line};

/// The largest item the feed carries (an email with its text, a webhook's body) and some room.
const MAX_ITEM_BYTES: usize = 64 * 1024;

/// The pause before the first reconnection, doubled up to [`MAX_RECONNECT_PAUSE`] while nothing
/// arrives.
const FIRST_RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// The longest pause between two reconnections.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Only what concerns this order.
    #[arg(long)]
    order: Option<Uuid>,
    /// Only these kinds (repeat for several): event (on an order's record), push (FCM, APNs or the
    /// SSE stream), email, sms, webhook (the factory's or the gateway's to the platform).
    #[arg(long = "kind", value_parser = kind_parser())]
    kinds: Vec<FeedKind>,
    /// Start with everything the platform did so far, then follow.
    #[arg(long)]
    from_start: bool,
    /// Stop after this many items (for scripts).
    #[arg(long)]
    count: Option<u64>,
}

/// The feed's kinds by the names the platform gives them.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = FeedKind> {
    clap::builder::PossibleValuesParser::new(FeedKind::ALL.map(FeedKind::wire_name))
        .map(|name| FeedKind::ALL.into_iter().find(|kind| kind.wire_name() == name).unwrap_or(FeedKind::Event))
}

impl App {
    pub async fn listen(&self, args: ListenArgs) -> anyhow::Result<Output> {
        let sandbox = self.sandbox_client()?;
        let filter = FeedFilter {
            order: args.order,
            kinds: args.kinds.iter().map(|k| k.wire_name()).collect(),
            from_start: args.from_start,
        };
        let mut last_id: Option<String> = None;
        let mut printed = 0_u64;
        let mut pause = FIRST_RECONNECT_PAUSE;
        if !self.json {
            print_line(format_args!("Listening to {} (Ctrl-C to stop).", self.backend))?;
        }
        loop {
            match sandbox.feed(&filter, last_id.as_deref()).await {
                Ok(response) => {
                    let mut body = response.bytes_stream();
                    let mut splitter = SseSplitter::with_limit(MAX_ITEM_BYTES);
                    loop {
                        let chunk = tokio::select! {
                            chunk = body.next() => chunk,
                            stop = tokio::signal::ctrl_c() => {
                                stop?;
                                return Ok(Output::done());
                            }
                        };
                        let Some(Ok(chunk)) = chunk else { break };
                        // An item too large to read is skipped, with its cursor lost; the rest follows.
                        let frames = splitter.push(&chunk).unwrap_or_else(|error| {
                            crate::output::tell(format_args!("warning: an item was skipped: {error}"));
                            Vec::new()
                        });
                        for frame in frames.iter().filter_map(|frame| Frame::parse(frame)) {
                            pause = FIRST_RECONNECT_PAUSE;
                            last_id = frame.id.or(last_id);
                            let Some(item) = frame.data else { continue };
                            item_output(&item).print(self.json)?;
                            printed += 1;
                            if args.count.is_some_and(|count| printed >= count) {
                                return Ok(Output::done());
                            }
                        }
                    }
                    tracing::info!("the feed ended; reconnecting");
                }
                // Refused (a wrong token, a bad filter) is final; unreachable is waited out once the
                // feed was open, since a mock restarting comes back.
                Err(ClientError::Unreachable(reason)) if last_id.is_some() => {
                    tracing::info!(%reason, "the feed dropped; reconnecting");
                }
                // The cursor is from a journal that no longer exists (the mock restarted on a new
                // database): follow the new one from now.
                Err(ClientError::Api { status: 422, .. }) if last_id.is_some() => {
                    crate::output::tell("warning: the platform's journal started anew; following it from now");
                    last_id = None;
                }
                Err(error) => return Err(error.into()),
            }
            if wait_or_stop(pause).await? {
                return Ok(Output::done());
            }
            pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
        }
    }
}

/// Waits `pause`; true when the user pressed Ctrl-C meanwhile.
async fn wait_or_stop(pause: Duration) -> anyhow::Result<bool> {
    tokio::select! {
        () = tokio::time::sleep(pause) => Ok(false),
        stop = tokio::signal::ctrl_c() => stop.map(|()| true).map_err(Into::into),
    }
}

/// One server-sent event of the feed: its id (the cursor to resume from) and its item. The
/// platform opens the stream with a frame that carries only the cursor, so a listener that
/// reconnects before any item came still misses nothing.
struct Frame {
    id: Option<String>,
    data: Option<Value>,
}

impl Frame {
    fn parse(frame: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(frame).ok()?;
        let mut id = None;
        let mut data = String::new();
        for line in text.lines() {
            if let Some(value) = line.strip_prefix("id:") {
                id = Some(value.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        let data = if data.is_empty() { None } else { Some(serde_json::from_str(&data).ok()?) };
        Some(Self { id, data })
    }
}

/// One feed item, as a line for people and as itself for scripts.
fn item_output(item: &Value) -> Output {
    let kind = item["kind"].as_str().unwrap_or("?");
    let order = item["order_id"].as_str().map(|id| id.get(..8).unwrap_or(id)).unwrap_or("-");
    let at = item["at"]
        .as_str()
        .and_then(|at| at.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    // The platform words each item; an item from a platform that does not is summarised here.
    let what = match (item["label"].as_str(), kind) {
        (Some(label), _) => label.to_owned(),
        (None, "event") => {
            let event = &item["event"];
            let to = event["to"].as_str().map(|to| format!(" -> {to}")).unwrap_or_default();
            format!("v{} {}{to}", event["version"], event["type"].as_str().unwrap_or("?"))
        }
        (None, "webhook") => {
            let webhook = &item["webhook"];
            format!(
                "{} {} (attempt {}): {}",
                webhook["sender"].as_str().unwrap_or("?"),
                webhook["type"].as_str().unwrap_or("?"),
                webhook["attempt"],
                webhook["outcome"].as_str().unwrap_or("?")
            )
        }
        (None, _) => format!(
            "to {}: {}",
            item["message"]["recipient"].as_str().unwrap_or("?"),
            summary(&item["message"]["payload"])
        ),
    };
    Output::new(format!("{at}  {kind:<7} {order:<8}  {what}"), json!(item))
}

/// A message's payload in a few words: its text (an email's or an SMS's sentence, a notification's
/// body), else its title or kind.
pub fn summary(payload: &Value) -> String {
    let pick = |keys: &[&str]| keys.iter().find_map(|key| payload.pointer(key).and_then(Value::as_str));
    pick(&["/body", "/notification/body", "/aps/alert/body", "/message/notification/body"])
        .or_else(|| pick(&["/subject", "/title", "/aps/alert/title", "/message/data/kind", "/data/kind", "/kind"]))
        .map(|text| text.chars().take(100).collect())
        .unwrap_or_else(|| payload.to_string().chars().take(100).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_gives_its_cursor_and_its_item() {
        let frame = Frame::parse(b"event: push\nid: 42\ndata: {\"kind\":\"push\",\"seq\":42}\n").expect("parses");
        assert_eq!(frame.id.as_deref(), Some("42"));
        assert_eq!(frame.data.expect("an item")["seq"], 42);
        assert!(Frame::parse(b"event: push\ndata: not json\n").is_none(), "an unreadable item is skipped");
        let cursor = Frame::parse(b"id: 7\n").expect("a cursor alone");
        assert_eq!((cursor.id.as_deref(), cursor.data), (Some("7"), None));
    }
}
