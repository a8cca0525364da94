//! `--log-format json`: one JSON object per line, for log shippers.
//!
//! Every line has `time` (RFC 3339, local, milliseconds), `level`
//! (gunicorn's name), `logger` (`gunicorn.error` or `gunicorn.access`),
//! `pid` and `message` (the error message, or the access line as the
//! access-log format renders it); an access line adds the request's named
//! fields (`remote_addr`, `method`, `uri`, `protocol`, `status`,
//! `response_length`, `request_time_us`, `referer`, `user_agent`). The
//! lines go to the same files as the text ones; syslog still gets the
//! plain message.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::Event;

use super::events::{level_of, ACCESS_TARGET, LINE, MESSAGE};
use super::sinks::{self, Sinks};
use super::text_layer::Utf8;

pub(super) struct JsonLines;

impl JsonLines {
    pub(super) fn on_event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let level = level_of(meta);
        sinks::with(|sinks| {
            sinks.line.clear();
            sinks.message.clear();
            open_object(&mut sinks.line, level.name(), meta.target());
            event.record(&mut JsonVisitor(sinks));
            sinks.line.extend_from_slice(b"}\n");
            if meta.target() == ACCESS_TARGET {
                sinks.write_access_buffers();
            } else {
                sinks.write_error(level);
            }
        });
    }
}

/// `{"time":…,"level":…,"logger":…,"pid":…` (no closing brace).
fn open_object(out: &mut Vec<u8>, level: &str, logger: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    out.extend_from_slice(b"{\"time\":\"");
    rcorn_core::access_log::rfc3339_millis(
        secs,
        now.subsec_millis(),
        crate::clock::utc_offset_secs(secs),
        out,
    );
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(level.as_bytes());
    out.extend_from_slice(b"\",\"logger\":\"");
    out.extend_from_slice(logger.as_bytes());
    let _ = write!(Utf8(out), "\",\"pid\":{}", std::process::id());
}

/// Appends each field as `,"name":value`.
struct JsonVisitor<'a>(&'a mut Sinks);

impl JsonVisitor<'_> {
    fn key(&mut self, name: &str) {
        self.0.line.extend_from_slice(b",\"");
        self.0.line.extend_from_slice(name.as_bytes());
        self.0.line.extend_from_slice(b"\":");
    }

    fn number(&mut self, field: &Field, value: impl fmt::Display) {
        self.key(field.name());
        let _ = write!(Utf8(&mut self.0.line), "{value}");
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        if field.name() == LINE {
            let message = value.strip_suffix(b"\n").unwrap_or(value);
            self.0.message.extend_from_slice(message);
            self.key(MESSAGE);
            let text = String::from_utf8_lossy(message);
            let _ = write_json_string(&mut self.0.line, format_args!("{text}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field.name());
        let _ = write_json_string(&mut self.0.line, format_args!("{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }

    fn record_bool(&mut self, _: &Field, _: bool) {
        // Only `critical`, which `level` already says.
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == MESSAGE {
            let _ = write!(Utf8(&mut self.0.message), "{value:?}");
        }
        self.key(field.name());
        let _ = write_json_string(&mut self.0.line, format_args!("{value:?}"));
    }
}

/// `text` as a JSON string, quotes included.
fn write_json_string(out: &mut Vec<u8>, text: fmt::Arguments<'_>) -> fmt::Result {
    out.push(b'"');
    JsonEscaped(out).write_fmt(text)?;
    out.push(b'"');
    Ok(())
}

/// Escapes what JSON requires inside a string: `"`, `\` and control
/// characters.
struct JsonEscaped<'a>(&'a mut Vec<u8>);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '"' => self.0.extend_from_slice(b"\\\""),
                '\\' => self.0.extend_from_slice(b"\\\\"),
                '\n' => self.0.extend_from_slice(b"\\n"),
                '\r' => self.0.extend_from_slice(b"\\r"),
                '\t' => self.0.extend_from_slice(b"\\t"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(Utf8(self.0), "\\u{:04x}", u32::from(c));
                }
                c => {
                    let mut utf8 = [0u8; 4];
                    self.0
                        .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let mut out = Vec::new();
        write_json_string(&mut out, format_args!("a\"b\\c\nd\u{1}é")).unwrap();
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"".as_bytes());
        let parsed: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }
}
