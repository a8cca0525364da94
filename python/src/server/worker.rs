//! A freshly forked worker, from the master's start-up to its exit: it
//! takes the workers' user, makes the hooks' `worker` object, loads the
//! application (unless preloaded), and serves it with the io crate's sync
//! or gthread loop, the `asgi` worker's event loop, or the `gevent`
//! worker's greenlets.

use pyo3::prelude::*;
use rcorn_core::access_log::AccessLogFormat;
use rcorn_core::config::{Settings, Value};
use rcorn_core::http::forwarded::SchemePolicy;
use rcorn_io::tls::TlsConfig;
use rcorn_io::worker_loop::{run_gthread_worker, run_sync_worker, WorkerConfig};
use rcorn_io::WorkerStart;

use crate::server::app_import::load_app;
use crate::server::hooks::{HookSet, ServerProxy, WorkerProxy};
use crate::server::io_config::{self, flag, threaded};
use crate::server::new_master::{self, NewMaster};
use crate::server::privileges::Identity;
use crate::server::reloader::Reloader;
use crate::server::stop::Stop;
use crate::traceback::log_exception;
use crate::wsgi::app::ChangedFile;
use crate::wsgi::environ::EnvironConstants;
use crate::wsgi::request_hooks::RequestHooks;
use crate::wsgi::WsgiApp;

/// What a freshly forked worker takes from the master's start-up.
pub struct WorkerContext<'a> {
    pub settings: &'a Settings,
    pub hooks: &'a HookSet,
    pub server: &'a Py<ServerProxy>,
    pub identity: &'a Identity,
    pub tls: Option<TlsConfig>,
    /// The application, when `--preload` loaded it in the master.
    pub preloaded: Option<Py<PyAny>>,
    pub access_format: Option<AccessLogFormat>,
}

/// Boots and runs the worker; returns its exit code.
pub fn run(
    py: Python<'_>,
    start: WorkerStart,
    mut ctx: WorkerContext<'_>,
    spec: &str,
) -> Result<i32, Stop> {
    let settings = ctx.settings;
    rcorn_io::info!("Booting worker with pid: {}", std::process::id());
    // Forked before its master's promotion, a worker is still `NAME.2`.
    let title = new_master::proc_name(
        settings.effective_proc_name(),
        NewMaster::from_env().is_some(),
    );
    crate::server::proc_title::set(py, "worker", &title);
    ctx.identity.assume().map_err(Stop::WorkerBoot)?;
    let worker = WorkerProxy::new(py, settings, start.id, start.master_pid as u32)
        .and_then(|w| Py::new(py, w))
        .map_err(|err| worker_raised("Exception in worker process", err))?;
    ctx.hooks.call(
        py,
        "post_fork",
        (ctx.server.clone_ref(py), worker.clone_ref(py)),
    );
    let class = settings.effective_worker_class();
    if matches!(class, "asgi" | "gevent") && settings.http_protocols().iter().any(|p| p == "h2") {
        rcorn_io::warning!(
            "HTTP/2 is not supported by rcorn's {class} worker yet; use the gthread worker for \
             HTTP/2. Falling back to HTTP/1.1 only."
        );
    }
    if class == "gevent" {
        // Before the application is imported, as gunicorn's gevent worker.
        crate::gevent::patch(py)
            .map_err(|err| worker_raised("Exception in worker process", err))?;
    }
    let app = match ctx.preloaded.take() {
        Some(app) => app,
        None => load_app(py, spec)?,
    };
    let scheme_policy = io_config::scheme_policy(settings)
        .map_err(|e| Stop::WorkerBoot(format!("forwarded_allow_ips: {e}")))?;
    let asgi_app = (class == "asgi").then(|| app.clone_ref(py));
    let mut wsgi = wsgi_app(py, &ctx, app, &scheme_policy)?;
    let proxy = io_config::proxy_policy(settings).map_err(Stop::WorkerBoot)?;
    let cfg = io_config::worker_config(
        settings,
        ctx.access_format.take(),
        scheme_policy,
        proxy,
        ctx.tls.clone(),
    );
    if let Ok(mut w) = worker.bind(py).try_borrow_mut() {
        w.booted = true;
    }
    install_worker_hooks(py, settings, ctx.hooks, &worker, &mut wsgi)?;
    if class != "gevent" {
        // The gevent worker's waits go to the hub instead, the GIL held.
        rcorn_io::blocking::set_wait_wrapper(crate::wsgi::app::release_gil_while);
    }
    let outcome = match asgi_app {
        Some(app) => {
            let extras = crate::asgi::WorkerExtras {
                pre_request: ctx.hooks.get("pre_request").map(|h| h.clone_ref(py)),
                post_request: ctx.hooks.get("post_request").map(|h| h.clone_ref(py)),
                worker: worker.clone_ref(py).into_any(),
                changed_file: wsgi.take_changed_file(),
            };
            crate::asgi::run_worker(py, start, cfg, app, settings, extras)
        }
        None if class == "gevent" => crate::gevent::run_worker(py, start, cfg, wsgi),
        None => serve(py, settings, start, cfg, &mut wsgi),
    };
    if let Ok(mut w) = worker.bind(py).try_borrow_mut() {
        w.alive = false;
    }
    ctx.hooks.call(
        py,
        "worker_exit",
        (ctx.server.clone_ref(py), worker.clone_ref(py)),
    );
    let code = outcome.map_err(Stop::WorkerFailed)?;
    rcorn_io::info!("Worker exiting (pid: {})", std::process::id());
    Ok(code)
}

fn worker_raised(context: &'static str, err: PyErr) -> Stop {
    Stop::WorkerRaised { context, err }
}

/// The application as the WSGI bridge serves it, with what the environ
/// holds for this worker's whole life.
fn wsgi_app(
    py: Python<'_>,
    ctx: &WorkerContext<'_>,
    app: Py<PyAny>,
    scheme_policy: &SchemePolicy,
) -> Result<WsgiApp, Stop> {
    let settings = ctx.settings;
    let constants = EnvironConstants {
        multiprocess: settings.workers() > 1,
        multithread: threaded(settings),
        url_scheme: if ctx.tls.is_some() { "https" } else { "http" },
        script_name: std::env::var("SCRIPT_NAME").unwrap_or_default(),
        casefold_method: flag(settings, "casefold_http_method"),
        map_underscore_headers: settings.get("header_map") == Some(&Value::Str("dangerous".into())),
        forwarder_headers: match settings.get("forwarder_headers") {
            Some(Value::List(names)) => names.clone(),
            _ => Vec::new(),
        },
        forwarders: scheme_policy.trusted.clone(),
    };
    // TLS must see every byte of a body: no sendfile(2) then, as in gunicorn.
    let sendfile = io_config::sendfile_enabled(settings) && ctx.tls.is_none();
    let mut wsgi = WsgiApp::new(py, app, constants, sendfile)
        .map_err(|err| worker_raised("Exception in worker process", err))?;
    wsgi.set_log_environ(
        ctx.access_format
            .as_ref()
            .map(|f| f.environ_names().map(str::to_owned).collect())
            .unwrap_or_default(),
    );
    Ok(wsgi)
}

/// `--reload`'s check, the request hooks, the INT/QUIT/ABRT handlers and
/// `post_worker_init`, once the worker has booted.
fn install_worker_hooks(
    py: Python<'_>,
    settings: &Settings,
    hooks: &HookSet,
    worker: &Py<WorkerProxy>,
    wsgi: &mut WsgiApp,
) -> Result<(), Stop> {
    wsgi.set_changed_file(settings.reload().then(|| {
        let mut reloader = Reloader::new(py, settings.reload_extra_files().to_vec());
        Box::new(move |py: Python<'_>| reloader.changed(py)) as ChangedFile
    }));
    let request_hooks = RequestHooks::new(
        py,
        hooks.get("pre_request"),
        hooks.get("post_request"),
        worker.as_any(),
    )
    .map_err(|err| worker_raised("Invalid post_request hook", err))?;
    wsgi.set_request_hooks(request_hooks);
    if let Err(e) = crate::server::worker_signals::install(py, hooks, worker) {
        log_exception(
            py,
            &e,
            "cannot install the worker's INT, QUIT and ABRT handlers",
        );
    }
    hooks.call(py, "post_worker_init", (worker.clone_ref(py),));
    Ok(())
}

/// Runs the worker's loop, the GIL released, until the worker stops.
fn serve(
    py: Python<'_>,
    settings: &Settings,
    start: WorkerStart,
    cfg: WorkerConfig,
    wsgi: &mut WsgiApp,
) -> std::io::Result<i32> {
    if threaded(settings) {
        let handlers: Vec<WsgiApp> = (0..settings.threads().max(1))
            .map(|_| wsgi.for_thread(py))
            .collect();
        py.detach(|| run_gthread_worker(start, cfg, wsgi, handlers))
    } else {
        if settings.http_protocols().iter().any(|p| p == "h2") {
            // gunicorn's sync worker says the same, in each worker.
            rcorn_io::warning!(
                "HTTP/2 is not supported by the sync worker. Use gthread, gevent, or asgi \
                 workers for HTTP/2 support. Falling back to HTTP/1.1 only."
            );
        }
        py.detach(|| run_sync_worker(start, cfg, wsgi))
    }
}
