//! One HTTP/2 stream served by an application thread: the `Exchange`
//! operations (body in, response out) over the shared machine.
//!
//! The rules it keeps, beside the machine's:
//!
//! 1. **The head goes with the body.** `end_head` only records it;
//!    HEADERS leave with the first body bytes, or with END_STREAM when
//!    the response ends without any, so a small response is one write.
//! 2. **A declared Content-Length bounds the body**: bytes past it are
//!    dropped (as HTTP/1 does), and the last byte it allows ends the
//!    stream; a body that ends short resets the stream, so the client
//!    never takes it for whole.
//! 3. **HEAD answers carry no body.**
//! 4. **An application that never answered gets a 500**; one that failed
//!    after the head went out has its stream reset.
//! 5. **Trailers end the stream.** A response with trailers set, or that
//!    announces them (a `Trailer` header), keeps its stream open past the
//!    last byte its Content-Length allows; HEADERS with the trailers
//!    close it when the application is done. So does a body the
//!    application is still producing (an iterator, `write()`): trailers
//!    set after its last byte still go, as gunicorn sends them, at the
//!    cost of an empty DATA frame to end the stream.

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Instant;

use rcorn_core::http::h2::BodyRead;
use rcorn_core::http::{reason_phrase, RequestHead};

use super::shared::{H2Shared, H2State};
use crate::access::AccessLogger;
use crate::app::App;
use crate::exchange::{Exchange, ExchangeError, ExchangeSummary, LogFields, ServerAddr};
use crate::stream::PeerAddr;

/// A stream with a complete request head, for an application thread.
pub(crate) struct StreamJob {
    pub shared: Arc<H2Shared>,
    pub id: u32,
    pub head: RequestHead,
    pub scheme: Option<&'static str>,
}

impl StreamJob {
    /// Answers the stream with `status` and no body, without calling the
    /// application (a request the server refuses).
    pub fn refuse(self, status: u16) {
        let mut state = self.shared.lock();
        let _ = state.conn.send_headers(self.id, status, &[], true);
        state.conn.finish_stream(self.id);
        state.write_out();
    }
}

/// Read from a file at a time when a file body is sent.
const FILE_CHUNK: usize = 64 * 1024;

pub struct H2Exchange {
    shared: Arc<H2Shared>,
    id: u32,
    head: RequestHead,
    scheme: Option<&'static str>,
    date: Vec<u8>,
    keep_response_headers: bool,
    pub(crate) log_fields: LogFields,
    /// Body bytes taken from the machine and not yet given out (`read_line`).
    pending: Vec<u8>,
    pending_pos: usize,
    body_done: bool,
    status: u16,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The application's trailer fields (`set_trailers`), for the end.
    trailers: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// The head names a `Trailer` field: trailers are coming (rule 5).
    announces_trailers: bool,
    /// The body comes from code still running (`body_in_blocks`).
    open_ended: bool,
    declared_length: Option<u64>,
    started: bool,
    head_ended: bool,
    head_sent: bool,
    ended: bool,
    aborted: bool,
    broken: bool,
    /// A file being sent ended before its length: broken by the file,
    /// not by the client.
    file_short: bool,
    body_bytes: u64,
    started_at: Instant,
}

fn gone() -> ExchangeError {
    ExchangeError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "the HTTP/2 stream was reset or its connection closed",
    ))
}

impl H2Exchange {
    fn new(job: StreamJob, date: Vec<u8>, keep_response_headers: bool) -> Self {
        H2Exchange {
            shared: job.shared,
            id: job.id,
            head: job.head,
            scheme: job.scheme,
            date,
            keep_response_headers,
            log_fields: LogFields::default(),
            pending: Vec::new(),
            pending_pos: 0,
            body_done: false,
            status: 0,
            headers: Vec::new(),
            trailers: None,
            announces_trailers: false,
            open_ended: false,
            declared_length: None,
            started: false,
            head_ended: false,
            head_sent: false,
            ended: false,
            aborted: false,
            broken: false,
            file_short: false,
            body_bytes: 0,
            started_at: Instant::now(),
        }
    }

    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    pub fn peer(&self) -> &PeerAddr {
        &self.shared.peer
    }

    pub fn server(&self) -> &ServerAddr {
        &self.shared.server
    }

    pub fn forwarded_scheme(&self) -> Option<&'static str> {
        self.scheme
    }

    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// Moves the next body bytes from the machine to `out`, waiting for
    /// them; `Ok(0)` at the end of the body.
    fn pull(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        if self.body_done || max == 0 {
            return Ok(0);
        }
        let shared = self.shared.clone();
        let mut state = shared.lock();
        loop {
            if state.dead {
                self.broken = true;
                return Err(gone());
            }
            match state.conn.read_body(self.id, out, max) {
                Ok(BodyRead::Data(n)) => {
                    // The credit it returned goes out now.
                    shared.after_work(state, false);
                    return Ok(n);
                }
                Ok(BodyRead::End) => {
                    self.body_done = true;
                    return Ok(0);
                }
                Ok(BodyRead::Pending) => {
                    // Its stall deadline starts now, not at the loop's
                    // next turn.
                    state.conn.await_peer(crate::clock::now());
                    shared.deadline_set(&state);
                    state.write_out();
                    state = shared.wait(state);
                }
                Err(_) => {
                    self.broken = true;
                    return Err(gone());
                }
            }
        }
    }

    pub fn read_body(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        if self.pending_pos < self.pending.len() {
            let available = &self.pending[self.pending_pos..];
            let take = available.len().min(max);
            buf.extend_from_slice(&available[..take]);
            self.pending_pos += take;
            return Ok(take);
        }
        self.pull(buf, max)
    }

    pub fn read_line(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, ExchangeError> {
        let mut total = 0;
        while total < max {
            if self.pending_pos == self.pending.len() {
                self.pending.clear();
                self.pending_pos = 0;
                let mut chunk = std::mem::take(&mut self.pending);
                let got = self.pull(&mut chunk, FILE_CHUNK);
                self.pending = chunk;
                if got? == 0 {
                    break;
                }
            }
            let available = &self.pending[self.pending_pos..];
            let limit = available.len().min(max - total);
            let (take, found) = match memchr::memchr(b'\n', &available[..limit]) {
                Some(i) => (i + 1, true),
                None => (limit, false),
            };
            buf.extend_from_slice(&available[..take]);
            self.pending_pos += take;
            total += take;
            if found {
                break;
            }
        }
        Ok(total)
    }

    pub fn content_length(&self) -> Option<u64> {
        match self.head.body() {
            rcorn_core::http::BodyKind::Length(n) => Some(n),
            rcorn_core::http::BodyKind::None => Some(0),
            rcorn_core::http::BodyKind::Chunked => None,
        }
    }

    pub fn start_response(&mut self, status: u16, _reason: &[u8]) -> Result<(), ExchangeError> {
        if self.head_sent {
            return Err(ExchangeError::Protocol("headers already sent".into()));
        }
        if !(200..=999).contains(&status) {
            return Err(ExchangeError::Protocol(format!(
                "invalid status for an HTTP/2 response: {status}"
            )));
        }
        self.status = status;
        self.headers.clear();
        self.log_fields.response_headers.clear();
        self.declared_length = None;
        self.announces_trailers = false;
        self.started = true;
        self.head_ended = false;
        Ok(())
    }

    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), ExchangeError> {
        if !self.started || self.head_ended {
            return Err(ExchangeError::Protocol(
                "header outside a response head".into(),
            ));
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| ExchangeError::Protocol("invalid Content-Length".into()))?;
            self.declared_length = Some(n);
        }
        self.announces_trailers |= name.eq_ignore_ascii_case(b"trailer");
        if self.keep_response_headers {
            let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
            self.log_fields
                .response_headers
                .push((lower, value.to_vec()));
        }
        self.headers.push((name.to_vec(), value.to_vec()));
        Ok(())
    }

    pub fn log_environ(&mut self, lower_name: &str, value: String) {
        self.log_fields.environ.push((lower_name.to_owned(), value));
    }

    pub fn end_head(&mut self, body_len_hint: Option<u64>) -> Result<(), ExchangeError> {
        if !self.started {
            return Err(ExchangeError::Protocol("no response started".into()));
        }
        if let (None, Some(n)) = (self.declared_length, body_len_hint) {
            self.declared_length = Some(n);
            self.headers
                .push((b"content-length".to_vec(), n.to_string().into_bytes()));
        }
        self.head_ended = true;
        Ok(())
    }

    /// Sends the response head if it has not gone yet.
    fn send_head(&mut self, end_stream: bool) -> Result<(), ExchangeError> {
        if self.head_sent {
            return Ok(());
        }
        let shared = self.shared.clone();
        let mut state = shared.lock();
        let sent = self.head_locked(&mut state, end_stream);
        if sent.is_ok() && end_stream {
            shared.stream_ended(state);
        } else {
            shared.after_work(state, false);
        }
        sent
    }

    /// The response head into the machine, the lock held.
    fn head_locked(&mut self, state: &mut H2State, end_stream: bool) -> Result<(), ExchangeError> {
        if self.head_sent {
            return Ok(());
        }
        if state.dead {
            self.broken = true;
            return Err(gone());
        }
        let mut fields: Vec<(&[u8], &[u8])> = Vec::with_capacity(self.headers.len() + 1);
        fields.extend(self.headers.iter().map(|(n, v)| (&n[..], &v[..])));
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"date"))
        {
            fields.push((b"date", &self.date));
        }
        match state
            .conn
            .send_headers(self.id, self.status, &fields, end_stream)
        {
            Ok(()) => {
                self.head_sent = true;
                self.ended |= end_stream;
                Ok(())
            }
            Err(rcorn_core::http::h2::AppError::BadHeader) => {
                Err(ExchangeError::Protocol("invalid response header".into()))
            }
            Err(_) => {
                self.broken = true;
                Err(gone())
            }
        }
    }

    /// Sends `data` as body bytes, waiting for credit as needed.
    /// The head goes first if it has not gone (rule 1), under the same
    /// lock.
    fn send(&mut self, data: &[u8], end_stream: bool) -> Result<(), ExchangeError> {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        self.head_locked(&mut state, false)?;
        let mut rest = data;
        loop {
            if state.dead {
                self.broken = true;
                return Err(gone());
            }
            match state
                .conn
                .send_data(crate::clock::now(), self.id, rest, end_stream)
            {
                Ok(n) => rest = &rest[n..],
                Err(_) => {
                    self.broken = true;
                    return Err(gone());
                }
            }
            if rest.is_empty() {
                break;
            }
            // Out of credit: the machine's stall deadline started.
            shared.deadline_set(&state);
            state.write_out();
            state = shared.wait(state);
        }
        self.ended |= end_stream;
        if end_stream {
            shared.stream_ended(state);
        } else {
            shared.after_work(state, false);
        }
        Ok(())
    }

    fn is_head_request(&self) -> bool {
        self.head.method() == "HEAD"
    }

    pub fn write_body(&mut self, chunk: &[u8]) -> Result<(), ExchangeError> {
        if !self.head_ended {
            return Err(ExchangeError::Protocol(
                "write() before start_response()".into(),
            ));
        }
        if self.broken {
            return Err(gone());
        }
        if chunk.is_empty() || self.ended || self.is_head_request() {
            return Ok(());
        }
        let take = match self.declared_length {
            Some(n) => (n.saturating_sub(self.body_bytes)).min(chunk.len() as u64) as usize,
            None => chunk.len(),
        };
        let end =
            self.declared_length == Some(self.body_bytes + take as u64) && !self.expects_trailers();
        self.send(&chunk[..take], end)?;
        self.body_bytes += take as u64;
        Ok(())
    }

    pub fn send_file(
        &mut self,
        file: BorrowedFd<'_>,
        offset: u64,
        len: u64,
    ) -> Result<u64, ExchangeError> {
        let mut buf = vec![0; FILE_CHUNK];
        let mut at = offset;
        let before = self.body_bytes;
        while at < offset + len {
            let want = ((offset + len - at) as usize).min(FILE_CHUNK);
            let n = nix::sys::uio::pread(file, &mut buf[..want], at as i64)
                .map_err(|e| ExchangeError::Io(e.into()))?;
            if n == 0 {
                self.broken = true;
                self.file_short = true;
                return Err(ExchangeError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.write_body(&buf[..n])?;
            at += n as u64;
        }
        Ok(self.body_bytes - before)
    }

    /// Body bytes already go out as they are written; a head still held
    /// back (rule 1) goes now, since the next block may be long coming.
    pub fn flush_block(&mut self) -> Result<(), ExchangeError> {
        if self.head_ended && !self.head_sent && !self.is_head_request() {
            self.send_head(self.declared_length == Some(0) && !self.expects_trailers())?;
        }
        Ok(())
    }

    pub fn response_started(&self) -> bool {
        self.started
    }

    pub fn head_ended(&self) -> bool {
        self.head_ended
    }

    pub fn reset_response(&mut self) -> bool {
        if self.head_sent || self.broken {
            return false;
        }
        self.started = false;
        self.head_ended = false;
        self.headers.clear();
        self.declared_length = None;
        true
    }

    pub fn abort(&mut self) {
        self.aborted = true;
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn client_gone(&self) -> bool {
        self.broken && !self.file_short
    }

    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Ends the response (rules 2 and 4) and gives the stream back.
    pub fn finish(&mut self) -> ExchangeSummary {
        if !self.broken && !self.aborted {
            let _ = self.end_response();
        }
        let shared = self.shared.clone();
        let mut state = shared.lock();
        state.conn.finish_stream(self.id);
        shared.stream_finished(state);
        ExchangeSummary {
            status: self.status,
            body_bytes: self.body_bytes,
            duration: self.started_at.elapsed(),
        }
    }

    fn end_response(&mut self) -> Result<(), ExchangeError> {
        if !self.head_ended {
            // Never answered: the server's 500, as for HTTP/1.
            self.status = 500;
            let body = reason_phrase(500).as_bytes();
            self.headers = vec![
                (b"content-type".to_vec(), b"text/plain".to_vec()),
                (
                    b"content-length".to_vec(),
                    body.len().to_string().into_bytes(),
                ),
            ];
            self.started = true;
            self.head_ended = true;
            self.send(body, true)?;
            self.body_bytes = body.len() as u64;
            return Ok(());
        }
        if self.ended {
            return Ok(());
        }
        let short = self
            .declared_length
            .is_some_and(|n| n > self.body_bytes && !self.is_head_request());
        if short {
            // Leaving the stream open makes finish_stream reset it.
            return Ok(());
        }
        if let Some(trailers) = self.trailers.take() {
            return self.send_trailers(&trailers);
        }
        if self.head_sent {
            self.send(b"", true)
        } else {
            self.send_head(true)
        }
    }

    fn expects_trailers(&self) -> bool {
        self.announces_trailers || self.trailers.is_some() || self.open_ended
    }

    /// The body comes in blocks from code still running (rule 5).
    pub fn body_in_blocks(&mut self) {
        self.open_ended = true;
    }

    /// A 1xx head (103 Early Hints), sent at once; `Ok(false)` once the
    /// final head is sent. Between `start_response` and the first body
    /// byte the final head is only held here, so a hint still goes first,
    /// as gunicorn sends it.
    pub fn informational(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
    ) -> Result<bool, ExchangeError> {
        if self.head_sent || self.broken {
            return Ok(false);
        }
        if !(100..200).contains(&status) || status == 101 {
            return Err(ExchangeError::Protocol(format!(
                "invalid status for an informational response: {status}"
            )));
        }
        let shared = self.shared.clone();
        let mut state = shared.lock();
        if state.dead {
            self.broken = true;
            return Err(gone());
        }
        let sent = state.conn.send_headers(self.id, status, fields, false);
        shared.after_work(state, false);
        match sent {
            Ok(()) => Ok(true),
            Err(rcorn_core::http::h2::AppError::BadHeader) => Err(ExchangeError::Protocol(
                "invalid informational header".into(),
            )),
            Err(_) => {
                self.broken = true;
                Err(gone())
            }
        }
    }

    /// Trailer fields to end the response with (rule 5), checked now so
    /// the application hears of a bad one in its own call.
    pub fn set_trailers(&mut self, fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), ExchangeError> {
        for (name, value) in &fields {
            if !rcorn_core::http::h2::valid_response_field(name, value) {
                return Err(ExchangeError::Protocol(format!(
                    "invalid trailer field {:?}",
                    String::from_utf8_lossy(name)
                )));
            }
        }
        self.trailers = Some(fields);
        Ok(())
    }

    fn send_trailers(&mut self, fields: &[(Vec<u8>, Vec<u8>)]) -> Result<(), ExchangeError> {
        let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        let shared = self.shared.clone();
        let mut state = shared.lock();
        self.head_locked(&mut state, false)?;
        let sent = state.conn.send_trailers(self.id, &refs);
        if sent.is_err() {
            self.broken = true;
            return Err(gone());
        }
        shared.stream_ended(state);
        self.ended = true;
        Ok(())
    }
}

/// Serves one stream: the application answers through an [`Exchange`];
/// the access log and the metrics hear of it.
pub(crate) fn serve_stream<A: App + ?Sized>(
    app: &mut A,
    job: StreamJob,
    date: &[u8],
    keep_response_headers: bool,
    access_log: Option<&mut AccessLogger>,
) {
    let mut h2 = H2Exchange::new(job, date.to_vec(), keep_response_headers);
    let method = crate::metrics::method(h2.head.method());
    crate::metrics::request_started();
    {
        let mut exchange = Exchange::for_h2(&mut h2);
        app.call(&mut exchange);
    }
    let summary = h2.finish();
    crate::metrics::request_finished(method, summary.status, summary.duration);
    if let Some(logger) = access_log {
        logger.log_request(&h2.head, &h2.shared.peer, &h2.log_fields, &summary);
    }
    crate::statsd::request(summary.status, summary.duration);
}
