//! Typed reads of the settings the server acts on, by their gunicorn
//! names.

use std::time::Duration;

use super::syntax::parse_address;
use super::{setting, BindAddress, Kind, Settings, Value};

impl Settings {
    pub(super) fn value(&self, name: &str) -> &Value {
        // Accessors only name settings that exist; a typo is caught by the
        // accessor tests, and `None` is a harmless answer in release.
        static NONE: Value = Value::None;
        self.get(name).unwrap_or(&NONE)
    }

    pub(super) fn int(&self, name: &str) -> i64 {
        match self.value(name) {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    pub(super) fn u32(&self, name: &str) -> u32 {
        u32::try_from(self.int(name)).unwrap_or(u32::MAX)
    }

    pub(super) fn u64(&self, name: &str) -> u64 {
        u64::try_from(self.int(name)).unwrap_or(0)
    }

    pub(super) fn secs(&self, name: &str) -> Duration {
        Duration::from_secs(self.u64(name))
    }

    pub(super) fn flag(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    pub(super) fn str(&self, name: &str) -> &str {
        match self.value(name) {
            Value::Str(s) => s,
            _ => "",
        }
    }

    pub(super) fn opt_str(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::List(l) => l,
            _ => &[],
        }
    }

    /// `bind`, as given (default `["127.0.0.1:8000"]`).
    pub fn bind(&self) -> &[String] {
        self.list("bind")
    }

    /// `bind`, parsed. Every entry was checked when it was set.
    pub fn bind_addresses(&self) -> Vec<BindAddress> {
        self.bind()
            .iter()
            .filter_map(|b| parse_address(b).ok())
            .collect()
    }

    pub fn backlog(&self) -> u32 {
        self.u32("backlog")
    }

    pub fn workers(&self) -> u32 {
        self.u32("workers")
    }

    /// `worker_class` as configured, normalised: "sync", "gthread",
    /// "asgi", or one of uvicorn's worker class names.
    pub fn worker_class(&self) -> &str {
        self.str("worker_class")
    }

    /// The worker type that will run: like gunicorn, `sync` with more than
    /// one thread means `gthread`; uvicorn's classes mean `asgi`.
    pub fn effective_worker_class(&self) -> &str {
        match self.worker_class() {
            "sync" if self.threads() > 1 => "gthread",
            alias if super::syntax::ASGI_ALIASES.contains(&alias) => "asgi",
            alias if super::syntax::GEVENT_ALIASES.contains(&alias) => "gevent",
            other => other,
        }
    }

    pub fn threads(&self) -> u32 {
        self.u32("threads")
    }

    pub fn worker_connections(&self) -> u32 {
        self.u32("worker_connections")
    }

    /// 0 means workers are never recycled.
    pub fn max_requests(&self) -> u64 {
        self.u64("max_requests")
    }

    pub fn max_requests_jitter(&self) -> u64 {
        self.u64("max_requests_jitter")
    }

    /// Zero means no timeout.
    pub fn timeout(&self) -> Duration {
        self.secs("timeout")
    }

    pub fn graceful_timeout(&self) -> Duration {
        self.secs("graceful_timeout")
    }

    pub fn keepalive(&self) -> Duration {
        self.secs("keepalive")
    }

    /// `http_protocols`, checked: lower case, no repeats, never empty.
    pub fn http_protocols(&self) -> &[String] {
        self.list("http_protocols")
    }

    /// `http2_cleartext`: off, prior-knowledge, upgrade or both.
    pub fn http2_cleartext(&self) -> &str {
        self.str("http2_cleartext")
    }

    pub fn http2_max_concurrent_streams(&self) -> u32 {
        self.u32("http2_max_concurrent_streams")
    }

    /// Clamped to 2^31-1, the largest window HTTP/2 allows.
    pub fn http2_initial_window_size(&self) -> u32 {
        self.u32("http2_initial_window_size").min(i32::MAX as u32)
    }

    pub fn http2_max_frame_size(&self) -> u32 {
        self.u32("http2_max_frame_size")
    }

    /// 0 means unlimited.
    pub fn http2_max_header_list_size(&self) -> u32 {
        self.u32("http2_max_header_list_size")
    }

    /// As configured. gunicorn's parser reads 0 as "no limit" (with a 1 MiB
    /// safety cap) and anything from 8190 up as 8190.
    pub fn limit_request_line(&self) -> u64 {
        self.u64("limit_request_line")
    }

    /// As configured. gunicorn reads 0 or more than 32768 as 32768.
    pub fn limit_request_fields(&self) -> u64 {
        self.u64("limit_request_fields")
    }

    /// As configured. gunicorn reads 0 as the default 8190.
    pub fn limit_request_field_size(&self) -> u64 {
        self.u64("limit_request_field_size")
    }

    pub fn reload(&self) -> bool {
        self.flag("reload")
    }

    pub fn reload_engine(&self) -> &str {
        self.str("reload_engine")
    }

    pub fn reload_extra_files(&self) -> &[String] {
        self.list("reload_extra_files")
    }

    pub fn preload_app(&self) -> bool {
        self.flag("preload_app")
    }

    /// `Some(false)` for `--no-sendfile`; `None` when unset, which leaves
    /// the choice to the `SENDFILE` environment variable, as in gunicorn.
    pub fn sendfile(&self) -> Option<bool> {
        match self.value("sendfile") {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn reuse_port(&self) -> bool {
        self.flag("reuse_port")
    }

    /// `user` / `group` as given: a number, or a name to look up.
    pub fn user(&self) -> &Value {
        self.value("user")
    }

    pub fn group(&self) -> &Value {
        self.value("group")
    }

    pub fn initgroups(&self) -> bool {
        self.flag("initgroups")
    }

    pub fn umask(&self) -> u32 {
        u32::try_from(self.int("umask")).unwrap_or(0)
    }

    pub fn daemon(&self) -> bool {
        self.flag("daemon")
    }

    pub fn check_config(&self) -> bool {
        self.flag("check_config")
    }

    pub fn print_config_requested(&self) -> bool {
        self.flag("print_config")
    }

    /// `config`: the config file to load (`PATH`, `file:PATH` or
    /// `python:MODULE`).
    pub fn config(&self) -> &str {
        self.str("config")
    }

    pub fn chdir(&self) -> &str {
        self.str("chdir")
    }

    /// `pythonpath` as given (comma-separated).
    pub fn pythonpath(&self) -> Option<&str> {
        self.opt_str("pythonpath")
    }

    /// `pythonpath` split on commas, in the order given (gunicorn inserts
    /// each at the front of `sys.path`).
    pub fn pythonpath_dirs(&self) -> Vec<&str> {
        self.pythonpath()
            .map(|p| p.split(',').collect())
            .unwrap_or_default()
    }

    pub fn proc_name(&self) -> Option<&str> {
        self.opt_str("proc_name")
    }

    pub fn default_proc_name(&self) -> &str {
        self.str("default_proc_name")
    }

    /// The name in process titles and syslog tags: `proc_name`, else the
    /// application (gunicorn makes it `default_proc_name`), else
    /// `default_proc_name`.
    pub fn effective_proc_name(&self) -> &str {
        self.proc_name()
            .or_else(|| self.wsgi_app())
            .unwrap_or_else(|| self.default_proc_name())
    }

    /// The error-log level, lower-cased: debug, info, warning, error or
    /// critical.
    pub fn loglevel(&self) -> &'static str {
        const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "critical"];
        let l = self.str("loglevel");
        LEVELS
            .iter()
            .copied()
            .find(|x| x.eq_ignore_ascii_case(l))
            .unwrap_or("info")
    }

    /// `--log-format json`: the logs as JSON lines instead of gunicorn's
    /// text.
    pub fn log_format_json(&self) -> bool {
        self.str("log_format").eq_ignore_ascii_case("json")
    }

    /// Access-log destination: `None` (off), `"-"` (stdout) or a path.
    pub fn accesslog(&self) -> Option<&str> {
        self.opt_str("accesslog")
    }

    pub fn access_log_format(&self) -> &str {
        self.str("access_log_format")
    }

    /// Error-log destination: `"-"` (stderr) or a path.
    pub fn errorlog(&self) -> &str {
        self.str("errorlog")
    }

    pub fn wsgi_app(&self) -> Option<&str> {
        self.opt_str("wsgi_app")
    }

    pub fn pidfile(&self) -> Option<&str> {
        self.opt_str("pidfile")
    }

    /// `proxy_protocol` as gunicorn spells it: off, v1, v2 or auto.
    pub fn proxy_protocol(&self) -> &str {
        self.str("proxy_protocol")
    }

    /// Peers allowed to send a PROXY protocol preamble.
    pub fn proxy_allow_ips(&self) -> &[String] {
        self.list("proxy_allow_ips")
    }

    /// `protocol`: `http` or `uwsgi`.
    pub fn protocol(&self) -> &str {
        self.str("protocol")
    }

    /// Peers allowed to speak uwsgi (`--protocol uwsgi`).
    pub fn uwsgi_allow_ips(&self) -> &[String] {
        self.list("uwsgi_allow_ips")
    }

    /// Peers trusted for `secure_scheme_headers` (addresses, networks, `*`).
    pub fn forwarded_allow_ips(&self) -> &[String] {
        self.list("forwarded_allow_ips")
    }

    /// Header name and the value of it that means HTTPS.
    pub fn secure_scheme_headers(&self) -> Vec<(String, String)> {
        match self.value("secure_scheme_headers") {
            Value::Dict(entries) => entries
                .iter()
                .filter_map(|(name, value)| match value {
                    Value::Str(v) => Some((name.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `raw_env` as given (`KEY=VALUE` strings).
    pub fn raw_env(&self) -> &[String] {
        self.list("raw_env")
    }

    /// `raw_env` split at the first `=` (every entry was checked to have
    /// one when it was set).
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.raw_env()
            .iter()
            .filter_map(|e| e.split_once('='))
            .collect()
    }

    /// A server hook's value: the do-nothing default
    /// (`Value::Callable` with gunicorn's qualname), or what the config file
    /// set: an import path (`Value::Str`) or a callable's qualname
    /// (`Value::Callable`). `None` for names that are not hooks.
    pub fn hook(&self, name: &str) -> Option<&Value> {
        match setting(name) {
            Some(s) if s.kind == Kind::Callable => self.get(name),
            _ => None,
        }
    }
}
