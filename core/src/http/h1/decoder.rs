//! The incremental request decoder: bytes in, events out.
//!
//! Bytes arrive in any split (`feed`, or `read_buf` + `filled` to read from
//! a socket straight into the decoder's buffer); `next_event` yields the
//! same heads, body bytes and ends however they were split. Bytes after a
//! complete message stay buffered for the next (pipelining). After an error
//! the decoder stays failed: a connection that sent one malformed message
//! is never trusted with another.

use std::ops::Range;

use super::chunked::{parse_size_line, parse_trailer_line, MAX_CHUNK_LINE};
use crate::http::error::{DecodeError, DecodeErrorKind as K};
use crate::http::head::{find_head_end, BodyKind, HeadScan, RequestHead};
use crate::http::proxy_protocol::{self, Preamble, ProxyInfo, ProxyMode};
use crate::http::DecoderConfig;

#[derive(Debug)]
pub enum Event<'a> {
    Head(&'a RequestHead),
    Body(&'a [u8]),
    End,
    NeedData,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between messages: the next bytes start a head.
    Idle,
    /// A head was returned; its body (if any) follows.
    Length {
        remaining: u64,
    },
    ChunkSize,
    ChunkData {
        remaining: u64,
    },
    ChunkDataEnd,
    Trailers {
        count: usize,
    },
    /// The message is complete; `End` not yet returned.
    Ending,
}

pub struct RequestDecoder {
    cfg: DecoderConfig,
    /// Always initialised to its length; `start..end` holds unread bytes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    state: State,
    head: RequestHead,
    /// Progress through the head being received.
    scan: HeadScan,
    has_head: bool,
    trailers: Vec<u8>,
    trailer_fields: Vec<(Range<usize>, Range<usize>)>,
    error: Option<DecodeError>,
    /// A PROXY protocol preamble the connection may start with, until the
    /// first bytes have shown whether it does.
    preamble: Option<ProxyMode>,
    proxy: Option<ProxyInfo>,
    /// The peer may send `forwarder_headers` (see
    /// [`Self::trust_forwarder_headers`]).
    forwarders_trusted: bool,
    /// Each message is a uwsgi packet, not an HTTP/1 head
    /// ([`Self::expect_uwsgi`]).
    uwsgi: bool,
}

impl RequestDecoder {
    pub fn new(cfg: DecoderConfig) -> Self {
        RequestDecoder {
            cfg,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            state: State::Idle,
            head: RequestHead::default(),
            scan: HeadScan::default(),
            has_head: false,
            trailers: Vec::new(),
            trailer_fields: Vec::new(),
            error: None,
            preamble: None,
            proxy: None,
            forwarders_trusted: false,
            uwsgi: false,
        }
    }

    /// The connection speaks uwsgi (`--protocol uwsgi`): each message is a
    /// uwsgi packet and its Content-Length body (see [`crate::uwsgi`]).
    /// `peer_allowed`: the peer is in `uwsgi_allow_ips`; if not, the
    /// decoder fails at once, before any byte is read.
    pub fn expect_uwsgi(&mut self, peer_allowed: bool) {
        self.uwsgi = true;
        if !peer_allowed {
            self.error = Some(DecodeError::new(
                K::ForbiddenUWSGIRequest,
                "peer not in uwsgi_allow_ips",
            ));
        }
    }

    /// The connection's peer is a proxy trusted with `forwarder_headers`
    /// (it is in `forwarded_allow_ips`): under `header_map = refuse`, the
    /// names listed there are accepted from it, as gunicorn does.
    pub fn trust_forwarder_headers(&mut self) {
        self.forwarders_trusted = true;
    }

    /// The connection comes from a proxy allowed to send a PROXY protocol
    /// preamble (`proxy_protocol`, `proxy_allow_ips`): look for one before
    /// the first request.
    pub fn expect_proxy_preamble(&mut self, mode: ProxyMode) {
        if mode != ProxyMode::Off {
            self.preamble = Some(mode);
        }
    }

    /// What the PROXY preamble said, once it has been read.
    pub fn proxy_info(&self) -> Option<&ProxyInfo> {
        self.proxy.as_ref()
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let spare = self.read_buf(bytes.len());
        spare[..bytes.len()].copy_from_slice(bytes);
        self.filled(bytes.len());
    }

    /// Spare room of at least `min` bytes to read into; then call
    /// [`Self::filled`].
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.buf.len() - self.end < min {
            // Move unread bytes to the front rather than grow.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            self.buf.resize(self.end + min, 0);
        }
        &mut self.buf[self.end..]
    }

    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The peer closed its sending side.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    pub fn head(&self) -> Option<&RequestHead> {
        self.has_head.then_some(&self.head)
    }

    /// Trailer fields of the last chunked message, names as sent.
    pub fn trailers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.trailer_fields
            .iter()
            .map(|(n, v)| (&self.trailers[n.clone()], &self.trailers[v.clone()]))
    }

    pub fn is_idle(&self) -> bool {
        self.state == State::Idle && self.start == self.end && self.error.is_none()
    }

    /// Takes the `End` of a message whose last byte is already decoded,
    /// as [`Self::next_event`] would return it, without its machinery:
    /// `false` (and nothing changes) when the message is not at its end.
    #[inline]
    pub(crate) fn take_end(&mut self) -> bool {
        if self.state == State::Ending && self.error.is_none() {
            self.state = State::Idle;
            return true;
        }
        false
    }

    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// The bytes buffered past what was decoded.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Hands over the bytes buffered past what was decoded (the start of
    /// another protocol, after an upgrade), appending them to `into`.
    pub fn take_buffered(&mut self, into: &mut Vec<u8>) {
        into.extend_from_slice(&self.buf[self.start..self.end]);
        self.start = self.end;
    }

    fn fail(&mut self, e: DecodeError) -> Result<Event<'_>, DecodeError> {
        self.error = Some(e.clone());
        Err(e)
    }

    pub fn next_event(&mut self) -> Result<Event<'_>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        // The two events every message ends with, answered without the
        // state machine's frame: the end of a message, and then (for all
        // but pipelined messages) the empty buffer.
        match self.state {
            State::Ending => {
                self.state = State::Idle;
                return Ok(Event::End);
            }
            State::Idle if self.start == self.end && !self.eof => return Ok(Event::NeedData),
            _ => {}
        }
        match self.step() {
            Ok(kind) => Ok(match kind {
                EventKind::Head => Event::Head(&self.head),
                EventKind::Body(range) => Event::Body(&self.buf[range]),
                EventKind::End => Event::End,
                EventKind::NeedData => Event::NeedData,
                EventKind::Closed => Event::Closed,
            }),
            Err(e) => self.fail(e),
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn need_data(&self, kind: K) -> Result<EventKind, DecodeError> {
        if self.eof {
            return Err(DecodeError::new(
                kind,
                "connection closed in the middle of a message",
            ));
        }
        Ok(EventKind::NeedData)
    }

    /// Finds the CRLF-terminated line at the front, refusing a bare LF or a
    /// line longer than `max`.
    fn take_line(&mut self, max: usize, kind: K) -> Result<Option<Range<usize>>, DecodeError> {
        let avail = self.available();
        let Some(lf) = memchr::memchr(b'\n', avail) else {
            if avail.len() > max + 1 {
                return Err(DecodeError::new(kind, "line too long"));
            }
            return Ok(None);
        };
        if lf == 0 || avail[lf - 1] != b'\r' {
            return Err(DecodeError::new(kind, "bare LF where CRLF is required"));
        }
        if lf - 1 > max {
            return Err(DecodeError::new(kind, "line too long"));
        }
        let line = self.start..self.start + lf - 1;
        if memchr::memchr(b'\r', &self.buf[line.clone()]).is_some() {
            let kind = if kind == K::InvalidChunkSize {
                K::InvalidChunkExtension
            } else {
                kind
            };
            return Err(DecodeError::new(kind, "bare CR where CRLF is required"));
        }
        self.start += lf + 1;
        Ok(Some(line))
    }

    /// A head of `len` bytes was decoded: its body (if any) comes next.
    fn start_message(&mut self, len: usize) {
        self.has_head = true;
        self.start += len;
        self.trailers.clear();
        self.trailer_fields.clear();
        self.state = match self.head.body() {
            BodyKind::None => State::Ending,
            BodyKind::Length(n) => State::Length { remaining: n },
            BodyKind::Chunked => State::ChunkSize,
        };
    }

    #[inline(never)]
    fn step(&mut self) -> Result<EventKind, DecodeError> {
        loop {
            match self.state {
                State::Idle => {
                    if self.start == self.end {
                        return Ok(if self.eof {
                            EventKind::Closed
                        } else {
                            EventKind::NeedData
                        });
                    }
                    if let Some(mode) = self.preamble {
                        match proxy_protocol::parse(mode, self.available())? {
                            Preamble::Incomplete => return self.need_data(K::InvalidProxyLine),
                            Preamble::Absent => self.preamble = None,
                            Preamble::Found { info, len } => {
                                self.start += len;
                                self.proxy = Some(info);
                                self.preamble = None;
                                continue;
                            }
                        }
                    }
                    if self.uwsgi {
                        let avail = &self.buf[self.start..self.end];
                        match crate::uwsgi::decode_head(avail, &mut self.head) {
                            Ok(Some(len)) => self.start_message(len),
                            Ok(None) => return self.need_data(K::InvalidUWSGIHeader),
                            Err(e) => {
                                // The head was being rebuilt: none is whole.
                                self.has_head = false;
                                return Err(e);
                            }
                        }
                        return Ok(EventKind::Head);
                    }
                    let avail = &self.buf[self.start..self.end];
                    // A head usually arrives whole: parse it in one pass. If
                    // it did not, scan it incrementally from then on, so a
                    // head trickling in costs linear time.
                    let len = match (!self.scan.whole_tried)
                        .then(|| {
                            self.head
                                .parse_whole(avail, &self.cfg, self.forwarders_trusted)
                        })
                        .flatten()
                    {
                        Some(parsed) => {
                            self.has_head = false;
                            parsed?
                        }
                        None => {
                            self.scan.whole_tried = true;
                            let Some(len) = find_head_end(avail, &self.cfg, &mut self.scan)? else {
                                return self.need_data(K::IncompleteMessage);
                            };
                            self.has_head = false;
                            self.head
                                .parse(&avail[..len], &self.cfg, self.forwarders_trusted)?;
                            len
                        }
                    };
                    self.scan = HeadScan::default();
                    self.start_message(len);
                    return Ok(EventKind::Head);
                }
                State::Length { remaining } => {
                    if remaining == 0 {
                        self.state = State::Ending;
                        continue;
                    }
                    if self.start == self.end {
                        return self.need_data(K::IncompleteMessage);
                    }
                    let take = (self.end - self.start)
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let range = self.start..self.start + take;
                    self.start += take;
                    self.state = State::Length {
                        remaining: remaining - take as u64,
                    };
                    return Ok(EventKind::Body(range));
                }
                State::ChunkSize => {
                    let Some(line) = self.take_line(MAX_CHUNK_LINE, K::InvalidChunkSize)? else {
                        return self.need_data(K::InvalidChunkSize);
                    };
                    let size = parse_size_line(&self.buf[line])?;
                    self.state = if size == 0 {
                        State::Trailers { count: 0 }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                }
                State::ChunkData { remaining } => {
                    if self.start == self.end {
                        return self.need_data(K::ChunkMissingTerminator);
                    }
                    let take = (self.end - self.start)
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let range = self.start..self.start + take;
                    self.start += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData { remaining: left }
                    };
                    return Ok(EventKind::Body(range));
                }
                State::ChunkDataEnd => {
                    let avail = self.available();
                    if avail.len() < 2 {
                        if avail.first().is_some_and(|&b| b != b'\r') {
                            return Err(DecodeError::new(
                                K::ChunkMissingTerminator,
                                "chunk data not followed by CRLF",
                            ));
                        }
                        return self.need_data(K::ChunkMissingTerminator);
                    }
                    if &avail[..2] != b"\r\n" {
                        return Err(DecodeError::new(
                            K::ChunkMissingTerminator,
                            "chunk data not followed by CRLF",
                        ));
                    }
                    self.start += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers { count } => {
                    let max = self.cfg.limit_request_field_size;
                    let Some(line) = self.take_line(max, K::ChunkMissingTerminator)? else {
                        return self.need_data(K::ChunkMissingTerminator);
                    };
                    if line.is_empty() {
                        self.state = State::Ending;
                        continue;
                    }
                    if count + 1 > self.cfg.limit_request_fields {
                        return Err(DecodeError::new(
                            K::LimitRequestHeaders,
                            "too many trailer fields",
                        ));
                    }
                    let bytes = &self.buf[line];
                    let (name_end, value_start, value_end) = parse_trailer_line(bytes)?;
                    let base = self.trailers.len();
                    self.trailers.extend_from_slice(bytes);
                    self.trailer_fields
                        .push((base..base + name_end, base + value_start..base + value_end));
                    self.state = State::Trailers { count: count + 1 };
                }
                State::Ending => {
                    self.state = State::Idle;
                    return Ok(EventKind::End);
                }
            }
        }
    }
}

enum EventKind {
    Head,
    Body(Range<usize>),
    End,
    NeedData,
    Closed,
}
