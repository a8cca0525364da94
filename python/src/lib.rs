//! rcorn's Python bridge: the `rcorn._rcorn` extension module.
//!
//! The `rcorn` console command calls [`run`] with its arguments; everything
//! from there — settings, binding, the master loop, forking workers, and the
//! WSGI calls in them — happens in Rust, with the GIL held only while Python
//! code runs.
//!
//! `wsgi` holds what serves a WSGI application; `server` the command line,
//! config file, hooks, master and worker start-up around it. `wsgi` is
//! public so that the criterion benches in `benches/` can time environ
//! building, `start_response` and a whole Python request apart; nothing else
//! links this crate.

mod asgi;
mod dirty;
mod gevent;
mod interned;
mod server;
mod traceback;
pub mod wsgi;

use pyo3::prelude::*;

use server::python_logging;

/// Runs the server with command-line arguments `argv` (without the program
/// name). Returns the process exit code.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> i32 {
    server::serve::main(py, argv)
}

#[pymodule]
fn _rcorn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_class::<wsgi::file_wrapper::FileWrapper>()?;
    dirty::register(m)?;
    m.add_function(wrap_pyfunction!(python_logging::sink_error_line, m)?)?;
    m.add_function(wrap_pyfunction!(python_logging::sink_access_line, m)?)?;
    Ok(())
}
