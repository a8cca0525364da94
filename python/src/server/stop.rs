//! Why start-up, the master or a worker stops short of serving on: each
//! reason maps, here and only here, to gunicorn's exit code and to the line
//! that says why.

use std::io;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::traceback::log_exception;

/// gunicorn's exit codes for a worker that could not start.
const WORKER_BOOT_ERROR: i32 = 3;
const APP_LOAD_ERROR: i32 = 4;

pub enum Stop {
    /// The command line or the config file ended the run; the parser has
    /// said why (or printed the help or the version).
    Cli(i32),
    /// The configuration cannot be used, found while the logs are set up
    /// or before (daemonizing, log files, the logging configuration,
    /// `access_log_format`, a bind address that does not parse): `Error:`
    /// on stderr, as gunicorn reports its configuration errors, exit 1.
    Config(String),
    /// No `MODULE:APP`: the usage on stderr, exit 2.
    NoApplication,
    /// The master could not do what the settings ask (raw_env, the Python
    /// path, the pidfile, TLS files, user and group, sockets): error log,
    /// exit 1.
    Startup(String),
    /// Python raised while the master started: traceback, exit 1.
    StartupRaised { context: &'static str, err: PyErr },
    /// The application's module or attribute does not exist: error log,
    /// exit 4.
    AppNotFound { spec: String, err: PyErr },
    /// Importing the application raised: traceback, exit 3.
    AppRaised { spec: String, err: PyErr },
    /// `--check-config` failed for this reason: its line, exit 1.
    CheckFailed(Box<Stop>),
    /// The master's loop failed: critical, exit 1.
    MasterFailed(io::Error),
    /// The worker could not boot: error log, exit 3.
    WorkerBoot(String),
    /// Python raised while the worker booted: traceback, exit 3.
    WorkerRaised { context: &'static str, err: PyErr },
    /// The worker's loop failed: logged as an exception, exit 1.
    WorkerFailed(io::Error),
}

impl Stop {
    /// Says why, once, and gives the exit code.
    pub fn report(self, py: Python<'_>) -> i32 {
        match self {
            Stop::Cli(code) => code,
            Stop::Config(message) => {
                eprintln!("Error: {message}");
                1
            }
            Stop::NoApplication => {
                eprintln!(
                    "Error: No application module specified.\nUsage: rcorn [OPTIONS] MODULE:APP"
                );
                2
            }
            Stop::Startup(message) => {
                rcorn_io::error!("{message}");
                1
            }
            Stop::StartupRaised { context, err } => {
                log_exception(py, &err, context);
                1
            }
            Stop::AppNotFound { spec, err } => {
                rcorn_io::error!("Failed to load application '{spec}': {}", err.value(py));
                APP_LOAD_ERROR
            }
            Stop::AppRaised { spec, err } => {
                let message = format!(
                    "Failed to load application '{spec}': {}",
                    one_line(py, &err)
                );
                log_exception(py, &err, &message);
                WORKER_BOOT_ERROR
            }
            Stop::CheckFailed(why) => {
                why.report(py);
                1
            }
            Stop::MasterFailed(e) => {
                rcorn_io::critical!("master failed: {e}");
                1
            }
            Stop::WorkerBoot(message) => {
                rcorn_io::error!("{message}");
                WORKER_BOOT_ERROR
            }
            Stop::WorkerRaised { context, err } => {
                log_exception(py, &err, context);
                WORKER_BOOT_ERROR
            }
            Stop::WorkerFailed(e) => {
                let err = PyException::new_err(e.to_string());
                log_exception(py, &err, "Exception in worker process");
                1
            }
        }
    }
}

/// `TypeName: message`, the last line of the exception's traceback.
fn one_line(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    format!("{name}: {}", e.value(py))
}
