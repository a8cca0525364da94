//! The response encoder: status line, headers and body framing.
//!
//! Field names and values are validated before they reach the wire (no
//! CR, LF, NUL or other controls: no response splitting). Hop-by-hop fields
//! from the application are dropped, as gunicorn does, because the server
//! alone decides the connection's framing and persistence.

use std::fmt;
use std::io::Write;

use crate::http::head::is_tchar;

/// What the encoder needs to know of the request being answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFacts {
    pub head_request: bool,
    pub http_minor: u8,
    pub keep_alive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    InvalidStatus(u16),
    InvalidReason,
    InvalidHeaderName(String),
    InvalidHeaderValue(String),
    InvalidContentLength(String),
    /// The body ended before the declared Content-Length.
    ShortBody {
        declared: u64,
        written: u64,
    },
    /// A call out of order (header after the head ended, …).
    OutOfOrder(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::InvalidStatus(s) => write!(f, "invalid status code {s}"),
            EncodeError::InvalidReason => f.write_str("invalid reason phrase: control characters"),
            EncodeError::InvalidHeaderName(n) => write!(f, "invalid header name {n:?}"),
            EncodeError::InvalidHeaderValue(n) => {
                write!(f, "invalid value for header {n:?}: control characters")
            }
            EncodeError::InvalidContentLength(v) => write!(f, "invalid Content-Length {v:?}"),
            EncodeError::ShortBody { declared, written } => {
                write!(f, "response body has {written} of the {declared} bytes its Content-Length declares")
            }
            EncodeError::OutOfOrder(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for EncodeError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// No body may be sent (HEAD, 1xx, 204, 304).
    NoBody,
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a length: the body ends when the connection does.
    UntilClose,
}

/// What [`ResponseEncoder::external_body`] asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalBody {
    /// How many of the offered bytes to send.
    pub send: u64,
    /// Framing to write once they are sent (a chunk's CRLF).
    pub after: &'static [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    Head,
    Body,
}

pub struct ResponseEncoder {
    server: Vec<u8>,
    facts: RequestFacts,
    status: u16,
    stage: Stage,
    content_length: Option<u64>,
    has_date: bool,
    has_server: bool,
    must_close: bool,
    framing: Framing,
    written: u64,
    keep_alive: bool,
    /// A body without a length ends with the connection, never chunked
    /// ([`Self::never_chunk`]).
    never_chunk: bool,
    /// Trailer field lines (`name: value\r\n`) to end a chunked body
    /// with; empty for almost every response.
    trailers: Vec<u8>,
}

const HOP_BY_HOP: [&[u8]; 8] = [
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
];

impl ResponseEncoder {
    pub fn new(server_header: &[u8]) -> Self {
        ResponseEncoder {
            server: server_header.to_vec(),
            facts: RequestFacts {
                head_request: false,
                http_minor: 1,
                keep_alive: false,
            },
            status: 0,
            stage: Stage::Idle,
            content_length: None,
            has_date: false,
            has_server: false,
            must_close: false,
            framing: Framing::NoBody,
            written: 0,
            keep_alive: false,
            never_chunk: false,
            trailers: Vec::new(),
        }
    }

    /// Bodies without a length end when the connection does, whatever the
    /// request's version: a uwsgi front end reads the body as opaque bytes,
    /// so chunk markers would reach its client.
    pub fn never_chunk(&mut self) {
        self.never_chunk = true;
    }

    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// A head was started and not yet finished (`start` … `finish_head`).
    pub(crate) fn head_open(&self) -> bool {
        self.stage == Stage::Head
    }

    /// The head is out and the body is being framed.
    pub(crate) fn body_open(&self) -> bool {
        self.stage == Stage::Body
    }

    /// Forgets the response in progress without ending its framing: a
    /// head that is discarded, or a body cut short by closing.
    pub(crate) fn abandon(&mut self) {
        self.stage = Stage::Idle;
    }

    /// Writes the status line. The response is in HTTP/1.1 for 1.1
    /// requests and HTTP/1.0 for 1.0 ones, as gunicorn answers.
    pub fn start(
        &mut self,
        req: RequestFacts,
        status: u16,
        reason: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if !(100..=999).contains(&status) {
            return Err(EncodeError::InvalidStatus(status));
        }
        if reason
            .iter()
            .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(EncodeError::InvalidReason);
        }
        self.facts = req;
        self.status = status;
        self.stage = Stage::Head;
        self.content_length = None;
        self.has_date = false;
        self.has_server = false;
        self.must_close = false;
        self.written = 0;
        self.trailers.clear();
        out.extend_from_slice(if req.http_minor == 0 {
            b"HTTP/1.0 "
        } else {
            b"HTTP/1.1 "
        });
        let mut code = itoa::Buffer::new();
        out.extend_from_slice(code.format(status).as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason);
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    pub fn header(
        &mut self,
        name: &[u8],
        value: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if self.stage != Stage::Head {
            return Err(EncodeError::OutOfOrder("header outside the response head"));
        }
        check_field(name, value)?;
        if name.eq_ignore_ascii_case(b"content-length") {
            let text = std::str::from_utf8(value).unwrap_or("").trim();
            let n: u64 = text
                .parse()
                .ok()
                .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    EncodeError::InvalidContentLength(String::from_utf8_lossy(value).into_owned())
                })?;
            if self.content_length.is_some_and(|prev| prev != n) {
                return Err(EncodeError::InvalidContentLength(
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
            if self.content_length.is_some() {
                return Ok(());
            }
            self.content_length = Some(n);
        } else if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case(b"close") {
                self.must_close = true;
            }
            return Ok(());
        } else if name.eq_ignore_ascii_case(b"date") {
            self.has_date = true;
        } else if name.eq_ignore_ascii_case(b"server") {
            self.has_server = true;
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    pub fn finish_head(
        &mut self,
        date: &[u8],
        body_len_hint: Option<u64>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if self.stage != Stage::Head {
            return Err(EncodeError::OutOfOrder("no response head to finish"));
        }
        let bodiless_status = self.status < 200 || self.status == 204 || self.status == 304;
        self.framing = if bodiless_status {
            Framing::NoBody
        } else if let Some(n) = self.content_length {
            if self.facts.head_request {
                Framing::NoBody
            } else {
                Framing::Length(n)
            }
        } else if let Some(n) = body_len_hint {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
            if self.facts.head_request {
                Framing::NoBody
            } else {
                Framing::Length(n)
            }
        } else if self.facts.head_request {
            Framing::NoBody
        } else if self.facts.http_minor >= 1 && !self.never_chunk {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        self.keep_alive =
            self.facts.keep_alive && !self.must_close && self.framing != Framing::UntilClose;
        if !self.has_date {
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(date);
            out.extend_from_slice(b"\r\n");
        }
        if !self.has_server && !self.server.is_empty() {
            out.extend_from_slice(b"Server: ");
            out.extend_from_slice(&self.server);
            out.extend_from_slice(b"\r\n");
        }
        if !self.keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.facts.http_minor == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        self.stage = Stage::Body;
        Ok(())
    }

    /// Frames `chunk`. Bytes past a declared Content-Length are dropped, as
    /// gunicorn drops them; the connection stays usable, since no byte past
    /// the declared length reaches the wire. (The ASGI exchange, whose rules
    /// call a long body an error, closes the connection itself.)
    pub fn body(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.stage != Stage::Body {
            return Err(EncodeError::OutOfOrder("body before the response head"));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        match self.framing {
            Framing::NoBody => {}
            Framing::Length(n) => {
                let room = n.saturating_sub(self.written);
                let take = (chunk.len() as u64).min(room) as usize;
                out.extend_from_slice(&chunk[..take]);
                self.written += take as u64;
            }
            Framing::Chunked => {
                let _ = write!(out, "{:x}\r\n", chunk.len());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
                self.written += chunk.len() as u64;
            }
            Framing::UntilClose => {
                out.extend_from_slice(chunk);
                self.written += chunk.len() as u64;
            }
        }
        Ok(())
    }

    /// Frames `len` body bytes that the caller sends itself, straight from
    /// a file (sendfile): writes the framing that goes before them to `out`
    /// and says how many to send and what to write after them. The same
    /// Content-Length truncation as [`Self::body`] applies.
    pub fn external_body(
        &mut self,
        len: u64,
        out: &mut Vec<u8>,
    ) -> Result<ExternalBody, EncodeError> {
        if self.stage != Stage::Body {
            return Err(EncodeError::OutOfOrder("body before the response head"));
        }
        let (send, after): (u64, &'static [u8]) = match self.framing {
            _ if len == 0 => (0, b""),
            Framing::NoBody => (0, b""),
            Framing::Length(n) => (len.min(n.saturating_sub(self.written)), b""),
            Framing::Chunked => {
                let _ = write!(out, "{len:x}\r\n");
                (len, b"\r\n")
            }
            Framing::UntilClose => (len, b""),
        };
        self.written += send;
        Ok(ExternalBody { send, after })
    }

    /// Body bytes of the current response that go on the wire: none for
    /// HEAD, 1xx, 204 and 304, at most the declared Content-Length. This is
    /// what gunicorn's access log reports (`%(b)s`, `%(B)s`).
    pub fn body_written(&self) -> u64 {
        self.written
    }

    /// The body length the head declared, when the body is framed by it
    /// (not for HEAD, 1xx, 204 or 304, which carry none).
    pub fn framed_length(&self) -> Option<u64> {
        match self.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the body already has every byte its framing allows: none
    /// may follow (HEAD, 204, 304) or its Content-Length is reached. Only
    /// the end of the framing can come after it.
    pub fn body_complete(&self) -> bool {
        match self.framing {
            Framing::NoBody => true,
            Framing::Length(n) => self.written >= n,
            Framing::Chunked | Framing::UntilClose => false,
        }
    }

    /// Ends the body. `Ok(keep_alive)`; an error when fewer bytes than the
    /// declared Content-Length were written (the connection must close).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, EncodeError> {
        if self.stage != Stage::Body {
            return Err(EncodeError::OutOfOrder("finish before the response head"));
        }
        self.stage = Stage::Idle;
        match self.framing {
            Framing::Chunked => {
                out.extend_from_slice(b"0\r\n");
                out.extend_from_slice(&self.trailers);
                out.extend_from_slice(b"\r\n");
            }
            Framing::Length(n) if self.written < n => {
                self.keep_alive = false;
                return Err(EncodeError::ShortBody {
                    declared: n,
                    written: self.written,
                });
            }
            _ => {}
        }
        Ok(self.keep_alive)
    }
}

impl ResponseEncoder {
    /// Adds a trailer field, sent after the last chunk by [`Self::finish`].
    /// Only a chunked body can carry trailers: for any other framing the
    /// field is checked and dropped. Fields that frame or route a message
    /// are refused (RFC 9110 §6.5.1).
    pub fn trailer(&mut self, name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        if self.stage != Stage::Body {
            return Err(EncodeError::OutOfOrder("trailer before the response body"));
        }
        check_field(name, value)?;
        if super::chunked::FORBIDDEN_TRAILERS
            .iter()
            .chain(HOP_BY_HOP.iter())
            .any(|f| name.eq_ignore_ascii_case(f))
        {
            return Err(EncodeError::InvalidHeaderName(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        if self.framing == Framing::Chunked {
            self.trailers.extend_from_slice(name);
            self.trailers.extend_from_slice(b": ");
            self.trailers.extend_from_slice(value);
            self.trailers.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

/// An interim (1xx) response before the final one, such as `103 Early
/// Hints`: its status line and fields, whole, to `out`. Not for `101`,
/// which switches protocols, nor for an HTTP/1.0 client, which knows no
/// 1xx (RFC 9110 §15.2): then nothing is written and `Ok(false)`.
pub fn informational(
    http_minor: u8,
    status: u16,
    fields: &[(&[u8], &[u8])],
    out: &mut Vec<u8>,
) -> Result<bool, EncodeError> {
    if !(100..200).contains(&status) || status == 101 {
        return Err(EncodeError::InvalidStatus(status));
    }
    for (name, value) in fields {
        check_field(name, value)?;
    }
    if http_minor == 0 {
        return Ok(false);
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase_1xx(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in fields {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(true)
}

fn reason_phrase_1xx(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        102 => "Processing",
        103 => "Early Hints",
        _ => "",
    }
}

/// A field name is a token; a value holds no control character but tab
/// (no response splitting).
fn check_field(name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(EncodeError::InvalidHeaderName(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(EncodeError::InvalidHeaderValue(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    Ok(())
}

/// The reason phrase of a status code rcorn itself may send.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A minimal response rcorn sends on its own: status line, a short text
/// body naming the status, and `Connection: close`.
pub fn error_response(status: u16, out: &mut Vec<u8>) {
    let reason = reason_phrase(status);
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}\n",
        reason.len() + 1
    );
}
