//! Parsing and checking of setting values, the way gunicorn's validators do
//! it, plus the Python-style rendering `--print-config` needs.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::Value;

// ---------------------------------------------------------------- integers

/// Python's `int(s)`: optional surrounding whitespace and sign, decimal
/// digits with single underscores between them. This is what argparse's
/// `type=int` accepts for gunicorn's INT flags.
pub fn py_int_decimal(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s.trim())?;
    let v = digits(body, 10)?;
    apply_sign(neg, v)
}

/// Python's `int(s, 0)`: like [`py_int_decimal`] but also `0x`/`0o`/`0b`
/// prefixes, and a decimal number may not start with `0` unless it is all
/// zeros. gunicorn's `validate_pos_int` applies it to strings from a config
/// file and to flags declared without a type (`--cert-reqs`).
pub fn py_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s.trim())?;
    let lower = body.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, rest) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ => (10, body),
    };
    let v = if radix == 10 {
        let v = digits(rest, 10)?;
        // "007" is a SyntaxError-like ValueError in Python 3; "000" is fine.
        if rest.starts_with('0') && v != 0 {
            return None;
        }
        v
    } else {
        // Python allows one underscore right after the prefix: 0x_ff.
        digits(rest.strip_prefix('_').unwrap_or(rest), radix)?
    };
    apply_sign(neg, v)
}

/// gunicorn's `auto_int` (used by `--umask`): a leading `0` followed by a
/// digit means octal, as in `0022`; anything else is [`py_int_base0`].
pub fn py_auto_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        let mut octal = String::with_capacity(s.len() + 1);
        octal.push_str("0o");
        octal.push_str(&s[1..]);
        return py_int_base0(&octal);
    }
    py_int_base0(s)
}

fn split_sign(s: &str) -> Option<(bool, &str)> {
    match s.as_bytes().first()? {
        b'-' => Some((true, &s[1..])),
        b'+' => Some((false, &s[1..])),
        _ => Some((false, s)),
    }
}

fn digits(s: &str, radix: u32) -> Option<i64> {
    if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    let mut v: i64 = 0;
    for c in s.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix)?;
        v = v.checked_mul(i64::from(radix))?.checked_add(i64::from(d))?;
    }
    Some(v)
}

fn apply_sign(neg: bool, v: i64) -> Option<i64> {
    if neg {
        v.checked_neg()
    } else {
        Some(v)
    }
}

/// gunicorn's `validate_bool` on a string: `true`/`false` in any case,
/// surrounding whitespace ignored; nothing else (not `1`, not `yes`).
pub fn py_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// gunicorn's `validate_string_to_list`: split on commas, strip each piece,
/// drop the empty ones.
pub fn comma_list(s: &str) -> Vec<String> {
    s.trim()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- addresses

/// One listener address, as gunicorn's `util.parse_address` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAddress {
    /// `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT`, optionally `tcp://`-prefixed.
    /// The host is lower-cased, as gunicorn does; it may be a name to resolve.
    Tcp { host: String, port: u16 },
    /// `unix:PATH` or `unix://PATH`.
    Unix(String),
    /// `fd://N`: an already-open listening socket.
    Fd(i32),
}

/// Parses a bind address; the error says what is wrong in a few words.
pub fn parse_address(netloc: &str) -> Result<BindAddress, String> {
    if let Some(rest) = netloc.strip_prefix("unix:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err("a unix socket address needs a path: unix:PATH".into());
        }
        return Ok(BindAddress::Unix(path.to_owned()));
    }
    if let Some(fd) = netloc.strip_prefix("fd://") {
        return match fd.trim().parse::<i32>() {
            Ok(n) if n >= 0 => Ok(BindAddress::Fd(n)),
            _ => Err(format!("'{fd}' is not a valid file descriptor")),
        };
    }
    let netloc = netloc.strip_prefix("tcp://").unwrap_or(netloc);
    let (host, port) = if netloc.contains('[') && netloc.contains(']') {
        let inner = netloc.split(']').next().unwrap_or("");
        let host = inner.get(1..).unwrap_or("");
        let port = netloc.split_once("]:").map(|(_, p)| p);
        (host, port)
    } else if let Some((h, rest)) = netloc.split_once(':') {
        // gunicorn keeps only the text between the first and second colon.
        (h, Some(rest.split(':').next().unwrap_or("")))
    } else if netloc.is_empty() {
        ("0.0.0.0", None)
    } else {
        (netloc, None)
    };
    let port = match port {
        None => 8000,
        Some(p) => match py_int_decimal(p) {
            Some(n) if (0..=65535).contains(&n) => n as u16,
            _ => return Err(format!("'{p}' is not a valid port number")),
        },
    };
    Ok(BindAddress::Tcp {
        host: host.to_lowercase(),
        port,
    })
}

/// An IP address or a network in CIDR form with no host bits set, as
/// Python's `ipaddress.ip_network(addr)` (strict) accepts it.
pub fn is_ip_network(s: &str) -> bool {
    parse_ip_network(s).is_some()
}

/// `ADDR` or `ADDR/PREFIX` with no host bits set: the address and the
/// prefix length (the full width for a bare address).
pub fn parse_ip_network(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip = addr.parse::<IpAddr>().ok()?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let Some(prefix) = prefix else {
        return Some((ip, width));
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let len = prefix.parse::<u32>().ok()?;
    let ok = match ip {
        IpAddr::V4(v4) => len <= 32 && host_bits_zero(u128::from(u32::from(v4)), 32, len),
        IpAddr::V6(v6) => len <= 128 && host_bits_zero(u128::from(v6), 128, len),
    };
    ok.then_some((ip, len))
}

fn host_bits_zero(bits: u128, width: u32, prefix: u32) -> bool {
    let host = width - prefix;
    if host == 0 {
        return true;
    }
    let mask = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    bits & mask == 0
}

// ---------------------------------------------------------------- checks
//
// Each check gets a value already coerced to its setting's kind and returns
// it (possibly normalised) or the accepted form, worded to follow
// "expected ..." in a ConfigError.

fn str_of(v: &Value) -> &str {
    match v {
        Value::Str(s) => s,
        _ => "",
    }
}

fn one_of(v: Value, choices: &[&str]) -> Result<Value, String> {
    if choices.contains(&str_of(&v)) {
        Ok(v)
    } else {
        Err(format!("expected one of: {}", choices.join(", ")))
    }
}

pub fn check_syslog_addr(v: Value) -> Result<Value, String> {
    crate::syslog::SyslogAddress::parse(str_of(&v)).map(|_| v)
}

pub fn check_syslog_facility(v: Value) -> Result<Value, String> {
    match crate::syslog::facility(str_of(&v)) {
        Some(_) => Ok(v),
        None => Err(format!(
            "unknown facility name {:?} (user, daemon, local0 … local7, …)",
            str_of(&v)
        )),
    }
}

pub fn check_statsd_host(v: Value) -> Result<Value, String> {
    match &v {
        Value::Str(text) => crate::statsd::StatsdAddress::parse(text).map(|_| v),
        _ => Ok(v),
    }
}

pub fn check_metrics_bind(v: Value) -> Result<Value, String> {
    match &v {
        Value::Str(text) => crate::metrics::address::parse(text).map(|_| v),
        _ => Ok(v),
    }
}

/// uvicorn's worker classes (and the uvicorn-worker package's): they run
/// ASGI apps, and rcorn's own `asgi` worker serves them.
pub const ASGI_ALIASES: [&str; 4] = [
    "uvicorn.workers.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker",
    "uvicorn_worker.UvicornWorker",
    "uvicorn_worker.UvicornH11Worker",
];

/// gunicorn's gevent worker on gevent's `pywsgi` server: the same WSGI
/// app on the same hub, which rcorn's `gevent` worker serves (with its
/// own HTTP codec in place of `pywsgi`'s).
pub const GEVENT_ALIASES: [&str; 3] = [
    "gevent_pywsgi",
    "gevent_wsgi",
    "gunicorn.workers.ggevent.GeventPyWSGIWorker",
];

pub fn check_worker_class(v: Value) -> Result<Value, String> {
    let name = str_of(&v);
    let canonical = match name {
        "sync" | "gunicorn.workers.sync.SyncWorker" | "gunicorn.workers.SyncWorker" => "sync",
        "gthread" | "gunicorn.workers.gthread.ThreadWorker" => "gthread",
        "asgi" | "gunicorn.workers.gasgi.ASGIWorker" => "asgi",
        "gevent" | "gunicorn.workers.ggevent.GeventWorker" => "gevent",
        // Kept as written, so the start-up can say who serves them.
        alias if ASGI_ALIASES.contains(&alias) || GEVENT_ALIASES.contains(&alias) => alias,
        "eventlet" | "gunicorn.workers.geventlet.EventletWorker" => {
            return Err(format!(
                "worker class {name} is not supported by rcorn (gunicorn deprecates it): \
                 use gevent"
            ))
        }
        "tornado" | "gunicorn.workers.gtornado.TornadoWorker" => {
            return Err(format!(
                "worker class {name} is not supported by rcorn: \
                 use asgi for an asynchronous application, gevent for many waiting requests"
            ))
        }
        _ => {
            return Err(format!(
                "worker class {name} is not supported by rcorn (use sync, gthread, gevent or asgi)"
            ))
        }
    };
    Ok(Value::Str(canonical.to_owned()))
}

pub fn check_loglevel(v: Value) -> Result<Value, String> {
    const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "critical"];
    // gunicorn looks the level up lower-cased; keep what the user wrote.
    if LEVELS.iter().any(|l| l.eq_ignore_ascii_case(str_of(&v))) {
        Ok(v)
    } else {
        Err(format!("expected one of: {}", LEVELS.join(", ")))
    }
}

pub fn check_reload_engine(v: Value) -> Result<Value, String> {
    one_of(v, &["auto", "poll", "inotify"])
}

pub fn check_cert_reqs(v: Value) -> Result<Value, String> {
    match v {
        Value::Int(0..=2) => Ok(v),
        _ => Err("expected 0 (no client certificate), 1 (optional) or 2 (required)".into()),
    }
}

/// `--ciphers`: an OpenSSL cipher list whose suite names rcorn knows (see
/// `cipher_list`); which of them the TLS library has is checked when TLS
/// starts.
pub fn check_ciphers(v: Value) -> Result<Value, String> {
    match &v {
        Value::Str(list) => crate::cipher_list::parse(list).map(|_| v),
        _ => Ok(v),
    }
}

pub fn check_frame_size(v: Value) -> Result<Value, String> {
    match v {
        Value::Int(16384..=16_777_215) => Ok(v),
        _ => Err("expected an integer from 16384 to 16777215".into()),
    }
}

pub fn check_proxy_protocol(v: Value) -> Result<Value, String> {
    let mode = match str_of(&v) {
        "false" | "off" | "0" | "none" => "off",
        "true" | "auto" | "1" => "auto",
        "v1" => "v1",
        "v2" => "v2",
        _ => return Err("expected one of: off, v1, v2, auto".into()),
    };
    Ok(Value::Str(mode.to_owned()))
}

/// `protocol`: gunicorn's two, `http` and `uwsgi` (gunicorn takes any
/// other word for `http`; rcorn names the mistake).
pub fn check_protocol(v: Value) -> Result<Value, String> {
    match str_of(&v).to_ascii_lowercase().as_str() {
        p @ ("http" | "uwsgi") => Ok(Value::Str(p.to_owned())),
        _ => Err("expected one of: http, uwsgi".into()),
    }
}

pub fn check_http2_cleartext(v: Value) -> Result<Value, String> {
    // A Python `True` arrives as "true" (see Kind::Mode) and means
    // prior-knowledge in gunicorn; `False` means off.
    let mode = match str_of(&v) {
        "true" => "prior-knowledge",
        "false" => "off",
        m @ ("off" | "prior-knowledge" | "upgrade" | "both") => m,
        _ => return Err("expected one of: off, prior-knowledge, upgrade, both".into()),
    };
    Ok(Value::Str(mode.to_owned()))
}

pub fn check_header_map(v: Value) -> Result<Value, String> {
    one_of(v, &["drop", "refuse", "dangerous"])
}

pub fn check_asgi_loop(v: Value) -> Result<Value, String> {
    one_of(v, &["auto", "asyncio", "uvloop"])
}

pub fn check_log_format(v: Value) -> Result<Value, String> {
    one_of(v, &["text", "json"])
}

pub fn check_asgi_lifespan(v: Value) -> Result<Value, String> {
    one_of(v, &["auto", "on", "off"])
}

/// `true` or `false` (a config file's `True`/`False` arrive so, see
/// Kind::Mode), as uvicorn's boolean options are written.
pub fn check_bool_word(v: Value) -> Result<Value, String> {
    let word = match str_of(&v) {
        "1" | "yes" | "on" | "true" => "true",
        "0" | "no" | "off" | "false" => "false",
        _ => return Err("expected true or false".into()),
    };
    Ok(Value::Str(word.to_owned()))
}

pub fn check_http_parser(v: Value) -> Result<Value, String> {
    one_of(v, &["auto", "fast", "python"])
}

pub fn check_http_protocols(v: Value) -> Result<Value, String> {
    const EXPECTED: &str = "expected a comma-separated list of h1, h2, h3 without repeats";
    let Value::List(items) = v else {
        return Err(EXPECTED.into());
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for p in items {
        let p = p.to_ascii_lowercase();
        if !matches!(p.as_str(), "h1" | "h2" | "h3") || out.contains(&p) {
            return Err(EXPECTED.into());
        }
        out.push(p);
    }
    if out.is_empty() {
        out.push("h1".into());
    }
    Ok(Value::List(out))
}

pub fn check_addr_list(v: Value) -> Result<Value, String> {
    if let Value::List(items) = &v {
        if items.iter().all(|a| a == "*" || is_ip_network(a)) {
            return Ok(v);
        }
    }
    Err("expected comma-separated IP addresses or CIDR networks (no host bits set), or *".into())
}

pub fn check_env_list(v: Value) -> Result<Value, String> {
    if let Value::List(items) = &v {
        if items.iter().any(|e| !e.contains('=')) {
            return Err("expected KEY=VALUE".into());
        }
    }
    Ok(v)
}

pub fn check_bind_list(v: Value) -> Result<Value, String> {
    if let Value::List(items) = &v {
        for a in items {
            if let Err(why) = parse_address(a) {
                return Err(format!(
                    "expected HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD ({why})"
                ));
            }
        }
    }
    Ok(v)
}

// ---------------------------------------------------------------- rendering

/// Python's `repr()` of a `str`.
pub fn py_repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `repr()` of a value nested in a list or dict.
pub fn py_repr(v: &Value, out: &mut String) {
    match v {
        Value::Str(s) => py_repr_str(s, out),
        Value::Callable(q) => {
            let _ = write!(out, "<function {q}>");
        }
        other => py_str(other, out),
    }
}

/// Python's `str()` of a value, as `--print-config` shows it.
pub fn py_str(v: &Value, out: &mut String) {
    match v {
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => py_float(*f, out),
        Value::Str(s) => out.push_str(s),
        Value::None => out.push_str("None"),
        Value::List(items) => {
            out.push('[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr_str(s, out);
            }
            out.push(']');
        }
        Value::Dict(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr_str(k, out);
                out.push_str(": ");
                py_repr(v, out);
            }
            out.push('}');
        }
        Value::Callable(q) => {
            // gunicorn prints callables as "<qualname()>".
            let _ = write!(out, "<{q}()>");
        }
        Value::Object(repr) => out.push_str(repr),
    }
}

fn py_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
    } else if f == f.trunc() && f.abs() < 1e16 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}
