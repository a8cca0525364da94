//! gunicorn's text format, the default: an error-log line is
//! `[date] [pid] [LEVEL] message` (core's `error_log_prefix`), an access
//! line is the access-log format's rendering, written as it came. The
//! bytes are those gunicorn writes (the parity tests compare them).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::Event;

use super::events::{level_of, ACCESS_TARGET, LINE, MESSAGE};
use super::sinks::{self, Sinks};
use super::Level;

pub(super) struct GunicornText;

impl GunicornText {
    pub(super) fn on_event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        if meta.target() == ACCESS_TARGET {
            sinks::with(|sinks| event.record(&mut AccessVisitor(sinks)));
        } else {
            let level = level_of(meta);
            sinks::with(|sinks| event.record(&mut ErrorVisitor { sinks, level }));
        }
    }
}

/// Writes the access line when it meets it.
struct AccessVisitor<'a>(&'a mut Sinks);

impl Visit for AccessVisitor<'_> {
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        if field.name() == LINE {
            write_access(self.0, value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// Writes the error line when it meets the message.
struct ErrorVisitor<'a> {
    sinks: &'a mut Sinks,
    level: Level,
}

impl Visit for ErrorVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == MESSAGE {
            self.sinks.message.clear();
            let mut text = Utf8(&mut self.sinks.message);
            let _ = write!(text, "{value:?}");
            write_error(self.sinks, self.level);
        }
    }
}

/// Writes `sinks.message` to the error log as gunicorn's line.
pub(super) fn write_error(sinks: &mut Sinks, level: Level) {
    sinks.line.clear();
    let now = crate::clock::unix_secs() as i64;
    rcorn_core::access_log::error_log_prefix(
        now,
        crate::clock::utc_offset_secs(now),
        std::process::id(),
        level.name(),
        &mut sinks.line,
    );
    sinks.line.extend_from_slice(&sinks.message);
    sinks.line.push(b'\n');
    sinks.write_error(level);
}

/// Writes a rendered access line, adding the newline if it has none.
pub(super) fn write_access(sinks: &mut Sinks, line: &[u8]) {
    match line.strip_suffix(b"\n") {
        Some(message) => sinks.write_access(line, message),
        None => {
            sinks.message.clear();
            sinks.message.extend_from_slice(line);
            sinks.line.clear();
            sinks.line.extend_from_slice(line);
            sinks.line.push(b'\n');
            sinks.write_access_buffers();
        }
    }
}

/// A byte buffer as a `fmt::Write`.
pub(super) struct Utf8<'a>(pub(super) &'a mut Vec<u8>);

impl fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
