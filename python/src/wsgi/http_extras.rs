//! The environ's callables beyond PEP 3333 that gunicorn 25+ gives WSGI
//! applications: `wsgi.early_hints(headers)` sends a `103 Early Hints`
//! (every protocol; HTTP/1.0 clients get nothing), and
//! `gunicorn.http2.send_trailers(headers)` sets the trailer fields that
//! end an HTTP/2 response (offered over HTTP/2 only).
//!
//! Rules they keep, as gunicorn's do:
//! 1. **Too late is a no-op, a bad field is an error.** Hints once the
//!    response has started, or from a request that is over, are dropped;
//!    a field HTTP cannot carry (CR/LF, a bad name) raises `ValueError`
//!    and nothing is sent.
//! 2. **Names and values are `str` (Latin-1) or `bytes`.**
//! 3. **Trailers set twice replace**; they leave with the end of the
//!    response (see `H2Exchange`'s rule 5).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use rcorn_io::exchange::ExchangeError;

use crate::wsgi::exchange_ref::ExchangeRef;
use crate::wsgi::latin1;

/// `wsgi.early_hints`.
#[pyclass(module = "rcorn")]
pub struct EarlyHints {
    exchange: ExchangeRef,
}

impl EarlyHints {
    pub fn new(exchange: ExchangeRef) -> EarlyHints {
        EarlyHints { exchange }
    }
}

#[pymethods]
impl EarlyHints {
    fn __call__(&self, headers: Bound<'_, PyAny>) -> PyResult<()> {
        // Converted before the exchange is borrowed: a header iterable's
        // own Python code must not run while it is.
        let fields = field_pairs(&headers)?;
        let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        self.exchange
            .with(|ex| ex.informational(103, &refs).map(drop).map_err(to_py))
            .unwrap_or(Ok(()))
    }
}

/// `gunicorn.http2.send_trailers`.
#[pyclass(module = "rcorn")]
pub struct SendTrailers {
    exchange: ExchangeRef,
}

impl SendTrailers {
    pub fn new(exchange: ExchangeRef) -> SendTrailers {
        SendTrailers { exchange }
    }
}

#[pymethods]
impl SendTrailers {
    fn __call__(&self, trailers: Bound<'_, PyAny>) -> PyResult<()> {
        let fields = field_pairs(&trailers)?;
        self.exchange
            .with(|ex| ex.set_trailers(fields).map_err(to_py))
            .unwrap_or(Ok(()))
    }
}

fn to_py(e: ExchangeError) -> PyErr {
    match e {
        ExchangeError::Io(_) => crate::wsgi::io_error::from_exchange(&e),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// `(name, value)` pairs of `str` or `bytes`, as bytes.
fn field_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    latin1::header_pairs(headers, field_bytes)
}

fn field_bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    match obj.cast::<PyBytes>() {
        Ok(b) => Ok(b.as_bytes().to_vec()),
        Err(_) => Ok(latin1::header_bytes(obj, what)?.as_bytes().to_vec()),
    }
}
