//! Logging: one tracing subscriber, pretty or JSON, filtered by `RUST_LOG` (default `info`).
//!
//! Database functions and resolvers that do I/O carry `debug` spans. With `RUST_LOG=debug` (or
//! `knowledge_hub=debug`) each span also logs when it closes, with its busy and idle time, so a
//! slow request's log shows where its time went (and `knowledge_hub::sql=trace` adds each
//! statement with its time, inside its span). At the default level spans cost nothing and no
//! line is added.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::{EnvFilter, fmt, fmt::format::FmtSpan};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let span_events = if filter.max_level_hint().is_none_or(|most| most >= LevelFilter::DEBUG) {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = fmt().with_env_filter(filter).with_span_events(span_events).with_writer(std::io::stderr);
    // A second init (tests start several apps in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
