//! `wsgi.input`: the request body as a Python file-like object, streamed
//! from the socket on demand and never read past the end of the message.

use pyo3::exceptions::PyIOError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::wsgi::exchange_ref::ExchangeRef;

#[pyclass(module = "rcorn")]
pub struct WsgiInput {
    exchange: ExchangeRef,
    buf: Vec<u8>,
}

impl WsgiInput {
    pub fn new(exchange: ExchangeRef) -> WsgiInput {
        WsgiInput {
            exchange,
            buf: Vec::new(),
        }
    }

    fn fill(&mut self, limit: Option<usize>, line: bool) -> PyResult<()> {
        self.buf.clear();
        let max = limit.unwrap_or(usize::MAX);
        let buf = &mut self.buf;
        let result: Option<Result<(), rcorn_io::exchange::ExchangeError>> =
            self.exchange.with(|ex| {
                if !line {
                    if let Some(len) = ex.content_length() {
                        buf.reserve(len.min(max as u64).min(1 << 20) as usize);
                    }
                }
                loop {
                    let before = buf.len();
                    let want = max - before;
                    let n = if line {
                        ex.read_line(buf, want)?
                    } else {
                        ex.read_body(buf, want)?
                    };
                    // read(n) may return fewer bytes than asked only at the end
                    // of the body; readline stops at the newline.
                    if n == 0 || line || buf.len() >= max {
                        return Ok(());
                    }
                }
            });
        match result {
            Some(Ok(())) => Ok(()),
            None => Err(PyIOError::new_err(
                "wsgi.input read after its request ended, or from a thread other than the request's",
            )),
            Some(Err(e)) => Err(crate::wsgi::io_error::from_exchange(&e)),
        }
    }
}

fn size_arg(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl WsgiInput {
    #[pyo3(signature = (size=None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        self.fill(size_arg(size), false)?;
        Ok(PyBytes::new(py, &self.buf))
    }

    #[pyo3(signature = (size=None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.fill(size_arg(size), true)?;
        Ok(PyBytes::new(py, &self.buf))
    }

    #[pyo3(signature = (hint=None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let lines = PyList::empty(py);
        let hint = size_arg(hint).filter(|h| *h > 0);
        let mut total = 0;
        loop {
            self.fill(None, true)?;
            if self.buf.is_empty() {
                break;
            }
            total += self.buf.len();
            lines.append(PyBytes::new(py, &self.buf))?;
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.fill(None, true)?;
        Ok((!self.buf.is_empty()).then(|| PyBytes::new(py, &self.buf)))
    }
}
