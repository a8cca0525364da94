//! The `gevent` worker class: a WSGI application served by greenlets on
//! gevent's hub, one greenlet per connection, in one process.
//!
//! The hub, the greenlets and the waits are Python (`rcorn/_gevent.py`);
//! the sockets, every HTTP/1 rule (core's `ServerConnection`, io's
//! `Exchange` and `connection_task`), the heartbeat and the worker's
//! lifecycle are Rust. Rust never blocks the hub: every wait of io's
//! ([`rcorn_io::blocking::wait`]) is handed to the hub ([`wait`]), so the
//! other greenlets run meanwhile. See DESIGN.md, "The gevent worker".

mod conn;
mod driver;
mod shared;
mod wait;

use pyo3::prelude::*;
use rcorn_io::worker_loop::WorkerConfig;
use rcorn_io::WorkerStart;

use crate::wsgi::WsgiApp;

use driver::GeventDriver;

/// Patches the standard library for gevent, as gunicorn's gevent worker
/// does before it loads the application, and makes the hub fit for this
/// process (a master that imported gevent forked it).
pub fn patch(py: Python<'_>) -> PyResult<()> {
    py.import("rcorn._gevent")?.call_method0("patch")?;
    Ok(())
}

/// Runs the worker until its lifecycle says exit; returns the exit code.
pub fn run_worker(
    py: Python<'_>,
    start: WorkerStart,
    cfg: WorkerConfig,
    app: WsgiApp,
) -> std::io::Result<i32> {
    let module = match py.import("rcorn._gevent") {
        Ok(module) => module,
        Err(e) => {
            crate::traceback::log_exception(py, &e, "Exception in gevent worker");
            return Ok(1);
        }
    };
    wait::install(py, &module);
    let driver = GeventDriver::new(start, cfg, app)?;
    let ran = Py::new(py, driver)
        .and_then(|driver| module.call_method1("run", (driver,))?.extract::<i32>());
    ran.or_else(|e| {
        crate::traceback::log_exception(py, &e, "Exception in gevent worker");
        Ok(1)
    })
}
