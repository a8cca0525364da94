//! PEP 3333's "native strings": text that holds bytes as Latin-1 code
//! points. Request data goes to Python decoded as Latin-1, response headers
//! come back encoded as Latin-1.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

/// Bytes as a Python str of the same code points.
pub fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Ok(PyString::new(py, unsafe {
            std::str::from_utf8_unchecked(bytes)
        }));
    }
    // SAFETY: PyUnicode_DecodeLatin1 reads `len` bytes from a valid buffer
    // and returns a new reference or NULL with an exception set.
    unsafe {
        let ptr = ffi::PyUnicode_DecodeLatin1(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            std::ptr::null(),
        );
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// A response header name or value: must be a str of Latin-1 code points.
pub fn header_bytes<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    let text = obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a str, not {}: {obj:?}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    // SAFETY: PyUnicode_AsLatin1String returns a new bytes reference or NULL
    // with an exception set.
    unsafe {
        let ptr = ffi::PyUnicode_AsLatin1String(text.as_ptr());
        match Bound::from_owned_ptr_or_err(obj.py(), ptr) {
            Ok(b) => Ok(b.cast_into_unchecked()),
            Err(_) => Err(PyValueError::new_err(format!(
                "{what} {obj} is not Latin-1 text"
            ))),
        }
    }
}

/// The `(name, value)` pairs of a header iterable, each side converted by
/// `field` (which names the side in its error). Everything is converted
/// before the caller touches its exchange: Python code (an iterable's own)
/// must never run while the exchange is borrowed.
pub fn header_pairs<'py, T>(
    headers: &Bound<'py, PyAny>,
    field: impl Fn(&Bound<'py, PyAny>, &str) -> PyResult<T>,
) -> PyResult<Vec<(T, T)>> {
    let mut pairs = Vec::new();
    for item in headers.try_iter()? {
        let item = item?;
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| {
                PyTypeError::new_err(format!("header must be a (name, value) tuple, not {item}"))
            })?;
        let name = field(&pair.get_item(0)?, "header name")?;
        let value = field(&pair.get_item(1)?, "header value")?;
        pairs.push((name, value));
    }
    Ok(pairs)
}
