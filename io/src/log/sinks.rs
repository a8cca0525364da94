//! Where log lines end up: the error log (a file, or stderr for `-`), the
//! access log (a file, or stdout for `-`), and syslog. Files are opened for
//! append and reopened on USR1 so log rotation works as with gunicorn.
//! The layers (`text_layer`, `json_layer`) and the lines handed back by a
//! forwarded logging write here; nothing here knows the line's format.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use super::syslog::{severity, Syslog};
use super::{Level, LogConfig};

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

    /// One `write` for the whole line, so lines from several processes
    /// appending to one file never interleave.
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

/// The open sinks, and a buffer a line is built in.
pub(super) struct Sinks {
    capture_output: bool,
    syslog: Option<Syslog>,
    error: Sink,
    access: Option<Sink>,
    /// The line being written, reused.
    pub(super) line: Vec<u8>,
    /// Its message alone, for syslog, reused.
    pub(super) message: Vec<u8>,
}

static SINKS: Mutex<Option<Sinks>> = Mutex::new(None);

/// Opens the sinks. Errors name the file at fault.
pub(super) fn open(cfg: &LogConfig<'_>) -> Result<(), String> {
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
    let sinks = Sinks {
        capture_output: cfg.capture_output,
        syslog,
        error,
        access,
        line: Vec::with_capacity(256),
        message: Vec::with_capacity(256),
    };
    *SINKS.lock().unwrap_or_else(|p| p.into_inner()) = Some(sinks);
    Ok(())
}

/// Runs `f` on the open sinks; `None` before they are opened.
pub(super) fn with<T>(f: impl FnOnce(&mut Sinks) -> T) -> Option<T> {
    SINKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .map(f)
}

impl Sinks {
    /// Writes `self.line` (newline included) to the error log, and
    /// `self.message` to syslog.
    pub(super) fn write_error(&mut self, level: Level) {
        self.error.write_line(&self.line);
        if let Some(syslog) = self.syslog.as_mut() {
            syslog.text.clear();
            syslog.text.extend_from_slice(&self.message);
            syslog.send(severity(level), false);
        }
    }

    /// Writes `file_line` (newline included) to the access log, and
    /// `message` (without one) to syslog unless access lines stay out of
    /// it.
    pub(super) fn write_access(&mut self, file_line: &[u8], message: &[u8]) {
        if let Some(sink) = self.access.as_mut() {
            sink.write_line(file_line);
        }
        if let Some(syslog) = self.syslog.as_mut() {
            syslog.text.clear();
            syslog.text.extend_from_slice(message);
            syslog.send(rcorn_core::syslog::Severity::Info, true);
        }
    }

    /// [`Sinks::write_access`] of `self.line` and `self.message`.
    pub(super) fn write_access_buffers(&mut self) {
        let Sinks {
            access,
            syslog,
            line,
            message,
            ..
        } = self;
        if let Some(sink) = access.as_mut() {
            sink.write_line(line);
        }
        if let Some(syslog) = syslog.as_mut() {
            syslog.text.clear();
            syslog.text.extend_from_slice(message);
            syslog.send(rcorn_core::syslog::Severity::Info, true);
        }
    }

    /// Whether access lines go anywhere.
    pub(super) fn takes_access(&self) -> bool {
        self.access.is_some() || self.syslog.as_ref().is_some_and(|s| s.access_tag.is_some())
    }
}

/// Text as it is to the error log (`wsgi.errors`).
pub(super) fn raw_error(text: &[u8]) {
    let mut guard = SINKS.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_mut() {
        Some(sinks) => sinks.error.write_line(text),
        None => {
            let _ = std::io::stderr().lock().write_all(text);
        }
    }
}

/// USR1: reopen the files so rotated ones are let go.
pub(super) fn reopen() {
    with(|sinks| {
        sinks.error.reopen();
        if sinks.capture_output {
            capture_output(&sinks.error);
        }
        if let Some(a) = sinks.access.as_mut() {
            a.reopen();
        }
    });
}
