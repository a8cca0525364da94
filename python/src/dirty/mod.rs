//! Dirty arbiters for Python: core's protocol codec (`codec`), core's
//! dirty arbiter state machine (`core`) and its stash tables (`stash`),
//! driven by `rcorn.dirty`'s asyncio process, which `process` starts.

pub mod codec;
pub mod core;
pub mod process;
pub mod stash;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(codec::encode_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_header, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_payload, m)?)?;
    m.add_class::<core::DirtyCore>()?;
    m.add_class::<stash::DirtyStash>()?;
    Ok(())
}
