//! The `Upgrade: h2c` entry (RFC 7540 §3.2): an HTTP/1.1 request that
//! asked to become HTTP/2, and was allowed to, starts a connection whose
//! stream 1 is that request.
//!
//! The rules it keeps:
//!
//! 1. **The 101 comes first.** The machine's output starts with
//!    `101 Switching Protocols`, then the server's SETTINGS, so the caller
//!    writes one buffer and never orders the two itself.
//! 2. **The request is stream 1, half-closed (remote).** Its body, read
//!    over HTTP/1.1 before the switch (a body must be sent whole before the
//!    client may speak HTTP/2), waits in the stream whole and took no
//!    credit: none goes back for it.
//! 3. **The client's settings are `HTTP2-Settings`'s**, applied as a
//!    SETTINGS frame's would be but never acknowledged: the 101 is their
//!    acknowledgement (§3.2.1).
//! 4. **The client's preface still comes** (after the 101), as on any
//!    connection, with its own deadline.
//! 5. **The HTTP/1.1 head becomes an HTTP/2 request**: `Host` as
//!    `:authority`, scheme `http`, names in lower case, the
//!    connection-specific fields (and `HTTP2-Settings`) dropped.

use crate::http::head::{te_lists_trailers, BodyKind, RequestHead};
use crate::time::Instant;

use super::connection::{H2Connection, H2Event, DEFAULT_WINDOW};
use super::error::H2Error;
use super::settings::H2Config;
use super::stream::{Field, H2Request, Half, Priority, Stream};

/// The answer an `Upgrade: h2c` request gets before the connection turns
/// to HTTP/2.
pub const UPGRADE_101: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";

/// The stream an upgraded request is (RFC 7540 §3.2).
const UPGRADED_STREAM: u32 = 1;

impl H2Connection {
    /// A connection upgraded from HTTP/1.1: `101` and the server's
    /// SETTINGS queued, the client's `settings` (the decoded
    /// `HTTP2-Settings` payload) in effect, and `request` with its whole
    /// `body` waiting as stream 1's `Request` event.
    pub fn upgraded(
        config: H2Config,
        now: Instant,
        settings: &[u8],
        request: H2Request,
        body: Vec<u8>,
    ) -> Self {
        let mut conn = H2Connection::new(config, now);
        conn.out.splice(0..0, UPGRADE_101.iter().copied());
        if let Err(H2Error::Connection { code, detail }) = conn.apply_peer_settings(settings) {
            // Checked before the 101 by the caller; a connection error all
            // the same rather than settings half applied.
            conn.fail(code, detail);
            return conn;
        }
        let mut stream = Stream::new(DEFAULT_WINDOW, conn.peer_initial_window);
        stream.recv = Half::Ended;
        stream.content_length = request.content_length;
        stream.received = body.len() as u64;
        stream.body = body.into();
        stream.body_uncredited = true;
        conn.streams.insert(UPGRADED_STREAM, stream);
        conn.last_stream = UPGRADED_STREAM;
        conn.events.push_back(H2Event::Request {
            stream: UPGRADED_STREAM,
            request,
        });
        conn
    }
}

/// Fields of an HTTP/1.1 request that HTTP/2 does not carry.
fn dropped_on_upgrade(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection"
            | b"keep-alive"
            | b"proxy-connection"
            | b"transfer-encoding"
            | b"upgrade"
            | b"http2-settings"
            | b"host"
    )
}

/// The HTTP/2 request an upgraded HTTP/1.1 `head` stands for (rule 5).
pub fn request_from_h1(head: &RequestHead) -> H2Request {
    let mut path = head.path().to_vec();
    if !head.query().is_empty() {
        path.push(b'?');
        path.extend_from_slice(head.query());
    }
    if path.is_empty() {
        path.push(b'/');
    }
    let mut authority = None;
    let mut headers: Vec<Field> = Vec::with_capacity(head.header_count());
    for (name, value) in head.headers() {
        let name = name.to_ascii_lowercase();
        if name == b"host" && authority.is_none() {
            authority = Some(value.to_vec());
        }
        if name == b"te" {
            // HTTP/2 carries `te` only as `trailers` (RFC 9113 §8.2.2).
            if te_lists_trailers(value) {
                headers.push((name, b"trailers".to_vec()));
            }
        } else if !dropped_on_upgrade(&name) {
            headers.push((name, value.to_vec()));
        }
    }
    let content_length = match head.body() {
        BodyKind::Length(n) => Some(n),
        _ => None,
    };
    H2Request {
        method: head.method().as_bytes().to_vec(),
        scheme: b"http".to_vec(),
        authority,
        path,
        headers,
        end_stream: content_length.unwrap_or(0) == 0,
        content_length,
        priority: Priority::default(),
    }
}
