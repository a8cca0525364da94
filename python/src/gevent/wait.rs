//! io's waits, on gevent's hub: the [`Waiter`](rcorn_io::blocking::Waiter)
//! this worker installs calls `rcorn._gevent.wait`, which parks the
//! calling greenlet until the descriptor is ready, the time is up, or
//! (for a connection waiting for its next request) the worker drains.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use rcorn_io::blocking::{self, Interest};

static WAIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Sends every wait of this process to the hub through `module.wait`.
pub fn install(py: Python<'_>, module: &Bound<'_, PyModule>) {
    match module.getattr("wait") {
        Ok(wait) => {
            let _ = WAIT.set(py, wait.unbind());
            blocking::set_waiter(wait_on_hub);
        }
        Err(e) => crate::traceback::log_exception(py, &e, "rcorn._gevent has no wait"),
    }
}

fn wait_on_hub(fd: RawFd, interest: Interest, left: Option<Duration>) -> io::Result<bool> {
    let (write, idle) = match interest {
        Interest::Read => (false, false),
        Interest::Write => (true, false),
        Interest::NextRequest => (false, true),
    };
    Python::attach(|py| {
        let Some(wait) = WAIT.get(py) else {
            return Err(io::Error::other("the gevent wait is not installed"));
        };
        let timeout = left.map(|d| d.as_secs_f64());
        wait.bind(py)
            .call1((fd, write, idle, timeout))
            .and_then(|ready| ready.extract::<bool>())
            // A `gevent.Timeout` the application set, its greenlet being
            // killed (the worker exits), a signal handler stopping the
            // request: the exchange ends as if the client had gone, and
            // the application sees the exception itself (`wsgi::io_error`).
            .map_err(|e| io::Error::new(io::ErrorKind::Interrupted, e))
    })
}
