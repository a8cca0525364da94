//! core's dirty stash for the dirty arbiter's Python process: a stash
//! message's bytes in, its reply's bytes out. The tables live here, in
//! Rust; Python only carries the messages.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rcorn_core::dirty::frame::FrameReader;
use rcorn_core::dirty::stash::{Stash, StashLimits};

#[pyclass(module = "rcorn", name = "DirtyStash", unsendable)]
pub struct DirtyStash {
    stash: Stash,
}

#[pymethods]
impl DirtyStash {
    #[new]
    fn new() -> Self {
        DirtyStash {
            stash: Stash::new(StashLimits::default()),
        }
    }

    /// `reply(message) -> bytes`: one whole stash message (header and
    /// payload, as read) answered.
    fn reply<'py>(&mut self, py: Python<'py>, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let mut reader = FrameReader::new();
        reader.feed(message);
        let frame = reader
            .poll_frame()
            .map_err(|e| PyValueError::new_err(e.to_string()))?
            .ok_or_else(|| PyValueError::new_err("Incomplete stash message"))?;
        Ok(PyBytes::new(py, &self.stash.reply(&frame)))
    }

    /// Creates a table a `DirtyApp` declares in `stashes`.
    fn ensure(&mut self, table: String) -> PyResult<()> {
        self.stash
            .ensure(table)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}
