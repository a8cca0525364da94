//! One HTTP/1.1 server connection, sans-IO: the client's bytes in, request
//! events out; the application's response in, bytes for the client out. No
//! socket and no clock: the caller moves the bytes and says what time it is.
//!
//! The rules it keeps, so that every adapter (the blocking worker, a future
//! event-loop one, the simulator, the fuzzer) keeps them alike:
//!
//! 1. **One exchange at a time, in order.** The next request's head is not
//!    handed out before the current response is finished and the current
//!    request's body read to its end; pipelined bytes wait in the buffer.
//! 2. **`100 Continue` only when the body is wanted**: the first time the
//!    application asks for body bytes that have not arrived, if the client
//!    asked for it and no response has started. An application that answers
//!    without reading never invites the body.
//! 3. **Keep-alive needs every party's consent**: the client's (HTTP/1.1, or
//!    1.0 with `keep-alive`), the caller's (`may_reuse`: false while the
//!    worker drains), no error on either side, and a body whose framing ends
//!    without closing (a Content-Length fully sent, or chunked). A response
//!    that does not keep the connection says `Connection: close`, and
//!    nothing is read after it.
//! 4. **An unread body is drained, within bounds.** What the application
//!    left of the request body is read and dropped, up to [`DRAIN_LIMIT`],
//!    so the next request starts at its first byte. Beyond the limit, or
//!    when the client still waits for a `100 Continue` that never came, the
//!    connection closes instead: only closing is unambiguous then.
//! 5. **A malformed request never reaches the application as valid.** A
//!    bad head is answered with a short error response and
//!    `Connection: close`; a bad body, found while the application reads
//!    it, gets its status if no response has started. The client's error
//!    is sticky: no later request is read.
//! 6. **The application's mistakes are refused, not fatal.** A bad header
//!    or a call out of order returns [`ConnError::App`] and changes nothing,
//!    so the application may still answer (WSGI lets it call
//!    `start_response` again before the body). A response cut short (fewer
//!    bytes than its Content-Length, or the application failing mid-body)
//!    closes the connection without ending its framing, so the client never
//!    takes it for complete.
//! 7. **Time is a parameter; deadlines are data.** A connection waiting on
//!    its peer has one deadline: `idle` between requests, `head` while a
//!    head is incomplete, `body` while a request body is read.

use std::time::Duration;

use super::decoder::{Event, RequestDecoder};
use super::encoder::{
    error_response, informational, EncodeError, ExternalBody, RequestFacts, ResponseEncoder,
};
use crate::http::error::{DecodeError, DecodeErrorKind};
use crate::http::proxy_protocol::{ProxyInfo, ProxyMode};
use crate::http::{DecoderConfig, RequestHead};
use crate::time::Instant;

/// How much of a request body the application left unread is read and
/// dropped to keep the connection; beyond it the connection closes.
pub const DRAIN_LIMIT: u64 = 256 * 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How long the connection may wait on its peer (rule 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a complete request head, once its first bytes arrived.
    pub head: Duration,
    /// For the next request, on an idle keep-alive connection.
    pub idle: Duration,
    /// For more of a request body.
    pub body: Duration,
}

impl Default for Timeouts {
    /// gunicorn's: `keepalive` 2 s, `timeout` 30 s.
    fn default() -> Self {
        Timeouts {
            head: Duration::from_secs(30),
            idle: Duration::from_secs(2),
            body: Duration::from_secs(30),
        }
    }
}

/// What the client's bytes amount to, from [`ServerConnection::poll_event`].
#[derive(Debug)]
pub enum ConnEvent<'a> {
    /// A request head: call the application. Its body (if any) follows.
    Request(&'a RequestHead),
    /// Bytes of the current request's body.
    Body(&'a [u8]),
    /// The current request's body is complete.
    BodyEnd,
    /// More bytes from the client are needed to go on. Before waiting for
    /// them, call [`ServerConnection::poll_transmit`].
    NeedData,
    /// The request is read; the next waits until its response is finished.
    Paused,
    /// No more requests on this connection: write what is in `out`, close.
    Closed,
}

/// Whose fault an error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// The client sent something that is not HTTP/1.1 as rcorn accepts it.
    /// Sticky: every later [`ServerConnection::poll_event`] returns it.
    Client(DecodeError),
    /// The application broke a rule of the response. The call had no
    /// effect; the connection goes on (rule 6).
    App(EncodeError),
}

impl ConnError {
    /// The status the client is (or would have been) answered with.
    pub fn status(&self) -> u16 {
        match self {
            ConnError::Client(e) => e.status(),
            ConnError::App(_) => 500,
        }
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Client(e) => e.fmt(f),
            ConnError::App(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnError {}

/// What the connection needs next, once a response is finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It may carry another request: [`ServerConnection::poll_event`].
    Request,
    /// The unread rest of the request body must be read first: feed bytes
    /// and call [`ServerConnection::drain`] (or `poll_event`) until it
    /// says otherwise.
    Drain,
    /// Write what is in `out`, then close.
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between exchanges: the next bytes start a request head.
    Idle,
    /// A head was handed out; its body is not read to the end, its
    /// response not finished.
    Reading,
    /// The body is read; the response is not finished.
    Responding,
    /// The response is finished; the rest of the body is being dropped.
    Draining,
    /// No more requests.
    Closed,
}

/// One HTTP/1.1 server connection: a [`RequestDecoder`], a
/// [`ResponseEncoder`] and the state of the exchange between them.
///
/// Calling protocol (the caller owns the socket, the clock and `out`):
///
/// 1. Put the client's bytes in with [`read_buf`](Self::read_buf) +
///    [`filled`](Self::filled) (or [`feed`](Self::feed)); its end with
///    [`feed_eof`](Self::feed_eof).
/// 2. Call [`poll_event`](Self::poll_event) until `NeedData` (call
///    [`poll_transmit`](Self::poll_transmit), write `out`, wait, go to 1),
///    `Paused` (the application has the request) or `Closed`. On
///    `Request`, call the application; it reads the body through
///    `poll_event` (`Body` … `BodyEnd`).
/// 3. The application answers: [`start_response`](Self::start_response),
///    [`header`](Self::header)s, [`end_head`](Self::end_head),
///    [`body`](Self::body) chunks; each appends bytes to `out`, which the
///    caller writes when it likes. Then
///    [`finish_response`](Self::finish_response) says what is [`Next`].
/// 4. An `Err` from `poll_event` is the client's fault: call
///    `poll_transmit` for the error response, write it, close.
/// 5. Whenever it is going to wait on the client, the caller calls
///    [`await_peer`](Self::await_peer) with the time, wakes by
///    [`next_deadline`](Self::next_deadline), and then calls
///    [`handle_timeout`](Self::handle_timeout).
pub struct ServerConnection {
    decoder: RequestDecoder,
    encoder: ResponseEncoder,
    timeouts: Timeouts,
    phase: Phase,
    /// The client's error, returned by every later `poll_event`.
    error: Option<ConnError>,
    /// An error response to send before closing (a rejected head).
    error_due: Option<u16>,
    /// The status of a request body found malformed after its head.
    rejected: Option<u16>,
    /// The exchange must end the connection, without ending the framing
    /// of a response already begun.
    aborted: bool,
    continue_due: bool,
    continue_sent: bool,
    /// Where the current response head starts in `out`.
    head_mark: usize,
    /// The begun head is out of `out` (`take_unsent_head`), so an interim
    /// response may go before it.
    head_held: bool,
    status: u16,
    drained: u64,
    deadline: Option<Instant>,
}

impl ServerConnection {
    pub fn new(cfg: DecoderConfig, server_header: &[u8], timeouts: Timeouts) -> Self {
        ServerConnection {
            decoder: RequestDecoder::new(cfg),
            encoder: ResponseEncoder::new(server_header),
            timeouts,
            phase: Phase::Idle,
            error: None,
            error_due: None,
            rejected: None,
            aborted: false,
            continue_due: false,
            continue_sent: false,
            head_mark: 0,
            head_held: false,
            status: 0,
            drained: 0,
            deadline: None,
        }
    }

    /// See [`RequestDecoder::trust_forwarder_headers`].
    pub fn trust_forwarder_headers(&mut self) {
        self.decoder.trust_forwarder_headers();
    }

    /// See [`RequestDecoder::expect_proxy_preamble`].
    pub fn expect_proxy_preamble(&mut self, mode: ProxyMode) {
        self.decoder.expect_proxy_preamble(mode);
    }

    /// The connection speaks uwsgi, not HTTP/1 (see [`crate::uwsgi`]):
    /// requests are uwsgi packets, each the connection's last, and response
    /// bodies are never chunked. `peer_allowed`: the peer is in
    /// `uwsgi_allow_ips`; if not, the first `poll_event` refuses it.
    pub fn speak_uwsgi(&mut self, peer_allowed: bool) {
        self.decoder.expect_uwsgi(peer_allowed);
        self.encoder.never_chunk();
    }

    /// What a PROXY preamble said, once it has been read.
    pub fn proxy_info(&self) -> Option<&ProxyInfo> {
        self.decoder.proxy_info()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    // ---- bytes in ----

    /// Spare room of at least `min` bytes to read into; then call
    /// [`Self::filled`].
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.decoder.read_buf(min)
    }

    pub fn filled(&mut self, n: usize) {
        self.decoder.filled(n);
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.decoder.feed(bytes);
    }

    /// The client closed its sending side.
    pub fn feed_eof(&mut self) {
        self.decoder.feed_eof();
    }

    /// Bytes are buffered that no event has returned yet.
    pub fn has_buffered(&self) -> bool {
        self.decoder.has_buffered()
    }

    /// The bytes buffered that no event has returned yet: a connection
    /// that may turn out to speak HTTP/2 shows its first bytes to the
    /// preface sniff (`negotiate::PrefaceSniff`) before they are decoded.
    pub fn buffered(&self) -> &[u8] {
        self.decoder.buffered()
    }

    /// The connection becomes another protocol (a WebSocket, once its
    /// `101` is sent): the bytes the client sent past the request head are
    /// appended to `into`, and this connection reads no more.
    pub fn take_upgraded_bytes(&mut self, into: &mut Vec<u8>) {
        self.decoder.take_buffered(into);
    }

    /// Between requests with nothing buffered: the connection waits for a
    /// request that has not begun.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle && self.decoder.is_idle()
    }

    // ---- events out ----

    /// The next thing the client's bytes amount to.
    #[inline]
    pub fn poll_event(&mut self) -> Result<ConnEvent<'_>, ConnError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        match self.phase {
            Phase::Idle => {}
            Phase::Reading => return self.poll_body(),
            Phase::Responding => return Ok(ConnEvent::Paused),
            Phase::Draining => match self.drain()? {
                Next::Request => {}
                Next::Drain => return Ok(ConnEvent::NeedData),
                Next::Close => return Ok(ConnEvent::Closed),
            },
            Phase::Closed => return Ok(ConnEvent::Closed),
        }
        self.poll_head()
    }

    #[inline]
    fn poll_head(&mut self) -> Result<ConnEvent<'_>, ConnError> {
        // Only fields other than the decoder are touched while its event
        // is alive.
        match self.decoder.next_event() {
            Ok(Event::Head(head)) => {
                self.phase = Phase::Reading;
                self.rejected = None;
                self.aborted = false;
                self.continue_due = false;
                self.continue_sent = false;
                self.status = 0;
                Ok(ConnEvent::Request(head))
            }
            Ok(Event::NeedData) => Ok(ConnEvent::NeedData),
            Ok(Event::Closed) | Ok(Event::Body(_)) | Ok(Event::End) => {
                // Body and End cannot come between messages.
                self.phase = Phase::Closed;
                Ok(ConnEvent::Closed)
            }
            Err(e) => {
                self.error_due = Some(e.status());
                self.phase = Phase::Closed;
                let e = ConnError::Client(e);
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn poll_body(&mut self) -> Result<ConnEvent<'_>, ConnError> {
        // Decided before the decoder's event borrows it: only other fields
        // may change while that event is alive.
        let may_invite = !self.continue_sent && !self.response_begun() && self.expects_continue();
        let failure = match self.decoder.next_event() {
            Ok(Event::Body(bytes)) => return Ok(ConnEvent::Body(bytes)),
            Ok(Event::End) => {
                self.phase = Phase::Responding;
                return Ok(ConnEvent::BodyEnd);
            }
            Ok(Event::NeedData) => {
                if may_invite {
                    self.continue_sent = true;
                    self.continue_due = true;
                }
                return Ok(ConnEvent::NeedData);
            }
            // Neither can come before the end of a body; the decoder would
            // have to be broken.
            Ok(Event::Head(_)) | Ok(Event::Closed) => DecodeError::new(
                DecodeErrorKind::IncompleteMessage,
                "request body ended unexpectedly",
            ),
            Err(e) => e,
        };
        // A malformed body: the connection can still carry an answer, but
        // never another request (rule 5).
        self.rejected = Some(failure.status());
        self.aborted = true;
        let e = ConnError::Client(failure);
        self.error = Some(e.clone());
        Err(e)
    }

    fn expects_continue(&self) -> bool {
        self.decoder
            .head()
            .is_some_and(RequestHead::expect_continue)
    }

    /// Appends to `out` what the connection itself has to say (a
    /// `100 Continue`, an error response); `true` if it did. Call it
    /// before waiting for the client, and after an `Err`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if std::mem::take(&mut self.continue_due) {
            out.extend_from_slice(CONTINUE);
            return true;
        }
        if let Some(status) = self.error_due.take() {
            error_response(status, out);
            return true;
        }
        false
    }

    /// The caller refuses the request just handed out (a rule of its own,
    /// such as contradicting proxy headers): it gets `e`'s error response
    /// from [`Self::poll_transmit`], and the connection closes.
    pub fn reject_request(&mut self, e: DecodeError) {
        self.error_due = Some(e.status());
        self.phase = Phase::Closed;
        self.error = Some(ConnError::Client(e));
    }

    /// The head of the current (or last) request.
    pub fn request_head(&self) -> Option<&RequestHead> {
        self.decoder.head()
    }

    /// Trailer fields of the last chunked request body, names as sent.
    pub fn trailers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.decoder.trailers()
    }
}

/// The response half.
impl ServerConnection {
    fn in_exchange(&self) -> bool {
        matches!(self.phase, Phase::Reading | Phase::Responding)
    }

    fn response_begun(&self) -> bool {
        self.encoder.head_open() || self.encoder.body_open()
    }

    /// Whether the current response has begun (and so an error response
    /// can no longer be sent); true once it is finished.
    pub fn response_started(&self) -> bool {
        !self.in_exchange() || self.response_begun()
    }

    /// Whether the current response head is out (body bytes may follow and
    /// the status can no longer change); true once it is finished.
    pub fn head_ended(&self) -> bool {
        !self.in_exchange() || self.encoder.body_open()
    }

    /// The status of the current (or last) response; 0 before one starts.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Body bytes of the current response that go on the wire (see
    /// [`ResponseEncoder::body_written`]).
    pub fn body_bytes(&self) -> u64 {
        self.encoder.body_written()
    }

    /// The Content-Length the current response's body is framed by, once
    /// its head is out (see [`ResponseEncoder::framed_length`]).
    pub fn framed_length(&self) -> Option<u64> {
        self.encoder
            .body_open()
            .then(|| self.encoder.framed_length())
            .flatten()
    }

    /// Whether the response's body is complete but for the end of its
    /// framing (see [`ResponseEncoder::body_complete`]).
    pub fn body_complete(&self) -> bool {
        self.encoder.body_open() && self.encoder.body_complete()
    }

    /// Begins the response: its status line goes to `out`. `may_reuse`:
    /// whether the caller would take another request on this connection
    /// (rule 3).
    #[inline]
    pub fn start_response(
        &mut self,
        status: u16,
        reason: &[u8],
        may_reuse: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ConnError> {
        let head = match self.decoder.head() {
            Some(head) if self.in_exchange() && !self.response_begun() => head,
            _ => return Err(out_of_order("response already started")),
        };
        let facts = RequestFacts {
            head_request: head.method() == "HEAD",
            http_minor: head.version().1,
            keep_alive: head.keep_alive() && !self.aborted && may_reuse,
        };
        let mark = out.len();
        self.encoder
            .start(facts, status, reason, out)
            .map_err(ConnError::App)?;
        self.head_mark = mark;
        self.status = status;
        Ok(())
    }

    pub fn header(
        &mut self,
        name: &[u8],
        value: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ConnError> {
        if !self.encoder.head_open() {
            return Err(out_of_order("header outside the response head"));
        }
        self.encoder
            .header(name, value, out)
            .map_err(ConnError::App)
    }

    /// Ends the head; `body_len_hint` is the body's length when the
    /// application knows it (it becomes the Content-Length if none was set).
    pub fn end_head(
        &mut self,
        date: &[u8],
        body_len_hint: Option<u64>,
        out: &mut Vec<u8>,
    ) -> Result<(), ConnError> {
        if !self.encoder.head_open() {
            return Err(out_of_order("no response head to end"));
        }
        self.encoder
            .finish_head(date, body_len_hint, out)
            .map_err(ConnError::App)
    }

    /// An interim response (`103 Early Hints`, …) before the final one,
    /// whole, to `out`; nothing for an HTTP/1.0 client (`Ok(false)`). A
    /// `100 Continue` the application sends itself is the go-ahead the
    /// connection would have sent (rule 2).
    pub fn informational(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
        out: &mut Vec<u8>,
    ) -> Result<bool, ConnError> {
        // A head begun but held back still lets a hint go first (gunicorn
        // sends one until the first body byte); never a `100 Continue`.
        let before_head = !self.response_begun() || (self.head_held && status != 100);
        let minor = match self.decoder.head() {
            Some(head) if self.in_exchange() && before_head => head.version().1,
            _ => return Err(out_of_order("interim response after the response started")),
        };
        let written = informational(minor, status, fields, out).map_err(ConnError::App)?;
        if written && status == 100 {
            self.continue_sent = true;
            self.continue_due = false;
        }
        Ok(written)
    }

    /// A trailer field for the end of a chunked body (see
    /// [`ResponseEncoder::trailer`]).
    pub fn trailer(&mut self, name: &[u8], value: &[u8]) -> Result<(), ConnError> {
        if !self.encoder.body_open() {
            return Err(out_of_order("trailer before the response body"));
        }
        self.encoder.trailer(name, value).map_err(ConnError::App)
    }

    /// Frames a chunk of the response body into `out`.
    pub fn body(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ConnError> {
        if !self.encoder.body_open() {
            return Err(out_of_order("write() before start_response()"));
        }
        self.encoder.body(chunk, out).map_err(ConnError::App)
    }

    /// Frames body bytes the caller sends itself (sendfile); see
    /// [`ResponseEncoder::external_body`].
    pub fn external_body(
        &mut self,
        len: u64,
        out: &mut Vec<u8>,
    ) -> Result<ExternalBody, ConnError> {
        if !self.encoder.body_open() {
            return Err(out_of_order("write() before start_response()"));
        }
        self.encoder.external_body(len, out).map_err(ConnError::App)
    }

    /// Lifts a begun, unended head out of `out`, so an interim response
    /// (`informational`) and the bytes before it can be sent while the head
    /// may still change; empty when there is none. Give it back with
    /// [`Self::restore_unsent_head`] once `out` is written.
    pub fn take_unsent_head(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        if !self.encoder.head_open() || self.head_held || out.len() < self.head_mark {
            return Vec::new();
        }
        self.head_held = true;
        out.split_off(self.head_mark)
    }

    /// Puts a head lifted by [`Self::take_unsent_head`] back at the end of
    /// `out`.
    pub fn restore_unsent_head(&mut self, held: Vec<u8>, out: &mut Vec<u8>) {
        if !std::mem::take(&mut self.head_held) {
            return;
        }
        self.head_mark = out.len();
        out.extend_from_slice(&held);
    }

    /// Takes back a head that was begun but not ended (the application
    /// failed between `start_response` and its first byte): `out` loses
    /// it, and a new response may start. `false` when there is none, or
    /// `out` no longer holds it.
    pub fn reset_response(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.encoder.head_open() || out.len() < self.head_mark {
            return false;
        }
        out.truncate(self.head_mark);
        self.encoder.abandon();
        true
    }

    /// The application failed: the connection closes once the response
    /// is finished, and a response already in its body is not ended.
    pub fn abort_response(&mut self) {
        self.aborted = true;
    }

    /// Completes the response: ends its framing (or answers in the
    /// application's place if it never began: 500, or a malformed body's
    /// status), then decides what comes next (rules 3 and 4). `date` is
    /// asked only if the head still has to be ended.
    pub fn finish_response<'d>(
        &mut self,
        out: &mut Vec<u8>,
        date: impl FnOnce() -> &'d [u8],
    ) -> Next {
        match self.phase {
            Phase::Reading | Phase::Responding => {}
            Phase::Idle => return Next::Request,
            Phase::Draining => return Next::Drain,
            Phase::Closed => return Next::Close,
        }
        if !self.response_begun() {
            let status = self.rejected.unwrap_or(500);
            error_response(status, out);
            self.status = status;
            self.aborted = true;
        } else if self.aborted {
            // Never the end of the framing: a cut-short body must not
            // look complete.
            self.encoder.abandon();
        } else {
            if self.encoder.head_open() && self.end_head(date(), Some(0), out).is_err() {
                self.aborted = true;
            }
            // Fewer bytes than the declared Content-Length: the only honest
            // end is to close.
            let keep_alive = self.encoder.finish(out).unwrap_or(false);
            self.aborted |= !keep_alive;
        }
        self.continue_due = false;
        if self.aborted {
            self.phase = Phase::Closed;
            return Next::Close;
        }
        if self.phase == Phase::Responding {
            self.phase = Phase::Idle;
            return Next::Request;
        }
        if self.expects_continue() && !self.continue_sent {
            // The client waits for a go-ahead that never came; it may or
            // may not send the body.
            self.phase = Phase::Closed;
            return Next::Close;
        }
        self.phase = Phase::Draining;
        self.drained = 0;
        self.drain().unwrap_or(Next::Close)
    }

    /// Reads and drops what is buffered of a body the application left
    /// unread (rule 4). `Next::Drain`: feed more bytes and call it again.
    #[inline]
    pub fn drain(&mut self) -> Result<Next, ConnError> {
        // Most requests have no body, and most bodies are read: only the
        // end of the message is left.
        if self.phase == Phase::Draining && self.decoder.take_end() {
            self.phase = Phase::Idle;
            return Ok(Next::Request);
        }
        self.drain_rest()
    }

    fn drain_rest(&mut self) -> Result<Next, ConnError> {
        match self.phase {
            Phase::Draining => {}
            Phase::Idle => return Ok(Next::Request),
            Phase::Closed => return Ok(Next::Close),
            Phase::Reading | Phase::Responding => return Ok(Next::Drain),
        }
        loop {
            match self.decoder.next_event() {
                Ok(Event::Body(bytes)) => {
                    self.drained += bytes.len() as u64;
                    if self.drained > DRAIN_LIMIT {
                        self.phase = Phase::Closed;
                        return Ok(Next::Close);
                    }
                }
                Ok(Event::End) => {
                    self.phase = Phase::Idle;
                    return Ok(Next::Request);
                }
                Ok(Event::NeedData) => return Ok(Next::Drain),
                Ok(Event::Head(_)) | Ok(Event::Closed) => {
                    self.phase = Phase::Closed;
                    return Ok(Next::Close);
                }
                Err(e) => {
                    self.phase = Phase::Closed;
                    let e = ConnError::Client(e);
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }
}

/// Deadlines (rule 7).
impl ServerConnection {
    /// The caller is about to wait for the client, from `now`: sets the
    /// deadline by what the connection waits for.
    pub fn await_peer(&mut self, now: Instant) {
        let wait = match self.phase {
            Phase::Reading | Phase::Draining => self.timeouts.body,
            _ if self.decoder.is_idle() => self.timeouts.idle,
            _ => self.timeouts.head,
        };
        self.deadline = Some(now + wait);
    }

    /// When the connection gives up waiting, if it waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `true` when the deadline has passed: the connection is closed (with
    /// no response: a client that sent nothing cannot be answered).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            self.phase = Phase::Closed;
            return true;
        }
        false
    }

    /// The worker is retiring: an idle connection gets at most the idle
    /// timeout from `now` to begin a request.
    pub fn retire(&mut self, now: Instant) {
        if self.is_idle() {
            let by = now + self.timeouts.idle;
            self.deadline = Some(self.deadline.map_or(by, |d| d.min(by)));
        }
    }
}

fn out_of_order(what: &'static str) -> ConnError {
    ConnError::App(EncodeError::OutOfOrder(what))
}
