//! The table of every gunicorn setting, in gunicorn's own order (the order of
//! `gunicorn.config.KNOWN_SETTINGS` in gunicorn 26), so that `--help` and the
//! docs page list them as gunicorn does.
//!
//! Names, sections, flag spellings (including gunicorn's odd
//! `--limit-request-field_size`), metavars and defaults follow gunicorn; the
//! help lines are rcorn's own. rcorn's own settings, which gunicorn does not
//! have, follow gunicorn's at the end.

use super::syntax::{
    check_addr_list, check_asgi_lifespan, check_asgi_loop, check_bind_list, check_bool_word,
    check_cert_reqs, check_ciphers, check_env_list, check_frame_size, check_header_map,
    check_http2_cleartext, check_http_parser, check_http_protocols, check_log_format,
    check_loglevel, check_metrics_bind, check_protocol, check_proxy_protocol, check_reload_engine,
    check_statsd_host, check_syslog_addr, check_syslog_facility, check_worker_class,
};
use super::{DefaultValue as D, IntSyntax, Kind, Setting};

const SOCKET: &str = "Server Socket";
const WORKERS: &str = "Worker Processes";
const SECURITY: &str = "Security";
const DEBUG: &str = "Debugging";
const MECH: &str = "Server Mechanics";
const LOG: &str = "Logging";
const NAMING: &str = "Process Naming";
const HOOKS: &str = "Server Hooks";
const SSL: &str = "SSL";
const H2: &str = "HTTP/2";
const DIRTY: &str = "Dirty Arbiters";
const DIRTY_HOOKS: &str = "Dirty Arbiter Hooks";
const CONTROL: &str = "Control";
const METRICS: &str = "Metrics";
const WEBSOCKET: &str = "WebSockets (asgi worker)";
/// Settings gunicorn does not have.
const RCORN: &str = "rcorn Extensions";

const NO_PASTE: &str = "PasteDeploy apps are not supported by rcorn";
const STRICT_PARSER: &str =
    "rcorn's HTTP parser enforces RFC 9112 strictly and offers no such relaxation";

const fn s(
    name: &'static str,
    section: &'static str,
    flags: &'static [&'static str],
    kind: Kind,
    meta: &'static str,
    default: D,
    help: &'static str,
) -> Setting {
    Setting::new(name, section, flags, kind, meta, default, help)
}

/// Server hooks: settable only from the config file, and every one of them
/// defaults to a do-nothing function whose gunicorn qualname is kept so that
/// `--print-config` shows what gunicorn shows.
const fn hook(name: &'static str, qualname: &'static str, help: &'static str) -> Setting {
    s(
        name,
        HOOKS,
        &[],
        Kind::Callable,
        "",
        D::Callable(qualname),
        help,
    )
    .implemented()
}

const fn dirty_hook(name: &'static str, qualname: &'static str, help: &'static str) -> Setting {
    s(
        name,
        DIRTY_HOOKS,
        &[],
        Kind::Callable,
        "",
        D::Callable(qualname),
        help,
    )
    .implemented()
}

pub static SETTINGS: &[Setting] = &[
    // ---- Config File
    s(
        "config",
        "Config File",
        &["-c", "--config"],
        Kind::Str,
        "CONFIG",
        D::Str("./gunicorn.conf.py"),
        "Python config file to load: PATH, file:PATH or python:MODULE_NAME.",
    )
    .implemented(),
    s(
        "wsgi_app",
        "Config File",
        &[],
        Kind::OptStr,
        "STRING",
        D::None,
        "The WSGI application to serve, as MODULE:VARIABLE (config file only).",
    )
    .implemented(),
    // ---- Server Socket
    s(
        "bind",
        SOCKET,
        &["-b", "--bind"],
        Kind::List,
        "ADDRESS",
        D::List(&["127.0.0.1:8000"]),
        "Address to listen on: HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD; repeatable.",
    )
    .implemented()
    .checked(check_bind_list),
    s(
        "backlog",
        SOCKET,
        &["--backlog"],
        Kind::Int,
        "INT",
        D::Int(2048),
        "Length of the queue of connections waiting to be accepted.",
    )
    .implemented(),
    // ---- Worker Processes
    s(
        "workers",
        WORKERS,
        &["-w", "--workers"],
        Kind::Int,
        "INT",
        D::Int(1),
        "Number of worker processes (default: $WEB_CONCURRENCY, else 1).",
    )
    .implemented(),
    s(
        "worker_class",
        WORKERS,
        &["-k", "--worker-class"],
        Kind::Str,
        "STRING",
        D::Str("sync"),
        "Worker type: sync, gthread for a thread pool in each worker, gevent for greenlets, or asgi.",
    )
    .implemented()
    .checked(check_worker_class),
    s(
        "threads",
        WORKERS,
        &["--threads"],
        Kind::Int,
        "INT",
        D::Int(1),
        "Threads per worker; more than 1 with the sync worker selects gthread.",
    )
    .implemented(),
    s(
        "worker_connections",
        WORKERS,
        &["--worker-connections"],
        Kind::Int,
        "INT",
        D::Int(1000),
        "Most simultaneous clients one worker holds (gthread, gevent and asgi workers).",
    )
    .implemented(),
    s(
        "max_requests",
        WORKERS,
        &["--max-requests"],
        Kind::Int,
        "INT",
        D::Int(0),
        "Restart a worker after it has served this many requests; 0 never restarts.",
    )
    .implemented(),
    s(
        "max_requests_jitter",
        WORKERS,
        &["--max-requests-jitter"],
        Kind::Int,
        "INT",
        D::Int(0),
        "Add a random 0..=N to max_requests per worker so restarts do not coincide.",
    )
    .implemented(),
    s(
        "timeout",
        WORKERS,
        &["-t", "--timeout"],
        Kind::Int,
        "INT",
        D::Int(30),
        "Kill and replace a worker silent for this many seconds; 0 disables. Also how long a client may take to send a request head, and the socket timeout while a request is served (30 when 0).",
    )
    .implemented(),
    s(
        "graceful_timeout",
        WORKERS,
        &["--graceful-timeout"],
        Kind::Int,
        "INT",
        D::Int(30),
        "Seconds workers get to finish their requests after a restart or stop signal.",
    )
    .implemented(),
    s(
        "keepalive",
        WORKERS,
        &["--keep-alive"],
        Kind::Int,
        "INT",
        D::Int(2),
        "Seconds an idle keep-alive connection waits for its next request.",
    )
    .implemented(),
    // ---- Security
    s(
        "limit_request_line",
        SECURITY,
        &["--limit-request-line"],
        Kind::Int,
        "INT",
        D::Int(4094),
        "Longest request line accepted, in bytes: at most 8190; 0 = up to 1 MiB.",
    )
    .implemented(),
    s(
        "limit_request_fields",
        SECURITY,
        &["--limit-request-fields"],
        Kind::Int,
        "INT",
        D::Int(100),
        "Most header fields accepted in one request: at most 32768; 0 = 32768.",
    )
    .implemented(),
    s(
        "limit_request_field_size",
        SECURITY,
        &["--limit-request-field_size"],
        Kind::Int,
        "INT",
        D::Int(8190),
        "Longest header field line accepted, in bytes, CRLF included; 0 = 8190.",
    )
    .implemented(),
    // ---- Debugging
    s(
        "reload",
        DEBUG,
        &["--reload"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Restart workers when the application's source files change.",
    )
    .implemented(),
    s(
        "reload_engine",
        DEBUG,
        &["--reload-engine"],
        Kind::Str,
        "STRING",
        D::Str("auto"),
        "How to watch files for --reload: auto, poll or inotify.",
    )
    .checked(check_reload_engine)
    .implemented(),
    s(
        "reload_extra_files",
        DEBUG,
        &["--reload-extra-file"],
        Kind::List,
        "FILES",
        D::List(&[]),
        "More files (or glob patterns) whose change triggers a reload; repeatable.",
    )
    .implemented(),
    s(
        "spew",
        DEBUG,
        &["--spew"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Trace every Python line the server executes.",
    ),
    s(
        "check_config",
        DEBUG,
        &["--check-config"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Check the configuration and the app import, then exit (0 if good, 1 if not).",
    )
    .implemented(),
    s(
        "print_config",
        DEBUG,
        &["--print-config"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Print every setting as resolved, then exit like --check-config.",
    )
    .implemented(),
    // ---- Server Mechanics
    s(
        "preload_app",
        MECH,
        &["--preload"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Import the application in the master, before forking workers.",
    )
    .implemented(),
    s(
        "sendfile",
        MECH,
        &["--no-sendfile"],
        Kind::Bool,
        "",
        D::None,
        "Never use sendfile() for file responses (default: $SENDFILE, else enabled).",
    )
    .flag_value("false")
    .implemented(),
    s(
        "reuse_port",
        MECH,
        &["--reuse-port"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Set SO_REUSEPORT on the listening sockets.",
    )
    .implemented(),
    s(
        "chdir",
        MECH,
        &["--chdir"],
        Kind::Str,
        "CHDIR",
        D::Str("."),
        "Directory to change into before loading the application.",
    )
    .implemented()
    .doc_default("'.'"),
    s(
        "daemon",
        MECH,
        &["-D", "--daemon"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Detach from the terminal and run in the background.",
    )
    .implemented(),
    s(
        "raw_env",
        MECH,
        &["-e", "--env"],
        Kind::List,
        "ENV",
        D::List(&[]),
        "Set an environment variable for the server, as KEY=VALUE; repeatable.",
    )
    .implemented()
    .checked(check_env_list),
    s(
        "pidfile",
        MECH,
        &["-p", "--pid"],
        Kind::OptStr,
        "FILE",
        D::None,
        "Write the master's process id to this file.",
    )
    .implemented(),
    s(
        "worker_tmp_dir",
        MECH,
        &["--worker-tmp-dir"],
        Kind::OptStr,
        "DIR",
        D::None,
        "Directory for gunicorn's heartbeat files.",
    )
    .no_effect("rcorn's heartbeats live in shared memory, not in files"),
    s(
        "user",
        MECH,
        &["-u", "--user"],
        Kind::Scalar,
        "USER",
        D::None,
        "Run workers as this user (name or numeric id).",
    )
    .doc_default("os.geteuid()")
    .implemented(),
    s(
        "group",
        MECH,
        &["-g", "--group"],
        Kind::Scalar,
        "GROUP",
        D::None,
        "Run workers as this group (name or numeric id).",
    )
    .doc_default("os.getegid()")
    .implemented(),
    s(
        "umask",
        MECH,
        &["-m", "--umask"],
        Kind::Int,
        "INT",
        D::Int(0),
        "File mode mask for files rcorn creates, unix sockets included (e.g. 0o22).",
    )
    .int_syntax(IntSyntax::AutoOctal)
    .implemented(),
    s(
        "initgroups",
        MECH,
        &["--initgroups"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Give workers every supplementary group of --user as well.",
    )
    .implemented(),
    s(
        "tmp_upload_dir",
        MECH,
        &[],
        Kind::OptStr,
        "DIR",
        D::None,
        "Directory for temporary request data (config file only).",
    )
    .no_effect("request bodies are streamed, never spooled to a directory"),
    s(
        "secure_scheme_headers",
        MECH,
        &[],
        Kind::Dict,
        "",
        D::Dict(&[
            ("X-FORWARDED-PROTOCOL", "ssl"),
            ("X-FORWARDED-PROTO", "https"),
            ("X-FORWARDED-SSL", "on"),
        ]),
        "Headers and values by which a trusted proxy marks a request as HTTPS.",
    )
    .implemented(),
    s(
        "forwarded_allow_ips",
        MECH,
        &["--forwarded-allow-ips"],
        Kind::CommaList,
        "STRING",
        D::List(&["127.0.0.1", "::1"]),
        "Proxies (IPs or CIDR networks, comma-separated, * for any) trusted for forwarded headers.",
    )
    .checked(check_addr_list)
    .implemented(),
    // ---- Logging
    s(
        "accesslog",
        LOG,
        &["--access-logfile"],
        Kind::OptStr,
        "FILE",
        D::None,
        "Write the access log to this file ('-' for stdout); off when unset.",
    )
    .implemented(),
    s(
        "disable_redirect_access_to_syslog",
        LOG,
        &["--disable-redirect-access-to-syslog"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Keep access lines out of syslog when --log-syslog is on.",
    )
    .implemented(),
    s(
        "access_log_format",
        LOG,
        &["--access-logformat"],
        Kind::Str,
        "STRING",
        D::Str(r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#),
        "Format of access log lines, with gunicorn's %(atom)s placeholders.",
    )
    .implemented(),
    s(
        "errorlog",
        LOG,
        &["--error-logfile", "--log-file"],
        Kind::Str,
        "FILE",
        D::Str("-"),
        "Write the error log to this file ('-' for stderr).",
    )
    .implemented(),
    s(
        "loglevel",
        LOG,
        &["--log-level"],
        Kind::Str,
        "LEVEL",
        D::Str("info"),
        "Least severe error-log level written: debug, info, warning, error or critical.",
    )
    .implemented()
    .checked(check_loglevel),
    s(
        "capture_output",
        LOG,
        &["--capture-output"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Send the application's stdout and stderr to the error log file.",
    )
    .implemented(),
    s(
        "logger_class",
        LOG,
        &["--logger-class"],
        Kind::Str,
        "STRING",
        D::Str("gunicorn.glogging.Logger"),
        "Python logger class to log through.",
    )
    .no_effect("rcorn logs through its own logger and loads no Python logger class"),
    s(
        "logconfig",
        LOG,
        &["--log-config"],
        Kind::OptStr,
        "FILE",
        D::None,
        "Configure logging from a logging.config.fileConfig file: error and access lines go through the gunicorn.error and gunicorn.access loggers.",
    )
    .implemented(),
    s(
        "logconfig_dict",
        LOG,
        &[],
        Kind::Dict,
        "",
        D::Dict(&[]),
        "Configure logging from a logging.config.dictConfig dictionary merged onto gunicorn's defaults (config file only; before logconfig_json and logconfig).",
    )
    .implemented(),
    s(
        "logconfig_json",
        LOG,
        &["--log-config-json"],
        Kind::OptStr,
        "FILE",
        D::None,
        "Configure logging from a JSON file in dictConfig form, merged onto gunicorn's defaults (before logconfig).",
    )
    .implemented(),
    s(
        "syslog_addr",
        LOG,
        &["--log-syslog-to"],
        Kind::Str,
        "SYSLOG_ADDR",
        D::Str("udp://localhost:514"),
        "Syslog address: unix://PATH#TYPE, udp://HOST:PORT or tcp://HOST:PORT.",
    )
    .implemented()
    .checked(check_syslog_addr),
    s(
        "syslog",
        LOG,
        &["--log-syslog"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Send the logs to syslog as well.",
    )
    .implemented(),
    s(
        "syslog_prefix",
        LOG,
        &["--log-syslog-prefix"],
        Kind::OptStr,
        "SYSLOG_PREFIX",
        D::None,
        "Program name to use in syslog entries.",
    )
    .implemented(),
    s(
        "syslog_facility",
        LOG,
        &["--log-syslog-facility"],
        Kind::Str,
        "SYSLOG_FACILITY",
        D::Str("user"),
        "Syslog facility name.",
    )
    .implemented()
    .checked(check_syslog_facility),
    s(
        "enable_stdio_inheritance",
        LOG,
        &["-R", "--enable-stdio-inheritance"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Keep stdio file descriptors open in daemon mode.",
    )
    .implemented(),
    s(
        "statsd_host",
        LOG,
        &["--statsd-host"],
        Kind::OptStr,
        "STATSD_ADDR",
        D::None,
        "StatsD server to send metrics to: HOST:PORT or unix://PATH.",
    )
    .implemented()
    .checked(check_statsd_host),
    s(
        "dogstatsd_tags",
        LOG,
        &["--dogstatsd-tags"],
        Kind::Str,
        "DOGSTATSD_TAGS",
        D::Str(""),
        "Comma-separated dogstatsd tags added to every metric.",
    )
    .implemented(),
    s(
        "statsd_prefix",
        LOG,
        &["--statsd-prefix"],
        Kind::Str,
        "STATSD_PREFIX",
        D::Str(""),
        "Prefix for statsd metric names.",
    )
    .implemented(),
    s(
        "enable_backlog_metric",
        LOG,
        &["--enable-backlog-metric"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Report the listen backlog length as a statsd metric (Linux).",
    )
    .implemented(),
    // ---- Process Naming
    s(
        "proc_name",
        NAMING,
        &["-n", "--name"],
        Kind::OptStr,
        "STRING",
        D::None,
        "Name shown in process titles (ps, top); default: the application's name.",
    )
    .implemented(),
    s(
        "default_proc_name",
        NAMING,
        &[],
        Kind::Str,
        "",
        D::Str("gunicorn"),
        "Process title used when proc_name is unset; set from the app path.",
    )
    .implemented(),
    // ---- Server Mechanics (continued)
    s(
        "pythonpath",
        MECH,
        &["--pythonpath"],
        Kind::OptStr,
        "STRING",
        D::None,
        "Comma-separated directories to prepend to the Python path.",
    )
    .implemented(),
    s(
        "paste",
        MECH,
        &["--paste", "--paster"],
        Kind::OptStr,
        "STRING",
        D::None,
        "Load the application from a PasteDeploy config file.",
    )
    .no_effect(NO_PASTE),
    // ---- Server Hooks
    hook(
        "on_starting",
        "OnStarting.on_starting",
        "on_starting(server): called before the master initialises.",
    ),
    hook(
        "on_reload",
        "OnReload.on_reload",
        "on_reload(server): called when SIGHUP recycles the workers.",
    ),
    hook(
        "when_ready",
        "WhenReady.when_ready",
        "when_ready(server): called once the server is listening.",
    ),
    hook(
        "pre_fork",
        "Prefork.pre_fork",
        "pre_fork(server, worker): called in the master before a worker is forked.",
    ),
    hook(
        "post_fork",
        "Postfork.post_fork",
        "post_fork(server, worker): called in a new worker right after the fork.",
    ),
    hook(
        "post_worker_init",
        "PostWorkerInit.post_worker_init",
        "post_worker_init(worker): called once a worker has loaded the application.",
    ),
    hook(
        "worker_int",
        "WorkerInt.worker_int",
        "worker_int(worker): called when a worker exits on SIGINT or SIGQUIT.",
    ),
    hook(
        "worker_abort",
        "WorkerAbort.worker_abort",
        "worker_abort(worker): called when a worker gets SIGABRT, usually on timeout.",
    ),
    hook(
        "pre_exec",
        "PreExec.pre_exec",
        "pre_exec(server): called before a new master is exec'd (USR2 upgrade).",
    ),
    hook(
        "pre_request",
        "PreRequest.pre_request",
        "pre_request(worker, req): called before a worker handles a request.",
    ),
    hook(
        "post_request",
        "PostRequest.post_request",
        "post_request(worker, req, environ, resp): called after a request; 2 to 4 arguments.",
    ),
    hook(
        "child_exit",
        "ChildExit.child_exit",
        "child_exit(server, worker): called in the master after a worker has exited.",
    ),
    hook(
        "worker_exit",
        "WorkerExit.worker_exit",
        "worker_exit(server, worker): called in a worker as it exits.",
    ),
    hook(
        "nworkers_changed",
        "NumWorkersChanged.nworkers_changed",
        "nworkers_changed(server, new, old): called when the worker count changes.",
    ),
    hook(
        "on_exit",
        "OnExit.on_exit",
        "on_exit(server): called just before the master exits.",
    ),
    s(
        "ssl_context",
        HOOKS,
        &[],
        Kind::Callable,
        "",
        D::Callable("NewSSLContext.ssl_context"),
        "ssl_context(config, default_factory): build the server's SSLContext.",
    )
    .no_effect("rcorn's TLS is rustls, not Python's ssl module: configure it with the settings"),
    // ---- Server Mechanics (continued)
    s(
        "proxy_protocol",
        MECH,
        &["--proxy-protocol"],
        Kind::Mode,
        "MODE",
        D::Str("off"),
        "Expect a PROXY protocol header: off, v1, v2 or auto (auto when given alone).",
    )
    .checked(check_proxy_protocol)
    .flag_value("auto")
    .implemented(),
    s(
        "proxy_allow_ips",
        MECH,
        &["--proxy-allow-from"],
        Kind::CommaList,
        "PROXY_ALLOW_IPS",
        D::List(&["127.0.0.1", "::1"]),
        "Peers (IPs or CIDR networks, comma-separated, * for any) allowed to send PROXY headers.",
    )
    .checked(check_addr_list)
    .implemented(),
    s(
        "protocol",
        MECH,
        &["--protocol"],
        Kind::Str,
        "STRING",
        D::Str("http"),
        "Wire protocol of incoming connections: http or uwsgi (nginx's uwsgi_pass).",
    )
    .checked(check_protocol)
    .implemented(),
    s(
        "uwsgi_allow_ips",
        MECH,
        &["--uwsgi-allow-from"],
        Kind::CommaList,
        "UWSGI_ALLOW_IPS",
        D::List(&["127.0.0.1", "::1"]),
        "Peers (IPs or CIDR networks, comma-separated, * for any) allowed to speak uwsgi; unix sockets always are.",
    )
    .checked(check_addr_list)
    .implemented(),
    // ---- SSL
    s(
        "keyfile",
        SSL,
        &["--keyfile"],
        Kind::OptStr,
        "FILE",
        D::None,
        "TLS private key file.",
    )
    .implemented(),
    s(
        "certfile",
        SSL,
        &["--certfile"],
        Kind::OptStr,
        "FILE",
        D::None,
        "TLS certificate file; setting it turns TLS on.",
    )
    .implemented(),
    s(
        "ssl_version",
        SSL,
        &["--ssl-version"],
        Kind::Scalar,
        "SSL_VERSION",
        D::Int(2),
        "Deprecated TLS protocol selector; gunicorn ignores it too.",
    )
    .no_effect("deprecated: gunicorn ignores it as well (use ssl_context)"),
    s(
        "cert_reqs",
        SSL,
        &["--cert-reqs"],
        Kind::Int,
        "CERT_REQS",
        D::Int(0),
        "Client certificates: 0 not asked, 1 optional, 2 required.",
    )
    .checked(check_cert_reqs)
    .int_syntax(IntSyntax::Base0)
    .implemented(),
    s(
        "ca_certs",
        SSL,
        &["--ca-certs"],
        Kind::OptStr,
        "FILE",
        D::None,
        "CA certificates used to verify client certificates.",
    )
    .implemented(),
    s(
        "suppress_ragged_eofs",
        SSL,
        &["--suppress-ragged-eofs"],
        Kind::Bool,
        "",
        D::Bool(true),
        "Treat a TLS connection closed without close_notify as a clean EOF.",
    )
    .no_effect("rcorn always treats a connection closed without close_notify as a clean end"),
    s(
        "do_handshake_on_connect",
        SSL,
        &["--do-handshake-on-connect"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Complete the TLS handshake as soon as a connection is accepted.",
    )
    .no_effect("rcorn starts the handshake as soon as it accepts a connection"),
    s(
        "ciphers",
        SSL,
        &["--ciphers"],
        Kind::OptStr,
        "CIPHERS",
        D::None,
        "TLS cipher suites, as an OpenSSL cipher list (suite names select; keywords keep rustls's defaults).",
    )
    .checked(check_ciphers)
    .implemented(),
    // ---- HTTP/2
    s(
        "http_protocols",
        H2,
        &["--http-protocols"],
        Kind::CommaList,
        "STRING",
        D::List(&["h1"]),
        "HTTP versions to offer, comma-separated in preference order: h1, h2, h3 (h2: gthread worker; h3 is never offered).",
    )
    .checked(check_http_protocols)
    .implemented(),
    s(
        "http2_cleartext",
        H2,
        &["--http2-cleartext"],
        Kind::Mode,
        "STRING",
        D::Str("off"),
        "HTTP/2 without TLS, for a peer in forwarded_allow_ips: off, prior-knowledge (the connection opens with the preface), upgrade (an HTTP/1.1 request with Upgrade: h2c) or both.",
    )
    .checked(check_http2_cleartext)
    .implemented(),
    s(
        "http2_max_concurrent_streams",
        H2,
        &["--http2-max-concurrent-streams"],
        Kind::Int,
        "INT",
        D::Int(100),
        "Most concurrent HTTP/2 streams per connection.",
    )
    .implemented(),
    s(
        "http2_initial_window_size",
        H2,
        &["--http2-initial-window-size"],
        Kind::Int,
        "INT",
        D::Int(65535),
        "Initial HTTP/2 flow-control window, in bytes.",
    )
    .implemented(),
    s(
        "http2_max_frame_size",
        H2,
        &["--http2-max-frame-size"],
        Kind::Int,
        "INT",
        D::Int(16384),
        "Largest HTTP/2 frame payload accepted, 16384 to 16777215 bytes.",
    )
    .checked(check_frame_size)
    .implemented(),
    s(
        "http2_max_header_list_size",
        H2,
        &["--http2-max-header-list-size"],
        Kind::Int,
        "INT",
        D::Int(65536),
        "Largest decompressed HTTP/2 header list, in bytes (0 = unlimited).",
    )
    .implemented(),
    // ---- Server Mechanics (continued)
    s(
        "raw_paste_global_conf",
        MECH,
        &["--paste-global"],
        Kind::List,
        "CONF",
        D::List(&[]),
        "A PasteDeploy global variable as KEY=VALUE; repeatable.",
    )
    .no_effect(NO_PASTE),
    s(
        "permit_obsolete_folding",
        MECH,
        &["--permit-obsolete-folding"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Accept obsolete line folding in request headers.",
    )
    .implemented(),
    s(
        "strip_header_spaces",
        MECH,
        &["--strip-header-spaces"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Accept (and strip) spaces between a header name and its colon.",
    )
    .implemented(),
    s(
        "permit_unconventional_http_method",
        MECH,
        &["--permit-unconventional-http-method"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Accept request methods outside gunicorn's conventional shape.",
    )
    .implemented(),
    s(
        "permit_unconventional_http_version",
        MECH,
        &["--permit-unconventional-http-version"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Accept HTTP versions other than 1.0 and 1.1.",
    )
    .no_effect(STRICT_PARSER),
    s(
        "casefold_http_method",
        MECH,
        &["--casefold-http-method"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Upper-case request methods before handing them to the app.",
    )
    .implemented(),
    s(
        "forwarder_headers",
        MECH,
        &["--forwarder-headers"],
        Kind::CommaList,
        "FORWARDER_HEADERS",
        D::List(&["SCRIPT_NAME", "PATH_INFO"]),
        "Header names with underscores a trusted proxy may send (comma-separated); SCRIPT_NAME sets the environ's.",
    )
    .implemented(),
    s(
        "header_map",
        MECH,
        &["--header-map"],
        Kind::Mode,
        "HEADER_MAP",
        D::Str("drop"),
        "Headers with underscores in their name: drop, refuse or dangerous.",
    )
    .checked(check_header_map)
    .implemented(),
    // ---- Worker Processes (ASGI / parser)
    s(
        "asgi_loop",
        WORKERS,
        &["--asgi-loop"],
        Kind::Mode,
        "STRING",
        D::Str("auto"),
        "Event loop for ASGI workers: auto, asyncio or uvloop.",
    )
    .checked(check_asgi_loop)
    .implemented(),
    s(
        "asgi_lifespan",
        WORKERS,
        &["--asgi-lifespan"],
        Kind::Mode,
        "STRING",
        D::Str("auto"),
        "ASGI lifespan protocol: auto, on or off.",
    )
    .checked(check_asgi_lifespan)
    .implemented(),
    s(
        "asgi_disconnect_grace_period",
        WORKERS,
        &["--asgi-disconnect-grace-period"],
        Kind::Int,
        "INT",
        D::Int(3),
        "Seconds an ASGI app gets to clean up after its client disconnects.",
    )
    .implemented(),
    s(
        "http_parser",
        WORKERS,
        &["--http-parser"],
        Kind::Mode,
        "STRING",
        D::Str("auto"),
        "Which of gunicorn's HTTP parsers to use: auto, fast or python.",
    )
    .checked(check_http_parser)
    .no_effect("rcorn always parses HTTP with its own Rust parser"),
    s(
        "root_path",
        MECH,
        &["--root-path"],
        Kind::Str,
        "STRING",
        D::Str(""),
        "Mount point given to ASGI applications as root_path.",
    )
    .implemented(),
    // ---- Dirty Arbiters
    s(
        "dirty_apps",
        DIRTY,
        &["--dirty-app"],
        Kind::List,
        "STRING",
        D::List(&[]),
        "An app for the dirty worker pool, MODULE:CLASS[:N] (N: only that many \
         dirty workers load it); repeatable.",
    )
    .implemented()
    .checked(super::dirty::check_dirty_apps),
    s(
        "dirty_workers",
        DIRTY,
        &["--dirty-workers"],
        Kind::Int,
        "INT",
        D::Int(0),
        "Number of dirty worker processes (0 = no dirty arbiter).",
    )
    .implemented(),
    s(
        "dirty_timeout",
        DIRTY,
        &["--dirty-timeout"],
        Kind::Int,
        "INT",
        D::Int(300),
        "Seconds a dirty task may run before its worker is killed.",
    )
    .implemented(),
    s(
        "dirty_threads",
        DIRTY,
        &["--dirty-threads"],
        Kind::Int,
        "INT",
        D::Int(1),
        "Threads per dirty worker.",
    )
    .implemented(),
    s(
        "dirty_graceful_timeout",
        DIRTY,
        &["--dirty-graceful-timeout"],
        Kind::Int,
        "INT",
        D::Int(30),
        "Seconds dirty workers get to finish on shutdown.",
    )
    .implemented(),
    dirty_hook(
        "on_dirty_starting",
        "OnDirtyStarting.on_dirty_starting",
        "on_dirty_starting(arbiter): called before the dirty arbiter starts.",
    ),
    dirty_hook(
        "dirty_post_fork",
        "DirtyPostFork.dirty_post_fork",
        "dirty_post_fork(arbiter, worker): called after a dirty worker is forked.",
    ),
    dirty_hook(
        "dirty_worker_init",
        "DirtyWorkerInit.dirty_worker_init",
        "dirty_worker_init(worker): called once a dirty worker has loaded its apps.",
    ),
    dirty_hook(
        "dirty_worker_exit",
        "DirtyWorkerExit.dirty_worker_exit",
        "dirty_worker_exit(arbiter, worker): called when a dirty worker exits.",
    ),
    // ---- Control
    s(
        "control_socket",
        CONTROL,
        &["--control-socket"],
        Kind::Str,
        "PATH",
        D::Str("gunicorn.ctl"),
        "Unix socket for the gunicornc control tool.",
    )
    .implemented()
    .doc_default("$XDG_RUNTIME_DIR/gunicorn.ctl or $HOME/.gunicorn/gunicorn.ctl"),
    s(
        "control_socket_mode",
        CONTROL,
        &["--control-socket-mode"],
        Kind::Int,
        "INT",
        D::Int(0o600),
        "Permission bits of the control socket (e.g. 0600).",
    )
    .int_syntax(IntSyntax::AutoOctal)
    .implemented(),
    s(
        "control_socket_disable",
        CONTROL,
        &["--no-control-socket"],
        Kind::Bool,
        "",
        D::Bool(false),
        "Do not create the control socket.",
    )
    .implemented(),
    // ---- Metrics (rcorn's own: gunicorn has no such setting)
    s(
        "metrics_bind",
        METRICS,
        &["--metrics-bind"],
        Kind::OptStr,
        "ADDRESS",
        D::None,
        "Serve Prometheus metrics at http://HOST:PORT/metrics (off when unset); see docs/metrics.md.",
    )
    .checked(check_metrics_bind)
    .implemented(),
    // ---- Not gunicorn's: WebSockets in the asgi worker, by uvicorn's
    // names and with its defaults.
    s(
        "ws_max_size",
        WEBSOCKET,
        &["--ws-max-size"],
        Kind::Int,
        "INT",
        D::Int(16 * 1024 * 1024),
        "Largest WebSocket message accepted, in bytes (after inflating); a larger one closes with 1009.",
    )
    .implemented(),
    s(
        "ws_ping_interval",
        WEBSOCKET,
        &["--ws-ping-interval"],
        Kind::Int,
        "INT",
        D::Int(20),
        "Seconds of silence from a WebSocket client before it is pinged; 0: never.",
    )
    .implemented(),
    s(
        "ws_ping_timeout",
        WEBSOCKET,
        &["--ws-ping-timeout"],
        Kind::Int,
        "INT",
        D::Int(20),
        "Seconds a pinged WebSocket client has to answer before it is closed (1011); 0: no limit.",
    )
    .implemented(),
    s(
        "ws_per_message_deflate",
        WEBSOCKET,
        &["--ws-per-message-deflate"],
        Kind::Mode,
        "BOOL",
        D::Str("true"),
        "Accept WebSocket permessage-deflate compression when the client offers it: true or false.",
    )
    .checked(check_bool_word)
    .implemented(),
    // ---- rcorn's own settings (not gunicorn's)
    s(
        "log_format",
        RCORN,
        &["--log-format"],
        Kind::Mode,
        "FORMAT",
        D::Str("text"),
        "How rcorn writes its error and access logs: text (gunicorn's lines) or json \
         (one JSON object per line, for log shippers); a logconfig setting formats its own.",
    )
    .checked(check_log_format)
    .implemented(),
];
