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
mod file_body;
mod h2;
mod log_environ;
mod negotiate;
mod scope;
mod websocket;

use pyo3::prelude::*;
use std::time::Duration;

use rcorn_core::config::{Settings, Value};
use rcorn_core::http::h2::H2Config;
use rcorn_core::ws::WsConfig;
use rcorn_io::worker_loop::WorkerConfig;
use rcorn_io::WorkerStart;

pub use driver::AsgiDriver;

use crate::wsgi::app::ChangedFile;

/// What the worker's boot hands the asgi worker besides the application:
/// the request hooks from the config file, the hooks' `worker` argument,
/// and `--reload`'s check.
pub struct WorkerExtras {
    pub pre_request: Option<Py<PyAny>>,
    pub post_request: Option<Py<PyAny>>,
    pub worker: Py<PyAny>,
    pub changed_file: Option<ChangedFile>,
}

/// Runs the worker until its lifecycle says exit (or the lifespan startup
/// fails: gunicorn's boot-error code, 3); returns the exit code.
pub fn run_worker(
    py: Python<'_>,
    start: WorkerStart,
    cfg: WorkerConfig,
    app: Py<PyAny>,
    settings: &Settings,
    extras: WorkerExtras,
) -> std::io::Result<i32> {
    let text = |name| match settings.get(name) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let grace = match settings.get("asgi_disconnect_grace_period") {
        Some(Value::Int(n)) => *n,
        _ => 3,
    };
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let mut consts = scope::ScopeConstants::new(py, text("root_path"), scheme)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if cfg.tls.is_some() {
        // The file was read in the master already; an error here means it
        // changed since, and the extension then shows no certificate.
        match rcorn_io::tls::server_certificate(&text("certfile")) {
            Ok(der) => consts
                .set_server_cert(py, &der)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
            Err(e) => rcorn_io::warning!("{e}"),
        }
    }
    let int = |name| match settings.get(name) {
        Some(Value::Int(i)) => u64::try_from(*i).unwrap_or(0),
        _ => 0,
    };
    let secs = |name| Some(Duration::from_secs(int(name))).filter(|d| !d.is_zero());
    let ws = websocket::WsOptions {
        cfg: WsConfig {
            max_size: usize::try_from(int("ws_max_size")).unwrap_or(usize::MAX),
            ping_interval: secs("ws_ping_interval"),
            ping_timeout: secs("ws_ping_timeout"),
            ..WsConfig::default()
        },
        deflate: text("ws_per_message_deflate") != "false",
    };
    let sendfile = crate::server::io_config::sendfile_enabled(settings) && cfg.tls.is_none();
    let mut driver = AsgiDriver::new(start, cfg, consts, ws)?;
    driver.set_sendfile(sendfile);
    driver.set_changed_file(extras.changed_file);
    driver.set_http2(
        crate::server::io_config::negotiation(settings),
        H2Config::from_settings(settings),
    );
    let hooks = (extras.pre_request, extras.post_request, extras.worker);
    let ran = Py::new(py, driver).and_then(|driver| {
        py.import("rcorn._asgi")?
            .call_method1(
                "run",
                (
                    driver,
                    app,
                    text("asgi_lifespan"),
                    text("asgi_loop"),
                    grace,
                    hooks,
                ),
            )?
            .extract::<i32>()
    });
    ran.or_else(|e| {
        crate::traceback::log_exception(py, &e, "Exception in ASGI worker");
        Ok(1)
    })
}
