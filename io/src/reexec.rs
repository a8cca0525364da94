//! USR2 binary upgrade, as gunicorn does it: the master forks, and the
//! child execs a fresh copy of the server with the listening sockets still
//! open and their numbers in the environment. The new master serves on the
//! same sockets next to the old one until the operator retires either.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, RawFd};

use nix::sys::signal::{SigSet, SigmaskHow};
use nix::unistd::{ForkResult, Pid};

use crate::signals::{self, MASTER_SIGNALS};

/// Carries the inherited listeners' descriptors ("3,4").
pub const FDS_VAR: &str = "RCORN_FD";
/// gunicorn's name for the same, read too so an upgrade from a gunicorn
/// master works.
const GUNICORN_FDS_VAR: &str = "GUNICORN_FD";
/// The pid of the master that started this one.
pub const PARENT_VAR: &str = "RCORN_PID";

/// What to exec: prepared before the fork, so the child only makes
/// async-signal-safe calls.
pub struct ExecSpec {
    pub program: CString,
    pub args: Vec<CString>,
    /// `KEY=VALUE` entries, without the two variables above.
    pub env: Vec<CString>,
    pub cwd: CString,
}

/// Forks and execs the new master; returns its pid.
pub fn spawn(spec: &ExecSpec, listeners: &[RawFd]) -> nix::Result<Pid> {
    let fds: Vec<String> = listeners.iter().map(|fd| fd.to_string()).collect();
    let mut env = spec.env.clone();
    env.push(cstring(format!("{FDS_VAR}={}", fds.join(","))));
    env.push(cstring(format!("{PARENT_VAR}={}", std::process::id())));

    let mut mask = SigSet::empty();
    for &sig in MASTER_SIGNALS {
        mask.add(sig);
    }
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))?;
    // SAFETY: the child makes only async-signal-safe calls (sigaction,
    // sigprocmask, fcntl, chdir, execve, _exit) before it execs.
    let result = unsafe { nix::unistd::fork() };
    match result {
        Ok(ForkResult::Child) => {
            signals::reset(MASTER_SIGNALS);
            let _ = nix::sys::signal::pthread_sigmask(
                SigmaskHow::SIG_SETMASK,
                Some(&SigSet::empty()),
                None,
            );
            for &fd in listeners {
                // SAFETY: the master's own listening sockets, open.
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = nix::fcntl::fcntl(
                    fd,
                    nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                );
            }
            let _ = nix::unistd::chdir(spec.cwd.as_c_str());
            let _ = nix::unistd::execve(&spec.program, &spec.args, &env);
            // SAFETY: exec failed; leave without running the master's code.
            unsafe { libc::_exit(127) }
        }
        Ok(ForkResult::Parent { child }) => {
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None)?;
            Ok(child)
        }
        Err(e) => {
            let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            Err(e)
        }
    }
}

/// A string for exec; an interior NUL (impossible in environment entries
/// and paths the OS gave us) is dropped rather than failing the upgrade.
pub fn cstring(text: String) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// The listeners an upgrading master passed to this one, if it did. The
/// variables are removed so the application's children do not see them.
pub fn inherited_fds() -> Vec<RawFd> {
    let list = std::env::var(FDS_VAR)
        .or_else(|_| std::env::var(GUNICORN_FDS_VAR))
        .unwrap_or_default();
    for var in [FDS_VAR, GUNICORN_FDS_VAR] {
        // The master is still single-threaded here.
        std::env::remove_var(var);
    }
    list.split(',')
        .filter_map(|fd| fd.trim().parse().ok())
        .collect()
}
