//! Finding and importing the application (`MODULE:APP`), through the
//! `rcorn._loading` Python module.

use pyo3::prelude::*;
use pyo3::types::PyModule;
use rcorn_core::config::Settings;

use crate::server::stop::Stop;

/// `--chdir` and `--pythonpath`, before anything of the application's is
/// imported.
pub fn prepare_path(py: Python<'_>, settings: &Settings) -> PyResult<()> {
    let loading = PyModule::import(py, "rcorn._loading")?;
    loading.call_method1("prepare_path", (settings.chdir(), settings.pythonpath()))?;
    Ok(())
}

/// Imports the application. A name that does not resolve and an
/// application that raised stop differently, as in gunicorn.
pub fn load_app(py: Python<'_>, spec: &str) -> Result<Py<PyAny>, Stop> {
    let loaded =
        PyModule::import(py, "rcorn._loading").and_then(|m| m.call_method1("import_app", (spec,)));
    match loaded {
        Ok(app) => Ok(app.unbind()),
        Err(err) => {
            let is_naming_error = PyModule::import(py, "rcorn._loading")
                .and_then(|m| m.getattr("AppImportError"))
                .map(|cls| err.get_type(py).is_subclass(&cls).unwrap_or(false))
                .unwrap_or(false);
            let spec = spec.to_owned();
            Err(if is_naming_error {
                Stop::AppNotFound { spec, err }
            } else {
                Stop::AppRaised { spec, err }
            })
        }
    }
}
