//! `start_response` and the `write` callable it returns (PEP 3333).
//!
//! The status and headers are validated and encoded into the connection's
//! output buffer at once, so errors surface in the application's own call,
//! but nothing reaches the socket until the first body byte (or the end of
//! the response): a later `start_response(..., exc_info)` may still replace
//! them.

use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::wsgi::exchange_ref::ExchangeRef;
use crate::wsgi::latin1;

#[pyclass(module = "rcorn")]
pub struct StartResponse {
    exchange: ExchangeRef,
    called: bool,
    /// The status and headers objects of the accepted call, for the
    /// `post_request` hook's `resp`.
    given: Option<(Py<PyAny>, Py<PyAny>)>,
}

impl StartResponse {
    pub fn new(exchange: ExchangeRef) -> StartResponse {
        StartResponse {
            exchange,
            called: false,
            given: None,
        }
    }

    pub fn given(&self, py: Python<'_>) -> Option<(Py<PyAny>, Py<PyAny>)> {
        self.given
            .as_ref()
            .map(|(s, h)| (s.clone_ref(py), h.clone_ref(py)))
    }
}

/// Splits a WSGI status string ("200 OK") into code and reason.
pub fn parse_status(status: &str) -> PyResult<(u16, &str)> {
    let bytes = status.as_bytes();
    let code_ok = bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit);
    let sep_ok = bytes.len() == 3 || bytes.get(3) == Some(&b' ');
    if !code_ok || !sep_ok {
        return Err(PyValueError::new_err(format!(
            "invalid status {status:?}: expected three digits, a space and a reason phrase, e.g. '200 OK'"
        )));
    }
    let code =
        (bytes[0] - b'0') as u16 * 100 + (bytes[1] - b'0') as u16 * 10 + (bytes[2] - b'0') as u16;
    if code < 100 {
        return Err(PyValueError::new_err(format!(
            "invalid status code {code} in {status:?}"
        )));
    }
    Ok((code, status.get(4..).unwrap_or("")))
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn __call__<'py>(
        mut slf: PyRefMut<'py, Self>,
        status: Bound<'py, PyAny>,
        headers: Bound<'py, PyAny>,
        exc_info: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let exc_info = exc_info.filter(|e| !e.is_none());
        let given_status = status.clone().unbind();
        if let Some(exc_info) = &exc_info {
            let body_sent = slf.exchange.with(|ex| ex.head_ended()).unwrap_or(true);
            if body_sent {
                // PEP 3333: too late to change the response; re-raise.
                let exc = exc_info.cast::<PyTuple>()?.get_item(1)?;
                return Err(PyErr::from_value(exc));
            }
            slf.exchange.with(|ex| ex.reset_response());
        } else if slf.called {
            return Err(PyAssertionError::new_err("Response headers already set!"));
        }
        let status = status.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "status must be a str, not {}",
                status
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let status = status.to_str()?;
        let (code, reason) = parse_status(status)?;
        let pairs = latin1::header_pairs(&headers, latin1::header_bytes)?;
        let exchange = slf.exchange.clone();
        let result: Option<PyResult<()>> = exchange.with(|ex| {
            ex.start_response(code, reason.as_bytes())
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            for (name, value) in &pairs {
                ex.header(name.as_bytes(), value.as_bytes())
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
            }
            Ok(())
        });
        match result {
            None => {
                return Err(PyAssertionError::new_err(
                    "start_response() called after the response was finished, or from a thread other than the request's",
                ))
            }
            Some(Err(e)) => {
                exchange.with(|ex| ex.reset_response());
                return Err(e);
            }
            Some(Ok(())) => {}
        }
        slf.called = true;
        slf.given = Some((given_status, headers.unbind()));
        drop(slf);
        Ok(Writer { exchange }.into_pyobject(py)?.into_any())
    }
}

/// The `write(data)` callable returned by `start_response`.
#[pyclass(module = "rcorn")]
pub struct Writer {
    exchange: ExchangeRef,
}

#[pymethods]
impl Writer {
    fn __call__(&self, data: Bound<'_, PyAny>) -> PyResult<()> {
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "write() argument must be bytes, not {}",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        body_in_blocks(&self.exchange);
        write_chunk(&self.exchange, data.as_bytes(), None)?;
        flush_block(&self.exchange)
    }
}

/// The body comes from application code still running (see
/// `Exchange::body_in_blocks`).
pub fn body_in_blocks(exchange: &ExchangeRef) {
    exchange.with(|ex| ex.body_in_blocks());
}

/// Sends what the response has so far, as PEP 3333 asks of a yielded block
/// or a `write()`, unless the body is already complete (see
/// `Exchange::flush_block`).
pub fn flush_block(exchange: &ExchangeRef) -> PyResult<()> {
    exchange
        .with(|ex| {
            ex.flush_block()
                .map_err(|e| crate::wsgi::io_error::from_exchange(&e))
        })
        .unwrap_or(Ok(()))
}

/// Sends the head if it is still pending, then `chunk`.
pub fn write_chunk(
    exchange: &ExchangeRef,
    chunk: &[u8],
    body_len_hint: Option<u64>,
) -> PyResult<()> {
    let result = exchange.with(|ex| {
        if !ex.response_started() {
            return Err(PyAssertionError::new_err("write() before start_response()"));
        }
        if !ex.head_ended() {
            ex.end_head(body_len_hint)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        if chunk.is_empty() {
            return Ok(());
        }
        ex.write_body(chunk)
            .map_err(|e| crate::wsgi::io_error::from_exchange(&e))
    });
    result.unwrap_or_else(|| {
        Err(PyAssertionError::new_err(
            "write() after the response was finished, or from a thread other than the request's",
        ))
    })
}
