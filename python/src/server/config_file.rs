//! The Python config file: `-c FILE`, `-c python:MODULE`, or by default
//! `./rcorn.conf.py`, else `./gunicorn.conf.py`, as an operator's existing
//! gunicorn setup expects.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyModule, PyString, PyTuple};
use rcorn_core::config::{self, Kind, Settings, Source, Value};

/// One top-level name of the file: its value and the line assigning it.
type FileValue<'py> = (String, Bound<'py, PyAny>, Option<u32>);

/// The Python objects of the config file that settings values cannot
/// hold: the server hooks it defined, by setting name, and its
/// `logconfig_dict` (whose handler classes, streams or factories may be
/// objects, not names).
#[derive(Default)]
pub struct Hooks {
    pub callables: HashMap<&'static str, Py<PyAny>>,
    pub logconfig_dict: Option<Py<PyAny>>,
}

/// Which file to read: the one named by `-c` (already in `settings` when
/// given on the command line or in env args), else rcorn's default name,
/// else gunicorn's when it exists.
pub fn path_to_load(settings: &Settings, config_given: bool) -> Option<String> {
    if config_given {
        return Some(settings.config().to_owned());
    }
    ["rcorn.conf.py", "gunicorn.conf.py"]
        .into_iter()
        .find(|name| std::path::Path::new(name).exists())
        .map(|name| format!("./{name}"))
}

/// Executes the file and applies its settings with `Source::ConfigFile`.
/// Errors are one line naming the file (and the traceback when the file's
/// own code raised).
pub fn apply(
    py: Python<'_>,
    spec: &str,
    settings: &mut Settings,
    hooks: &mut Hooks,
) -> Result<(), String> {
    let loaded =
        PyModule::import(py, "rcorn._config").and_then(|m| m.call_method1("load", (spec,)));
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            let is_missing = PyModule::import(py, "rcorn._config")
                .and_then(|m| m.getattr("ConfigFileError"))
                .map(|cls| e.get_type(py).is(&cls))
                .unwrap_or(false);
            if !is_missing {
                crate::traceback::log_exception(
                    py,
                    &e,
                    &format!("Failed to read config file: {spec}"),
                );
            }
            return Err(format!(
                "Failed to read config file {spec}: {}",
                e.value(py)
            ));
        }
    };
    let (path, values): (String, Vec<FileValue<'_>>) = loaded
        .extract()
        .map_err(|e| format!("Failed to read config file {spec}: {e}"))?;
    for (name, value, line) in values {
        let Some(setting) = config::setting(&name) else {
            continue;
        };
        let source = Source::ConfigFile {
            path: path.clone(),
            line,
        };
        let typed = if setting.kind == Kind::Callable
            && value.is_callable()
            && !value.is_instance_of::<PyString>()
        {
            hooks.callables.insert(setting.name, value.clone().unbind());
            Value::Callable(qualname(&value))
        } else {
            if setting.name == "logconfig_dict" {
                hooks.logconfig_dict = Some(value.clone().unbind());
            }
            to_value(&value)
        };
        settings
            .set(setting.name, typed, source)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn qualname(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("__qualname__")
        .and_then(|q| q.extract::<String>())
        .unwrap_or_else(|_| obj.to_string())
}

/// A Python value as a settings value; anything without a settings shape
/// keeps its repr so the error can show it.
fn to_value(obj: &Bound<'_, PyAny>) -> Value {
    if obj.is_none() {
        Value::None
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if obj.is_instance_of::<PyInt>() {
        obj.extract::<i64>()
            .map(Value::Int)
            .unwrap_or_else(|_| Value::Object(obj.to_string()))
    } else if obj.is_instance_of::<PyFloat>() {
        obj.extract::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::None)
    } else if let Ok(s) = obj.cast::<PyString>() {
        Value::Str(s.to_string())
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        // Only a sequence of strings is a list setting; anything else keeps
        // its repr and fails validation with it.
        let items: Option<Vec<String>> = obj.try_iter().ok().and_then(|it| {
            it.map(|i| {
                i.ok()
                    .and_then(|i| i.cast::<PyString>().ok().map(|s| s.to_string()))
            })
            .collect()
        });
        items
            .map(Value::List)
            .unwrap_or_else(|| Value::Object(obj.repr().map(|r| r.to_string()).unwrap_or_default()))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        Value::Dict(
            d.iter()
                .map(|(k, v)| (k.to_string(), to_value(&v)))
                .collect(),
        )
    } else if obj.is_callable() {
        Value::Callable(qualname(obj))
    } else {
        Value::Object(obj.repr().map(|r| r.to_string()).unwrap_or_default())
    }
}
