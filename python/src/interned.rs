//! Python strings that every request needs, made once per interpreter
//! rather than once per request (WSGI's environ and ASGI's scope share them).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The request method as a Python string: the common ones interned.
pub(crate) fn method<'py>(py: Python<'py>, method: &str) -> Bound<'py, PyString> {
    match method {
        "GET" => intern!(py, "GET").clone(),
        "POST" => intern!(py, "POST").clone(),
        "HEAD" => intern!(py, "HEAD").clone(),
        "PUT" => intern!(py, "PUT").clone(),
        "DELETE" => intern!(py, "DELETE").clone(),
        other => PyString::new(py, other),
    }
}
