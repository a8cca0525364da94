//! `--daemon`: detach from the terminal the way gunicorn does, before
//! anything else starts: fork (the parent returns to the shell with 0),
//! become a session leader, fork again so no terminal can be reacquired,
//! umask 022, and stdio on /dev/null (`--enable-stdio-inheritance` keeps
//! stdout and stderr).

use std::os::fd::AsRawFd;

use nix::unistd::ForkResult;
use pyo3::Python;

use crate::server::host::python_fork;

pub fn daemonize(py: Python<'_>, keep_stdio: bool) -> Result<(), String> {
    for round in 0..2 {
        let forked = python_fork(py).map_err(|e| format!("daemon: fork failed: {e}"))?;
        match forked {
            // SAFETY: the parent leaves at once, running no Python code.
            ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
            ForkResult::Child => {}
        }
        // Only between the two forks: the first child leads a new session,
        // the second is no leader and so can never reacquire a terminal.
        if round == 0 {
            nix::unistd::setsid().map_err(|e| format!("daemon: setsid failed: {e}"))?;
        }
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("daemon: cannot open /dev/null: {e}"))?;
    let targets: &[i32] = if keep_stdio { &[0] } else { &[0, 1, 2] };
    for &fd in targets {
        // SAFETY: dup2 onto the standard descriptors, which we own.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(format!(
                "daemon: cannot redirect fd {fd}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}
