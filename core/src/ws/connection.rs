//! One WebSocket connection after the handshake, sans-IO: the client's
//! bytes in, whole messages out; the application's messages in, frames
//! for the client out. Time is a parameter and deadlines are data.
//!
//! The rules it keeps (RFC 6455 unless said otherwise):
//! 1. **Any split, same result.** Bytes are decoded as they arrive, a
//!    frame's payload before the frame is whole; the events and the bytes
//!    sent do not depend on how the input was cut.
//! 2. **Fail fast.** A bad frame head, a continuation with no message or a
//!    new message inside one (1002), text that cannot be UTF-8 (1007, at
//!    the first bad byte), a message past `max_size` (1009, as soon as its
//!    length or its inflated size says so): nothing more is read, and a
//!    close frame with that code is sent once the application has taken
//!    the messages that came whole before the fault and asked past them
//!    (`disconnect`), so its answers to them go out first (Autobahn 3.2,
//!    4.1.3 ...); `close_timeout` bounds that wait. The application is
//!    told the same code, and the socket may close once the close is
//!    written.
//! 3. **Control frames** may come between a message's fragments. A ping
//!    is answered with a pong of its payload; a pong clears the ping
//!    rcorn sent; a close is checked (`close::parse_close`) and answered
//!    with the same code, after which the connection is done (the server
//!    closes TCP first).
//! 4. **Nothing after a close**: once a close frame is sent, no frame
//!    follows it; the peer's close (or `close_timeout`) ends it.
//! 5. **What the application is told** when it asks past the last message
//!    (`disconnect`): the peer's code (1005 when its close had none), the
//!    code of a failure (rule 2), the code rcorn closed with when the
//!    server goes away, or 1006 when the connection dropped.
//! 6. **Keep-alive pings**: after `ping_interval` without any byte from
//!    the peer a ping is sent; no byte within `ping_timeout` fails the
//!    connection (1011). While the application is behind (`backlog` past
//!    [`BACKLOG_LIMIT`]) the caller stops reading, so silence is then
//!    not held against the peer; once a close is sent it reads again,
//!    for the peer's answer.

use std::collections::VecDeque;
use std::time::Duration;

use super::close::{close_payload, parse_close, CloseCode};
use super::deflate::{Deflate, DeflateParams, InflateError};
use super::frame::{encode_frame_head, unmask, FrameHead, Opcode};
use super::utf8::Utf8Validator;
use crate::time::Instant;

/// Messages waiting for the application past this many bytes stop the
/// caller reading the socket (its back-pressure on the client).
pub const BACKLOG_LIMIT: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsConfig {
    /// The largest message, after inflating (`ws_max_size`).
    pub max_size: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
    /// How long to wait for the peer's close after sending one.
    pub close_timeout: Duration,
}

impl Default for WsConfig {
    /// uvicorn's defaults.
    fn default() -> Self {
        WsConfig {
            max_size: 16 * 1024 * 1024,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            close_timeout: Duration::from_secs(10),
        }
    }
}

/// A whole message from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
}

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsState {
    Open,
    /// A close was sent; the peer's is awaited.
    Closing,
    /// Done: write what is left for the client, then close the socket.
    Closed,
}

/// The frame being read.
struct Frame {
    head: FrameHead,
    read: u64,
}

/// The data message being read.
struct Partial {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
}

pub struct WsConnection {
    cfg: WsConfig,
    deflate: Option<Deflate>,
    input: Vec<u8>,
    frame: Option<Frame>,
    partial: Option<Partial>,
    control: Vec<u8>,
    utf8: Utf8Validator,
    queue: VecDeque<Message>,
    backlog: usize,
    state: WsState,
    close_sent: bool,
    /// What the application is told once the messages are out (rule 5).
    outcome: Option<(u16, String)>,
    /// A failure's close not yet sent: the application has messages to
    /// take and answer first (rule 2).
    close_held: bool,
    last_heard: Instant,
    pong_due: Option<Instant>,
    close_due: Option<Instant>,
    pings: u32,
}

impl WsConnection {
    pub fn new(cfg: WsConfig, deflate: Option<DeflateParams>, now: Instant) -> Self {
        WsConnection {
            cfg,
            deflate: deflate.map(Deflate::new),
            input: Vec::new(),
            frame: None,
            partial: None,
            control: Vec::new(),
            utf8: Utf8Validator::new(),
            queue: VecDeque::new(),
            backlog: 0,
            state: WsState::Open,
            close_sent: false,
            outcome: None,
            close_held: false,
            last_heard: now,
            pong_due: None,
            close_due: None,
            pings: 0,
        }
    }

    pub fn state(&self) -> WsState {
        self.state
    }

    /// Bytes of whole messages the application has not taken yet.
    pub fn backlog(&self) -> usize {
        self.backlog
    }

    /// Is a whole message waiting for the application?
    pub fn has_message(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Should the caller read the socket? Not once done, nor while the
    /// application is behind (rule 6) — unless a close was sent: the
    /// peer's answer is then read whatever the backlog, so the connection
    /// ends without waiting for `close_timeout`.
    pub fn wants_input(&self) -> bool {
        match self.state {
            WsState::Closed => false,
            WsState::Closing => true,
            WsState::Open => !self.close_held && self.backlog < BACKLOG_LIMIT,
        }
    }

    /// The client's bytes; answers (pongs, closes) are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<u8>) {
        if self.state == WsState::Closed || self.outcome.is_some() && !self.close_sent {
            return;
        }
        self.last_heard = now;
        self.pong_due = None;
        self.input.extend_from_slice(bytes);
        let used = self.decode(out);
        self.hold_close_until(now);
        if self.state == WsState::Closed {
            self.input = Vec::new();
        } else {
            self.input.drain(..used);
        }
    }

    /// The client closed its side (or the connection broke).
    pub fn feed_eof(&mut self) {
        self.outcome
            .get_or_insert((CloseCode::ABNORMAL, String::new()));
        self.state = WsState::Closed;
        self.close_held = false;
    }

    /// The next whole message, if any.
    pub fn poll_message(&mut self) -> Option<Message> {
        let message = self.queue.pop_front()?;
        self.backlog -= match &message {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        };
        Some(message)
    }

    /// Once every message is taken and no more can come: the code and
    /// reason the application is told (rule 5). The application asks past
    /// its last message, so a failure's close held for it goes (rule 2).
    pub fn disconnect(&mut self, out: &mut Vec<u8>) -> Option<(u16, &str)> {
        if !self.is_over() {
            return None;
        }
        self.send_held_close(out);
        let (code, reason) = self.outcome.as_ref()?;
        Some((*code, reason.as_str()))
    }

    /// Every message is taken and no more can come: `disconnect` answers.
    pub fn is_over(&self) -> bool {
        self.queue.is_empty() && self.outcome.is_some()
    }

    /// The application sends a message. `false`: a close was sent or the
    /// connection is done, and nothing was.
    pub fn send(&mut self, text: bool, data: &[u8], out: &mut Vec<u8>) -> bool {
        if self.close_sent || self.state != WsState::Open {
            return false;
        }
        let opcode = if text { Opcode::Text } else { Opcode::Binary };
        match &mut self.deflate {
            Some(deflate) => {
                let mut payload = Vec::new();
                deflate.compress(data, &mut payload);
                encode_frame_head(out, opcode, true, payload.len());
                out.extend_from_slice(&payload);
            }
            None => {
                encode_frame_head(out, opcode, false, data.len());
                out.extend_from_slice(data);
            }
        }
        true
    }

    /// The application (or the server, going away) closes: a close frame
    /// with `code` unless one was sent. `code` must be one the wire may
    /// carry (the caller checks what an application gives).
    /// A failure's held close goes instead, with the failure's code.
    pub fn close(&mut self, code: u16, reason: &str, now: Instant, out: &mut Vec<u8>) {
        if self.close_held {
            self.send_held_close(out);
        }
        if self.close_sent || self.state == WsState::Closed {
            return;
        }
        self.send_close(code, reason, out);
        self.state = WsState::Closing;
        self.close_due = Some(now + self.cfg.close_timeout);
    }

    /// The server goes away (1001) or restarts (1012): the close is sent
    /// and the application is told that code at once.
    pub fn go_away(&mut self, code: u16, now: Instant, out: &mut Vec<u8>) {
        self.close(code, "", now, out);
        self.outcome.get_or_insert((code, String::new()));
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            WsState::Closed => None,
            WsState::Closing => self.close_due,
            WsState::Open if self.close_held => self.close_due,
            WsState::Open => self.pong_due.or_else(|| {
                let interval = self.cfg.ping_interval?;
                Some(self.last_heard + interval)
            }),
        }
    }

    /// Time has come to `now`: sends a ping, or gives up on the peer.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<u8>) {
        match self.state {
            WsState::Closed => {}
            WsState::Closing => {
                if self.close_due.is_some_and(|due| now >= due) {
                    self.feed_eof();
                }
            }
            WsState::Open if self.close_held => {
                if self.close_due.is_some_and(|due| now >= due) {
                    self.send_held_close(out);
                }
            }
            WsState::Open => self.keepalive(now, out),
        }
    }

    fn keepalive(&mut self, now: Instant, out: &mut Vec<u8>) {
        if let Some(due) = self.pong_due {
            if now < due {
                return;
            }
            if !self.wants_input() {
                // Not read because the application is behind (rule 6).
                self.pong_due = self.cfg.ping_timeout.map(|t| now + t);
                return;
            }
            self.fail(CloseCode::INTERNAL_ERROR);
            self.hold_close_until(now);
            if let Some(outcome) = &mut self.outcome {
                outcome.1 = "keepalive ping timeout".into();
            }
            return;
        }
        let Some(interval) = self.cfg.ping_interval else {
            return;
        };
        if now < self.last_heard + interval {
            return;
        }
        self.pings = self.pings.wrapping_add(1);
        let payload = self.pings.to_be_bytes();
        encode_frame_head(out, Opcode::Ping, false, payload.len());
        out.extend_from_slice(&payload);
        self.last_heard = now;
        self.pong_due = self.cfg.ping_timeout.map(|t| now + t);
    }

    fn send_close(&mut self, code: u16, reason: &str, out: &mut Vec<u8>) {
        let payload = if code == CloseCode::NO_STATUS {
            Vec::new()
        } else {
            close_payload(code, reason)
        };
        encode_frame_head(out, Opcode::Close, false, payload.len());
        out.extend_from_slice(&payload);
        self.close_sent = true;
    }

    /// Rule 2: the connection fails with `code`. Nothing more is read;
    /// the close is held until the application asks past its messages.
    fn fail(&mut self, code: u16) {
        if self.outcome.is_none() && !self.close_sent {
            self.close_held = true;
        }
        self.outcome.get_or_insert((code, String::new()));
        if !self.close_held {
            self.state = WsState::Closed;
        }
    }

    /// A close just held waits no longer than `close_timeout` from `now`.
    fn hold_close_until(&mut self, now: Instant) {
        if self.close_held && self.close_due.is_none() {
            self.close_due = Some(now + self.cfg.close_timeout);
        }
    }

    /// Sends the failure's held close; the connection is then done.
    fn send_held_close(&mut self, out: &mut Vec<u8>) {
        if !std::mem::take(&mut self.close_held) {
            return;
        }
        if let Some((code, _)) = self.outcome {
            self.send_close(code, "", out);
        }
        self.state = WsState::Closed;
    }

    /// Decodes what `input` holds; how many bytes it used.
    fn decode(&mut self, out: &mut Vec<u8>) -> usize {
        let mut at = 0;
        while self.state != WsState::Closed {
            if self.frame.is_none() {
                let rsv1_allowed = self.deflate.is_some();
                match FrameHead::decode(&self.input[at..], rsv1_allowed) {
                    Ok(None) => break,
                    Ok(Some((head, n))) => {
                        at += n;
                        if let Err(code) = self.begin_frame(head) {
                            self.fail(code);
                            break;
                        }
                    }
                    Err(_) => {
                        self.fail(CloseCode::PROTOCOL_ERROR);
                        break;
                    }
                }
            }
            let Some(frame) = &mut self.frame else {
                continue;
            };
            let want = frame.head.len - frame.read;
            let take = want.min((self.input.len() - at) as u64) as usize;
            let chunk = &mut self.input[at..at + take];
            unmask(chunk, frame.head.mask, frame.read);
            frame.read += take as u64;
            let complete = frame.read == frame.head.len;
            let range = at..at + take;
            at += take;
            if let Err(code) = self.payload(range, complete, out) {
                self.fail(code);
                break;
            }
            if !complete {
                break;
            }
        }
        at
    }

    /// A frame head: checked against the message in progress (rule 2).
    fn begin_frame(&mut self, head: FrameHead) -> Result<(), u16> {
        match head.opcode {
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return Err(CloseCode::PROTOCOL_ERROR);
                }
                self.partial = Some(Partial {
                    text: head.opcode == Opcode::Text,
                    compressed: head.rsv1,
                    data: Vec::new(),
                });
                self.utf8.reset();
            }
            Opcode::Continuation if self.partial.is_none() || head.rsv1 => {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
            Opcode::Continuation => {}
            _ => self.control.clear(),
        }
        if let Some(p) = &self.partial {
            let so_far = p.data.len() as u64;
            if !head.opcode.is_control()
                && !p.compressed
                && so_far + head.len > self.cfg.max_size as u64
            {
                return Err(CloseCode::TOO_BIG);
            }
        }
        self.frame = Some(Frame { head, read: 0 });
        Ok(())
    }

    /// Unmasked payload bytes `input[range]` of the current frame.
    fn payload(
        &mut self,
        range: std::ops::Range<usize>,
        complete: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), u16> {
        let Some(frame) = &self.frame else {
            return Ok(());
        };
        let head = frame.head;
        if head.opcode.is_control() {
            self.control.extend_from_slice(&self.input[range]);
            if complete {
                self.frame = None;
                self.on_control(head.opcode, out)?;
            }
            return Ok(());
        }
        let Some(p) = &mut self.partial else {
            return Ok(());
        };
        let last = complete && head.fin;
        match (&mut self.deflate, p.compressed) {
            (Some(deflate), true) => {
                let limit = self.cfg.max_size;
                match deflate.inflate(&self.input[range], last, &mut p.data, limit) {
                    Ok(()) => {}
                    Err(InflateError::Corrupt) => return Err(CloseCode::INVALID_DATA),
                    Err(InflateError::TooBig) => {
                        // The first fault in the text wins, whatever the
                        // split: bad UTF-8 within the limit is 1007 (rule 1).
                        p.data.truncate(limit + 1);
                        let bad_text = p.text && !self.utf8.check(&p.data);
                        return Err(if bad_text {
                            CloseCode::INVALID_DATA
                        } else {
                            CloseCode::TOO_BIG
                        });
                    }
                }
            }
            _ => p.data.extend_from_slice(&self.input[range]),
        }
        if p.text && !self.utf8.check(&p.data) {
            return Err(CloseCode::INVALID_DATA);
        }
        if complete {
            self.frame = None;
        }
        if last {
            self.end_message()?;
        }
        Ok(())
    }

    fn end_message(&mut self) -> Result<(), u16> {
        let Some(p) = self.partial.take() else {
            return Ok(());
        };
        self.backlog += p.data.len();
        let message = if p.text {
            if !self.utf8.finish(&p.data) {
                return Err(CloseCode::INVALID_DATA);
            }
            Message::Text(String::from_utf8(p.data).map_err(|_| CloseCode::INVALID_DATA)?)
        } else {
            Message::Binary(p.data)
        };
        self.queue.push_back(message);
        Ok(())
    }

    /// A whole control frame, its payload in `control` (rule 3).
    fn on_control(&mut self, opcode: Opcode, out: &mut Vec<u8>) -> Result<(), u16> {
        match opcode {
            Opcode::Ping if !self.close_sent => {
                encode_frame_head(out, Opcode::Pong, false, self.control.len());
                out.extend_from_slice(&self.control);
            }
            Opcode::Close => {
                let (code, reason) = parse_close(&self.control)?;
                if !self.close_sent {
                    self.send_close(code, "", out);
                }
                self.outcome.get_or_insert((code, reason));
                self.state = WsState::Closed;
            }
            _ => {}
        }
        Ok(())
    }
}
