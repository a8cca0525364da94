//! gunicorn-compatible error log and access log sinks.
//!
//! Lines are formatted by `rcorn_core::access_log` (pure); this module owns
//! the files: `-` means stderr (error log) or stdout (access log), anything
//! else is a path opened for append and reopened on USR1 so log rotation
//! works as with gunicorn.
//!
//! When the operator configures logging in the application's language
//! (gunicorn's `logconfig` settings), a [`Forwarder`] takes every line
//! instead; the sinks here are then reached only through it
//! ([`sink_error_line`], [`sink_access_line`]), as one handler among the
//! operator's.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, OnceLock};

pub use crate::log_level::Level;

enum Sink {
    Stderr,
    Stdout,
    File { path: String, file: File },
}

impl Sink {
    fn open(target: &str, dash: Sink) -> Result<Sink, String> {
        if target == "-" {
            return Ok(dash);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(target)
            .map_err(|e| format!("cannot open log file '{target}': {e}"))?;
        Ok(Sink::File {
            path: target.to_owned(),
            file,
        })
    }

    fn write_line(&mut self, line: &[u8]) {
        // A log write that fails must not take a request down with it.
        let _ = match self {
            Sink::Stderr => std::io::stderr().lock().write_all(line),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line).and_then(|_| out.flush())
            }
            Sink::File { file, .. } => file.write_all(line),
        };
    }

    fn reopen(&mut self) {
        if let Sink::File { path, file } = self {
            if let Ok(f) = OpenOptions::new().create(true).append(true).open(&*path) {
                *file = f;
            }
        }
    }
}

/// `--capture-output`: points stdout and stderr at the error log file, so
/// what the application prints lands there (gunicorn does the same, and
/// again after each reopen). Nothing to do when the error log is stderr.
fn capture_output(sink: &Sink) {
    if let Sink::File { file, .. } = sink {
        let _ = std::io::stdout().lock().flush();
        // SAFETY: dup2 onto the standard descriptors, from a file we own.
        unsafe {
            libc::dup2(file.as_raw_fd(), libc::STDOUT_FILENO);
            libc::dup2(file.as_raw_fd(), libc::STDERR_FILENO);
        }
    }
}

/// `--log-syslog`: the same lines, also sent to syslog.
pub struct SyslogConfig {
    pub address: rcorn_core::syslog::SyslogAddress,
    pub facility: u8,
    /// `--log-syslog-prefix`, else the process name.
    pub prefix: String,
    /// Access lines go to syslog too (unless
    /// `--disable-redirect-access-to-syslog`).
    pub access: bool,
}

enum SyslogSocket {
    Udp(std::net::UdpSocket),
    Tcp(std::net::TcpStream),
    UnixDgram(std::os::unix::net::UnixDatagram),
    UnixStream(std::os::unix::net::UnixStream),
}

struct Syslog {
    socket: SyslogSocket,
    facility: u8,
    error_tag: String,
    /// `None` when access lines stay out of syslog.
    access_tag: Option<String>,
    text: Vec<u8>,
    packet: Vec<u8>,
}

impl Syslog {
    fn connect(cfg: &SyslogConfig) -> std::io::Result<Syslog> {
        use rcorn_core::syslog::SyslogAddress;
        use std::net::ToSocketAddrs;
        let resolve = |host: &str, port: u16| {
            (host, port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
        };
        let socket = match &cfg.address {
            SyslogAddress::Udp { host, port } => {
                let target = resolve(host, *port)?;
                let local = if target.is_ipv6() {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = std::net::UdpSocket::bind(local)?;
                s.connect(target)?;
                SyslogSocket::Udp(s)
            }
            SyslogAddress::Tcp { host, port } => {
                SyslogSocket::Tcp(std::net::TcpStream::connect(resolve(host, *port)?)?)
            }
            SyslogAddress::Unix { path, stream } => {
                let dgram = || -> std::io::Result<SyslogSocket> {
                    let s = std::os::unix::net::UnixDatagram::unbound()?;
                    s.connect(path)?;
                    Ok(SyslogSocket::UnixDgram(s))
                };
                let stream_socket =
                    || std::os::unix::net::UnixStream::connect(path).map(SyslogSocket::UnixStream);
                match stream {
                    Some(false) => dgram()?,
                    Some(true) => stream_socket()?,
                    None => dgram().or_else(|_| stream_socket())?,
                }
            }
        };
        Ok(Syslog {
            socket,
            facility: cfg.facility,
            error_tag: rcorn_core::syslog::tag(&cfg.prefix, "error"),
            access_tag: cfg
                .access
                .then(|| rcorn_core::syslog::tag(&cfg.prefix, "access")),
            text: Vec::with_capacity(256),
            packet: Vec::with_capacity(256),
        })
    }

    fn send(&mut self, severity: rcorn_core::syslog::Severity, access: bool) {
        let tag = if access {
            match &self.access_tag {
                Some(t) => t,
                None => return,
            }
        } else {
            &self.error_tag
        };
        rcorn_core::syslog::message(
            self.facility,
            severity,
            tag,
            std::process::id(),
            &self.text,
            &mut self.packet,
        );
        // Like any log write, a failed one must not take a request down.
        let _ = match &mut self.socket {
            SyslogSocket::Udp(s) => s.send(&self.packet).map(drop),
            SyslogSocket::UnixDgram(s) => s.send(&self.packet).map(drop),
            SyslogSocket::Tcp(s) => s.write_all(&self.packet),
            SyslogSocket::UnixStream(s) => s.write_all(&self.packet),
        };
    }
}

fn severity(level: Level) -> rcorn_core::syslog::Severity {
    use rcorn_core::syslog::Severity;
    match level {
        Level::Debug => Severity::Debug,
        Level::Info => Severity::Info,
        Level::Warning => Severity::Warning,
        Level::Error => Severity::Error,
        Level::Critical => Severity::Critical,
    }
}

struct Logger {
    level: Level,
    capture_output: bool,
    syslog: Option<Syslog>,
    error: Sink,
    access: Option<Sink>,
    line: Vec<u8>,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// Where error and access lines go instead of the sinks, once installed:
/// the python crate sends them to the `gunicorn.error` and
/// `gunicorn.access` loggers, whose configuration decides their format
/// and destination. io knows nothing of Python; without a forwarder
/// (the default) nothing here costs more than one atomic load.
#[derive(Clone, Copy)]
pub struct Forwarder {
    /// One error-log message (no date, pid or level prefix, no newline).
    /// The forwarder filters by level itself.
    pub error: fn(Level, &str),
    /// One rendered access line, without its newline.
    pub access: fn(&[u8]),
    /// USR1: reopen whatever files the forwarded logging writes.
    pub reopen: fn(),
}

static FORWARDER: OnceLock<Forwarder> = OnceLock::new();

/// Sends every later error and access line through `forwarder`. Only the
/// first call has an effect. Installed in the master before any fork, so
/// every worker inherits it.
pub fn set_forwarder(forwarder: Forwarder) {
    let _ = FORWARDER.set(forwarder);
}

/// Whether lines go through a [`Forwarder`].
pub fn forwarded() -> bool {
    FORWARDER.get().is_some()
}

/// Where logs go, from the `loglevel`, `errorlog` and `accesslog` settings.
pub struct LogConfig<'a> {
    pub level: Level,
    pub errorlog: &'a str,
    pub accesslog: Option<&'a str>,
    /// `capture_output`: the process's stdout and stderr go to the error
    /// log file.
    pub capture_output: bool,
    pub syslog: Option<SyslogConfig>,
}

/// Opens the sinks. Errors name the file at fault.
pub fn init(cfg: &LogConfig<'_>) -> Result<(), String> {
    let error = Sink::open(cfg.errorlog, Sink::Stderr)?;
    let access = cfg
        .accesslog
        .map(|t| Sink::open(t, Sink::Stdout))
        .transpose()?;
    if cfg.capture_output {
        capture_output(&error);
    }
    let syslog = cfg
        .syslog
        .as_ref()
        .map(|s| {
            Syslog::connect(s)
                .map_err(|e| format!("log_syslog_to: cannot reach {:?}: {e}", s.address))
        })
        .transpose()?;
    let logger = Logger {
        level: cfg.level,
        capture_output: cfg.capture_output,
        syslog,
        error,
        access,
        line: Vec::with_capacity(256),
    };
    *LOGGER.lock().unwrap_or_else(|p| p.into_inner()) = Some(logger);
    Ok(())
}

pub fn enabled(level: Level) -> bool {
    if forwarded() {
        // The forwarded logging's own levels decide.
        return true;
    }
    match LOGGER.lock() {
        Ok(guard) => guard
            .as_ref()
            .map_or(level >= Level::Info, |l| level >= l.level),
        Err(_) => true,
    }
}

/// Writes one error-log line: `[date] [pid] [LEVEL] message`.
pub fn log(level: Level, message: fmt::Arguments<'_>) {
    // Counted whatever the log level lets through, as gunicorn does.
    crate::statsd::log_line(level);
    dispatch(level, message);
}

/// Logs an exception (message and traceback) at error level; statsd
/// counts it as `gunicorn.log.exception`, not as an error.
pub fn exception(message: fmt::Arguments<'_>) {
    crate::statsd::exception();
    dispatch(Level::Error, message);
}

/// To the forwarder when there is one, else to the sinks if `level` is
/// at or above `loglevel`.
fn dispatch(level: Level, message: fmt::Arguments<'_>) {
    match FORWARDER.get() {
        // Called with no lock of ours held: the forwarder may take the
        // application runtime's lock and come back through the sinks.
        Some(f) => (f.error)(level, &message.to_string()),
        None => write_line(level, message, true),
    }
}

/// Writes one error-log line to rcorn's own sinks (the error log file or
/// stderr, and syslog), whatever `loglevel` says: the forwarded logging
/// calls this for lines its own levels let through.
pub fn sink_error_line(level: Level, message: &str) {
    write_line(level, format_args!("{message}"), false);
}

fn write_line(level: Level, message: fmt::Arguments<'_>, filter: bool) {
    let mut guard = LOGGER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(logger) = guard.as_mut() else {
        // Before init (argument errors): plain stderr, still one line.
        eprintln!("[{}] {}", level.name(), message);
        return;
    };
    if filter && level < logger.level {
        return;
    }
    logger.line.clear();
    let now = crate::clock::unix_secs() as i64;
    rcorn_core::access_log::error_log_prefix(
        now,
        crate::clock::utc_offset_secs(now),
        std::process::id(),
        level.name(),
        &mut logger.line,
    );
    let _ = writeln!(logger.line, "{message}");
    let Logger {
        error,
        line,
        syslog,
        ..
    } = logger;
    error.write_line(line);
    if let Some(syslog) = syslog {
        syslog.text.clear();
        let _ = write!(syslog.text, "{message}");
        syslog.send(severity(level), false);
    }
}

/// Writes text as it is to the error log (`wsgi.errors`).
pub fn raw_error(text: &[u8]) {
    let mut guard = LOGGER.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_mut() {
        Some(logger) => logger.error.write_line(text),
        None => {
            let _ = std::io::stderr().lock().write_all(text);
        }
    }
}

pub fn access_enabled() -> bool {
    if forwarded() {
        return true;
    }
    LOGGER
        .lock()
        .map(|g| {
            g.as_ref().is_some_and(|l| {
                l.access.is_some() || l.syslog.as_ref().is_some_and(|s| s.access_tag.is_some())
            })
        })
        .unwrap_or(false)
}

/// Writes one rendered access-log line (the caller formats it).
pub fn access(line: &[u8]) {
    match FORWARDER.get() {
        Some(f) => (f.access)(line.strip_suffix(b"\n").unwrap_or(line)),
        None => sink_access_line(line),
    }
}

/// Writes one access line to rcorn's own sinks (`--access-logfile`, and
/// syslog unless `--disable-redirect-access-to-syslog`); a missing newline
/// is added.
pub fn sink_access_line(line: &[u8]) {
    let with_newline;
    let line = if line.ends_with(b"\n") {
        line
    } else {
        with_newline = [line, b"\n"].concat();
        &with_newline
    };
    let mut guard = LOGGER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(logger) = guard.as_mut() else {
        return;
    };
    if let Some(sink) = logger.access.as_mut() {
        sink.write_line(line);
    }
    if let Some(syslog) = logger.syslog.as_mut() {
        syslog.text.clear();
        syslog
            .text
            .extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        syslog.send(rcorn_core::syslog::Severity::Info, true);
    }
}

/// USR1: reopen log files so rotated files are let go.
pub fn reopen() {
    {
        let mut guard = LOGGER.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(logger) = guard.as_mut() {
            logger.error.reopen();
            if logger.capture_output {
                capture_output(&logger.error);
            }
            if let Some(a) = logger.access.as_mut() {
                a.reopen();
            }
        }
    }
    if let Some(f) = FORWARDER.get() {
        (f.reopen)();
    }
}

#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($t)*)) } }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($t)*)) } }
#[macro_export]
macro_rules! warning { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, format_args!($($t)*)) } }
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($t)*)) } }
#[macro_export]
macro_rules! critical { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Critical, format_args!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn level_numbers_are_pythons_and_round_trip() {
        let all = [
            Level::Debug,
            Level::Info,
            Level::Warning,
            Level::Error,
            Level::Critical,
        ];
        let numbers: Vec<i64> = all.iter().map(|l| l.number()).collect();
        assert_eq!(numbers, [10, 20, 30, 40, 50]);
        for level in all {
            assert_eq!(Level::from_number(level.number()), level);
        }
    }

    #[test]
    fn custom_levels_count_as_the_named_level_below() {
        assert_eq!(Level::from_number(25), Level::Info);
        assert_eq!(Level::from_number(5), Level::Debug);
        assert_eq!(Level::from_number(0), Level::Debug);
        assert_eq!(Level::from_number(-3), Level::Debug);
        assert_eq!(Level::from_number(49), Level::Error);
        assert_eq!(Level::from_number(1000), Level::Critical);
    }
}
