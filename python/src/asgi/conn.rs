//! One client connection of the ASGI worker: io's [`Connection`] (socket,
//! core's `ServerConnection`, output buffer) and where its exchange is.
//! Every write here is non-blocking: what the socket does not take waits
//! in `out` (or, for a file body, at its offset in the file) until the
//! socket is writable again.

use std::fs::File;
use std::io::{self, Write};
use std::time::Instant as StdInstant;

use nix::errno::Errno;
use rcorn_core::http::negotiate::PendingUpgrade;
use rcorn_io::exchange::Connection;

use super::h2::H2Session;
use super::negotiate::Deciding;
use super::scope::Addresses;
use super::websocket::WsSession;

/// Output past this size makes `send` wait for the socket to drain.
pub const HIGH_WATER: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for (the rest of) a request head; no task exists.
    Idle,
    /// A task has the request: it reads the body and answers.
    InRequest,
    /// The response is finished; the rest of an unread body is dropped.
    Draining,
    /// Write what is left in `out`, then close.
    Closing,
    /// An accepted WebSocket: the bytes are core's `WsConnection`'s.
    WebSocket,
    /// HTTP/2: the bytes are core's `H2Connection`'s (`h2`), each stream
    /// its own task.
    Http2,
}

pub struct AsgiConn {
    pub conn: Box<Connection>,
    pub stage: Stage,
    /// The client closed its side (or reset the connection) during the
    /// request: the task's `receive` says `http.disconnect`. A client that
    /// only half-closed still gets the response.
    pub disconnected: bool,
    /// Writing to the client failed: what the task sends is dropped.
    pub write_failed: bool,
    /// The task waits for body bytes or a disconnect (`receive`).
    pub receiving: bool,
    /// The task waits for `out` to drain (`send` past [`HIGH_WATER`]).
    pub sending: bool,
    /// The request body has been read to its end.
    pub body_end: bool,
    /// `receive` has returned the body's last message.
    pub end_delivered: bool,
    /// An event reported the peer's FIN (or an error): no later edge will,
    /// so the next read goes on to `WouldBlock` or the end.
    pub fin_seen: bool,
    /// Readiness came while nothing was to be read (the task was not
    /// receiving): read to `WouldBlock` once it is.
    pub owe_read: bool,
    /// Python has been told the client is gone (`EV_GONE`).
    pub gone_reported: bool,
    /// The response's head said trailer fields follow its body (and the
    /// client accepts them).
    pub trailers: bool,
    /// The request's `TE` lists `trailers`: trailer fields may be sent.
    pub te_trailers: bool,
    /// A file body going out with sendfile(2), after `out`.
    pub file: Option<FileBody>,
    /// Body bytes the task has sent (more than go out when they pass the
    /// Content-Length).
    pub body_given: u64,
    pub started: StdInstant,
    /// The request is a WebSocket handshake (boxed: most are not).
    pub ws: Option<Box<WsSession>>,
    /// The connection speaks HTTP/2.
    pub h2: Option<Box<H2Session>>,
    /// Its protocol is not known yet: what it waits for.
    pub deciding: Option<Deciding>,
    /// An `Upgrade: h2c` request whose body is being read before the
    /// connection turns to HTTP/2.
    pub upgrade: Option<Box<PendingUpgrade>>,
    /// The scope's `client` and `server`, made at its first request (after
    /// any PROXY preamble named the client).
    pub addrs: Option<Addresses>,
}

impl AsgiConn {
    pub fn new(conn: Box<Connection>) -> AsgiConn {
        AsgiConn {
            conn,
            stage: Stage::Idle,
            disconnected: false,
            write_failed: false,
            receiving: false,
            sending: false,
            body_end: false,
            end_delivered: false,
            fin_seen: false,
            owe_read: false,
            gone_reported: false,
            trailers: false,
            te_trailers: false,
            file: None,
            body_given: 0,
            started: StdInstant::now(),
            ws: None,
            h2: None,
            deciding: None,
            upgrade: None,
            addrs: None,
        }
    }

    /// Writes what the socket takes of `out`. `Ok(true)`: all of it is out.
    pub fn write_out(&mut self) -> io::Result<bool> {
        let conn = &mut *self.conn;
        let mut written = 0;
        let result = loop {
            if written == conn.out.len() {
                break Ok(true);
            }
            match conn.stream.write(&conn.out[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        conn.out.drain(..written);
        match result {
            // A TLS layer may still hold records the socket had no room for.
            Ok(true) => match conn.stream.drain() {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
                Err(e) => Err(e),
            },
            other => other,
        }
    }

    /// Writes `out`, then what is left of a file body, then the framing
    /// after it. `Ok(true)`: all of it is out.
    pub fn flush(&mut self) -> io::Result<bool> {
        if !self.write_out()? {
            return Ok(false);
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(true);
        };
        if !file.send(&self.conn.stream)? {
            return Ok(false);
        }
        let after = file.after;
        self.file = None;
        self.conn.out.extend_from_slice(after);
        self.write_out()
    }

    /// Reads what the socket has into the connection, until `WouldBlock`
    /// or a short read. `Ok(false)`: the peer closed its side.
    pub fn read_available(&mut self) -> io::Result<bool> {
        loop {
            match self.conn.fill() {
                Ok(false) => return Ok(false),
                Ok(true) if self.conn.socket_drained && !self.fin_seen => return Ok(true),
                Ok(true) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// sendfile moves at most about 2 GiB per call on Linux.
const MAX_PER_CALL: u64 = 1 << 30;

/// The part of a file still to be sent as the response body.
pub struct FileBody {
    /// A descriptor of its own: the application may close or remove the
    /// file once `send` returns.
    pub file: File,
    pub at: i64,
    pub end: u64,
    /// The framing after the file's bytes (a chunk's CRLF).
    pub after: &'static [u8],
}

impl FileBody {
    /// Sends what the socket takes. `Ok(true)`: the whole range is out. A
    /// file that turned out shorter is an error: the body cannot be ended.
    fn send(&mut self, socket: &rcorn_io::stream::Stream) -> io::Result<bool> {
        while (self.at as u64) < self.end {
            let count = (self.end - self.at as u64).min(MAX_PER_CALL) as usize;
            match nix::sys::sendfile::sendfile64(socket, &self.file, Some(&mut self.at), count) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => rcorn_io::metrics::sent(n),
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }
}
