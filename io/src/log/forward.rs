//! The [`Forwarder`] as a layer: once one is installed, every event goes
//! to it (the operator's logging configuration formats and files it) and
//! the other layers stand aside. It is called with no lock of io's held:
//! it may take the application runtime's lock and come back through
//! `sink_error_line` / `sink_access_line`.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::Event;

use super::events::{level_of, ACCESS_TARGET, LINE, MESSAGE};
use super::{Forwarder, Level};

pub(super) struct Forward;

impl Forward {
    pub(super) fn on_event(&self, forwarder: &Forwarder, event: &Event<'_>) {
        let meta = event.metadata();
        let level = level_of(meta);
        let access = meta.target() == ACCESS_TARGET;
        event.record(&mut ForwardVisitor {
            forwarder,
            level,
            access,
        });
    }
}

struct ForwardVisitor<'a> {
    forwarder: &'a Forwarder,
    level: Level,
    access: bool,
}

impl Visit for ForwardVisitor<'_> {
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        if self.access && field.name() == LINE {
            (self.forwarder.access)(value.strip_suffix(b"\n").unwrap_or(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.access && field.name() == MESSAGE {
            (self.forwarder.error)(self.level, &format!("{value:?}"));
        }
    }
}
