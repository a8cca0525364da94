//! Server hooks from the config file, called with gunicorn's signatures.
//!
//! Hooks receive `server` (the master) or `worker` objects exposing what
//! real configs use: `log` (debug/info/warning/error/critical/exception),
//! `cfg` (settings as attributes), `pid`, and for workers `ppid`, `age`,
//! `alive`. An exception in a hook is logged with its traceback and the
//! server goes on, as gunicorn does for the hooks it guards.

use std::collections::HashMap;

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rcorn_core::config::{Settings, Value};

use crate::traceback::log_exception;

/// The hooks a config file defined, ready to call.
pub struct HookSet {
    callables: HashMap<&'static str, Py<PyAny>>,
}

impl HookSet {
    pub fn new(callables: HashMap<&'static str, Py<PyAny>>) -> HookSet {
        HookSet { callables }
    }

    /// The hook `name`, if the config file defined it.
    pub fn get(&self, name: &str) -> Option<&Py<PyAny>> {
        self.callables.get(name)
    }

    /// Whether the config file defined hook `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.callables.contains_key(name)
    }

    /// Calls hook `name` with `args` if the config file defined it.
    pub fn call<'py, A: pyo3::call::PyCallArgs<'py>>(&self, py: Python<'py>, name: &str, args: A) {
        let Some(hook) = self.callables.get(name) else {
            return;
        };
        if let Err(e) = hook.bind(py).call1(args) {
            log_exception(py, &e, &format!("Exception in {name} hook"));
        }
    }
}

/// `server.log` / `worker.log`: gunicorn's logger methods over rcorn's log.
#[pyclass(module = "rcorn", name = "Logger")]
pub struct HookLogger;

/// `logging`'s message formatting: `msg % args` when there are args.
fn format_message(msg: &Bound<'_, PyAny>, args: &Bound<'_, pyo3::types::PyTuple>) -> String {
    let formatted = if args.is_empty() {
        msg.str()
    } else {
        msg.rem(args).and_then(|m| m.str())
    };
    formatted
        .map(|s| s.to_string())
        .unwrap_or_else(|_| msg.to_string())
}

#[pymethods]
impl HookLogger {
    #[pyo3(signature = (msg, *args))]
    fn debug(&self, msg: Bound<'_, PyAny>, args: Bound<'_, pyo3::types::PyTuple>) {
        rcorn_io::debug!("{}", format_message(&msg, &args));
    }
    #[pyo3(signature = (msg, *args))]
    fn info(&self, msg: Bound<'_, PyAny>, args: Bound<'_, pyo3::types::PyTuple>) {
        rcorn_io::info!("{}", format_message(&msg, &args));
    }
    #[pyo3(signature = (msg, *args))]
    fn warning(&self, msg: Bound<'_, PyAny>, args: Bound<'_, pyo3::types::PyTuple>) {
        rcorn_io::warning!("{}", format_message(&msg, &args));
    }
    #[pyo3(signature = (msg, *args))]
    fn error(&self, msg: Bound<'_, PyAny>, args: Bound<'_, pyo3::types::PyTuple>) {
        rcorn_io::error!("{}", format_message(&msg, &args));
    }
    #[pyo3(signature = (msg, *args))]
    fn critical(&self, msg: Bound<'_, PyAny>, args: Bound<'_, pyo3::types::PyTuple>) {
        rcorn_io::critical!("{}", format_message(&msg, &args));
    }
    /// gunicorn's `log.reopen_files()` (USR1): rcorn's log files and the
    /// file handlers of a Python logging configuration reopen.
    fn reopen_files(&self) {
        rcorn_io::log::reopen();
    }
    /// Logs at error level with the traceback of the exception being handled.
    #[pyo3(signature = (msg, *args))]
    fn exception(
        &self,
        py: Python<'_>,
        msg: Bound<'_, PyAny>,
        args: Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<()> {
        let message = format_message(&msg, &args);
        let tb = py
            .import("traceback")?
            .call_method0("format_exc")?
            .extract::<String>()?;
        rcorn_io::error!("{message}\n{}", tb.trim_end());
        Ok(())
    }
}

/// `server.cfg` / `worker.cfg`: settings as attributes (`cfg.workers`).
#[pyclass(module = "rcorn", name = "Config")]
pub struct HookConfig {
    values: Py<PyDict>,
}

impl HookConfig {
    pub fn new(py: Python<'_>, settings: &Settings) -> PyResult<HookConfig> {
        let values = PyDict::new(py);
        for (setting, value, _) in settings.iter() {
            values.set_item(setting.name, to_python(py, value)?)?;
        }
        Ok(HookConfig {
            values: values.unbind(),
        })
    }
}

fn to_python(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        Value::Str(s) | Value::Callable(s) | Value::Object(s) => {
            s.into_pyobject(py)?.into_any().unbind()
        }
        Value::None => py.None(),
        Value::List(items) => PyList::new(py, items)?.into_any().unbind(),
        Value::Dict(entries) => {
            let d = PyDict::new(py);
            for (k, v) in entries {
                d.set_item(k, to_python(py, v)?)?;
            }
            d.into_any().unbind()
        }
    })
}

#[pymethods]
impl HookConfig {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        self.values
            .bind(py)
            .get_item(name)?
            .map(Bound::unbind)
            .ok_or_else(|| PyAttributeError::new_err(format!("no setting named {name:?}")))
    }
}

/// The `server` argument of master-side hooks.
#[pyclass(module = "rcorn", name = "Arbiter")]
pub struct ServerProxy {
    #[pyo3(get)]
    pid: u32,
    #[pyo3(get, set)]
    pub num_workers: u32,
    #[pyo3(get)]
    log: Py<HookLogger>,
    #[pyo3(get)]
    cfg: Py<HookConfig>,
    /// gunicorn's `arbiter.proc_name`: `NAME.2` in a master a USR2 upgrade
    /// started, until it is promoted (`cfg.proc_name` stays `NAME`).
    #[pyo3(get)]
    pub proc_name: String,
    #[pyo3(get)]
    address: Vec<String>,
}

impl ServerProxy {
    pub fn new(py: Python<'_>, settings: &Settings, new_master: bool) -> PyResult<ServerProxy> {
        Ok(ServerProxy {
            pid: std::process::id(),
            num_workers: settings.workers(),
            log: Py::new(py, HookLogger)?,
            cfg: Py::new(py, HookConfig::new(py, settings)?)?,
            proc_name: crate::server::new_master::proc_name(
                settings.effective_proc_name(),
                new_master,
            ),
            address: settings.bind().to_vec(),
        })
    }
}

/// The `worker` argument of worker hooks.
#[pyclass(module = "rcorn", name = "Worker")]
pub struct WorkerProxy {
    #[pyo3(get)]
    pub pid: u32,
    #[pyo3(get)]
    pub ppid: u32,
    #[pyo3(get)]
    pub age: u64,
    #[pyo3(get, set)]
    pub alive: bool,
    #[pyo3(get)]
    pub booted: bool,
    #[pyo3(get)]
    log: Py<HookLogger>,
    #[pyo3(get)]
    cfg: Py<HookConfig>,
}

impl WorkerProxy {
    pub fn new(py: Python<'_>, settings: &Settings, age: u64, ppid: u32) -> PyResult<WorkerProxy> {
        Ok(WorkerProxy {
            pid: std::process::id(),
            ppid,
            age,
            alive: true,
            booted: false,
            log: Py::new(py, HookLogger)?,
            cfg: Py::new(py, HookConfig::new(py, settings)?)?,
        })
    }
}
