//! Waiting on one descriptor with a deadline.
//!
//! The sync worker serves one request at a time: while the application reads
//! its body or writes its response, the worker waits on that one socket with
//! `poll(2)` rather than through the event loop.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
pub enum Interest {
    Read,
    Write,
}

/// Waits until `fd` is ready for `interest` or `deadline` passes
/// (`ErrorKind::TimedOut`). Signals interrupt the wait and it resumes.
pub fn wait(fd: RawFd, interest: Interest, deadline: Option<Instant>) -> io::Result<()> {
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "client timed out"));
                }
                left.as_millis().clamp(1, i32::MAX as u128) as i32
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd on the stack.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
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

/// A deadline `timeout` from now; `None` for a zero timeout (wait forever).
pub fn deadline_after(timeout: Duration) -> Option<Instant> {
    (!timeout.is_zero()).then(|| Instant::now() + timeout)
}
