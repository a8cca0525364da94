//! One request/response exchange on a connection, blocking.
//!
//! An `Exchange` exists from the moment a request head is complete until the
//! response is finished. Through it the application reads the request body
//! (pulled from the socket on demand) and writes the response (buffered,
//! and flushed in as few writes as possible). Every HTTP rule (framing,
//! `100 Continue`, keep-alive, draining an unread body, error responses) is
//! the core's `ServerConnection`'s: this module only moves bytes between it
//! and the socket, and waits.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rcorn_core::http::{
    BodyKind, ConnError, ConnEvent, DateCache, Next, RequestHead, ServerConnection,
};

use crate::blocking::{self, Deadline, Interest};
use crate::stream::{PeerAddr, Stream};

mod send_file;

/// Buffered response bytes are written out once they pass this size.
const FLUSH_AT: usize = 64 * 1024;

/// What the listener a connection came from tells WSGI.
#[derive(Clone, Debug)]
pub struct ServerAddr {
    pub name: String,
    pub port: String,
    pub unix: bool,
}

/// A client connection and its protocol state, reused across keep-alive
/// requests.
pub struct Connection {
    pub stream: Stream,
    /// The HTTP/1.1 protocol: every rule of the exchange is its.
    pub http: ServerConnection,
    /// Bytes for the client, written by [`Connection::flush`].
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
    /// A cleartext connection that may turn out to speak HTTP/2 by prior
    /// knowledge: its first bytes are matched against the preface before
    /// HTTP/1 decodes them. `None` once decided (or never asked).
    pub sniff: Option<rcorn_core::http::negotiate::PrefaceSniff>,
    /// An `Upgrade: h2c` request whose body is being read before the
    /// connection turns to HTTP/2 (boxed: almost every connection has none).
    pub upgrade: Option<Box<rcorn_core::http::negotiate::PendingUpgrade>>,
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
    /// Reads what the socket has now into the connection. `Ok(false)`: the
    /// peer closed its side.
    pub fn fill(&mut self) -> io::Result<bool> {
        let buf = self.http.read_buf(16 * 1024);
        let room = buf.len();
        match self.stream.read(buf) {
            Ok(0) => {
                self.http.feed_eof();
                Ok(false)
            }
            Ok(n) => {
                self.http.filled(n);
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
    /// them into the connection.
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

impl From<ConnError> for ExchangeError {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Client(e) => ExchangeError::BadBody(e.status(), e.to_string()),
            ConnError::App(e) => ExchangeError::Protocol(e.to_string()),
        }
    }
}

/// The HTTP/1 side of an [`Exchange`].
pub struct H1Exchange<'a> {
    conn: &'a mut Connection,
    ctx: ExchangeContext<'a>,
    body: BodyState,
    body_bytes: u64,
    /// The socket failed or timed out: nothing more can be sent.
    broken: bool,
    /// A file being sent ended before its length: broken by the file,
    /// not by the client.
    file_short: bool,
    started: Instant,
}

impl<'a> H1Exchange<'a> {
    fn new(conn: &'a mut Connection, ctx: ExchangeContext<'a>) -> Option<H1Exchange<'a>> {
        conn.http.request_head()?;
        // A previous response whose write was deferred goes first: the
        // response buffer is this exchange's from here on.
        if !conn.out.is_empty() {
            conn.flush(Deadline::after(ctx.io_timeout)).ok()?;
        }
        conn.log_fields.response_headers.clear();
        conn.log_fields.environ.clear();
        Some(H1Exchange {
            conn,
            ctx,
            body: BodyState::default(),
            body_bytes: 0,
            broken: false,
            file_short: false,
            started: Instant::now(),
        })
    }

    pub fn head(&self) -> &RequestHead {
        // `new` checked that a head exists, and nothing clears it while the
        // exchange lives.
        self.conn
            .http
            .request_head()
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
            match self.conn.http.poll_event()? {
                ConnEvent::Body(bytes) => {
                    self.body.pending.extend_from_slice(bytes);
                    return Ok(true);
                }
                ConnEvent::BodyEnd => {
                    self.body.done = true;
                    return Ok(false);
                }
                ConnEvent::NeedData => {
                    // A `100 Continue`, the first time the body is wanted.
                    if self.conn.http.poll_transmit(&mut self.conn.out) {
                        let deadline = self.deadline();
                        self.conn.flush(deadline)?;
                    }
                    let deadline = self.deadline();
                    if let Err(e) = self.conn.fill_blocking(deadline) {
                        // A wait the application's runtime interrupted (a
                        // timeout of its own; see `blocking::Waiter`) leaves
                        // the connection intact: the application may answer.
                        self.broken = e.kind() != io::ErrorKind::Interrupted;
                        return Err(e.into());
                    }
                }
                ConnEvent::Request(_) | ConnEvent::Paused | ConnEvent::Closed => {
                    // None can come before the end of this body.
                    self.broken = true;
                    return Err(ExchangeError::Protocol(
                        "request body ended unexpectedly".into(),
                    ));
                }
            }
        }
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
        self.conn.http.has_buffered()
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

    /// Whether the worker would take another request on this connection.
    fn may_reuse(&self) -> bool {
        self.ctx.keep_alive
            // Relaxed: the flag only ever goes from false to true, and
            // seeing it late costs one more kept-alive response.
            && !self.ctx.draining.is_some_and(|d| d.load(Ordering::Relaxed))
    }

    /// Begins the response head. Headers follow with [`Self::header`].
    pub fn start_response(&mut self, status: u16, reason: &[u8]) -> Result<(), ExchangeError> {
        if !self.conn.http.response_started() {
            // A response begun again after an error starts a fresh header
            // list.
            self.conn.log_fields.response_headers.clear();
        }
        let may_reuse = self.may_reuse();
        self.conn
            .http
            .start_response(status, reason, may_reuse, &mut self.conn.out)?;
        Ok(())
    }

    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), ExchangeError> {
        self.conn.http.header(name, value, &mut self.conn.out)?;
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
        let date = self.ctx.dates.get(crate::clock::unix_secs());
        self.conn
            .http
            .end_head(date, body_len_hint, &mut self.conn.out)?;
        Ok(())
    }

    pub fn write_body(&mut self, chunk: &[u8]) -> Result<(), ExchangeError> {
        self.conn.http.body(chunk, &mut self.conn.out)?;
        self.body_bytes = self.conn.http.body_bytes();
        if self.conn.out.len() >= FLUSH_AT {
            let deadline = self.deadline();
            if let Err(e) = self.conn.flush(deadline) {
                self.broken = true;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Sends what the application has written so far, unless its body is
    /// already complete. PEP 3333: a block the application yields is sent
    /// before the next one is asked for, since making the next may take as
    /// long as the application likes (a server-sent event, a long poll). A
    /// body complete by its Content-Length can only end, so its last bytes
    /// may wait to be written with other connections' (batched writes).
    pub fn flush_block(&mut self) -> Result<(), ExchangeError> {
        if self.conn.out.is_empty() || self.conn.http.body_complete() {
            return Ok(());
        }
        let deadline = self.deadline();
        if let Err(e) = self.conn.flush(deadline) {
            self.broken = true;
            return Err(e.into());
        }
        Ok(())
    }

    /// A 1xx head, written at once; `Ok(false)` when it is not sent: the
    /// response's head is out, or the client speaks HTTP/1.0. A head only
    /// begun (`start_response`, no body byte yet) waits behind the hint,
    /// as gunicorn sends it.
    pub fn informational(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
    ) -> Result<bool, ExchangeError> {
        if self.broken || self.conn.http.head_ended() {
            return Ok(false);
        }
        let held = self.conn.http.take_unsent_head(&mut self.conn.out);
        let sent = self.send_informational(status, fields);
        self.conn.http.restore_unsent_head(held, &mut self.conn.out);
        sent
    }

    fn send_informational(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
    ) -> Result<bool, ExchangeError> {
        if !self
            .conn
            .http
            .informational(status, fields, &mut self.conn.out)?
        {
            return Ok(false);
        }
        let deadline = self.deadline();
        if let Err(e) = self.conn.flush(deadline) {
            self.broken = true;
            return Err(e.into());
        }
        Ok(true)
    }

    /// Whether the response head has been started (and so a 500 can no
    /// longer be sent).
    pub fn response_started(&self) -> bool {
        self.conn.http.response_started()
    }

    /// Whether the response head has been ended (body bytes may follow and
    /// the status can no longer change).
    pub fn head_ended(&self) -> bool {
        self.conn.http.head_ended()
    }

    /// Discards a response head that was begun but not sent (the
    /// application raised between `start_response` and its first byte).
    pub fn reset_response(&mut self) -> bool {
        !self.broken && self.conn.http.reset_response(&mut self.conn.out)
    }

    /// The application failed after the response started: close the
    /// connection once what was written is out.
    pub fn abort(&mut self) {
        self.conn.http.abort_response();
    }

    pub fn status(&self) -> u16 {
        self.conn.http.status()
    }

    pub fn client_gone(&self) -> bool {
        self.broken && !self.file_short
    }

    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Completes the exchange. Returns whether the connection may serve
    /// another request.
    pub fn finish(mut self) -> (bool, ExchangeSummary) {
        let keep_alive = self.finish_inner().unwrap_or(false);
        let summary = ExchangeSummary {
            status: self.conn.http.status(),
            body_bytes: self.body_bytes,
            duration: self.started.elapsed(),
        };
        (keep_alive, summary)
    }

    fn finish_inner(&mut self) -> Result<bool, ExchangeError> {
        if self.broken {
            return Ok(false);
        }
        let dates = &mut *self.ctx.dates;
        let next = self
            .conn
            .http
            .finish_response(&mut self.conn.out, || dates.get(crate::clock::unix_secs()));
        let deferred = self.ctx.defer_last_write && next != Next::Close;
        if !deferred {
            let deadline = self.deadline();
            self.conn.flush(deadline)?;
        }
        let keep_alive = match next {
            Next::Close => return Ok(false),
            Next::Request => Ok(true),
            Next::Drain => self.drain_unread_body(),
        };
        if deferred && !matches!(keep_alive, Ok(true)) {
            // The connection will be closed: its last response goes now.
            let deadline = self.deadline();
            self.conn.flush(deadline)?;
        }
        keep_alive
    }

    /// Reads what the application left of the request body, for the
    /// connection to drop, so the next request starts at the right byte.
    fn drain_unread_body(&mut self) -> Result<bool, ExchangeError> {
        loop {
            match self.conn.http.drain()? {
                Next::Request => return Ok(true),
                Next::Close => return Ok(false),
                Next::Drain => {
                    let deadline = self.deadline();
                    if let Err(e) = self.conn.fill_blocking(deadline) {
                        self.broken = true;
                        return Err(e.into());
                    }
                }
            }
        }
    }
}

/// One request and its response, over HTTP/1 or an HTTP/2 stream: the
/// one API the application interfaces answer through.
pub struct Exchange<'a>(Inner<'a>);

enum Inner<'a> {
    H1(H1Exchange<'a>),
    H2(&'a mut crate::h2::H2Exchange),
}

/// Runs the same call on whichever protocol the exchange speaks.
macro_rules! each {
    ($self:ident, $x:ident => $call:expr) => {
        match &mut $self.0 {
            Inner::H1($x) => $call,
            Inner::H2($x) => $call,
        }
    };
    (ref $self:ident, $x:ident => $call:expr) => {
        match &$self.0 {
            Inner::H1($x) => $call,
            Inner::H2($x) => $call,
        }
    };
}

impl<'a> Exchange<'a> {
    /// Starts an exchange for the request head the connection has just
    /// handed out.
    pub fn new(conn: &'a mut Connection, ctx: ExchangeContext<'a>) -> Option<Exchange<'a>> {
        H1Exchange::new(conn, ctx).map(|x| Exchange(Inner::H1(x)))
    }

    /// An exchange over an HTTP/2 stream.
    pub(crate) fn for_h2(stream: &'a mut crate::h2::H2Exchange) -> Exchange<'a> {
        Exchange(Inner::H2(stream))
    }

    pub fn head(&self) -> &RequestHead {
        each!(ref self, x => x.head())
    }

    pub fn peer(&self) -> &PeerAddr {
        each!(ref self, x => x.peer())
    }

    /// The peer of the socket itself: the proxy when a PROXY preamble
    /// named another client. Trust decisions are about it.
    pub fn socket_peer(&self) -> &PeerAddr {
        match &self.0 {
            Inner::H1(x) => x.socket_peer(),
            Inner::H2(x) => x.peer(),
        }
    }

    pub fn server(&self) -> &ServerAddr {
        each!(ref self, x => x.server())
    }

    pub fn forwarded_scheme(&self) -> Option<&'static str> {
        each!(ref self, x => x.forwarded_scheme())
    }

    pub fn started_at(&self) -> Instant {
        each!(ref self, x => x.started_at())
    }

    /// Appends up to `max` body bytes to `buf`; returns how many (0 at the
    /// end of the body).
    pub fn read_body(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        each!(self, x => x.read_body(buf, max))
    }

    /// Appends body bytes up to and including the next `\n`, at most `max`.
    pub fn read_line(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        each!(self, x => x.read_line(buf, max))
    }

    /// The length of the request body when the client declared it.
    pub fn content_length(&self) -> Option<u64> {
        each!(ref self, x => x.content_length())
    }

    /// Begins the response head. Headers follow with [`Self::header`].
    pub fn start_response(&mut self, status: u16, reason: &[u8]) -> Result<(), ExchangeError> {
        each!(self, x => x.start_response(status, reason))
    }

    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), ExchangeError> {
        each!(self, x => x.header(name, value))
    }

    /// Keeps an environ value for the access log's `%({name}e)s`.
    pub fn log_environ(&mut self, lower_name: &str, value: String) {
        each!(self, x => x.log_environ(lower_name, value))
    }

    /// Ends the head; `body_len_hint` is the body's length when the
    /// application's result makes it known (a one-item list).
    pub fn end_head(&mut self, body_len_hint: Option<u64>) -> Result<(), ExchangeError> {
        each!(self, x => x.end_head(body_len_hint))
    }

    pub fn write_body(&mut self, chunk: &[u8]) -> Result<(), ExchangeError> {
        each!(self, x => x.write_body(chunk))
    }

    /// Sends `len` bytes of `file` from `offset` as the next part of the
    /// body (see `H1Exchange::send_file`).
    pub fn send_file(
        &mut self,
        file: std::os::fd::BorrowedFd<'_>,
        offset: u64,
        len: u64,
    ) -> Result<u64, ExchangeError> {
        each!(self, x => x.send_file(file, offset, len))
    }

    /// Sends what the application has written so far (PEP 3333).
    pub fn flush_block(&mut self) -> Result<(), ExchangeError> {
        each!(self, x => x.flush_block())
    }

    /// The body comes in blocks from application code still running (a
    /// generator, `write()`): it may set trailers after the last byte its
    /// Content-Length allows, so an HTTP/2 stream ends only with the
    /// response. HTTP/1.1 sends no trailers after a Content-Length body.
    pub fn body_in_blocks(&mut self) {
        if let Inner::H2(x) = &mut self.0 {
            x.body_in_blocks();
        }
    }

    /// A 1xx response before the final one (`wsgi.early_hints`), sent at
    /// once. `Ok(false)` when it is not sent, as gunicorn does: once the
    /// response has started, or to an HTTP/1.0 client.
    pub fn informational(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
    ) -> Result<bool, ExchangeError> {
        each!(self, x => x.informational(status, fields))
    }

    /// Trailer fields to end the response with, replacing any set before
    /// (`gunicorn.http2.send_trailers`): HTTP/2 only.
    pub fn set_trailers(&mut self, fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), ExchangeError> {
        match &mut self.0 {
            Inner::H1(_) => Err(ExchangeError::Protocol(
                "response trailers are sent over HTTP/2 only".into(),
            )),
            Inner::H2(x) => x.set_trailers(fields),
        }
    }

    /// Whether the response head has been started (and so a 500 can no
    /// longer be sent).
    pub fn response_started(&self) -> bool {
        each!(ref self, x => x.response_started())
    }

    /// Whether the response head has been ended (body bytes may follow and
    /// the status can no longer change).
    pub fn head_ended(&self) -> bool {
        each!(ref self, x => x.head_ended())
    }

    /// Discards a response head that was begun but not sent (the
    /// application raised between `start_response` and its first byte).
    pub fn reset_response(&mut self) -> bool {
        each!(self, x => x.reset_response())
    }

    /// The application failed after the response started: the client
    /// must not take what was sent for a whole response.
    pub fn abort(&mut self) {
        each!(self, x => x.abort())
    }

    pub fn status(&self) -> u16 {
        each!(ref self, x => x.status())
    }

    /// Whether the client went away (a reset stream, a closed or stalled
    /// socket): an error the application raised from a read or write that
    /// failed for it is the client's doing, not the application's.
    pub fn client_gone(&self) -> bool {
        each!(ref self, x => x.client_gone())
    }

    /// Whether the request came over an HTTP/2 stream.
    pub fn is_http2(&self) -> bool {
        matches!(self.0, Inner::H2(_))
    }

    pub fn body_bytes(&self) -> u64 {
        each!(ref self, x => x.body_bytes())
    }

    /// Completes an HTTP/1 exchange. Returns whether the connection may
    /// serve another request. (An HTTP/2 stream is finished by whoever
    /// lent it, which logs it: here it only reports.)
    pub fn finish(self) -> (bool, ExchangeSummary) {
        match self.0 {
            Inner::H1(x) => x.finish(),
            Inner::H2(x) => (
                false,
                ExchangeSummary {
                    status: x.status(),
                    body_bytes: x.body_bytes(),
                    duration: x.started_at().elapsed(),
                },
            ),
        }
    }
}

/// What the access log needs once an exchange is over.
#[derive(Clone, Copy, Debug)]
pub struct ExchangeSummary {
    pub status: u16,
    pub body_bytes: u64,
    pub duration: Duration,
}
