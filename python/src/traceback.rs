//! Python exceptions into the error log, with their traceback: one place
//! for the WSGI calls, the server hooks and start-up alike.

use pyo3::intern;
use pyo3::prelude::*;

/// Logs `message` and the exception's traceback to the error log.
pub fn log_exception(py: Python<'_>, err: &PyErr, message: &str) {
    let formatted = py
        .import(intern!(py, "traceback"))
        // Type, value and traceback given apart: on Python 3.11 the value
        // pyo3 hands over need not carry `__traceback__`, and the frames
        // would be lost.
        .and_then(|tb| {
            tb.call_method1(
                intern!(py, "format_exception"),
                (err.get_type(py), err.value(py), err.traceback(py)),
            )
        })
        .and_then(|lines| {
            let mut text = String::new();
            for line in lines.try_iter()? {
                text.push_str(line?.extract::<&str>()?);
            }
            Ok(text)
        })
        .unwrap_or_else(|_| format!("{err}\n"));
    rcorn_io::log::exception(format_args!("{message}\n{}", formatted.trim_end()));
}
