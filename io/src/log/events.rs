//! The two kinds of log event, as `tracing` events: an error-log message
//! (target `gunicorn.error`, gunicorn's five levels) and a finished
//! request (target `gunicorn.access`, the rendered line and the request's
//! named fields). The targets are gunicorn's logger names.
//!
//! gunicorn's CRITICAL has no `tracing` level: it is an ERROR event with a
//! `critical` field, which [`level_of`] reads back from the callsite.
//! The access event's fields are borrows, and those that take work to
//! find (headers, the URI as text) are displayed lazily; they are made
//! only for the JSON layer, which writes them.

use std::fmt;

use rcorn_core::access_log::AccessRecord;
use tracing::Metadata;

use super::{Level, LogFormat};

pub(crate) const ERROR_TARGET: &str = "gunicorn.error";
pub(crate) const ACCESS_TARGET: &str = "gunicorn.access";

/// The error-log message field (tracing's own name for it).
pub(super) const MESSAGE: &str = "message";
/// The access event's rendered line, newline included.
pub(super) const LINE: &str = "line";

/// One error-log message at `level`.
pub(super) fn error(level: Level, message: fmt::Arguments<'_>) {
    use tracing::Level as T;
    match level {
        Level::Debug => tracing::event!(target: ERROR_TARGET, T::DEBUG, "{}", message),
        Level::Info => tracing::event!(target: ERROR_TARGET, T::INFO, "{}", message),
        Level::Warning => tracing::event!(target: ERROR_TARGET, T::WARN, "{}", message),
        Level::Error => tracing::event!(target: ERROR_TARGET, T::ERROR, "{}", message),
        Level::Critical => {
            tracing::event!(target: ERROR_TARGET, T::ERROR, critical = true, "{}", message)
        }
    }
}

/// gunicorn's level of an event's callsite.
pub(super) fn level_of(meta: &Metadata<'_>) -> Level {
    match *meta.level() {
        tracing::Level::TRACE | tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warning,
        _ if meta.fields().field("critical").is_some() => Level::Critical,
        _ => Level::Error,
    }
}

/// One access line with nothing known of its request.
pub(super) fn access_line(line: &[u8]) {
    tracing::event!(target: ACCESS_TARGET, tracing::Level::INFO, line = line);
}

/// One finished request: `line` is its rendering in the access-log
/// format, newline included. The request's named fields are made only
/// when the JSON layer, which writes them, is the one the event goes to:
/// recording eleven fields the text layer passes over cost about a
/// twentieth of the line's work.
pub(super) fn access<R: AccessRecord + ?Sized>(record: &R, line: &[u8]) {
    if super::format() == LogFormat::Json && !super::forwarded() {
        access_with_fields(record, line);
    } else {
        access_line(line);
    }
}

fn access_with_fields<R: AccessRecord + ?Sized>(record: &R, line: &[u8]) {
    tracing::event!(
        target: ACCESS_TARGET,
        tracing::Level::INFO,
        line = line,
        remote_addr = record.remote_addr(),
        method = record.method(),
        uri = %Latin1(record.raw_uri()),
        protocol = %Protocol(record.http_version()),
        status = record.status(),
        response_length = record.response_length(),
        request_time_us = u64::try_from(record.duration().as_micros()).unwrap_or(u64::MAX),
        referer = %Header(record, "referer"),
        user_agent = %Header(record, "user-agent"),
    );
}

/// Request bytes as gunicorn's environ shows them: each byte a character
/// (Latin-1).
struct Latin1<'a>(&'a [u8]);

impl fmt::Display for Latin1<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        self.0.iter().try_for_each(|&b| f.write_char(char::from(b)))
    }
}

/// `HTTP/1.1`.
struct Protocol((u8, u8));

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.0 .0, self.0 .1)
    }
}

/// A request header, looked up only when displayed; `-` when absent, as
/// the access log prints it.
struct Header<'a, R: ?Sized>(&'a R, &'static str);

impl<R: AccessRecord + ?Sized> fmt::Display for Header<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.request_header(self.1) {
            Some(value) => fmt::Display::fmt(&Latin1(value), f),
            None => f.write_str("-"),
        }
    }
}
