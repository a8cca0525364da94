//! The one `tracing` subscriber of the process: the gate decides which
//! events are made, and each event goes to exactly one layer — the
//! forwarder when one is installed, else the format `--log-format` chose.
//!
//! Its own and not `tracing-subscriber`'s `Registry` with the layers
//! stacked on it: the logs open no spans, and exactly one layer takes
//! each event, so a match does the routing and the worker carries no span
//! table. (The stack cost about 20 instructions more per access line,
//! measured with callgrind and `benches/examples/access_log_profile.rs`:
//! the choice is for simplicity, not speed.)

use std::sync::atomic::{AtomicU64, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use super::forward::Forward;
use super::json_layer::JsonLines;
use super::text_layer::GunicornText;
use super::{gate, LogFormat};

pub(super) struct LogSubscriber {
    /// Span ids handed out; no span is ever entered by rcorn's own code.
    next_span: AtomicU64,
}

impl LogSubscriber {
    pub(super) fn new() -> LogSubscriber {
        LogSubscriber {
            next_span: AtomicU64::new(1),
        }
    }
}

impl Subscriber for LogSubscriber {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        gate::interest(meta)
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        gate::passes(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(gate::max_level())
    }

    fn event(&self, event: &Event<'_>) {
        match super::FORWARDER.get() {
            Some(forwarder) => Forward.on_event(forwarder, event),
            None => match super::format() {
                LogFormat::Text => GunicornText.on_event(event),
                LogFormat::Json => JsonLines.on_event(event),
            },
        }
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
