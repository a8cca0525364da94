//! Dirty arbiters for Python: core's protocol codec (`codec`) and core's
//! dirty arbiter state machine (`core`), driven by `rcorn.dirty`'s asyncio
//! process, which `process` starts.

pub mod codec;
pub mod core;
pub mod process;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(codec::encode_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_header, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_payload, m)?)?;
    m.add_class::<core::DirtyCore>()?;
    Ok(())
}
