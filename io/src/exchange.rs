//! One request/response exchange on a connection.
//!
//! An `Exchange` exists from the moment a request head is complete until the
//! response is finished. Through it the application reads the request body
//! (pulled from the socket on demand, never past the end of the message,
//! with `100 Continue` sent on the first read) and writes the response
//! (encoded by the core's `ResponseEncoder`, buffered, and flushed in as few
//! writes as possible).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rcorn_core::http::{
    BodyKind, DateCache, Event, RequestDecoder, RequestFacts, RequestHead, ResponseEncoder,
};

use crate::blocking::{self, Deadline, Interest};
use crate::stream::{PeerAddr, Stream};

mod send_file;

/// Buffered response bytes are written out once they pass this size.
const FLUSH_AT: usize = 64 * 1024;
/// How much of a request body the application left unread the server will
/// read and discard to keep the connection; beyond it the connection closes.
const DRAIN_LIMIT: u64 = 256 * 1024;

/// What the listener a connection came from tells WSGI.
#[derive(Clone, Debug)]
pub struct ServerAddr {
    pub name: String,
    pub port: String,
    pub unix: bool,
}

/// A client connection and its codec state, reused across keep-alive
/// requests.
pub struct Connection {
    pub stream: Stream,
    pub decoder: RequestDecoder,
    pub encoder: ResponseEncoder,
    pub out: Vec<u8>,
    /// The client: the socket's peer, or the address a PROXY protocol
    /// preamble named.
    pub peer: PeerAddr,
    /// The proxy the socket really connects to, when a PROXY preamble named
    /// another client. Trust decisions are about it, not about `peer`.
    pub via: Option<PeerAddr>,
    /// What the access log needs beyond the request head, kept only when
    /// its format asks for it.
    pub log_fields: LogFields,
    pub server: ServerAddr,
    /// The last read from the socket found its receive queue empty: it
    /// returned fewer bytes than there was room for, or `WouldBlock`, on a
    /// plain TCP or Unix socket. Bytes arriving after it raise a new readiness edge, so the
    /// worker need not read again (and be told `EAGAIN`) to be sure.
    pub socket_drained: bool,
}

/// Response headers (`%({name}o)s`) and environ values (`%({name}e)s`) of
/// the last exchange, for the access log.
#[derive(Default)]
pub struct LogFields {
    /// Lower-case name and value, in the order the application gave them.
    pub response_headers: Vec<(String, Vec<u8>)>,
    /// Lower-case environ key and `str()` of its value.
    pub environ: Vec<(String, String)>,
}

impl Connection {
    /// Reads what the socket has now into the decoder. `Ok(false)`: the
    /// peer closed its side.
    pub fn fill(&mut self) -> io::Result<bool> {
        let buf = self.decoder.read_buf(16 * 1024);
        let room = buf.len();
        match self.stream.read(buf) {
            Ok(0) => {
                self.decoder.feed_eof();
                Ok(false)
            }
            Ok(n) => {
                self.decoder.filled(n);
                // A TCP or Unix stream read stops short only when the
                // socket's queue is empty; rustls may hold decrypted bytes
                // back whatever the socket holds.
                self.socket_drained = n < room && self.stream.short_read_means_empty();
                Ok(true)
            }
            Err(e) => {
                self.socket_drained =
                    e.kind() == io::ErrorKind::WouldBlock && self.stream.short_read_means_empty();
                Err(e)
            }
        }
    }

    /// Writes all of `out`, waiting for the socket when it is full.
    pub fn flush(&mut self, mut deadline: Deadline) -> io::Result<()> {
        let mut written = 0;
        while written < self.out.len() {
            match self.stream.write(&self.out[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_for(Interest::Write, &mut deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.out.clear();
                    return Err(e);
                }
            }
        }
        self.out.clear();
        // A TLS layer may still hold records the socket had no room for.
        loop {
            match self.stream.drain() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_for(Interest::Write, &mut deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_for(&self, interest: Interest, deadline: &mut Deadline) -> io::Result<()> {
        blocking::wait(
            std::os::fd::AsRawFd::as_raw_fd(&self.stream),
            interest,
            deadline,
        )
    }

    /// Waits until the socket has bytes (or the deadline passes) and reads
    /// them into the decoder.
    fn fill_blocking(&mut self, mut deadline: Deadline) -> io::Result<bool> {
        loop {
            match self.fill() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_for(Interest::Read, &mut deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

/// Server-wide state an exchange needs.
pub struct ExchangeContext<'a> {
    pub dates: &'a mut DateCache,
    /// How long a read or write on the client may stall (gunicorn's sync
    /// worker uses `timeout` as its socket timeout).
    pub io_timeout: Duration,
    /// The scheme a trusted proxy's headers gave (`secure_scheme_headers`);
    /// `None`: the listener's own.
    pub forwarded_scheme: Option<&'static str>,
    /// Whether the worker will take another request on this connection
    /// (false while it drains, and for its last request before
    /// `max_requests`): the response says `Connection: close` otherwise.
    pub keep_alive: bool,
    /// Set by a gthread worker's loop once it drains: a response not yet
    /// begun says `Connection: close` even if `keep_alive` said otherwise
    /// when the request was handed over.
    pub draining: Option<&'a AtomicBool>,
    /// The access log prints response headers: keep them in `log_fields`.
    pub keep_response_headers: bool,
    /// Leave a complete keep-alive response in `conn.out` for the worker's
    /// loop to write with the others of its batch ([`Connection::flush`]),
    /// instead of writing it before `finish` returns. See DESIGN.md §3.
    pub defer_last_write: bool,
}

#[derive(Default)]
struct BodyState {
    /// Body bytes decoded but not yet handed to the application.
    pending: Vec<u8>,
    pending_pos: usize,
    done: bool,
    continue_sent: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResponseState {
    NotStarted,
    HeadOpen,
    BodyOpen,
    Finished,
}

/// Why an exchange could not go on.
#[derive(Debug)]
pub enum ExchangeError {
    /// The client went away or stalled; nothing more can be sent.
    Io(io::Error),
    /// The request body was malformed (e.g. a bad chunk): the status to send
    /// if no response has started.
    BadBody(u16, String),
    /// The application broke an HTTP rule (a bad header, too many bytes …).
    Protocol(String),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Io(e) => write!(f, "{e}"),
            ExchangeError::BadBody(status, m) => write!(f, "invalid request body ({status}): {m}"),
            ExchangeError::Protocol(m) => f.write_str(m),
        }
    }
}

impl From<io::Error> for ExchangeError {
    fn from(e: io::Error) -> Self {
        ExchangeError::Io(e)
    }
}

pub struct Exchange<'a> {
    conn: &'a mut Connection,
    ctx: ExchangeContext<'a>,
    body: BodyState,
    response: ResponseState,
    status: u16,
    body_bytes: u64,
    aborted: bool,
    broken: bool,
    /// The status of a request found malformed after its head.
    rejected: Option<u16>,
    started: Instant,
}

impl<'a> Exchange<'a> {
    /// Starts an exchange for the head the decoder has just produced.
    pub fn new(conn: &'a mut Connection, ctx: ExchangeContext<'a>) -> Option<Exchange<'a>> {
        conn.decoder.head()?;
        // A previous response whose write was deferred goes first: the
        // response buffer is this exchange's from here on.
        if !conn.out.is_empty() {
            conn.flush(Deadline::after(ctx.io_timeout)).ok()?;
        }
        conn.log_fields.response_headers.clear();
        conn.log_fields.environ.clear();
        Some(Exchange {
            conn,
            ctx,
            body: BodyState::default(),
            response: ResponseState::NotStarted,
            status: 0,
            body_bytes: 0,
            aborted: false,
            broken: false,
            rejected: None,
            started: Instant::now(),
        })
    }

    pub fn head(&self) -> &RequestHead {
        // `new` checked that a head exists, and nothing clears it while the
        // exchange lives.
        self.conn
            .decoder
            .head()
            .expect("an exchange always has a head")
    }

    pub fn peer(&self) -> &PeerAddr {
        &self.conn.peer
    }

    /// The peer of the socket itself: the proxy when a PROXY preamble
    /// named another client. Trust decisions are about it.
    pub fn socket_peer(&self) -> &PeerAddr {
        self.conn.via.as_ref().unwrap_or(&self.conn.peer)
    }

    pub fn server(&self) -> &ServerAddr {
        &self.conn.server
    }

    pub fn forwarded_scheme(&self) -> Option<&'static str> {
        self.ctx.forwarded_scheme
    }

    pub fn started_at(&self) -> Instant {
        self.started
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.ctx.io_timeout)
    }

    /// Moves the next decoded body bytes into `pending`. `Ok(false)` at the
    /// end of the body.
    fn pull_body(&mut self) -> Result<bool, ExchangeError> {
        if self.body.done {
            return Ok(false);
        }
        self.body.pending.clear();
        self.body.pending_pos = 0;
        loop {
            match self.conn.decoder.next_event() {
                Ok(Event::Body(bytes)) => {
                    self.body.pending.extend_from_slice(bytes);
                    return Ok(true);
                }
                Ok(Event::End) => {
                    self.body.done = true;
                    return Ok(false);
                }
                Ok(Event::NeedData) => {
                    self.send_continue_if_expected()?;
                    let deadline = self.deadline();
                    if let Err(e) = self.conn.fill_blocking(deadline) {
                        self.broken = true;
                        return Err(e.into());
                    }
                }
                Ok(Event::Head(_)) | Ok(Event::Closed) => {
                    // Neither can come before the end of this body; the
                    // decoder would have to be broken.
                    self.broken = true;
                    return Err(ExchangeError::Protocol(
                        "request body ended unexpectedly".into(),
                    ));
                }
                Err(e) => {
                    // The connection can still carry an answer, but never
                    // another request.
                    self.rejected = Some(e.status());
                    self.aborted = true;
                    return Err(ExchangeError::BadBody(e.status(), e.to_string()));
                }
            }
        }
    }

    /// `100 Continue` goes out the first time the application wants body
    /// bytes that have not arrived, and only if the client asked for it.
    fn send_continue_if_expected(&mut self) -> io::Result<()> {
        if self.body.continue_sent
            || !self.head().expect_continue()
            || self.response != ResponseState::NotStarted
        {
            return Ok(());
        }
        self.body.continue_sent = true;
        self.conn
            .out
            .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        let deadline = self.deadline();
        self.conn.flush(deadline)
    }

    /// Appends up to `max` body bytes to `buf`; returns how many (0 at the
    /// end of the body).
    pub fn read_body(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        let mut total = 0;
        while total < max {
            if self.body.pending_pos == self.body.pending.len() {
                // Return what we have rather than block for more.
                if total > 0 && !self.body_ready_without_blocking() {
                    break;
                }
                if !self.pull_body()? {
                    break;
                }
                continue;
            }
            let available = &self.body.pending[self.body.pending_pos..];
            let take = available.len().min(max - total);
            buf.extend_from_slice(&available[..take]);
            self.body.pending_pos += take;
            total += take;
        }
        Ok(total)
    }

    fn body_ready_without_blocking(&self) -> bool {
        self.conn.decoder.has_buffered()
    }

    /// Appends body bytes up to and including the next `\n`, at most `max`.
    pub fn read_line(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        let mut total = 0;
        while total < max {
            if self.body.pending_pos == self.body.pending.len() && !self.pull_body()? {
                break;
            }
            let available = &self.body.pending[self.body.pending_pos..];
            let limit = available.len().min(max - total);
            let (take, found) = match memchr::memchr(b'\n', &available[..limit]) {
                Some(i) => (i + 1, true),
                None => (limit, false),
            };
            buf.extend_from_slice(&available[..take]);
            self.body.pending_pos += take;
            total += take;
            if found {
                break;
            }
        }
        Ok(total)
    }

    /// The length of the request body when the client declared it.
    pub fn content_length(&self) -> Option<u64> {
        match self.head().body() {
            BodyKind::Length(n) => Some(n),
            BodyKind::None => Some(0),
            BodyKind::Chunked => None,
        }
    }

    fn facts(&self) -> RequestFacts {
        let head = self.head();
        RequestFacts {
            head_request: head.method() == "HEAD",
            http_minor: head.version().1,
            keep_alive: head.keep_alive()
                && !self.aborted
                && self.ctx.keep_alive
                // Relaxed: the flag only ever goes from false to true, and
                // seeing it late costs one more kept-alive response.
                && !self.ctx.draining.is_some_and(|d| d.load(Ordering::Relaxed)),
        }
    }

    /// Begins the response head. Headers follow with [`Self::header`].
    pub fn start_response(&mut self, status: u16, reason: &[u8]) -> Result<(), ExchangeError> {
        if self.response != ResponseState::NotStarted {
            return Err(ExchangeError::Protocol("response already started".into()));
        }
        let facts = self.facts();
        // A response begun again after an error starts a fresh header list.
        self.conn.log_fields.response_headers.clear();
        self.conn
            .encoder
            .start(facts, status, reason, &mut self.conn.out)
            .map_err(|e| ExchangeError::Protocol(e.to_string()))?;
        self.status = status;
        self.response = ResponseState::HeadOpen;
        Ok(())
    }

    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), ExchangeError> {
        if self.response != ResponseState::HeadOpen {
            return Err(ExchangeError::Protocol(
                "header outside the response head".into(),
            ));
        }
        self.conn
            .encoder
            .header(name, value, &mut self.conn.out)
            .map_err(|e| ExchangeError::Protocol(e.to_string()))?;
        if self.ctx.keep_response_headers {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            self.conn
                .log_fields
                .response_headers
                .push((name, value.to_vec()));
        }
        Ok(())
    }

    /// Keeps an environ value for the access log's `%({name}e)s`.
    pub fn log_environ(&mut self, lower_name: &str, value: String) {
        self.conn
            .log_fields
            .environ
            .push((lower_name.to_owned(), value));
    }

    /// Ends the head; `body_len_hint` is the body's length when the
    /// application's result makes it known (a one-item list).
    pub fn end_head(&mut self, body_len_hint: Option<u64>) -> Result<(), ExchangeError> {
        if self.response != ResponseState::HeadOpen {
            return Err(ExchangeError::Protocol("no response head to end".into()));
        }
        let date = self.ctx.dates.get(crate::clock::unix_secs());
        self.conn
            .encoder
            .finish_head(date, body_len_hint, &mut self.conn.out)
            .map_err(|e| ExchangeError::Protocol(e.to_string()))?;
        self.response = ResponseState::BodyOpen;
        Ok(())
    }

    pub fn write_body(&mut self, chunk: &[u8]) -> Result<(), ExchangeError> {
        if self.response != ResponseState::BodyOpen {
            return Err(ExchangeError::Protocol(
                "write() before start_response()".into(),
            ));
        }
        self.conn
            .encoder
            .body(chunk, &mut self.conn.out)
            .map_err(|e| ExchangeError::Protocol(e.to_string()))?;
        self.body_bytes = self.conn.encoder.body_written();
        if self.conn.out.len() >= FLUSH_AT {
            let deadline = self.deadline();
            if let Err(e) = self.conn.flush(deadline) {
                self.broken = true;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Whether the response head has been started (and so a 500 can no
    /// longer be sent).
    pub fn response_started(&self) -> bool {
        self.response != ResponseState::NotStarted
    }

    /// Whether the response head has been ended (body bytes may follow and
    /// the status can no longer change).
    pub fn head_ended(&self) -> bool {
        matches!(
            self.response,
            ResponseState::BodyOpen | ResponseState::Finished
        )
    }

    /// Discards a response head that was begun but not sent (the
    /// application raised between `start_response` and its first byte).
    pub fn reset_response(&mut self) -> bool {
        if self.response == ResponseState::HeadOpen && !self.broken {
            self.conn.out.clear();
            self.response = ResponseState::NotStarted;
            return true;
        }
        false
    }

    /// The application failed after the response started: close the
    /// connection once what was written is out.
    pub fn abort(&mut self) {
        self.aborted = true;
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Completes the exchange. Returns whether the connection may serve
    /// another request.
    pub fn finish(mut self) -> (bool, ExchangeSummary) {
        let keep_alive = self.finish_inner().unwrap_or(false);
        let summary = ExchangeSummary {
            status: self.status,
            body_bytes: self.body_bytes,
            duration: self.started.elapsed(),
        };
        (keep_alive, summary)
    }

    fn finish_inner(&mut self) -> Result<bool, ExchangeError> {
        if self.broken {
            return Ok(false);
        }
        if self.response == ResponseState::NotStarted {
            // The application returned without answering (or failed on a
            // malformed body, which gets that body's status).
            let status = self.rejected.unwrap_or(500);
            self.conn.out.clear();
            rcorn_core::http::error_response(status, &mut self.conn.out);
            self.status = status;
            self.aborted = true;
        } else if self.aborted {
            // The application failed mid-body: send what it produced but
            // never the end of the framing, so the client cannot take the
            // cut-short body for a complete one.
        } else {
            if self.response == ResponseState::HeadOpen {
                self.end_head(Some(0))?;
            }
            let encoder_keep_alive = match self.conn.encoder.finish(&mut self.conn.out) {
                Ok(k) => k,
                Err(_) => {
                    // Fewer bytes than the declared Content-Length: the
                    // only honest end is to close.
                    self.aborted = true;
                    false
                }
            };
            self.aborted |= !encoder_keep_alive;
        }
        self.response = ResponseState::Finished;
        let deferred = self.ctx.defer_last_write && !self.aborted;
        if !deferred {
            let deadline = self.deadline();
            self.conn.flush(deadline)?;
        }
        if self.aborted {
            return Ok(false);
        }
        let keep_alive = self.drain_unread_body();
        if deferred && !matches!(keep_alive, Ok(true)) {
            // The connection will be closed: its last response goes now.
            let deadline = self.deadline();
            self.conn.flush(deadline)?;
        }
        keep_alive
    }

    /// Reads and drops what the application left of the request body, so
    /// the next request on the connection starts at the right byte.
    fn drain_unread_body(&mut self) -> Result<bool, ExchangeError> {
        if self.body.done {
            return Ok(true);
        }
        if self.head().expect_continue() && !self.body.continue_sent {
            // The client is waiting for our go-ahead that never came; it may
            // or may not send the body. Only closing is unambiguous.
            return Ok(false);
        }
        let mut drained: u64 = 0;
        while self.pull_body()? {
            drained += self.body.pending.len() as u64;
            if drained > DRAIN_LIMIT {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What the access log needs once an exchange is over.
#[derive(Clone, Copy, Debug)]
pub struct ExchangeSummary {
    pub status: u16,
    pub body_bytes: u64,
    pub duration: Duration,
}
