//! `wsgi.errors`: text the application writes goes to the error log.

use pyo3::prelude::*;

#[pyclass(module = "rcorn")]
pub struct WsgiErrors;

#[pymethods]
impl WsgiErrors {
    fn write(&self, text: &str) -> usize {
        rcorn_io::log::raw_error(text.as_bytes());
        text.len()
    }

    fn writelines(&self, lines: Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            let line = line?;
            rcorn_io::log::raw_error(line.extract::<&str>()?.as_bytes());
        }
        Ok(())
    }

    fn flush(&self) {}
}
