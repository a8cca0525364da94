//! From command line to running server: settings, logging, application
//! loading, binding, the master loop, and — in each forked child — the
//! worker.

use std::time::Duration;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyModule;
use rcorn_core::arbiter::ArbiterSettings;
use rcorn_core::config::{Settings, Value};
use rcorn_core::http::forwarded::{SchemePolicy, TrustedPeers};
use rcorn_core::http::proxy_protocol::ProxyMode;
use rcorn_core::http::DecoderConfig;
use rcorn_core::statsd::{StatsdAddress, StatsdFormat};
use rcorn_core::worker::WorkerSettings;
use rcorn_io::listener::{self, BindAddress, BindOptions, Listener};
use rcorn_io::log::{Level, LogConfig};
use rcorn_io::master::MasterConfig;
use rcorn_io::worker_loop::{run_gthread_worker, run_sync_worker, ProxyPolicy, WorkerConfig};
use rcorn_io::{MasterOutcome, WorkerStart};

use crate::cli::{self, CliOutcome};
use crate::environ::EnvironConstants;
use crate::hooks::{HookSet, ServerProxy, WorkerProxy};
use crate::host::PythonHost;
use crate::new_master::{self, NewMaster};
use crate::pidfile::{self, Pidfile};
use crate::privileges::Identity;
use crate::wsgi::{log_exception, WsgiApp};

/// gunicorn's exit codes for a worker that could not start.
const WORKER_BOOT_ERROR: i32 = 3;
const APP_LOAD_ERROR: i32 = 4;
/// gunicorn tries to bind this many times, a second apart.
const BIND_ATTEMPTS: u32 = 5;

pub fn main(py: Python<'_>, argv: Vec<String>) -> i32 {
    // Where a USR2 upgrade execs the new master, before --chdir moves us.
    let start_dir = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let (settings, hooks) = match cli::parse(
        py,
        &argv,
        std::env::var("GUNICORN_CMD_ARGS").ok(),
        std::env::var("RCORN_CMD_ARGS").ok(),
    ) {
        CliOutcome::Run(settings, hooks) => (settings, hooks),
        CliOutcome::Exit(code) => return code,
    };
    if settings.print_config_requested() {
        print!("{}", settings.print_config());
        return 0;
    }
    if settings.daemon() && !settings.check_config() {
        if std::env::var_os("NOTIFY_SOCKET").is_some() {
            eprintln!("Warning: you shouldn't specify `daemon = True` when launching by systemd with `Type = notify`");
        }
        if let Err(e) = crate::daemon::daemonize(
            py,
            settings.get("enable_stdio_inheritance") == Some(&Value::Bool(true)),
        ) {
            eprintln!("Error: {e}");
            return 1;
        }
    }
    let level = Level::parse(settings.loglevel()).unwrap_or(Level::Info);
    if let Err(e) = rcorn_io::log::init(&LogConfig {
        level,
        errorlog: settings.errorlog(),
        accesslog: settings.accesslog(),
        capture_output: flag(&settings, "capture_output"),
        syslog: syslog_config(&settings),
    }) {
        eprintln!("Error: {e}");
        return 1;
    }
    if let Some(Value::Str(host)) = settings.get("statsd_host") {
        start_statsd(&settings, host);
    }
    for (setting, why) in settings.unsupported_in_use() {
        rcorn_io::warning!("setting '{}' has no effect in rcorn: {why}", setting.name);
    }

    // `-e KEY=VALUE`: set before the application is imported, in the
    // master, so every worker inherits it.
    if let Err(e) = set_raw_env(py, &settings) {
        rcorn_io::error!("raw_env: {e}");
        return 1;
    }
    let Some(app_spec) = settings.wsgi_app().map(str::to_owned) else {
        eprintln!("Error: No application module specified.\nUsage: rcorn [OPTIONS] MODULE:APP");
        return 2;
    };
    if let Err(e) = prepare_path(py, &settings) {
        rcorn_io::error!("{e}");
        return 1;
    }
    // Access lines are made when they go somewhere: a file, syslog, or a
    // logging configuration (whose `gunicorn.access` logger decides).
    let own_access = settings.accesslog().is_some()
        || (flag(&settings, "syslog") && !flag(&settings, "disable_redirect_access_to_syslog"));
    // After --chdir and --pythonpath, as gunicorn does: the configuration
    // may name handler classes of the application's own packages.
    if let Err(e) = crate::python_logging::configure(
        py,
        &settings,
        crate::python_logging::LoggingInputs {
            dict: hooks.logconfig_dict.as_ref(),
            own_access,
        },
    ) {
        eprintln!("Error: {e}");
        return 1;
    }
    if settings.reload() && settings.preload_app() {
        rcorn_io::warning!(
            "--reload and --preload do not mix: the application is loaded by each worker"
        );
    }
    if settings.reload() && settings.reload_engine() == "inotify" {
        rcorn_io::warning!("reload_engine inotify: rcorn polls for changes once a second");
    }
    let preload = settings.preload_app() && !settings.reload();
    let preloaded = if preload || settings.check_config() {
        match load_app(py, &app_spec) {
            Ok(app) => Some(app),
            Err(code) => return if settings.check_config() { 1 } else { code },
        }
    } else {
        None
    };
    if settings.check_config() {
        return 0;
    }
    let access_wanted = own_access || rcorn_io::log::forwarded();
    let access_format = match access_wanted
        .then(|| rcorn_core::access_log::AccessLogFormat::parse(settings.access_log_format()))
    {
        Some(Err(e)) => {
            eprintln!("Error: access_log_format: {e}");
            return 1;
        }
        Some(Ok(f)) => Some(f),
        None => None,
    };

    let hooks = HookSet::new(hooks.callables);
    let new_master = NewMaster::from_env();
    let server =
        match ServerProxy::new(py, &settings, new_master.is_some()).and_then(|s| Py::new(py, s)) {
            Ok(s) => s,
            Err(e) => {
                log_exception(py, &e, "cannot create the hooks' server object");
                return 1;
            }
        };
    // gunicorn sets its worker count (old value None) before on_starting.
    hooks.call(
        py,
        "nworkers_changed",
        (server.clone_ref(py), settings.workers(), py.None()),
    );
    // Where gunicorn's arbiter writes it: before on_starting and binding, so
    // a server already running on this pidfile stops the start-up first.
    let pidfile = settings
        .pidfile()
        .map(|p| Pidfile::create(pidfile::path_for(p, new_master.is_some())));
    let pidfile = match pidfile.transpose() {
        Ok(p) => p,
        Err(e) => {
            rcorn_io::error!("{e}");
            return 1;
        }
    };
    hooks.call(py, "on_starting", (server.clone_ref(py),));
    // Certificates are read once, by the master, before it binds: a bad
    // file stops the start-up with the setting and file named.
    let tls = match tls_config(&settings) {
        Ok(t) => t,
        Err(e) => {
            rcorn_io::error!("{e}");
            return 1;
        }
    };
    let identity = match Identity::resolve(&settings) {
        Ok(i) => i,
        Err(e) => {
            rcorn_io::error!("{e}");
            return 1;
        }
    };
    let listeners = match bind_all(&settings, &identity) {
        Ok(l) => l,
        Err(code) => return code,
    };
    // bind_all removed the variables that passed sockets from the process;
    // Python's os.environ is a copy taken at start-up and must forget them.
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
    rcorn_io::info!("Starting rcorn {}", env!("CARGO_PKG_VERSION"));
    for l in &listeners {
        let shown = match (&l.address, l.local_addr()) {
            (BindAddress::Tcp(_) | BindAddress::Fd(_), Some(addr)) => {
                format!("{}://{addr}", if tls.is_some() { "https" } else { "http" })
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

    let master = MasterConfig {
        arbiter: arbiter_settings(&settings),
        backlog_metric: flag(&settings, "enable_backlog_metric"),
    };
    let title = new_master::proc_name(settings.effective_proc_name(), new_master.is_some());
    crate::proc_title::set(py, "master", &title);
    hooks.call(py, "when_ready", (server.clone_ref(py),));
    rcorn_io::systemd::notify("READY=1\nSTATUS=rcorn arbiter booted");
    let mut host = PythonHost {
        hooks: &hooks,
        server: &server,
        settings: &settings,
        pidfile,
        new_master,
        start_dir,
    };
    let outcome = py.detach(|| rcorn_io::run_master(listeners, master, &mut host));
    let pidfile = host.pidfile.take();
    let name = new_master::master_name(host.new_master.is_some());
    match outcome {
        Ok(MasterOutcome::Exit(code)) => {
            rcorn_io::info!("Shutting down: {name}");
            hooks.call(py, "on_exit", (server.clone_ref(py),));
            drop(pidfile);
            code
        }
        Ok(MasterOutcome::Worker(start)) => {
            // The pidfile is the master's; the worker must not remove it.
            std::mem::forget(pidfile);
            let worker = WorkerContext {
                settings: &settings,
                hooks: &hooks,
                server: &server,
                identity: &identity,
                tls,
            };
            run_worker(py, start, worker, &app_spec, preloaded, access_format)
        }
        Err(e) => {
            rcorn_io::critical!("master failed: {e}");
            1
        }
    }
}

/// `--certfile` turns TLS on for every listener.
fn tls_config(settings: &Settings) -> Result<Option<rcorn_io::tls::TlsConfig>, String> {
    let text = |name| match settings.get(name) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let Some(certfile) = text("certfile") else {
        if text("keyfile").is_some() {
            return Err("keyfile: set, but TLS needs --certfile too".into());
        }
        return Ok(None);
    };
    let cert_reqs = match settings.get("cert_reqs") {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    rcorn_io::tls::server_config(&rcorn_io::tls::TlsSettings {
        certfile,
        keyfile: text("keyfile"),
        ca_certs: text("ca_certs"),
        cert_reqs,
        ciphers: text("ciphers"),
    })
    .map(Some)
}

/// `--log-syslog`: where to, which facility, and the name in the tag. The
/// address and facility were checked when the settings were read.
fn syslog_config(settings: &Settings) -> Option<rcorn_io::log::SyslogConfig> {
    if !flag(settings, "syslog") {
        return None;
    }
    let text = |name| match settings.get(name) {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    let address = rcorn_core::syslog::SyslogAddress::parse(text("syslog_addr")?).ok()?;
    let facility = rcorn_core::syslog::facility(text("syslog_facility").unwrap_or("user"))?;
    Some(rcorn_io::log::SyslogConfig {
        address,
        facility,
        prefix: text("syslog_prefix")
            .unwrap_or(settings.effective_proc_name())
            .to_owned(),
        access: !flag(settings, "disable_redirect_access_to_syslog"),
    })
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

fn prepare_path(py: Python<'_>, settings: &Settings) -> PyResult<()> {
    let loading = PyModule::import(py, "rcorn._loading")?;
    loading.call_method1("prepare_path", (settings.chdir(), settings.pythonpath()))?;
    Ok(())
}

/// Imports the application. On failure prints a one-line reason (and the
/// traceback when the application's own code raised) and returns the exit
/// code gunicorn uses.
fn load_app(py: Python<'_>, spec: &str) -> Result<Py<PyAny>, i32> {
    let loaded =
        PyModule::import(py, "rcorn._loading").and_then(|m| m.call_method1("import_app", (spec,)));
    match loaded {
        Ok(app) => Ok(app.unbind()),
        Err(e) => {
            let is_naming_error = PyModule::import(py, "rcorn._loading")
                .and_then(|m| m.getattr("AppImportError"))
                .map(|cls| e.get_type(py).is_subclass(&cls).unwrap_or(false))
                .unwrap_or(false);
            if is_naming_error {
                rcorn_io::error!("Failed to load application '{spec}': {}", e.value(py));
                Err(APP_LOAD_ERROR)
            } else {
                log_exception(
                    py,
                    &e,
                    &format!("Failed to load application '{spec}': {}", one_line(py, &e)),
                );
                Err(WORKER_BOOT_ERROR)
            }
        }
    }
}

fn one_line(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    format!("{name}: {}", e.value(py))
}

fn bind_all(settings: &Settings, identity: &Identity) -> Result<Vec<Listener>, i32> {
    let opts = BindOptions {
        backlog: settings.backlog() as i32,
        reuse_port: settings.reuse_port(),
    };
    // Sockets handed over by an upgrading master (USR2) or by systemd's
    // socket activation replace the bind setting.
    let (inherited, from) = match rcorn_io::reexec::inherited_fds() {
        fds if !fds.is_empty() => (fds, "the upgrading master"),
        _ => (rcorn_io::systemd::listen_fds(), "systemd"),
    };
    if !inherited.is_empty() {
        let mut listeners = Vec::new();
        for fd in inherited {
            match listener::open(&BindAddress::Fd(fd), &opts) {
                Ok(l) => listeners.push(l),
                Err(errno) => {
                    rcorn_io::error!(
                        "socket fd://{fd} from {from} is not usable: {}",
                        errno.desc()
                    );
                    return Err(1);
                }
            }
        }
        return Ok(listeners);
    }
    let mut listeners = Vec::new();
    for text in settings.bind() {
        let address = match BindAddress::parse(text) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("Error: bind: {e}");
                return Err(1);
            }
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match open_listener(&address, &opts, settings, identity) {
                Ok(l) => {
                    listeners.push(l);
                    break;
                }
                Err(errno) => {
                    if errno == nix::errno::Errno::EADDRINUSE {
                        rcorn_io::error!("Connection in use: {text}");
                    } else {
                        rcorn_io::error!("Invalid address or cannot bind {text}: {}", errno.desc());
                    }
                    if errno != nix::errno::Errno::EADDRINUSE || attempt >= BIND_ATTEMPTS {
                        rcorn_io::error!("Can't connect to {text}");
                        return Err(1);
                    }
                    rcorn_io::error!("Retrying in 1 second.");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }
    Ok(listeners)
}

fn arbiter_settings(settings: &Settings) -> ArbiterSettings {
    ArbiterSettings {
        workers: settings.workers(),
        timeout: settings.timeout(),
        graceful_timeout: settings.graceful_timeout(),
        daemon: settings.daemon(),
        ..ArbiterSettings::default()
    }
}

/// What a freshly forked worker takes from the master's start-up.
/// Opens one listener; a unix socket is created under `--umask` and given
/// to the workers' user and group, as gunicorn does.
fn open_listener(
    address: &BindAddress,
    opts: &BindOptions,
    settings: &Settings,
    identity: &Identity,
) -> nix::Result<Listener> {
    let BindAddress::Unix(path) = address else {
        return listener::open(address, opts);
    };
    let mask = nix::sys::stat::Mode::from_bits_truncate(settings.umask());
    let previous = nix::sys::stat::umask(mask);
    let opened = listener::open(address, opts);
    nix::sys::stat::umask(previous);
    let listener = opened?;
    if identity.uid() != nix::unistd::Uid::effective()
        || identity.gid() != nix::unistd::Gid::effective()
    {
        nix::unistd::chown(path.as_path(), Some(identity.uid()), Some(identity.gid()))?;
    }
    Ok(listener)
}

struct WorkerContext<'a> {
    settings: &'a Settings,
    hooks: &'a HookSet,
    server: &'a Py<ServerProxy>,
    identity: &'a Identity,
    tls: Option<rcorn_io::tls::TlsConfig>,
}

fn run_worker(
    py: Python<'_>,
    start: WorkerStart,
    ctx: WorkerContext<'_>,
    spec: &str,
    preloaded: Option<Py<PyAny>>,
    access_format: Option<rcorn_core::access_log::AccessLogFormat>,
) -> i32 {
    let settings = ctx.settings;
    rcorn_io::info!("Booting worker with pid: {}", std::process::id());
    // Forked before its master's promotion, a worker is still `NAME.2`.
    let title = new_master::proc_name(
        settings.effective_proc_name(),
        NewMaster::from_env().is_some(),
    );
    crate::proc_title::set(py, "worker", &title);
    if let Err(e) = ctx.identity.assume() {
        rcorn_io::error!("{e}");
        return WORKER_BOOT_ERROR;
    }
    let worker = match WorkerProxy::new(py, settings, start.id, start.master_pid as u32)
        .and_then(|w| Py::new(py, w))
    {
        Ok(w) => w,
        Err(e) => {
            log_exception(py, &e, "Exception in worker process");
            return WORKER_BOOT_ERROR;
        }
    };
    ctx.hooks.call(
        py,
        "post_fork",
        (ctx.server.clone_ref(py), worker.clone_ref(py)),
    );
    let app = match preloaded {
        Some(app) => app,
        None => match load_app(py, spec) {
            Ok(app) => app,
            Err(code) => return code,
        },
    };
    let scheme_policy = match scheme_policy(settings) {
        Ok(p) => p,
        Err(e) => {
            rcorn_io::error!("forwarded_allow_ips: {e}");
            return WORKER_BOOT_ERROR;
        }
    };
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
    let sendfile = sendfile_enabled(settings) && ctx.tls.is_none();
    let asgi_app = (settings.effective_worker_class() == "asgi").then(|| app.clone_ref(py));
    let mut wsgi = match WsgiApp::new(py, app, constants, sendfile) {
        Ok(w) => w,
        Err(e) => {
            log_exception(py, &e, "Exception in worker process");
            return WORKER_BOOT_ERROR;
        }
    };
    wsgi.set_log_environ(
        access_format
            .as_ref()
            .map(|f| f.environ_names().map(str::to_owned).collect())
            .unwrap_or_default(),
    );
    let proxy = match proxy_policy(settings) {
        Ok(p) => p,
        Err(e) => {
            rcorn_io::error!("{e}");
            return WORKER_BOOT_ERROR;
        }
    };
    let timeout = settings.timeout();
    let cfg = WorkerConfig {
        lifecycle: WorkerSettings {
            max_requests: settings.max_requests(),
            max_requests_jitter: settings.max_requests_jitter(),
            jitter_seed: jitter_seed(),
            graceful_timeout: settings.graceful_timeout(),
            timeout,
            keepalive: settings.keepalive(),
            worker_connections: settings.worker_connections() as usize,
        },
        decoder: DecoderConfig {
            limit_request_line: settings.limit_request_line() as usize,
            limit_request_fields: settings.limit_request_fields() as usize,
            limit_request_field_size: settings.limit_request_field_size() as usize,
            permit_obsolete_folding: flag(settings, "permit_obsolete_folding"),
            permit_unconventional_http_method: flag(settings, "permit_unconventional_http_method"),
            strip_header_spaces: flag(settings, "strip_header_spaces"),
            refuse_underscore_headers: settings.get("header_map")
                == Some(&Value::Str("refuse".into())),
            forwarder_headers: match settings.get("forwarder_headers") {
                Some(Value::List(names)) => names.iter().map(|n| Box::from(n.as_str())).collect(),
                _ => Default::default(),
            },
        },
        server_header: b"rcorn".to_vec(),
        io_timeout: if timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            timeout
        },
        keepalive: settings.keepalive(),
        head_timeout: if timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            timeout
        },
        access_log: access_format.map(rcorn_io::access::AccessLogger::new),
        scheme_policy,
        proxy,
        tls: ctx.tls.clone(),
    };
    if let Ok(mut w) = worker.bind(py).try_borrow_mut() {
        w.booted = true;
    }
    wsgi.set_reloader(
        settings
            .reload()
            .then(|| crate::reloader::Reloader::new(py, settings.reload_extra_files().to_vec())),
    );
    match crate::request_hooks::RequestHooks::new(py, ctx.hooks, &worker) {
        Ok(hooks) => wsgi.set_request_hooks(hooks),
        Err(e) => {
            log_exception(py, &e, "Invalid post_request hook");
            return WORKER_BOOT_ERROR;
        }
    }
    if let Err(e) = crate::worker_signals::install(py, ctx.hooks, &worker) {
        log_exception(
            py,
            &e,
            "cannot install the worker's INT, QUIT and ABRT handlers",
        );
    }
    ctx.hooks
        .call(py, "post_worker_init", (worker.clone_ref(py),));
    rcorn_io::blocking::set_wait_wrapper(crate::wsgi::release_gil_while);
    let outcome = if let Some(app) = asgi_app {
        crate::asgi::run_worker(py, start, cfg, app, settings)
    } else if threaded(settings) {
        let handlers: Vec<WsgiApp> = (0..settings.threads().max(1))
            .map(|_| wsgi.for_thread(py))
            .collect();
        py.detach(|| run_gthread_worker(start, cfg, &mut wsgi, handlers))
    } else {
        py.detach(|| run_sync_worker(start, cfg, &mut wsgi))
    };
    if let Ok(mut w) = worker.bind(py).try_borrow_mut() {
        w.alive = false;
    }
    ctx.hooks.call(
        py,
        "worker_exit",
        (ctx.server.clone_ref(py), worker.clone_ref(py)),
    );
    match outcome {
        Ok(code) => {
            rcorn_io::info!("Worker exiting (pid: {})", std::process::id());
            code
        }
        Err(e) => {
            log_exception(
                py,
                &PyException::new_err(e.to_string()),
                "Exception in worker process",
            );
            1
        }
    }
}

/// Whose `X-Forwarded-Proto` (and the other `secure_scheme_headers`) is
/// believed: `forwarded_allow_ips`, which `FORWARDED_ALLOW_IPS` in the
/// environment sets by default, as in gunicorn.
fn scheme_policy(settings: &Settings) -> Result<SchemePolicy, String> {
    Ok(SchemePolicy {
        trusted: TrustedPeers::parse(settings.forwarded_allow_ips())?,
        secure_headers: settings.secure_scheme_headers(),
    })
}

/// Who may start a connection with a PROXY protocol preamble, and which.
fn proxy_policy(settings: &Settings) -> Result<ProxyPolicy, String> {
    let mode = ProxyMode::from_setting(settings.proxy_protocol()).ok_or_else(|| {
        format!(
            "proxy_protocol: unknown mode {:?}",
            settings.proxy_protocol()
        )
    })?;
    let allowed = TrustedPeers::parse(settings.proxy_allow_ips())
        .map_err(|e| format!("proxy_allow_ips: {e}"))?;
    Ok(ProxyPolicy { mode, allowed })
}

/// `--no-sendfile` turns sendfile off; unset, `SENDFILE=0` (or false, no,
/// off) in the environment does, as in gunicorn.
fn sendfile_enabled(settings: &Settings) -> bool {
    settings.sendfile().unwrap_or_else(|| {
        let env = std::env::var("SENDFILE").unwrap_or_default();
        !matches!(
            env.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    })
}

/// Whether workers run the application on a thread pool (`gthread`).
fn threaded(settings: &Settings) -> bool {
    settings.effective_worker_class() == "gthread"
}

fn flag(settings: &Settings, name: &str) -> bool {
    settings.get(name) == Some(&Value::Bool(true))
}

/// The jitter of max_requests is the only randomness a worker needs; its
/// pid and the clock make a seed that differs between workers.
fn jitter_seed() -> u64 {
    let pid = std::process::id() as u64;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    pid.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos
}
