//! One HTTP/2 server connection, sans-IO: the client's bytes in, events
//! out; the application's responses in, bytes for the client out. No
//! socket and no clock: the caller moves the bytes and says what time it is.
//!
//! The rules it keeps:
//!
//! 1. **Preface first.** The client's 24-byte preface, then a SETTINGS
//!    frame, within `stall_timeout`; our SETTINGS (and a connection window
//!    update) are queued at creation; the client must acknowledge them
//!    within `stall_timeout` (SETTINGS_TIMEOUT).
//! 2. **Connection errors are sticky.** GOAWAY with the last stream seen
//!    and the code is queued, every later `poll_event` returns the error;
//!    stream errors send RST_STREAM and the connection goes on.
//! 3. **A stream counts until its handler finishes.** A stream the client
//!    resets or we reset stays against `max_concurrent_streams` until the
//!    application calls `finish_stream`; past the limit new streams are
//!    refused (REFUSED_STREAM).
//! 4. **Resets are budgeted.** Every RST_STREAM sent or received spends one
//!    of `reset_budget`; a stream that ends well earns one back. An empty
//!    budget is GOAWAY ENHANCE_YOUR_CALM (Rapid Reset, MadeYouReset).
//! 5. **Header blocks are bounded before and while decoding**: the
//!    block's bytes and CONTINUATION count (ENHANCE_YOUR_CALM), then the
//!    decoded list (`max_header_list_size`: 431, the HPACK table kept in
//!    step).
//! 6. **Credit is returned as the application reads**, for the stream and
//!    the connection, in steps of half a window; the body waiting for the
//!    application is bounded by the windows, never buffered whole.
//! 7. **Output is bounded.** While more than `max_pending_output` bytes
//!    wait to be written, no frame is read (`Blocked`, `wants_read` false)
//!    and response bodies are refused: PING and SETTINGS floods, a client
//!    that does not read. Runs of empty DATA frames are budgeted too.
//! 8. **Time is a parameter; deadlines are data.** The preface and the
//!    SETTINGS ACK, and each stream stalled for want of send credit: one
//!    that gets none within `stall_timeout` is reset (CANCEL), and so is
//!    one whose handler waits that long for body bytes. A connection
//!    with no stream, once the caller says it waits on the client
//!    (`await_peer`), is closed gracefully after `idle_timeout`.
//! 9. **A client's GOAWAY changes nothing.** Its last-stream id is about
//!    streams we would start, and we start none (RFC 9113 §6.8); the
//!    connection is served until the client closes it or it is idle for
//!    `idle_timeout`, so a PING after it is still answered. After the
//!    client's EOF no credit can come: a stream that needs some is reset
//!    at once instead of after `stall_timeout`.
//! 10. **Frames on a closed stream** (RFC 9113 §5.1, §6.1): after the
//!     client's END_STREAM or RST_STREAM, DATA or HEADERS on the stream
//!     are STREAM_CLOSED; after ours they are ignored, since the client
//!     may have sent them before it knew.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::time::Instant;

use super::error::{conn_err, stream_err, ErrorCode, H2Error};
use super::frame::{self, setting, Frame, MAX_WINDOW, PREFACE};
use super::hpack::Decoder;
use super::settings::H2Config;
pub use super::stream::H2Request;
use super::stream::{Half, Priority, Stream};

/// The window RFC 9113 assumes before SETTINGS are acknowledged.
pub(super) const DEFAULT_WINDOW: i64 = 65_535;
const HEADER_TABLE_SIZE: usize = 4096;
/// How many streams lately reset, and lately closed, are remembered.
const RECENT_STREAMS: usize = 256;

/// What the client's bytes amount to, from [`H2Connection::poll_event`].
#[derive(Debug, PartialEq, Eq)]
pub enum H2Event {
    /// A new request: call the application for this stream.
    Request { stream: u32, request: H2Request },
    /// Body bytes, the body's end, or trailers: `read_body`.
    Readable { stream: u32 },
    /// Send credit or output room came back: `send_data` again.
    Writable { stream: u32 },
    /// The stream was reset (by the client, or for a limit): its handler
    /// should stop and call `finish_stream`.
    Reset { stream: u32, code: ErrorCode },
    /// More bytes from the client are needed.
    NeedData,
    /// The client has sent all it will (`feed_eof`); the connection waits
    /// for the handlers still running before it is `Closed`.
    Paused,
    /// Write the pending output before reading more.
    Blocked,
    /// Nothing more to serve: write the pending output, close.
    Closed,
}

/// Something the limits did to one stream, for the caller's log: the
/// client's behaviour, not the application's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H2Notice {
    /// The request's header list passed `max_header_list_size` (an HPACK
    /// bomb, or just too large): it was answered 431.
    HeaderListTooLarge { stream: u32 },
    /// The stream waited `stall_timeout` for send credit or for body
    /// bytes, and was reset (CANCEL).
    Stalled { stream: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Preface {
    Bytes,
    Settings,
    Done,
}

/// A header block being gathered from HEADERS and CONTINUATIONs.
pub(super) struct Block {
    pub(super) stream: u32,
    pub(super) end_stream: bool,
    pub(super) priority: Option<Priority>,
    pub(super) bytes: Vec<u8>,
    pub(super) frames: u32,
}

pub struct H2Connection {
    pub(super) config: H2Config,
    pub(super) decoder: Decoder,
    pub(super) input: Vec<u8>,
    pub(super) in_pos: usize,
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
    preface: Preface,
    pub(super) started: Instant,
    pub(super) settings_unacked_since: Option<Instant>,
    pub(super) streams: BTreeMap<u32, Stream>,
    pub(super) last_stream: u32,
    pub(super) block: Option<Block>,
    /// Streams we reset lately, whose late frames are ignored (§5.1).
    pub(super) recently_reset: VecDeque<u32>,
    /// Streams that closed lately, to tell HEADERS or DATA on them
    /// (STREAM_CLOSED) from a stream id that goes backwards or one long
    /// gone (PROTOCOL_ERROR, or ignored).
    pub(super) recently_closed: VecDeque<u32>,
    /// Since when the connection has had no stream, while waiting on the client.
    pub(super) idle_since: Option<Instant>,
    /// Credit the client has on the connection, and what was read but
    /// not yet returned.
    pub(super) conn_recv_window: i64,
    pub(super) conn_unreturned: u32,
    pub(super) conn_recv_target: i64,
    pub(super) conn_send_window: i64,
    pub(super) peer_initial_window: i64,
    pub(super) peer_max_frame: usize,
    pub(super) events: VecDeque<H2Event>,
    /// What the limits did, for the caller's log; bounded like the resets
    /// that each one costs.
    pub(super) notices: VecDeque<H2Notice>,
    pub(super) error: Option<H2Error>,
    pub(super) goaway_sent: bool,
    pub(super) eof: bool,
    pub(super) eof_handled: bool,
    pub(super) resets_left: u32,
    pub(super) empty_frames: u32,
    /// A response head's HPACK block is put together here, so sending
    /// one allocates nothing once the connection is warm.
    pub(super) block_scratch: Vec<u8>,
}

impl H2Connection {
    /// A connection whose server preface is already queued.
    pub fn new(config: H2Config, now: Instant) -> Self {
        let target = (i64::from(config.initial_window_size)
            * i64::from(config.max_concurrent_streams.max(1)))
        .clamp(DEFAULT_WINDOW, MAX_WINDOW);
        let mut conn = H2Connection {
            decoder: Decoder::new(HEADER_TABLE_SIZE),
            input: Vec::new(),
            in_pos: 0,
            out: Vec::new(),
            out_pos: 0,
            preface: Preface::Bytes,
            started: now,
            settings_unacked_since: Some(now),
            streams: BTreeMap::new(),
            last_stream: 0,
            block: None,
            recently_reset: VecDeque::new(),
            recently_closed: VecDeque::new(),
            idle_since: None,
            conn_recv_window: target,
            conn_unreturned: 0,
            conn_recv_target: target,
            conn_send_window: DEFAULT_WINDOW,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: frame::MIN_MAX_FRAME_SIZE as usize,
            events: VecDeque::new(),
            notices: VecDeque::new(),
            error: None,
            goaway_sent: false,
            eof: false,
            eof_handled: false,
            resets_left: config.reset_budget,
            empty_frames: 0,
            block_scratch: Vec::new(),
            config,
        };
        let mut params = vec![
            (setting::ENABLE_PUSH, 0),
            (
                setting::MAX_CONCURRENT_STREAMS,
                conn.config.max_concurrent_streams,
            ),
            (
                setting::INITIAL_WINDOW_SIZE,
                conn.config.initial_window_size,
            ),
            (setting::MAX_FRAME_SIZE, conn.config.max_frame_size),
        ];
        if conn.config.max_header_list_size != 0 {
            params.push((
                setting::MAX_HEADER_LIST_SIZE,
                conn.config.max_header_list_size,
            ));
        }
        frame::write_settings(&mut conn.out, &params);
        if target > DEFAULT_WINDOW {
            frame::write_window_update(&mut conn.out, 0, (target - DEFAULT_WINDOW) as u32);
        }
        conn
    }

    /// Appends the client's bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.in_pos == self.input.len() {
            self.input.clear();
            self.in_pos = 0;
        } else if self.in_pos > 64 * 1024 {
            self.input.drain(..self.in_pos);
            self.in_pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The client will send nothing more.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Whether to read from the client now: not while output is backed
    /// up, a whole frame is already buffered, or the connection is over.
    pub fn wants_read(&self) -> bool {
        self.error.is_none()
            && !self.eof
            && self.backlog() < self.config.max_pending_output
            && self.input.len() - self.in_pos
                < self.config.max_frame_size as usize + frame::HEADER_LEN
    }

    /// Bytes to write to the client; say how many were written with
    /// [`consume_output`](Self::consume_output).
    pub fn pending_output(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    pub fn consume_output(&mut self, n: usize) {
        let was_full = self.backlog() >= self.config.max_pending_output;
        self.out_pos = (self.out_pos + n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        if was_full && self.backlog() < self.config.max_pending_output {
            self.wake_writers();
        }
    }

    /// Moves all pending output to `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.pending_output());
        let n = self.backlog();
        self.consume_output(n);
    }

    pub(super) fn backlog(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// The next thing the client's bytes amount to.
    pub fn poll_event(&mut self) -> Result<H2Event, H2Error> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            if let Some(error) = &self.error {
                return Err(error.clone());
            }
            if self.finished() {
                return Ok(H2Event::Closed);
            }
            if self.backlog() >= self.config.max_pending_output {
                return Ok(H2Event::Blocked);
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) if self.eof_handled => return Ok(H2Event::Paused),
                Ok(false) if self.eof => self.handle_eof(),
                Ok(false) => return Ok(H2Event::NeedData),
                Err(e) => self.fail_or_reset(e),
            }
        }
    }

    fn finished(&self) -> bool {
        let idle = self.streams.values().all(|s| !s.handler);
        (self.goaway_sent || self.eof_handled) && idle
    }

    fn handle_eof(&mut self) {
        if self.eof_handled {
            return;
        }
        self.eof_handled = true;
        // A body still coming, or a response waiting for credit: neither
        // can arrive once the client has stopped sending.
        let cut: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.recv == Half::Open || s.stalled_since.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in cut {
            self.close_stream(id, ErrorCode::Cancel);
        }
    }

    /// Gracefully: no new streams; the connection closes when the
    /// streams being handled are finished.
    pub fn shutdown(&mut self) {
        if !self.goaway_sent && self.error.is_none() {
            frame::write_goaway(&mut self.out, self.last_stream, ErrorCode::NoError, b"");
            self.goaway_sent = true;
        }
    }

    /// The sticky connection error, if any.
    pub fn error(&self) -> Option<&H2Error> {
        self.error.as_ref()
    }

    fn fail_or_reset(&mut self, e: H2Error) {
        let result = match e {
            H2Error::Stream { stream, code, .. } => {
                self.spend_reset().map(|()| self.reset(stream, code))
            }
            conn @ H2Error::Connection { .. } => Err(conn),
        };
        if let Err(H2Error::Connection { code, detail }) = result {
            self.fail(code, detail);
        }
    }

    pub(super) fn fail(&mut self, code: ErrorCode, detail: &'static str) {
        if self.error.is_some() {
            return;
        }
        frame::write_goaway(&mut self.out, self.last_stream, code, detail.as_bytes());
        self.goaway_sent = true;
        self.error = Some(H2Error::Connection { code, detail });
    }

    pub(super) fn spend_reset(&mut self) -> Result<(), H2Error> {
        if self.resets_left == 0 {
            return conn_err(ErrorCode::EnhanceYourCalm, "too many stream resets");
        }
        self.resets_left -= 1;
        Ok(())
    }

    /// Sends RST_STREAM and closes the stream on our side.
    pub(super) fn reset(&mut self, stream: u32, code: ErrorCode) {
        // After GOAWAY for an error nothing more is said: the caller closes.
        if self.error.is_none() {
            frame::write_rst_stream(&mut self.out, stream, code);
        }
        remember(&mut self.recently_reset, stream);
        if let Some(s) = self.streams.get_mut(&stream) {
            s.reset_sent = true;
        }
        self.close_stream(stream, code);
    }

    /// Marks a stream reset, drops its unread body (returning the
    /// connection's credit) and tells its handler.
    pub(super) fn close_stream(&mut self, id: u32, code: ErrorCode) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.recv = Half::Reset;
        if s.send != Half::Ended {
            s.send = Half::Reset;
        }
        s.reset_code.get_or_insert(code);
        s.stalled_since = None;
        s.body_wait_since = None;
        let unread = s.credit_for(s.body.len());
        s.body.clear();
        let handler = s.handler;
        self.return_conn_credit(unread);
        if handler {
            self.events.push_back(H2Event::Reset { stream: id, code });
        }
        self.forget_if_done(id);
    }

    pub(super) fn forget_if_done(&mut self, id: u32) {
        if self
            .streams
            .get(&id)
            .is_some_and(|s| s.closed() && !s.handler)
        {
            self.streams.remove(&id);
            remember(&mut self.recently_closed, id);
        }
    }

    pub(super) fn wake_writers(&mut self) {
        let conn_credit = self.conn_send_window > 0;
        for (id, s) in &mut self.streams {
            if s.wants_write && s.send == Half::Open && conn_credit && s.send_window > 0 {
                s.wants_write = false;
                s.stalled_since = None;
                self.events.push_back(H2Event::Writable { stream: *id });
            }
        }
    }

    pub(super) fn return_conn_credit(&mut self, n: u32) {
        self.conn_unreturned += n;
        if self.error.is_none() && i64::from(self.conn_unreturned) >= self.conn_recv_target / 2 {
            frame::write_window_update(&mut self.out, 0, self.conn_unreturned);
            self.conn_recv_window += i64::from(self.conn_unreturned);
            self.conn_unreturned = 0;
        }
    }

    pub(super) fn return_stream_credit(&mut self, id: u32, n: u32) {
        let threshold = (i64::from(self.config.initial_window_size) / 2).max(1);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.unreturned += n;
        if self.error.is_none() && s.recv == Half::Open && i64::from(s.unreturned) >= threshold {
            frame::write_window_update(&mut self.out, id, s.unreturned);
            s.recv_window += i64::from(s.unreturned);
            s.unreturned = 0;
        }
    }

    /// The caller is about to wait for the client: a connection with no
    /// stream starts its idle deadline now.
    /// Handlers waiting for body bytes start theirs (`stall_timeout`).
    pub fn await_peer(&mut self, now: Instant) {
        if self.streams.is_empty() && self.preface == Preface::Done && self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
        for s in self.streams.values_mut() {
            if s.awaiting_body && s.recv == Half::Open && s.body_wait_since.is_none() {
                s.body_wait_since = Some(now);
            }
        }
    }

    /// When the next deadline falls, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let stall = self.config.stall_timeout;
        let preface = (self.preface != Preface::Done).then_some(self.started);
        let waits = preface.into_iter().chain(self.settings_unacked_since);
        let stalls = self
            .streams
            .values()
            .flat_map(|s| s.stalled_since.into_iter().chain(s.body_wait_since));
        let idle = due(self.idle_since, self.config.idle_timeout);
        waits
            .chain(stalls)
            .filter_map(|since| due(Some(since), stall))
            .chain(idle)
            .min()
    }

    /// Acts on the deadlines that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let stall = self.config.stall_timeout;
        let is_due = |since: Option<Instant>| due(since, stall).is_some_and(|t| t <= now);
        if self.error.is_some() {
            return;
        }
        if self.preface != Preface::Done && is_due(Some(self.started)) {
            return self.fail(ErrorCode::ProtocolError, "no HTTP/2 preface in time");
        }
        if is_due(self.settings_unacked_since) {
            return self.fail(ErrorCode::SettingsTimeout, "SETTINGS not acknowledged");
        }
        if due(self.idle_since, self.config.idle_timeout).is_some_and(|t| t <= now) {
            self.idle_since = None;
            self.shutdown();
        }
        let stalled: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| is_due(s.stalled_since) || is_due(s.body_wait_since))
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            if let Err(H2Error::Connection { code, detail }) = self.spend_reset() {
                return self.fail(code, detail);
            }
            self.reset(id, ErrorCode::Cancel);
            self.notice(H2Notice::Stalled { stream: id });
        }
    }

    /// What the limits did since the last call, one at a time.
    pub fn take_notice(&mut self) -> Option<H2Notice> {
        self.notices.pop_front()
    }

    pub(super) fn notice(&mut self, notice: H2Notice) {
        // A caller that never asks keeps only the latest few.
        if self.notices.len() >= RECENT_STREAMS {
            self.notices.pop_front();
        }
        self.notices.push_back(notice);
    }

    /// Reads and handles one frame: `Ok(false)` if none is whole yet.
    fn step(&mut self) -> Result<bool, H2Error> {
        let input = std::mem::take(&mut self.input);
        let result = self.step_on(&input);
        self.input = input;
        result
    }

    fn step_on(&mut self, input: &[u8]) -> Result<bool, H2Error> {
        let buf = &input[self.in_pos..];
        if self.preface == Preface::Bytes {
            let n = buf.len().min(PREFACE.len());
            if buf[..n] != PREFACE[..n] {
                return conn_err(ErrorCode::ProtocolError, "not the HTTP/2 client preface");
            }
            if n < PREFACE.len() {
                return Ok(false);
            }
            self.in_pos += n;
            self.preface = Preface::Settings;
            return Ok(true);
        }
        let parsed = match frame::parse(buf, self.config.max_frame_size) {
            // A stream error is found only in a whole frame: skip it, or
            // it would be read (and the stream reset) again and again.
            Err(e @ H2Error::Stream { .. }) if self.preface == Preface::Done => {
                self.in_pos += frame::HEADER_LEN + frame::announced_len(buf).unwrap_or(0);
                return Err(e);
            }
            Err(H2Error::Stream { .. }) => {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "the preface is not followed by SETTINGS",
                )
            }
            other => other?,
        };
        let Some((frame, used)) = parsed else {
            return Ok(false);
        };
        self.in_pos += used;
        if self.preface == Preface::Settings {
            if !matches!(frame, Frame::Settings { ack: false, .. }) {
                return conn_err(
                    ErrorCode::ProtocolError,
                    "the preface is not followed by SETTINGS",
                );
            }
            self.preface = Preface::Done;
        }
        self.handle_frame(frame)?;
        Ok(true)
    }

    fn handle_frame(&mut self, frame: Frame<'_>) -> Result<(), H2Error> {
        if self.block.is_some() && !matches!(frame, Frame::Continuation { .. }) {
            return conn_err(ErrorCode::ProtocolError, "header block interrupted");
        }
        match frame {
            Frame::Data {
                stream,
                end_stream,
                data,
                flow_len,
            } => self.on_data(stream, end_stream, data, flow_len),
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                priority,
                fragment,
            } => self.on_headers(stream, end_stream, priority, end_headers, fragment),
            Frame::Continuation {
                stream,
                end_headers,
                fragment,
            } => {
                self.on_continuation(stream, fragment)?;
                if end_headers {
                    self.end_block()?;
                }
                Ok(())
            }
            Frame::Priority { stream, priority } => {
                // Only the self-dependency is checked: a reprioritisation
                // after the request was handed on is not reported (see
                // `Priority`).
                if priority.depends_on == stream {
                    return stream_err(
                        stream,
                        ErrorCode::ProtocolError,
                        "stream depends on itself",
                    );
                }
                Ok(())
            }
            Frame::RstStream { stream, code } => self.on_rst_stream(stream, code),
            Frame::Settings { ack, params } => self.on_settings(ack, params),
            Frame::PushPromise { .. } => {
                conn_err(ErrorCode::ProtocolError, "PUSH_PROMISE from a client")
            }
            Frame::Ping { ack, data } => {
                if !ack {
                    frame::write_ping_ack(&mut self.out, &data);
                }
                Ok(())
            }
            // Rule 9: nothing to do; the client closes when it is done.
            Frame::GoAway { .. } => Ok(()),
            Frame::WindowUpdate { stream, increment } => self.on_window_update(stream, increment),
            Frame::Unknown { .. } => Ok(()),
        }
    }
}

impl H2Connection {
    /// Streams counted against `max_concurrent_streams`: open, or still
    /// held by their handler.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

/// When a wait that began at `since` times out; never without a timeout.
fn due(since: Option<Instant>, timeout: Option<Duration>) -> Option<Instant> {
    Some(since? + timeout?)
}

fn remember(recent: &mut VecDeque<u32>, id: u32) {
    if recent.len() == RECENT_STREAMS {
        recent.pop_front();
    }
    recent.push_back(id);
}
