//! gunicorn's `logconfig`, `logconfig_dict` and `logconfig_json`: Python's
//! `logging`, configured by the operator, takes rcorn's error lines (logger
//! `gunicorn.error`) and access lines (`gunicorn.access`).
//!
//! The configuration is applied by `rcorn._logconfig` in the master, before
//! any fork; then a forwarder is installed in rcorn-io's log, so every
//! process and thread that logs — master, workers, gthread application
//! threads — reaches the same loggers, taking the GIL for each line. Without
//! one of these settings nothing is installed and the log stays pure Rust.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rcorn_core::config::{LoggingConfig, Settings};
use rcorn_io::log::{Forwarder, Level};

/// The Python callables each forwarded line goes to.
struct PythonLoggers {
    /// `logging.getLogger("gunicorn.error").log`
    error: Py<PyAny>,
    /// `logging.getLogger("gunicorn.access").info`
    access: Py<PyAny>,
    /// `rcorn._logconfig.reopen_files`
    reopen: Py<PyAny>,
}

static LOGGERS: OnceLock<PythonLoggers> = OnceLock::new();

/// What the configuration needs beyond the settings.
pub struct LoggingInputs<'a> {
    /// The config file's `logconfig_dict`, as the Python object it is.
    pub dict: Option<&'a Py<PyAny>>,
    /// Whether rcorn has an access-log destination of its own
    /// (`--access-logfile`, or syslog taking access lines).
    pub own_access: bool,
}

/// Applies the operator's logging configuration, if one is set, and sends
/// every later line through it. The error is one line naming the setting
/// and its file or value.
pub fn configure(
    py: Python<'_>,
    settings: &Settings,
    inputs: LoggingInputs<'_>,
) -> Result<(), String> {
    let Some(choice) = settings.logging_config() else {
        return Ok(());
    };
    let setting = choice.config.setting();
    for shadowed in &choice.shadowed {
        rcorn_io::warning!("{shadowed} is ignored: {setting} takes precedence, as in gunicorn");
    }
    let (kind, source) = match choice.config {
        LoggingConfig::Dict => (
            "dict",
            match inputs.dict {
                Some(d) => d.bind(py).clone(),
                None => PyDict::new(py).into_any(),
            },
        ),
        LoggingConfig::Json(path) => ("json", PyString::new(py, path).into_any()),
        LoggingConfig::File(path) => ("file", PyString::new(py, path).into_any()),
    };
    let module = py
        .import("rcorn._logconfig")
        .map_err(|e| format!("{setting}: cannot load rcorn._logconfig: {e}"))?;
    let loggers = module
        .call_method1(
            "setup",
            (settings.loglevel(), inputs.own_access, kind, source),
        )
        .and_then(|pair| pair.extract::<(Py<PyAny>, Py<PyAny>)>())
        .map_err(|e| failure(py, &module, setting, &e))?;
    let reopen = module
        .getattr("reopen_files")
        .map_err(|e| format!("{setting}: {e}"))?
        .unbind();
    let _ = LOGGERS.set(PythonLoggers {
        error: loggers.0,
        access: loggers.1,
        reopen,
    });
    rcorn_io::log::set_forwarder(Forwarder {
        error: forward_error,
        access: forward_access,
        reopen: reopen_files,
    });
    Ok(())
}

/// `LogConfigError` carries its own one-line message; anything else is
/// named with its type, on one line.
fn failure(py: Python<'_>, module: &Bound<'_, PyModule>, setting: &str, e: &PyErr) -> String {
    let expected = module
        .getattr("LogConfigError")
        .map(|cls| e.get_type(py).is(&cls))
        .unwrap_or(false);
    let text = if expected {
        e.value(py).to_string()
    } else {
        let name = e
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        format!("{setting}: {name}: {}", e.value(py))
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error line to `gunicorn.error`. Should Python be unable to take it
/// (shutting down, or the call raised), it goes to rcorn's own error log
/// rather than nowhere.
fn forward_error(level: Level, message: &str) {
    let sent = Python::try_attach(|py| {
        LOGGERS
            .get()
            .is_some_and(|l| l.error.call1(py, (level.number(), message)).is_ok())
    });
    if sent != Some(true) {
        rcorn_io::log::sink_error_line(level, message);
    }
}

/// An access line to `gunicorn.access`, at INFO. The line is the whole
/// message: `logging` applies no `%` formatting to a message without
/// arguments.
fn forward_access(line: &[u8]) {
    let sent = Python::try_attach(|py| {
        LOGGERS.get().is_some_and(|l| {
            let text = String::from_utf8_lossy(line);
            l.access.call1(py, (text.as_ref(),)).is_ok()
        })
    });
    if sent != Some(true) {
        rcorn_io::log::sink_access_line(line);
    }
}

/// USR1: the file handlers of the operator's configuration reopen their
/// files, after rcorn's own (done by rcorn-io).
fn reopen_files() {
    Python::try_attach(|py| {
        if let Some(l) = LOGGERS.get() {
            if let Err(e) = l.reopen.call0(py) {
                rcorn_io::log::sink_error_line(
                    Level::Error,
                    &format!("USR1: cannot reopen the log files of the logging configuration: {e}"),
                );
            }
        }
    });
}

/// For `RcornSinkHandler`: one record's text to rcorn's own error log.
#[pyfunction(name = "_sink_error_line")]
pub fn sink_error_line(levelno: i64, text: &str) {
    rcorn_io::log::sink_error_line(Level::from_number(levelno), text);
}

/// For `RcornSinkHandler`: one access line to rcorn's own access log.
#[pyfunction(name = "_sink_access_line")]
pub fn sink_access_line(text: &str) {
    rcorn_io::log::sink_access_line(text.as_bytes());
}
