//! The opening handshake (RFC 6455 §4.2): a request head checked, and the
//! `101 Switching Protocols` answer.
//!
//! Rules: a request is an upgrade to WebSocket when its `Upgrade` header
//! names `websocket` (any case, in a list); it is then a valid handshake
//! only as a `GET` over HTTP/1.1 whose `Connection` names `upgrade`, with
//! `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key` that is the
//! base64 of 16 bytes, and no body. Anything else is refused before the application
//! sees it (400, or 426 naming version 13). The answer's headers added by
//! the application are checked like any response header: a token name, a
//! value without CR, LF or NUL.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::http::{BodyKind, RequestHead};

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// What a valid handshake asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// `Sec-WebSocket-Accept` for the answer.
    pub accept: String,
    /// `Sec-WebSocket-Protocol`, in the client's order.
    pub subprotocols: Vec<String>,
    /// Every `Sec-WebSocket-Extensions` value, joined with commas.
    pub extensions: String,
}

/// Why a handshake is refused, and the status it is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not GET, not HTTP/1.1, no `Connection: upgrade`, or a bad key: 400.
    Malformed(&'static str),
    /// Another version than 13: 426 with `Sec-WebSocket-Version: 13`.
    Version,
}

impl HandshakeError {
    /// The whole response refusing the handshake.
    pub fn response(&self) -> &'static [u8] {
        match self {
            HandshakeError::Malformed(_) => {
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            }
            HandshakeError::Version => {
                b"HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\n\
                Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
            }
        }
    }
}

/// Does this request ask to become a WebSocket?
pub fn is_upgrade(head: &RequestHead) -> bool {
    header_has_token(head, b"upgrade", b"websocket")
}

/// Checks a request that [`is_upgrade`].
pub fn check_handshake(head: &RequestHead) -> Result<Handshake, HandshakeError> {
    use HandshakeError::Malformed;
    if head.method() != "GET" || head.version() != (1, 1) {
        return Err(Malformed("a WebSocket handshake is a GET over HTTP/1.1"));
    }
    if head.body() != BodyKind::None {
        // Its bytes would be taken for frames.
        return Err(Malformed("a WebSocket handshake has no body"));
    }
    if !header_has_token(head, b"connection", b"upgrade") {
        return Err(Malformed("no Connection: upgrade"));
    }
    let mut shake = Handshake::default();
    let (mut key, mut version) = (None, None);
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"sec-websocket-key") {
            if key.replace(value).is_some() {
                return Err(Malformed("more than one Sec-WebSocket-Key"));
            }
        } else if name.eq_ignore_ascii_case(b"sec-websocket-version") {
            version = Some(value);
        } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
            let list = String::from_utf8_lossy(value);
            let names = list.split(',').map(str::trim).filter(|p| !p.is_empty());
            shake.subprotocols.extend(names.map(str::to_owned));
        } else if name.eq_ignore_ascii_case(b"sec-websocket-extensions") {
            if !shake.extensions.is_empty() {
                shake.extensions.push(',');
            }
            shake.extensions.push_str(&String::from_utf8_lossy(value));
        }
    }
    if version.map(trim) != Some(b"13".as_slice()) {
        return Err(HandshakeError::Version);
    }
    let key = key.map(trim).ok_or(Malformed("no Sec-WebSocket-Key"))?;
    match STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(Malformed("Sec-WebSocket-Key is not 16 bytes in base64")),
    }
    shake.accept = accept_key(key);
    Ok(shake)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    STANDARD.encode(sha.finalize())
}

/// Appends the `101` answer to `out`. `extension`: the negotiated
/// `Sec-WebSocket-Extensions` value. `Err`: a header the application gave
/// is not a valid header, and nothing was appended.
pub fn write_accept<'h>(
    out: &mut Vec<u8>,
    shake: &Handshake,
    subprotocol: Option<&str>,
    extension: Option<&str>,
    server_header: &[u8],
    extra: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
) -> Result<(), &'static str> {
    let start = out.len();
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
    out.extend_from_slice(b"Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(shake.accept.as_bytes());
    out.extend_from_slice(b"\r\n");
    let ours = [
        (
            &b"Sec-WebSocket-Protocol"[..],
            subprotocol.map(str::as_bytes),
        ),
        (b"Sec-WebSocket-Extensions", extension.map(str::as_bytes)),
        (b"Server", Some(server_header).filter(|s| !s.is_empty())),
    ];
    let ours = ours.into_iter().filter_map(|(n, v)| Some((n, v?)));
    for (name, value) in ours {
        write_field(out, name, value);
    }
    for (name, value) in extra {
        if !is_token(name) || value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            out.truncate(start);
            return Err("invalid header in websocket.accept");
        }
        write_field(out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn header_has_token(head: &RequestHead, name: &[u8], token: &[u8]) -> bool {
    head.headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(|b| *b == b','))
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_the_rfcs_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn bad_application_headers_leave_nothing_behind() {
        let shake = Handshake {
            accept: "x".into(),
            ..Handshake::default()
        };
        let mut out = b"before".to_vec();
        let bad: [(&[u8], &[u8]); 1] = [(b"X-A", b"a\r\nb")];
        assert!(write_accept(&mut out, &shake, None, None, b"", bad).is_err());
        assert_eq!(out, b"before");
        let good: [(&[u8], &[u8]); 1] = [(b"X-A", b"1")];
        write_accept(&mut out, &shake, Some("chat"), None, b"", good).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\nX-A: 1\r\n\r\n"));
    }
}
