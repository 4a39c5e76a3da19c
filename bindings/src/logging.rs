//! Bridges the core's `tracing` events to a log sink the shell provides (Logcat, OSLog).

use std::fmt::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::{Layer, Registry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Where the core's log lines go.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct SinkLayer {
    sink: Arc<dyn LogSink>,
    max: LogLevel,
}

fn level_of(level: tracing::Level) -> LogLevel {
    match level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        tracing::Level::TRACE => LogLevel::Trace,
    }
}

/// Writes the message first, then the other fields as `name=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _infallible = write!(self.message, "{value:?}");
        } else {
            let _infallible = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let level = level_of(*event.metadata().level());
        if level > self.max {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        self.sink.log(level, event.metadata().target().to_owned(), format!("{}{}", line.message, line.fields));
    }
}

/// Sends the core's logs at `max_level` and above to `sink`. Call once, early; a second call
/// changes nothing and returns false.
#[uniffi::export]
pub fn install_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) -> bool {
    let subscriber = Registry::default().with(SinkLayer { sink, max: max_level });
    tracing::subscriber::set_global_default(subscriber).is_ok()
}
