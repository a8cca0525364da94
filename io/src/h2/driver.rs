//! The loop's side of its HTTP/2 connections: a table by slot, and the
//! pump that moves bytes between each socket and its `H2Connection`,
//! turns new streams into jobs and runs the machine's timers.

use std::sync::Arc;

use rcorn_core::handoff::HandOff;
use rcorn_core::http::h2::{
    request_head, ErrorCode, H2Connection, H2Error, H2Event, H2Notice, H2Request,
};
use rcorn_core::time::Instant;

use super::deadlines::Deadlines;
use super::exchange::StreamJob;
use super::shared::{H2Shared, H2State};
use crate::exchange::ServerAddr;
use crate::stream::{PeerAddr, Stream};

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How application threads tell the loop that a connection needs it.
pub(crate) struct LoopWake {
    /// The slot, and whether a stream's handler finished.
    slots: HandOff<(usize, bool)>,
    waker: Arc<mio::Waker>,
}

impl LoopWake {
    pub fn new(waker: Arc<mio::Waker>) -> Self {
        LoopWake {
            slots: HandOff::new(),
            waker,
        }
    }

    /// One wake-up for every slot queued since the loop last collected.
    pub fn wake(&self, slot: usize, finished: bool) {
        if matches!(self.slots.push((slot, finished)), Ok(true)) {
            let _ = self.waker.wake();
        }
    }

    pub fn collect(&self, out: &mut Vec<(usize, bool)>) {
        self.slots.drain_into(out);
    }
}

/// What a pump left the connection as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pumped {
    Open,
    /// Over, and everything for the client written (or the socket failed).
    Closed,
}

/// A new stream, decoded by the loop, for the caller to hand to a thread.
pub(crate) struct NewStream {
    pub shared: Arc<H2Shared>,
    pub id: u32,
    pub request: H2Request,
}

#[derive(Default)]
pub(crate) struct H2Table {
    conns: Vec<Option<Arc<H2Shared>>>,
    free: Vec<usize>,
    buf: Vec<u8>,
    /// Each connection's next deadline, recorded by its pumps.
    deadlines: Deadlines,
}

impl H2Table {
    /// Makes `stream` an HTTP/2 connection whose client already sent
    /// `first_bytes`; returns its slot.
    pub fn open(
        &mut self,
        machine: H2Connection,
        stream: Stream,
        first_bytes: &[u8],
        wake: &Arc<LoopWake>,
        peer: PeerAddr,
        server: ServerAddr,
    ) -> usize {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        let mut state = H2State {
            conn: machine,
            stream,
            dead: false,
            read_paused: false,
        };
        state.conn.feed(first_bytes);
        let shared = H2Shared::new(state, slot, wake.clone(), peer, server);
        self.conns[slot] = Some(Arc::new(shared));
        slot
    }

    pub fn get(&self, slot: usize) -> Option<&Arc<H2Shared>> {
        self.conns.get(slot).and_then(Option::as_ref)
    }

    /// Takes the connection out of the table; the caller deregisters it.
    pub fn remove(&mut self, slot: usize) -> Option<Arc<H2Shared>> {
        let shared = self.conns.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.deadlines.set(slot, None);
        Some(shared)
    }

    /// Appends the slots whose machines have a deadline due at `now`.
    pub fn due(&self, now: Instant, out: &mut Vec<usize>) {
        self.deadlines.due(now, out);
    }

    pub fn slots(&self) -> std::ops::Range<usize> {
        0..self.conns.len()
    }

    /// The earliest deadline of any connection's machine, as their pumps
    /// recorded them: no connection is locked to learn it.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.earliest()
    }

    /// Reads what `slot`'s socket has, acts on it and writes what is
    /// pending; the due timers first when `now` is past them.
    pub fn pump(&mut self, slot: usize, now: Instant, new: &mut Vec<NewStream>) -> Pumped {
        let Some(shared) = self.get(slot).cloned() else {
            return Pumped::Closed;
        };
        if self.buf.len() < READ_CHUNK {
            self.buf.resize(READ_CHUNK, 0);
        }
        let mut state = shared.lock();
        if state.conn.next_deadline().is_some_and(|d| d <= now) {
            state.conn.handle_timeout(now);
        }
        let mut over = false;
        let mut notify = false;
        let mut eof = false;
        loop {
            let step = take_events(&mut state.conn, &shared, new, &mut notify);
            while let Some(notice) = state.conn.take_notice() {
                log_notice(&shared.peer, notice);
            }
            over |= step.over;
            let drained = state.write_out();
            if state.dead || (over && drained) {
                break;
            }
            if !state.conn.wants_read() || eof || over {
                if !drained {
                    state.read_paused = true;
                    break;
                }
                if step.blocked {
                    continue;
                }
                break;
            }
            match state.read_in(&mut self.buf) {
                Some(true) => {}
                Some(false) => eof = true,
                None => break,
            }
        }
        state.conn.await_peer(now);
        let closed = state.dead || (over && state.conn.pending_output().is_empty());
        if closed {
            state.dead = true;
        }
        let next = if closed {
            None
        } else {
            state.conn.next_deadline()
        };
        shared.publish_deadline(next);
        self.deadlines.set(slot, next);
        drop(state);
        if notify || closed {
            shared.notify();
        }
        if closed {
            Pumped::Closed
        } else {
            Pumped::Open
        }
    }

    /// Every connection stops taking new streams (GOAWAY); each closes
    /// once its streams are served.
    pub fn shut_down_all(&mut self) {
        for shared in self.conns.iter().flatten() {
            let mut state = shared.lock();
            state.conn.shutdown();
            state.write_out();
        }
    }
}

struct Events {
    over: bool,
    /// Output was backed up: write, then look again.
    blocked: bool,
}

/// Takes every event the machine has; new streams go to `new`.
fn take_events(
    conn: &mut H2Connection,
    shared: &Arc<H2Shared>,
    new: &mut Vec<NewStream>,
    notify: &mut bool,
) -> Events {
    let mut events = Events {
        over: false,
        blocked: false,
    };
    loop {
        match conn.poll_event() {
            Ok(H2Event::Request { stream, request }) => new.push(NewStream {
                shared: shared.clone(),
                id: stream,
                request,
            }),
            Ok(H2Event::Readable { .. } | H2Event::Writable { .. } | H2Event::Reset { .. }) => {
                *notify = true
            }
            Ok(H2Event::NeedData | H2Event::Paused) => return events,
            Ok(H2Event::Blocked) => {
                events.blocked = true;
                return events;
            }
            Ok(H2Event::Closed) => {
                events.over = true;
                return events;
            }
            Err(H2Error::Stream { .. }) => *notify = true,
            Err(e @ H2Error::Connection { .. }) => {
                log_connection_error(&shared.peer, &e);
                *notify = true;
                events.over = true;
                return events;
            }
        }
    }
}

fn peer_text(peer: &PeerAddr) -> String {
    peer.ip()
        .map_or_else(|| "unix".to_owned(), |ip| ip.to_string())
}

/// One line for each stream a limit cut off.
pub fn log_notice(peer: &PeerAddr, notice: H2Notice) {
    let who = peer_text(peer);
    match notice {
        H2Notice::HeaderListTooLarge { stream } => crate::warning!(
            "HTTP/2 request from {who} (stream {stream}) refused with 431: \
             its header list is larger than http2_max_header_list_size"
        ),
        H2Notice::Stalled { stream } => crate::warning!(
            "HTTP/2 stream {stream} from {who} reset: no flow-control credit or body bytes \
             within the timeout"
        ),
    }
}

/// A connection the client's behaviour ended: a warning for the floods
/// the limits cut off (GOAWAY ENHANCE_YOUR_CALM), else a debug line, as
/// for a broken HTTP/1 client. One wording for every worker.
pub fn log_connection_error(peer: &PeerAddr, e: &H2Error) {
    let who = peer_text(peer);
    if e.code() == ErrorCode::EnhanceYourCalm {
        crate::warning!(
            "HTTP/2 connection from {who} ended (GOAWAY ENHANCE_YOUR_CALM): {}",
            e.detail()
        );
    } else {
        crate::debug!("HTTP/2 connection from {who} ended: {e}");
    }
}

impl NewStream {
    /// The job for an application thread, with the request as the head
    /// every interface reads.
    pub fn into_job(self) -> Box<StreamJob> {
        Box::new(StreamJob {
            head: request_head(&self.request),
            shared: self.shared,
            id: self.id,
            scheme: None,
        })
    }
}
