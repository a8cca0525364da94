//! Signals through a self-pipe.
//!
//! A handler may only do async-signal-safe work, so it writes the signal's
//! number into a non-blocking pipe and returns. The event loop reads the
//! pipe like any other descriptor, which keeps signals in arrival order and
//! wakes a `poll` that is waiting. (signalfd would need the signals blocked
//! in every thread, and a blocked mask leaks into every program the
//! application starts.)

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// Signals also handed to [`forward`]'s function, one bit per number.
static FORWARDED: AtomicU64 = AtomicU64::new(0);
/// That function, as an address (0: none).
static FORWARD_TO: AtomicUsize = AtomicUsize::new(0);

/// Type of a function [`forward`] calls from the signal handler.
pub type Forwarder = extern "C" fn(libc::c_int);

/// Also passes `signals` to `to`, from inside the handler, after the pipe
/// has been written. The Python bridge uses it to interrupt the
/// interpreter, whose own handlers then run wherever the application is
/// (a hung request included), as gunicorn's do. `to` must be
/// async-signal-safe.
pub fn forward(signals: &[Signal], to: Forwarder) {
    FORWARD_TO.store(to as usize, Ordering::SeqCst);
    let bits = signals
        .iter()
        .fold(0u64, |acc, &s| acc | 1u64 << (s as i32 as u32 % 64));
    FORWARDED.fetch_or(bits, Ordering::SeqCst);
}

extern "C" fn on_signal(signo: libc::c_int) {
    forward_signal(signo);
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signo as u8;
        // SAFETY: write(2) is async-signal-safe; errno is preserved around
        // it so the interrupted code sees its own.
        unsafe {
            let saved = *libc::__errno_location();
            libc::write(fd, (&byte as *const u8).cast(), 1);
            *libc::__errno_location() = saved;
        }
    }
}

fn forward_signal(signo: libc::c_int) {
    let bit = 1u64 << (signo as u32 % 64);
    if FORWARDED.load(Ordering::Relaxed) & bit == 0 {
        return;
    }
    let address = FORWARD_TO.load(Ordering::Relaxed);
    if address != 0 {
        // SAFETY: the only non-zero value ever stored is a `Forwarder`.
        let to: Forwarder = unsafe { std::mem::transmute::<usize, Forwarder>(address) };
        to(signo);
    }
}

pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Creates the pipe and routes `signals` into it. Replaces any earlier
    /// pipe (a forked worker calls this again for its own).
    pub fn install(signals: &[Signal]) -> io::Result<SignalPipe> {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC)?;
        WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        route(signals)?;
        Ok(SignalPipe {
            read,
            _write: write,
        })
    }

    pub fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Appends every signal received since the last call, in order.
    pub fn drain(&self, out: &mut Vec<Signal>) {
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Signal::try_from(b as i32).ok()),
                ),
            }
        }
    }
}

/// Sends `signals` (back) into the installed pipe: after code that set its
/// own handlers for them, such as Python's `signal.signal`.
pub fn route(signals: &[Signal]) -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for &sig in signals {
        // SAFETY: the handler only calls write(2) and the forwarder, which
        // is async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// Restores the default disposition, as a forked worker must before it sets
/// up its own handling, and ignores SIGPIPE (a peer that went away must
/// surface as EPIPE, not kill the process).
pub fn reset(signals: &[Signal]) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for &sig in signals {
        // SAFETY: installing SIG_DFL.
        let _ = unsafe { sigaction(sig, &default) };
    }
    ignore_sigpipe();
}

pub fn ignore_sigpipe() {
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_IGN.
    let _ = unsafe { sigaction(Signal::SIGPIPE, &ignore) };
}

/// Signals the master handles (gunicorn's SIGNALS list plus CHLD).
pub const MASTER_SIGNALS: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCHLD,
];

/// Signals a worker handles itself.
pub const WORKER_SIGNALS: &[Signal] = &[
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGUSR1,
    Signal::SIGWINCH,
    Signal::SIGABRT,
];

/// [`WORKER_SIGNALS`] as a set, for the threads that must not take them.
pub fn worker_sigset() -> SigSet {
    let mut set = SigSet::empty();
    for &sig in WORKER_SIGNALS {
        set.add(sig);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_arrive_through_the_pipe_in_order() {
        let pipe = SignalPipe::install(&[Signal::SIGUSR1, Signal::SIGUSR2]).unwrap();
        nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
        nix::sys::signal::raise(Signal::SIGUSR1).unwrap();
        nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
        let mut got = Vec::new();
        pipe.drain(&mut got);
        assert_eq!(got, vec![Signal::SIGUSR2, Signal::SIGUSR1, Signal::SIGUSR2]);
        reset(&[Signal::SIGUSR1, Signal::SIGUSR2]);
    }
}
