//! The `asgi` worker class: ASGI 3 applications (HTTP and lifespan) on one
//! asyncio event loop per worker process, in its main thread.
//!
//! The loop itself, the tasks and the `receive`/`send` callables are
//! Python (`rcorn/_asgi.py`); the sockets, every HTTP/1 rule (through
//! core's `ServerConnection`), the heartbeat and the worker's lifecycle
//! are Rust ([`driver::AsgiDriver`]), called from the loop. See DESIGN.md.

mod conn;
mod driver;
mod exchange;
mod scope;

use pyo3::prelude::*;
use rcorn_core::config::{Settings, Value};
use rcorn_io::worker_loop::WorkerConfig;
use rcorn_io::WorkerStart;

pub use driver::AsgiDriver;

/// Runs the worker until its lifecycle says exit (or the lifespan startup
/// fails: gunicorn's boot-error code, 3); returns the exit code.
pub fn run_worker(
    py: Python<'_>,
    start: WorkerStart,
    cfg: WorkerConfig,
    app: Py<PyAny>,
    settings: &Settings,
) -> std::io::Result<i32> {
    let text = |name| match settings.get(name) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let consts = scope::ScopeConstants {
        root_path: text("root_path"),
        scheme: if cfg.tls.is_some() { "https" } else { "http" },
    };
    let driver = AsgiDriver::new(start, cfg, consts)?;
    let ran = Py::new(py, driver).and_then(|driver| {
        py.import("rcorn._asgi")?
            .call_method1(
                "run",
                (driver, app, text("asgi_lifespan"), text("asgi_loop")),
            )?
            .extract::<i32>()
    });
    ran.or_else(|e| {
        crate::traceback::log_exception(py, &e, "Exception in ASGI worker");
        Ok(1)
    })
}
