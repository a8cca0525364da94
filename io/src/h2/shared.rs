//! One HTTP/2 connection as the loop and the application threads share
//! it: the machine and its socket behind one mutex, and a condition
//! variable for the threads that wait on the client (body bytes, send
//! credit). Socket I/O under the lock is non-blocking (mio's sockets),
//! so holding it never means waiting on the network; and no thread waits
//! for the application runtime's lock (Python's GIL) while it holds it.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rcorn_core::http::h2::H2Connection;
use rcorn_core::time::Instant;

use super::driver::LoopWake;
use crate::exchange::ServerAddr;
use crate::stream::{PeerAddr, Stream};

/// How long a waiting thread sleeps before it looks again: a backstop,
/// since every event that concerns it also notifies it.
const RECHECK: Duration = Duration::from_millis(500);

pub(crate) struct H2State {
    pub conn: H2Connection,
    pub stream: Stream,
    /// The socket failed or the loop closed the connection: every stream
    /// stops.
    pub dead: bool,
    /// The loop stopped reading for output backed up: a thread that
    /// writes it out wakes the loop to read on.
    pub read_paused: bool,
}

impl H2State {
    /// Writes pending output until all is out or the socket is full.
    /// `true` once nothing waits (TLS records included).
    pub fn write_out(&mut self) -> bool {
        while !self.dead && !self.conn.pending_output().is_empty() {
            match self.stream.write(self.conn.pending_output()) {
                Ok(0) => self.dead = true,
                Ok(n) => self.conn.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        match self.stream.drain() {
            Ok(()) => !self.dead,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(_) => {
                self.dead = true;
                false
            }
        }
    }

    /// One read from the socket into the machine: `Some(true)` for bytes,
    /// `Some(false)` at the client's end, `None` when the socket has
    /// nothing now (or failed).
    pub fn read_in(&mut self, buf: &mut [u8]) -> Option<bool> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.conn.feed_eof();
                    return Some(false);
                }
                Ok(n) => {
                    self.conn.feed(&buf[..n]);
                    return Some(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    return None;
                }
            }
        }
    }
}

/// The connection's identity and its shared state.
pub(crate) struct H2Shared {
    state: Mutex<H2State>,
    changed: Condvar,
    /// The machine's next deadline as the loop last recorded it
    /// (nanoseconds since the clock's epoch; `u64::MAX`: none). A thread
    /// that moves it earlier wakes the loop to record the new one.
    published_deadline: AtomicU64,
    /// The loop's slot for this connection, for [`LoopWake`].
    pub slot: usize,
    wake: Arc<LoopWake>,
    pub peer: PeerAddr,
    pub server: ServerAddr,
}

impl H2Shared {
    pub fn new(
        state: H2State,
        slot: usize,
        wake: Arc<LoopWake>,
        peer: PeerAddr,
        server: ServerAddr,
    ) -> Self {
        H2Shared {
            state: Mutex::new(state),
            changed: Condvar::new(),
            published_deadline: AtomicU64::new(u64::MAX),
            slot,
            wake,
            peer,
            server,
        }
    }

    /// The state; a thread that panicked holding it left nothing half
    /// done that the others cannot read.
    pub fn lock(&self) -> MutexGuard<'_, H2State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the socket with the loop's poll.
    pub fn register(
        &self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        registry.register(self.lock().stream.as_source(), token, interest)
    }

    /// The loop is done with the connection: the socket leaves its poll
    /// and the threads still serving streams stop. The socket closes when
    /// the last of them lets go.
    pub fn close(&self, registry: &mio::Registry) {
        let mut state = self.lock();
        let _ = registry.deregister(state.stream.as_source());
        state.dead = true;
        state.stream.shutdown_write();
        drop(state);
        self.notify();
    }

    /// Wakes the threads waiting on this connection to look again.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits (the runtime's lock released) until notified or a while has
    /// passed; the caller looks again either way. The state's lock is let
    /// go before the runtime's is taken back: a thread holding the state
    /// never waits for the runtime's lock, so the two cannot deadlock.
    pub fn wait<'g>(&'g self, guard: MutexGuard<'g, H2State>) -> MutexGuard<'g, H2State> {
        let mut guard = Some(guard);
        crate::blocking::while_waiting(|| {
            if let Some(g) = guard.take() {
                let woken = self.changed.wait_timeout(g, RECHECK);
                drop(woken);
            }
        });
        self.lock()
    }

    /// The loop recorded `deadline` as the machine's next (it holds the
    /// state's lock).
    pub fn publish_deadline(&self, deadline: Option<Instant>) {
        self.published_deadline
            .store(deadline.map_or(u64::MAX, nanos), Ordering::Relaxed);
    }

    /// A thread set a new deadline (a stream now waits on the client):
    /// the loop is woken to record it if it falls before the one it knows.
    /// A deadline that moved later needs nothing: the loop wakes early,
    /// pumps, and records the later one.
    pub fn deadline_set(&self, state: &H2State) {
        let known = self.published_deadline.load(Ordering::Relaxed);
        if state.conn.next_deadline().is_some_and(|d| nanos(d) < known) {
            // Recorded now, so that the next waits do not wake it again.
            self.publish_deadline(state.conn.next_deadline());
            self.wake.wake(self.slot, false);
        }
    }

    /// A stream's response is complete: its last bytes are left for the
    /// loop, woken for them, to write with every other stream's output of
    /// that wake-up (one write for many responses); the loop is woken
    /// anyway once the handler finishes.
    pub fn stream_ended(&self, state: MutexGuard<'_, H2State>) {
        drop(state);
        self.wake.wake(self.slot, false);
    }

    /// A stream's handler is done: the loop writes what it left, counts
    /// the request and may start the connection's idle deadline.
    pub fn stream_finished(&self, state: MutexGuard<'_, H2State>) {
        drop(state);
        self.wake.wake(self.slot, true);
    }

    /// After a thread's work: writes what is pending and wakes the loop if
    /// it must act (`finished`: a stream's handler is done).
    pub fn after_work(&self, mut state: MutexGuard<'_, H2State>, finished: bool) {
        let drained = state.write_out();
        let resume = drained && state.read_paused;
        if resume {
            state.read_paused = false;
        }
        drop(state);
        if finished || resume {
            self.wake.wake(self.slot, finished);
        }
    }
}

fn nanos(t: Instant) -> u64 {
    u64::try_from(t.since_epoch().as_nanos()).unwrap_or(u64::MAX - 1)
}
