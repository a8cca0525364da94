//! From command line to running server: settings, logging, application
//! loading, binding, the master loop, and — in each forked child — the
//! worker. Each step either goes on or says, as a [`Stop`], why the
//! process ends.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyModule;
use rcorn_core::access_log::AccessLogFormat;
use rcorn_core::config::{Settings, Value};
use rcorn_core::statsd::{StatsdAddress, StatsdFormat};
use rcorn_io::listener::{BindAddress, Listener};
use rcorn_io::MasterOutcome;

use crate::server::app_import::{load_app, prepare_path};
use crate::server::cli::{self, CliOutcome};
use crate::server::config_file::Hooks;
use crate::server::hooks::{HookSet, ServerProxy};
use crate::server::host::PythonHost;
use crate::server::io_config::{self, flag};
use crate::server::new_master::{self, NewMaster};
use crate::server::pidfile::{self, Pidfile};
use crate::server::privileges::Identity;
use crate::server::stop::Stop;
use crate::server::worker::{self, WorkerContext};

/// The `rcorn` command: runs with `argv` and returns the exit code.
pub fn main(py: Python<'_>, argv: Vec<String>) -> i32 {
    // Removed when this returns, after the reason for stopping is logged:
    // whoever waits for the file to go finds the reason in the log.
    let mut pidfile = None;
    start(py, argv, &mut pidfile).unwrap_or_else(|stop| stop.report(py))
}

/// Start-up, then the master's loop; returns the exit code of the master,
/// or of the worker this process became.
fn start(py: Python<'_>, argv: Vec<String>, pidfile: &mut Option<Pidfile>) -> Result<i32, Stop> {
    // Where a USR2 upgrade execs the new master, before --chdir moves us.
    let start_dir = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let (settings, config_objects) = parse_command_line(py, &argv)?;
    if settings.print_config_requested() {
        print!("{}", settings.print_config());
        return Ok(0);
    }
    if settings.daemon() && !settings.check_config() {
        daemonize(py, &settings)?;
    }
    open_logs(&settings)?;
    // `-e KEY=VALUE`: set before the application is imported, in the
    // master, so every worker inherits it.
    set_raw_env(py, &settings).map_err(|e| Stop::Startup(format!("raw_env: {e}")))?;
    let app_spec = settings
        .wsgi_app()
        .map(str::to_owned)
        .ok_or(Stop::NoApplication)?;
    prepare_path(py, &settings).map_err(|e| Stop::Startup(e.to_string()))?;
    // Access lines are made when they go somewhere: a file, syslog, or a
    // logging configuration (whose `gunicorn.access` logger decides).
    let own_access = settings.accesslog().is_some()
        || (flag(&settings, "syslog") && !flag(&settings, "disable_redirect_access_to_syslog"));
    configure_python_logging(py, &settings, &config_objects, own_access)?;
    warn_about_reload(&settings);
    check_worker_runtime(py, &settings)?;
    let preloaded = preload(py, &settings, &app_spec)?;
    if settings.check_config() {
        return Ok(0);
    }
    let app = Application {
        access_format: access_log_format(&settings, own_access)?,
        spec: app_spec,
        preloaded,
    };
    let hooks = HookSet::new(config_objects.callables);
    run_master(py, &settings, &hooks, start_dir, app, pidfile)
}

/// What the workers serve, settled before the master starts.
struct Application {
    spec: String,
    /// Loaded in the master (`--preload`).
    preloaded: Option<Py<PyAny>>,
    access_format: Option<AccessLogFormat>,
}

/// The hooks' `server` object, the pidfile, TLS and the sockets; then the
/// master's loop, until it exits or this process becomes a worker.
fn run_master(
    py: Python<'_>,
    settings: &Settings,
    hooks: &HookSet,
    start_dir: PathBuf,
    app: Application,
    pidfile: &mut Option<Pidfile>,
) -> Result<i32, Stop> {
    let new_master = NewMaster::from_env();
    let server = server_object(py, settings, hooks, new_master.is_some())?;
    // Where gunicorn's arbiter writes it: before on_starting and binding, so
    // a server already running on this pidfile stops the start-up first.
    *pidfile = settings
        .pidfile()
        .map(|p| Pidfile::create(pidfile::path_for(p, new_master.is_some())))
        .transpose()
        .map_err(Stop::Startup)?;
    hooks.call(py, "on_starting", (server.clone_ref(py),));
    // Certificates are read once, by the master, before it binds: a bad
    // file stops the start-up with the setting and file named.
    let tls = io_config::tls_config(settings).map_err(Stop::Startup)?;
    let identity = Identity::resolve(settings).map_err(Stop::Startup)?;
    let listeners = crate::server::bind::bind_all(settings, &identity)?;
    let metrics = crate::server::metrics_bind::bind(settings)?;
    forget_passed_sockets(py);
    announce(settings, &listeners, tls.is_some());
    let title = new_master::proc_name(settings.effective_proc_name(), new_master.is_some());
    crate::server::proc_title::set(py, "master", &title);
    hooks.call(py, "when_ready", (server.clone_ref(py),));
    rcorn_io::systemd::notify("READY=1\nSTATUS=rcorn arbiter booted");
    let mut host = PythonHost {
        hooks,
        server: &server,
        settings,
        pidfile: pidfile.take(),
        new_master,
        start_dir,
    };
    crate::dirty::process::prepare(py, settings)
        .map_err(|e| Stop::Startup(format!("dirty arbiter: {e}")))?;
    let mut master = io_config::master_config(settings);
    master.metrics = metrics;
    let outcome = py.detach(|| rcorn_io::run_master(listeners, master, &mut host));
    *pidfile = host.pidfile.take();
    let name = new_master::master_name(host.new_master.is_some());
    match outcome.map_err(Stop::MasterFailed)? {
        MasterOutcome::Exit(code) => {
            rcorn_io::info!("Shutting down: {name}");
            hooks.call(py, "on_exit", (server.clone_ref(py),));
            drop(pidfile.take());
            Ok(code)
        }
        MasterOutcome::Worker(start) => {
            // The pidfile is the master's; the worker must not remove it.
            std::mem::forget(pidfile.take());
            let worker = WorkerContext {
                settings,
                hooks,
                server: &server,
                identity: &identity,
                tls,
                preloaded: app.preloaded,
                access_format: app.access_format,
            };
            worker::run(py, start, worker, &app.spec)
        }
        MasterOutcome::DirtyArbiter => {
            std::mem::forget(pidfile.take());
            crate::server::proc_title::set(py, "dirty-arbiter", &title);
            Ok(crate::dirty::process::run(
                py,
                settings,
                hooks,
                server.as_any(),
            ))
        }
    }
}

/// The settings from the command line, `GUNICORN_CMD_ARGS`,
/// `RCORN_CMD_ARGS` and the config file, and the config file's Python
/// objects.
fn parse_command_line(py: Python<'_>, argv: &[String]) -> Result<(Settings, Hooks), Stop> {
    match cli::parse(
        py,
        argv,
        std::env::var("GUNICORN_CMD_ARGS").ok(),
        std::env::var("RCORN_CMD_ARGS").ok(),
    ) {
        CliOutcome::Run(settings, hooks) => Ok((settings, hooks)),
        CliOutcome::Exit(code) => Err(Stop::Cli(code)),
    }
}

fn daemonize(py: Python<'_>, settings: &Settings) -> Result<(), Stop> {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        eprintln!("Warning: you shouldn't specify `daemon = True` when launching by systemd with `Type = notify`");
    }
    crate::server::daemon::daemonize(
        py,
        settings.get("enable_stdio_inheritance") == Some(&Value::Bool(true)),
    )
    .map_err(Stop::Config)
}

/// The error and access logs, syslog and statsd; then the warnings about
/// settings rcorn accepts and ignores, which need the log.
fn open_logs(settings: &Settings) -> Result<(), Stop> {
    rcorn_io::log::init(&io_config::log_config(settings)).map_err(Stop::Config)?;
    if let Some(Value::Str(host)) = settings.get("statsd_host") {
        start_statsd(settings, host);
    }
    for (setting, why) in settings.unsupported_in_use() {
        rcorn_io::warning!("setting '{}' has no effect in rcorn: {why}", setting.name);
    }
    Ok(())
}

/// Connects the statsd client in the master, so the workers inherit it.
/// An unreachable server turns metrics off with a warning, as gunicorn
/// (which goes on silently) would serve anyway.
fn start_statsd(settings: &Settings, host: &str) {
    // The value was checked when the settings were read.
    let Ok(address) = StatsdAddress::parse(host) else {
        return;
    };
    let text = |name| match settings.get(name) {
        Some(Value::Str(s)) => s.as_str(),
        _ => "",
    };
    let format = StatsdFormat::new(text("statsd_prefix"), text("dogstatsd_tags"));
    if let Err(e) = rcorn_io::statsd::init(&address, format) {
        rcorn_io::warning!("statsd_host: cannot reach {host}: {e}; no metrics will be sent");
    }
}

fn set_raw_env(py: Python<'_>, settings: &Settings) -> PyResult<()> {
    let environ = PyModule::import(py, "os")?.getattr("environ")?;
    for (key, value) in settings.env() {
        environ.set_item(key, value)?;
    }
    Ok(())
}

/// After --chdir and --pythonpath, as gunicorn does: the configuration
/// may name handler classes of the application's own packages.
fn configure_python_logging(
    py: Python<'_>,
    settings: &Settings,
    config_objects: &Hooks,
    own_access: bool,
) -> Result<(), Stop> {
    crate::server::python_logging::configure(
        py,
        settings,
        crate::server::python_logging::LoggingInputs {
            dict: config_objects.logconfig_dict.as_ref(),
            own_access,
        },
    )
    .map_err(Stop::Config)
}

/// A worker class whose package is not installed stops the start-up with
/// one line, before any worker is forked (gunicorn's says so in a
/// traceback).
fn check_worker_runtime(py: Python<'_>, settings: &Settings) -> Result<(), Stop> {
    if settings.effective_worker_class() != "gevent" {
        return Ok(());
    }
    let found = py
        .import("importlib.util")
        .and_then(|util| util.call_method1("find_spec", ("gevent",)))
        .is_ok_and(|spec| !spec.is_none());
    if found {
        return Ok(());
    }
    Err(Stop::Config(format!(
        "worker class {} needs the gevent package, which is not installed (pip install gevent)",
        settings.worker_class()
    )))
}

fn warn_about_reload(settings: &Settings) {
    if settings.reload() && settings.preload_app() {
        rcorn_io::warning!(
            "--reload and --preload do not mix: the application is loaded by each worker"
        );
    }
    if settings.reload() && settings.reload_engine() == "inotify" {
        rcorn_io::warning!("reload_engine inotify: rcorn polls for changes once a second");
    }
}

/// The application loaded in the master: with `--preload` (unless
/// `--reload`, which each worker's own import needs), and as the check of
/// `--check-config`.
fn preload(py: Python<'_>, settings: &Settings, spec: &str) -> Result<Option<Py<PyAny>>, Stop> {
    let preload = settings.preload_app() && !settings.reload();
    if !preload && !settings.check_config() {
        return Ok(None);
    }
    match load_app(py, spec) {
        Ok(app) => Ok(Some(app)),
        Err(why) if settings.check_config() => Err(Stop::CheckFailed(Box::new(why))),
        Err(why) => Err(why),
    }
}

/// The access log's format, when access lines are wanted at all.
fn access_log_format(
    settings: &Settings,
    own_access: bool,
) -> Result<Option<AccessLogFormat>, Stop> {
    if !(own_access || rcorn_io::log::forwarded()) {
        return Ok(None);
    }
    AccessLogFormat::parse(settings.access_log_format())
        .map(Some)
        .map_err(|e| Stop::Config(format!("access_log_format: {e}")))
}

/// The hooks' `server` object, told the worker count as gunicorn's is.
fn server_object(
    py: Python<'_>,
    settings: &Settings,
    hooks: &HookSet,
    new_master: bool,
) -> Result<Py<ServerProxy>, Stop> {
    let server = ServerProxy::new(py, settings, new_master)
        .and_then(|s| Py::new(py, s))
        .map_err(|err| Stop::StartupRaised {
            context: "cannot create the hooks' server object",
            err,
        })?;
    // gunicorn sets its worker count (old value None) before on_starting.
    hooks.call(
        py,
        "nworkers_changed",
        (server.clone_ref(py), settings.workers(), py.None()),
    );
    Ok(server)
}

/// bind_all removed the variables that passed sockets from the process;
/// Python's os.environ is a copy taken at start-up and must forget them.
fn forget_passed_sockets(py: Python<'_>) {
    if let Ok(environ) = py.import("os").and_then(|os| os.getattr("environ")) {
        for var in [
            "LISTEN_PID",
            "LISTEN_FDS",
            "LISTEN_FDNAMES",
            "RCORN_FD",
            "GUNICORN_FD",
        ] {
            let _ = environ.call_method1("pop", (var, py.None()));
        }
    }
}

/// gunicorn's start-up lines: the version, each listener, the worker class.
fn announce(settings: &Settings, listeners: &[Listener], tls: bool) {
    rcorn_io::info!("Starting rcorn {}", env!("CARGO_PKG_VERSION"));
    for l in listeners {
        let shown = match (&l.address, l.local_addr()) {
            (BindAddress::Tcp(_) | BindAddress::Fd(_), Some(addr)) => {
                format!("{}://{addr}", if tls { "https" } else { "http" })
            }
            (other, _) => other.to_string(),
        };
        rcorn_io::info!("Listening at: {shown} ({})", std::process::id());
    }
    rcorn_io::info!("Using worker: {}", settings.effective_worker_class());
    if settings.effective_worker_class() == "asgi" && settings.worker_class() != "asgi" {
        rcorn_io::info!(
            "{} is served by rcorn's own asgi worker (uvicorn is not used)",
            settings.worker_class()
        );
    }
    if settings.effective_worker_class() == "gevent" && settings.worker_class() != "gevent" {
        rcorn_io::info!(
            "{} is served by rcorn's gevent worker (rcorn parses HTTP, not gevent.pywsgi)",
            settings.worker_class()
        );
    }
}
