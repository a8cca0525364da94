//! systemd integration, as gunicorn does it: socket activation (listeners
//! passed as descriptors 3.. with `LISTEN_FDS`/`LISTEN_PID`) and readiness
//! notification (`READY=1`, `STOPPING=1` on `NOTIFY_SOCKET`).

use std::os::fd::RawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The first descriptor systemd passes.
const FIRST_FD: RawFd = 3;

/// The descriptors systemd passed to this process, if it passed any. The
/// variables are removed so that workers and applications do not take the
/// sockets for their own.
pub fn listen_fds() -> Vec<RawFd> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<RawFd>().ok())
        .unwrap_or(0);
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // The master is still single-threaded here.
        std::env::remove_var(var);
    }
    if !for_us || count <= 0 {
        return Vec::new();
    }
    (FIRST_FD..FIRST_FD + count).collect()
}

/// Sends `state` to the service manager when it asked for notifications;
/// errors are ignored, as a notification is advisory.
pub fn notify(state: &str) {
    let Ok(path) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    let address = match path.strip_prefix('@') {
        Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes()),
        None => SocketAddr::from_pathname(&path),
    };
    let Ok(address) = address else {
        return;
    };
    if let Ok(socket) = UnixDatagram::unbound() {
        let _ = socket.send_to_addr(state.as_bytes(), &address);
    }
}
