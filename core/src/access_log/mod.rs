//! gunicorn's access-log format, parsed once and rendered per request
//! without allocating, plus gunicorn's error-log line prefix.
//!
//! gunicorn renders `access_log_format % atoms` with Python's %-formatting,
//! where `atoms` is a dict whose missing keys read as `-` and whose string
//! values have `"` escaped as `\"`. The renderer here reproduces that byte
//! for byte for the formats people write: `%(name)s` with optional flags,
//! width and precision, `%(name)d` on numeric atoms, and `%%`. Formats that
//! gunicorn could never render (a positional `%s`, `%d` on a text atom, a
//! truncated `%(`) are refused at start-up, naming the bad atom, instead of
//! failing on every request as they do in gunicorn.
//!
//! Text coming from the request (URI, headers) is bytes that gunicorn
//! decodes as Latin-1 and the log stream writes as UTF-8, so each byte from
//! 0x80 up becomes two bytes here too.
//!
//! `format` parses a format into literal text and `atom`s; `render` writes
//! the atoms of one request, through `escape` (how request bytes reach the
//! log), `user` (`%(u)s`) and `timestamp` (`%(t)s` and the error-log
//! prefix).

use std::time::Duration;

mod atom;
mod escape;
mod format;
mod render;
mod spec;
mod timestamp;
mod user;

#[cfg(test)]
mod tests;

pub use format::{AccessLogFormat, DEFAULT_FORMAT};
pub use timestamp::{error_log_prefix, rfc3339_millis};

/// What the server knows about a finished request. Implemented over the
/// server's own request/response state; every method is a cheap borrow.
pub trait AccessRecord {
    /// `REMOTE_ADDR`: the peer's IP as text; empty for a unix socket.
    fn remote_addr(&self) -> &str;
    fn method(&self) -> &str;
    /// The request target exactly as received (`RAW_URI`).
    fn raw_uri(&self) -> &[u8];
    /// The path part of the target, still percent-encoded; `%(U)s` decodes
    /// it as gunicorn's `PATH_INFO` does.
    fn path(&self) -> &[u8];
    /// The query string, without the `?`, as received.
    fn query(&self) -> &[u8];
    /// (major, minor), e.g. (1, 1).
    fn http_version(&self) -> (u8, u8);
    fn status(&self) -> u16;
    /// Body bytes sent, if known.
    fn response_length(&self) -> Option<u64>;
    /// A request header by lower-case name. gunicorn keeps the last of
    /// repeated headers for `%({name}i)s`.
    fn request_header(&self, lower_name: &str) -> Option<&[u8]>;
    /// A response header by lower-case name (last one wins, as above).
    fn response_header(&self, lower_name: &str) -> Option<&[u8]>;
    /// A WSGI environ value as Python's `str()` shows it, looked up by
    /// lower-case name and matched case-insensitively (gunicorn lower-cases
    /// environ keys for `%({name}e)s`). Only called for `{name}e` atoms.
    fn environ_var(&self, lower_name: &str) -> Option<String>;
    fn pid(&self) -> u32;
    /// Time from the start of the request to the end of the response.
    fn duration(&self) -> Duration;
    /// When the request started, as Unix time (seconds, nanoseconds).
    fn start_unix(&self) -> (i64, u32);
    /// The local UTC offset, in seconds east of UTC, for `%(t)s`.
    fn utc_offset_secs(&self) -> i32;
    /// A user name that overrides the one gunicorn derives from an
    /// `Authorization: Basic` header for `%(u)s`; `None` to derive it.
    fn remote_user(&self) -> Option<&str>;
}
