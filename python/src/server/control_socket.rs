//! The control socket's settings, as the master takes them: where it
//! listens (gunicorn's default path unless `control_socket` is set), its
//! mode, and the values `show config` answers with.

use std::path::PathBuf;

use rcorn_core::config::{Settings, Source, Value};
use rcorn_core::control::answer::CONFIG_KEYS;
use rcorn_io::master::ControlSocketConfig;
use serde_json::{Map, Value as Json};

/// `None` with `--no-control-socket`.
pub fn control_socket_config(settings: &Settings) -> Option<ControlSocketConfig> {
    if settings.get("control_socket_disable") == Some(&Value::Bool(true)) {
        return None;
    }
    let path = match (
        settings.source("control_socket"),
        settings.get("control_socket"),
    ) {
        (Some(Source::Default) | None, _) | (_, None) => default_path(),
        (_, Some(value)) => PathBuf::from(value.to_string()),
    };
    let mode = match settings.get("control_socket_mode") {
        Some(Value::Int(m)) => (*m as u32) & 0o7777,
        _ => 0o600,
    };
    let mut config = Map::new();
    for key in CONFIG_KEYS {
        let value = match key {
            "control_socket" => Json::from(path.display().to_string()),
            _ => settings.get(key).map_or(Json::Null, to_json),
        };
        config.insert(key.to_owned(), value);
    }
    Some(ControlSocketConfig { path, mode, config })
}

/// gunicorn's: `$XDG_RUNTIME_DIR/gunicorn.ctl` when that folder exists,
/// else `~/.gunicorn/gunicorn.ctl`, so `gunicornc` finds it unasked.
fn default_path() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        let xdg = PathBuf::from(xdg);
        if xdg.is_dir() {
            return xdg.join("gunicorn.ctl");
        }
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".gunicorn").join("gunicorn.ctl")
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::from(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::Str(s) => Json::from(s.as_str()),
        Value::None => Json::Null,
        Value::List(items) => Json::from(items.clone()),
        Value::Dict(pairs) => {
            Json::Object(pairs.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        // As gunicorn: what JSON cannot hold is sent as its text.
        Value::Callable(_) | Value::Object(_) => Json::from(value.to_string()),
    }
}
