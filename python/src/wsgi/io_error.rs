//! An exchange's failure as the exception the application sees: `OSError`,
//! or, when the failure was a Python exception raised while the request
//! waited, that exception itself. The gevent worker waits in Python (on
//! the hub), where a `gevent.Timeout` the application set, or the killing
//! of its greenlet, ends the wait: the application must see those, not an
//! `OSError` in their place.

use std::io;

use pyo3::exceptions::{PyIOError, PyOSError};
use pyo3::prelude::*;
use rcorn_io::exchange::ExchangeError;

pub fn from_exchange(e: &ExchangeError) -> PyErr {
    match e {
        ExchangeError::Io(e) => from_io(e),
        other => PyIOError::new_err(other.to_string()),
    }
}

pub fn from_io(e: &io::Error) -> PyErr {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<PyErr>()) {
        Some(raised) => Python::attach(|py| raised.clone_ref(py)),
        // With its errno, as a socket's error: OSError(errno, text) is
        // BrokenPipeError, ConnectionResetError … as in gunicorn.
        None => match e.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, e.to_string())),
            None => PyIOError::new_err(e.to_string()),
        },
    }
}
