//! The settings, read into the configurations the io crate takes: the
//! logs, TLS, the master, and a worker's loop.

use std::time::Duration;

use rcorn_core::access_log::AccessLogFormat;
use rcorn_core::arbiter::ArbiterSettings;
use rcorn_core::config::{Settings, Value};
use rcorn_core::http::forwarded::{SchemePolicy, TrustedPeers};
use rcorn_core::http::h2::H2Config;
use rcorn_core::http::negotiate::Negotiation;
use rcorn_core::http::proxy_protocol::ProxyMode;
use rcorn_core::http::DecoderConfig;
use rcorn_core::worker::WorkerSettings;
use rcorn_io::log::{Level, LogConfig, LogFormat};
use rcorn_io::master::MasterConfig;
use rcorn_io::tls::TlsConfig;
use rcorn_io::worker_config::H2Serving;
use rcorn_io::worker_loop::{ProxyPolicy, WorkerConfig};

/// Whether the boolean setting `name` is on.
pub fn flag(settings: &Settings, name: &str) -> bool {
    settings.get(name) == Some(&Value::Bool(true))
}

pub fn log_config(settings: &Settings) -> LogConfig<'_> {
    LogConfig {
        level: Level::parse(settings.loglevel()).unwrap_or(Level::Info),
        errorlog: settings.errorlog(),
        accesslog: settings.accesslog(),
        capture_output: flag(settings, "capture_output"),
        syslog: syslog_config(settings),
        format: if settings.log_format_json() {
            LogFormat::Json
        } else {
            LogFormat::Text
        },
    }
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

/// Whether the configured worker class serves HTTP/2: gthread and asgi
/// do; the others answer HTTP/1.1 alone.
pub fn worker_serves_h2(settings: &Settings) -> bool {
    matches!(settings.effective_worker_class(), "gthread" | "asgi")
}

/// How the workers choose between HTTP/1.1 and HTTP/2.
pub fn negotiation(settings: &Settings) -> Negotiation {
    Negotiation::from_settings(settings, worker_serves_h2(settings))
}

/// `--certfile` turns TLS on for every listener.
pub fn tls_config(settings: &Settings) -> Result<Option<TlsConfig>, String> {
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
        alpn: negotiation(settings).alpn_protocols().to_vec(),
    })
    .map(Some)
}

pub fn master_config(settings: &Settings) -> MasterConfig {
    MasterConfig {
        arbiter: ArbiterSettings {
            workers: settings.workers(),
            timeout: settings.timeout(),
            graceful_timeout: settings.graceful_timeout(),
            daemon: settings.daemon(),
            ..ArbiterSettings::default()
        },
        backlog_metric: flag(settings, "enable_backlog_metric"),
        control_socket: crate::server::control_socket::control_socket_config(settings),
        // Bound by the start-up, which can stop on a failure to bind.
        metrics: None,
        dirty_arbiter: settings.dirty_settings().map(|d| d.graceful_timeout),
    }
}

/// Whose `X-Forwarded-Proto` (and the other `secure_scheme_headers`) is
/// believed: `forwarded_allow_ips`, which `FORWARDED_ALLOW_IPS` in the
/// environment sets by default, as in gunicorn.
pub fn scheme_policy(settings: &Settings) -> Result<SchemePolicy, String> {
    Ok(SchemePolicy {
        trusted: TrustedPeers::parse(settings.forwarded_allow_ips())?,
        secure_headers: settings.secure_scheme_headers(),
    })
}

/// Who may start a connection with a PROXY protocol preamble, and which.
pub fn proxy_policy(settings: &Settings) -> Result<ProxyPolicy, String> {
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
pub fn sendfile_enabled(settings: &Settings) -> bool {
    settings.sendfile().unwrap_or_else(|| {
        let env = std::env::var("SENDFILE").unwrap_or_default();
        !matches!(
            env.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    })
}

/// Whether workers run the application on a thread pool (`gthread`).
pub fn threaded(settings: &Settings) -> bool {
    settings.effective_worker_class() == "gthread"
}

/// What a worker's loop is told: the settings read once, at its boot.
pub fn worker_config(
    settings: &Settings,
    access_format: Option<AccessLogFormat>,
    scheme_policy: SchemePolicy,
    proxy: ProxyPolicy,
    tls: Option<TlsConfig>,
) -> WorkerConfig {
    let timeout = settings.timeout();
    let io_timeout = if timeout.is_zero() {
        Duration::from_secs(30)
    } else {
        timeout
    };
    WorkerConfig {
        lifecycle: WorkerSettings {
            max_requests: settings.max_requests(),
            max_requests_jitter: settings.max_requests_jitter(),
            jitter_seed: jitter_seed(),
            graceful_timeout: settings.graceful_timeout(),
            timeout,
            keepalive: settings.keepalive(),
            worker_connections: settings.worker_connections() as usize,
        },
        decoder: decoder_config(settings),
        server_header: b"rcorn".to_vec(),
        io_timeout,
        head_timeout: io_timeout,
        access_log: access_format.map(rcorn_io::access::AccessLogger::new),
        scheme_policy,
        proxy,
        tls,
        uwsgi: uwsgi_peers(settings),
        h2: worker_serves_h2(settings).then(|| H2Serving {
            negotiation: negotiation(settings),
            config: H2Config::from_settings(settings),
        }),
    }
}

/// `--protocol uwsgi`: the peers `uwsgi_allow_ips` lets in. The list was
/// checked when it was set; should it not parse, nobody is let in.
fn uwsgi_peers(settings: &Settings) -> Option<TrustedPeers> {
    (settings.protocol() == "uwsgi")
        .then(|| TrustedPeers::parse(settings.uwsgi_allow_ips()).unwrap_or_default())
}

fn decoder_config(settings: &Settings) -> DecoderConfig {
    DecoderConfig {
        permit_obsolete_folding: flag(settings, "permit_obsolete_folding"),
        permit_unconventional_http_method: flag(settings, "permit_unconventional_http_method"),
        strip_header_spaces: flag(settings, "strip_header_spaces"),
        refuse_underscore_headers: settings.get("header_map") == Some(&Value::Str("refuse".into())),
        forwarder_headers: match settings.get("forwarder_headers") {
            Some(Value::List(names)) => names.iter().map(|n| Box::from(n.as_str())).collect(),
            _ => Default::default(),
        },
        ..DecoderConfig::default()
    }
    .with_limits(
        settings.limit_request_line(),
        settings.limit_request_fields(),
        settings.limit_request_field_size(),
    )
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
