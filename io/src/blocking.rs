//! Waiting on one descriptor with a deadline.
//!
//! The sync worker serves one request at a time: while the application reads
//! its body or writes its response, the worker waits on that one socket with
//! `poll(2)` rather than through the event loop. A gthread worker's
//! application threads do the same for the connection they serve.
//!
//! An application runtime with a global lock (Python's GIL) must let other
//! threads run while one waits here: it installs a [`WaitWrapper`] that
//! releases the lock around every wait. A runtime of green threads (the
//! gevent worker's greenlets) installs a [`Waiter`] instead, which waits on
//! its own scheduler so that the other green threads run meanwhile.

use std::io;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Runs the wait it is given, releasing whatever the calling thread holds
/// that other threads need.
pub type WaitWrapper = fn(&mut dyn FnMut());

static WAIT_WRAPPER: OnceLock<WaitWrapper> = OnceLock::new();

/// Waits until `fd` is ready for the interest, or for at most the duration
/// (`None`: no limit), on a scheduler of green threads. `Ok(true)`: ready
/// (or woken early, which a caller treats the same: it tries and finds
/// `WouldBlock`); `Ok(false)`: the time is up. An error of kind
/// `Interrupted` means the runtime ended the wait for a reason of its own
/// (an application's timeout): a read may be retried, nothing is broken.
pub type Waiter = fn(RawFd, Interest, Option<Duration>) -> io::Result<bool>;

static WAITER: OnceLock<Waiter> = OnceLock::new();

/// Makes every [`wait`] of this process go through `waiter` instead of
/// poll(2). Only the first call has an effect.
pub fn set_waiter(waiter: Waiter) {
    let _ = WAITER.set(waiter);
}

/// Installs the wrapper every wait of this process runs inside. Only the
/// first call has an effect.
pub fn set_wait_wrapper(wrapper: WaitWrapper) {
    let _ = WAIT_WRAPPER.set(wrapper);
}

/// Runs `wait` (something that blocks) inside the installed wrapper.
pub fn while_waiting<R>(wait: impl FnOnce() -> R) -> R {
    let Some(wrapper) = WAIT_WRAPPER.get() else {
        return wait();
    };
    let mut wait = Some(wait);
    let mut result = None;
    wrapper(&mut || {
        if let Some(w) = wait.take() {
            result = Some(w());
        }
    });
    match result {
        Some(r) => r,
        // A wrapper must run its argument; one that did not is a bug in
        // it, and waiting without it is the only way to go on.
        None => match wait.take() {
            Some(w) => w(),
            None => unreachable!("the wait ran but left no result"),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
    /// Read, on a connection waiting for its next request: a [`Waiter`]
    /// may end the wait early when the worker starts to drain, so the
    /// connection is retired at once rather than at its idle deadline.
    NextRequest,
}

/// How long a read or write on a client may wait in all, counted from the
/// first time it has to: most never block, and then no clock is read.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    timeout: Duration,
    at: Option<Instant>,
}

impl Deadline {
    /// `timeout` after the first wait; a zero timeout waits forever.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline { timeout, at: None }
    }

    /// The instant, fixed by the first call.
    fn instant(&mut self) -> Option<Instant> {
        if self.timeout.is_zero() {
            return None;
        }
        let timeout = self.timeout;
        Some(*self.at.get_or_insert_with(|| Instant::now() + timeout))
    }
}

/// Waits until `fd` is ready for `interest` or `deadline` passes
/// (`ErrorKind::TimedOut`). Signals interrupt the wait and it resumes.
pub fn wait(fd: RawFd, interest: Interest, deadline: &mut Deadline) -> io::Result<()> {
    let events = match interest {
        Interest::Read | Interest::NextRequest => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    let deadline = deadline.instant();
    loop {
        let left = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "client timed out"));
                }
                Some(left)
            }
        };
        if let Some(waiter) = WAITER.get() {
            // Not ready in time: the loop finds the deadline passed.
            if waiter(fd, interest, left)? {
                return Ok(());
            }
            continue;
        }
        let timeout_ms = match left {
            None => -1,
            Some(left) => left.as_millis().clamp(1, i32::MAX as u128) as i32,
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd on the stack.
        let n = while_waiting(|| unsafe { libc::poll(&mut pfd, 1, timeout_ms) });
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}
