//! The dirty arbiter's settings: `dirty_apps` checked as gunicorn parses
//! each entry, and the typed reads the dirty arbiter starts from.

use std::time::Duration;

use crate::dirty::apps::{AppSpec, MAX_APPS};
use crate::dirty::DirtySettings;

use super::{Settings, Value};

/// `dirty_apps`: each entry `MODULE:CLASS` or `MODULE:CLASS:N` with
/// N ≥ 1. gunicorn finds a bad entry only when its dirty arbiter starts;
/// it is caught here, with gunicorn's words, before anything runs.
pub fn check_dirty_apps(v: Value) -> Result<Value, String> {
    if let Value::List(items) = &v {
        for item in items {
            AppSpec::parse(item).map_err(|e| e.0)?;
        }
        if items.len() > MAX_APPS {
            return Err(format!("at most {MAX_APPS} dirty apps"));
        }
    }
    Ok(v)
}

impl Settings {
    /// The dirty pool's settings, or `None` when there is no pool: gunicorn
    /// starts a dirty arbiter only with `dirty_workers` > 0 and at least
    /// one app. A per-app limit from the class's `workers` attribute is
    /// the Python side's to add, as it needs the class imported.
    pub fn dirty_settings(&self) -> Option<DirtySettings> {
        let workers = self.u32("dirty_workers");
        let apps = self.list("dirty_apps");
        if workers == 0 || apps.is_empty() {
            return None;
        }
        Some(DirtySettings {
            workers,
            apps: apps.iter().filter_map(|a| AppSpec::parse(a).ok()).collect(),
            threads: self.u32("dirty_threads").max(1),
            timeout: self.secs("dirty_timeout"),
            graceful_timeout: self.secs("dirty_graceful_timeout"),
            abort_grace: Duration::from_secs(1),
            ..DirtySettings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    #[test]
    fn dirty_apps_are_checked_as_gunicorn_parses_them() {
        let list = |v: &[&str]| Value::List(v.iter().map(|s| s.to_string()).collect());
        assert!(check_dirty_apps(list(&["a.b:C", "a:D:2"])).is_ok());
        let err = check_dirty_apps(list(&["a:D:0"])).unwrap_err();
        assert!(err.contains("Worker count must be >= 1"), "{err}");
        assert!(check_dirty_apps(list(&["nocolon"])).is_err());
    }

    #[test]
    fn no_pool_without_workers_and_apps() {
        let mut s = Settings::default();
        assert!(s.dirty_settings().is_none());
        s.set("dirty_workers", Value::Int(2), Source::CommandLine)
            .expect("set");
        assert!(s.dirty_settings().is_none());
        let apps = Value::List(vec!["m:A".into(), "m:B:1".into()]);
        s.set("dirty_apps", apps, Source::CommandLine).expect("set");
        s.set("dirty_timeout", Value::Int(5), Source::CommandLine)
            .expect("set");
        let d = s.dirty_settings().expect("a pool");
        assert_eq!(
            (d.workers, d.threads, d.timeout),
            (2, 1, Duration::from_secs(5))
        );
        assert_eq!(
            d.apps[1],
            AppSpec {
                path: "m:B".into(),
                limit: Some(1)
            }
        );
    }
}
