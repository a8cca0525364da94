//! Process titles (`rcorn: master [myapp]`, `rcorn: worker [myapp]`), set
//! the way gunicorn sets them: through the `setproctitle` package when it is
//! installed, and not at all otherwise.

use pyo3::prelude::*;

/// Sets the title to `rcorn: {role} [{name}]` if `setproctitle` is there.
pub fn set(py: Python<'_>, role: &str, name: &str) {
    let Ok(module) = py.import("setproctitle") else {
        return;
    };
    let title = format!("rcorn: {role} [{name}]");
    if let Err(e) = module.call_method1("setproctitle", (title,)) {
        rcorn_io::debug!("setproctitle failed: {e}");
    }
}
