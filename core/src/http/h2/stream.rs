//! One stream's state (RFC 9113 §5.1) and the checks on a request's
//! fields (§8.2, §8.3; a `host` field must name what `:authority` does).
//!
//! A server stream is never reserved (push is off), so its state is the
//! pair of its two halves: the client's side (`recv`) and ours (`send`).
//! idle = not yet in the table; open = both `Open`; half-closed (remote) =
//! `recv` ended; half-closed (local) = `send` ended; closed = both ended or
//! either reset. A stream leaves the table only once closed *and* its
//! handler finished, so it counts against the concurrency limit until then.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::time::Instant;

use super::error::ErrorCode;

pub type Field = (Vec<u8>, Vec<u8>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    Open,
    Ended,
    Reset,
}

/// A stream's RFC 7540 §5.3 priority, as its HEADERS gave it: only
/// reported to the application (gunicorn's `gunicorn.http2.priority_*`
/// environ keys), never used to order the streams' output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream this one depends on; 0 is the root.
    pub depends_on: u32,
    /// 1 to 256: the frame's byte plus one.
    pub weight: u16,
}

impl Default for Priority {
    /// A stream that declared none (RFC 7540 §5.3.5).
    fn default() -> Self {
        Priority {
            depends_on: 0,
            weight: 16,
        }
    }
}

/// A request head as HTTP/2 carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Request {
    pub method: Vec<u8>,
    pub scheme: Vec<u8>,
    /// `:authority`, which stands for Host.
    pub authority: Option<Vec<u8>>,
    pub path: Vec<u8>,
    /// Regular fields, names in lower case, in the client's order.
    pub headers: Vec<Field>,
    /// The request has no body (END_STREAM on its HEADERS).
    pub end_stream: bool,
    pub content_length: Option<u64>,
    pub priority: Priority,
}

pub struct Stream {
    pub recv: Half,
    pub send: Half,
    /// The application holds this stream (from the request event until
    /// it calls `finish_stream`).
    pub handler: bool,
    /// A final response head was sent.
    pub head_sent: bool,
    /// Credit the client still has on this stream.
    pub recv_window: i64,
    /// Body bytes the application read and whose credit is not returned.
    pub unreturned: u32,
    /// Credit we have to send on this stream.
    pub send_window: i64,
    /// Body bytes not yet read by the application.
    pub body: VecDeque<u8>,
    pub trailers: Option<Vec<Field>>,
    pub content_length: Option<u64>,
    pub received: u64,
    /// Since when the application has wanted to send with no credit.
    pub stalled_since: Option<Instant>,
    /// The application asked for body bytes that had not come.
    pub awaiting_body: bool,
    /// Since when it has waited for them, while the caller waits on the client.
    pub body_wait_since: Option<Instant>,
    /// The application was refused bytes: tell it when it may go on.
    pub wants_write: bool,
    /// Why the stream was reset, once it was.
    pub reset_code: Option<ErrorCode>,
    /// The body came over HTTP/1.1 before an `Upgrade: h2c` (stream 1):
    /// it took no credit, so none goes back as it is read or dropped.
    pub body_uncredited: bool,
    /// We sent the RST_STREAM: the client's frames already on their way
    /// are ignored, where after its own reset they are STREAM_CLOSED.
    pub reset_sent: bool,
}

impl Stream {
    pub fn new(recv_window: i64, send_window: i64) -> Self {
        Stream {
            recv: Half::Open,
            send: Half::Open,
            handler: true,
            head_sent: false,
            recv_window,
            unreturned: 0,
            send_window,
            body: VecDeque::new(),
            trailers: None,
            content_length: None,
            received: 0,
            stalled_since: None,
            awaiting_body: false,
            body_wait_since: None,
            wants_write: false,
            reset_code: None,
            body_uncredited: false,
            reset_sent: false,
        }
    }

    /// The credit that `n` body bytes read or dropped give back.
    pub fn credit_for(&self, n: usize) -> u32 {
        if self.body_uncredited {
            0
        } else {
            n as u32
        }
    }

    pub fn closed(&self) -> bool {
        self.recv == Half::Reset
            || self.send == Half::Reset
            || (self.recv == Half::Ended && self.send == Half::Ended)
    }
}

fn is_connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
    )
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b.is_ascii_uppercase() && b != b':')
}

fn valid_value(value: &[u8]) -> bool {
    !value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
        && !value.first().is_some_and(|b| *b == b' ' || *b == b'\t')
        && !value.last().is_some_and(|b| *b == b' ' || *b == b'\t')
}

/// A request head from its decoded fields, or why it is malformed.
pub fn request_from_fields(
    fields: Vec<Field>,
    end_stream: bool,
) -> Result<H2Request, &'static str> {
    let (mut method, mut scheme, mut authority, mut path) = (None, None, None, None);
    let mut headers = Vec::with_capacity(fields.len());
    let mut content_length = None;
    for (name, value) in fields {
        if let Some(pseudo) = name.strip_prefix(b":") {
            if !headers.is_empty() {
                return Err("pseudo-header after a regular field");
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"authority" => &mut authority,
                b"path" => &mut path,
                _ => return Err("unknown or response pseudo-header"),
            };
            if slot.replace(value).is_some() {
                return Err("duplicate pseudo-header");
            }
            continue;
        }
        if !valid_name(&name) || !valid_value(&value) {
            return Err("invalid field name or value");
        }
        if is_connection_specific(&name) || (name == b"te" && value != b"trailers") {
            return Err("connection-specific field");
        }
        if name == b"content-length" {
            let n = std::str::from_utf8(&value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            match (n, content_length) {
                (None, _) => return Err("invalid content-length"),
                (Some(n), Some(prev)) if n != prev => return Err("conflicting content-length"),
                (n, _) => content_length = n,
            }
        }
        headers.push((name, value));
    }
    let method = method.ok_or("no :method")?;
    if method == b"CONNECT" {
        return Err("CONNECT is not served");
    }
    let (Some(scheme), Some(path)) = (scheme, path) else {
        return Err("no :scheme or :path");
    };
    if path.is_empty() {
        return Err("empty :path");
    }
    if let Some(authority) = &authority {
        // RFC 9113 §8.3.1: a Host naming another entity than :authority
        // makes the request malformed; the application reads one of them
        // and a proxy may have routed on the other.
        let differs = |(n, v): &Field| n == b"host" && !v.eq_ignore_ascii_case(authority);
        if headers.iter().any(differs) {
            return Err("host differs from :authority");
        }
    }
    if end_stream && content_length.is_some_and(|n| n != 0) {
        return Err("content-length with no body");
    }
    Ok(H2Request {
        method,
        scheme,
        authority,
        path,
        headers,
        end_stream,
        content_length,
        priority: Priority::default(),
    })
}

/// Trailers: regular fields only.
pub fn trailers_from_fields(fields: Vec<Field>) -> Result<Vec<Field>, &'static str> {
    for (name, value) in &fields {
        if name.starts_with(b":") {
            return Err("pseudo-header in trailers");
        }
        if !valid_name(name) || !valid_value(value) {
            return Err("invalid trailer field");
        }
    }
    Ok(fields)
}

/// Whether HTTP/2 can carry the response field: trailers are checked
/// with it when the application sets them, before they are sent.
pub fn valid_response_field(name: &[u8], value: &[u8]) -> bool {
    response_field(name, value).is_ok()
}

/// A response field as the application gives it, lower-cased (borrowed
/// when it already is, as ASGI asks); `None` for the connection-specific
/// ones HTTP/2 drops, `Err` for ones it cannot carry.
pub fn response_field<'a>(name: &'a [u8], value: &[u8]) -> Result<Option<Cow<'a, [u8]>>, ()> {
    let lower = match name.iter().any(u8::is_ascii_uppercase) {
        true => Cow::Owned(name.to_ascii_lowercase()),
        false => Cow::Borrowed(name),
    };
    if !valid_name(&lower) || value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return Err(());
    }
    if is_connection_specific(&lower) {
        return Ok(None);
    }
    Ok(Some(lower))
}
