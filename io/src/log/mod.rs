//! gunicorn-compatible error log and access log, through `tracing`.
//!
//! Every error-log message and every access line is a `tracing` event
//! (`events`: targets `gunicorn.error` and `gunicorn.access`). One
//! subscriber (`subscriber`), installed when the logs are opened (in the
//! master, before any fork, so every worker inherits it), passes what
//! `gate` lets through (`loglevel` for the error log, the access log
//! always; an event it turns away costs one comparison) to one layer:
//! - `forward`: when the operator configures logging in the application's
//!   language (gunicorn's `logconfig` settings), a [`Forwarder`] takes
//!   every event; the other layers are then reached only through it
//!   ([`sink_error_line`], [`sink_access_line`]), as one handler among
//!   the operator's, in gunicorn's text format;
//! - `text_layer`: gunicorn's text format, byte for byte (the default);
//! - `json_layer`: `--log-format json`, one JSON object per line.
//!
//! Lines are formatted with core's pure pieces (`rcorn_core::access_log`);
//! `sinks` owns the files: `-` means stderr (error log) or stdout (access
//! log), anything else is a path opened for append and reopened on USR1
//! so log rotation works as with gunicorn; `syslog` sends the same
//! messages to a syslog daemon.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};

use rcorn_core::access_log::AccessRecord;

mod events;
mod forward;
mod gate;
mod json_layer;
mod sinks;
mod subscriber;
mod syslog;
mod text_layer;

pub use crate::log_level::Level;
pub use syslog::SyslogConfig;

/// How rcorn's own sinks write lines (`--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// gunicorn's lines.
    Text,
    /// One JSON object per line.
    Json,
}

static JSON: AtomicBool = AtomicBool::new(false);

fn format() -> LogFormat {
    if JSON.load(Ordering::Relaxed) {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

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
    // Every level now reaches the forwarder, which filters by its own.
    gate::changed();
}

/// Whether lines go through a [`Forwarder`].
pub fn forwarded() -> bool {
    FORWARDER.get().is_some()
}

/// Where logs go, from the `loglevel`, `errorlog`, `accesslog` and
/// `log_format` settings.
pub struct LogConfig<'a> {
    pub level: Level,
    pub errorlog: &'a str,
    pub accesslog: Option<&'a str>,
    /// `capture_output`: the process's stdout and stderr go to the error
    /// log file.
    pub capture_output: bool,
    pub syslog: Option<SyslogConfig>,
    pub format: LogFormat,
}

/// Opens the sinks and, the first time, installs the subscriber. Errors
/// name the file at fault.
pub fn init(cfg: &LogConfig<'_>) -> Result<(), String> {
    sinks::open(cfg)?;
    JSON.store(cfg.format == LogFormat::Json, Ordering::Relaxed);
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let subscriber = subscriber::LogSubscriber::new();
        // Fails only if the program installed one of its own, whose
        // choice then stands.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    gate::set_level(cfg.level);
    Ok(())
}

pub fn enabled(level: Level) -> bool {
    // With a forwarder, the forwarded logging's own levels decide.
    forwarded() || level >= gate::level()
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

fn dispatch(level: Level, message: fmt::Arguments<'_>) {
    if tracing::dispatcher::has_been_set() {
        events::error(level, message);
    } else if level >= gate::level() {
        // Before the logs are opened (argument errors): plain stderr,
        // still one line.
        eprintln!("[{}] {}", level.name(), message);
    }
}

/// Writes one error-log line to rcorn's own sinks (the error log file or
/// stderr, and syslog) in gunicorn's text format, whatever `loglevel`
/// says: the forwarded logging calls this for lines its own levels let
/// through.
pub fn sink_error_line(level: Level, message: &str) {
    let written = sinks::with(|sinks| {
        sinks.message.clear();
        sinks.message.extend_from_slice(message.as_bytes());
        text_layer::write_error(sinks, level);
    });
    if written.is_none() {
        eprintln!("[{}] {}", level.name(), message);
    }
}

/// Writes text as it is to the error log (`wsgi.errors`).
pub fn raw_error(text: &[u8]) {
    sinks::raw_error(text);
}

pub fn access_enabled() -> bool {
    forwarded() || sinks::with(|sinks| sinks.takes_access()).unwrap_or(false)
}

/// Logs one rendered access-log line (the caller formats it, newline
/// included) of a request described by `record`.
pub fn access_record<R: AccessRecord + ?Sized>(record: &R, line: &[u8]) {
    events::access(record, line);
}

/// Logs one rendered access-log line with nothing else known of its
/// request.
pub fn access(line: &[u8]) {
    events::access_line(line);
}

/// Writes one access line to rcorn's own sinks (`--access-logfile`, and
/// syslog unless `--disable-redirect-access-to-syslog`) as it is; a
/// missing newline is added.
pub fn sink_access_line(line: &[u8]) {
    sinks::with(|sinks| text_layer::write_access(sinks, line));
}

/// USR1: reopen log files so rotated files are let go.
pub fn reopen() {
    sinks::reopen();
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
