//! Which dirty apps a dirty worker loads.
//!
//! `dirty_apps` lists apps as `MODULE:CLASS` or `MODULE:CLASS:N`; an app
//! with a limit N is loaded by only N workers (gunicorn's per-app worker
//! allocation, for models too large to load everywhere). The pool is a row
//! of slots, one per worker of the target count: slot `i` loads every app
//! without a limit and every app whose limit is above `i`. A worker
//! replacing one that died takes its slot, so it loads the same apps, and
//! scaling down retires the highest slot, so no app ever falls below
//! `min(N, workers)` holders. A slot that would load nothing is left empty,
//! as gunicorn does not spawn a worker with no app.

use std::fmt;

/// The most apps one pool serves: an app set is one machine word.
pub const MAX_APPS: usize = 64;

/// One entry of `dirty_apps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    /// `module.path:ClassName`: the name clients call it by.
    pub path: String,
    /// How many workers load it; `None` for all.
    pub limit: Option<u32>,
}

/// A `dirty_apps` entry that is not `MODULE:CLASS[:N]`, with gunicorn's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpecError(pub String);

impl fmt::Display for AppSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AppSpec {
    /// Parses `MODULE:CLASS` or `MODULE:CLASS:N` as gunicorn's
    /// `parse_dirty_app_spec` does.
    pub fn parse(spec: &str) -> Result<AppSpec, AppSpecError> {
        let format = || {
            AppSpecError(format!(
                "Invalid import path format: {spec}. \
                 Expected 'module.path:ClassName' or 'module.path:ClassName:N'"
            ))
        };
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.as_slice() {
            [_, _] => Ok(AppSpec {
                path: spec.to_owned(),
                limit: None,
            }),
            [module, class, count] => {
                let n: i64 = count.parse().map_err(|_| {
                    AppSpecError(format!(
                        "Invalid worker count in spec: {spec}. Expected integer, got '{count}'"
                    ))
                })?;
                if n < 1 {
                    return Err(AppSpecError(format!(
                        "Invalid worker count in spec: {spec}. Worker count must be >= 1, got {n}"
                    )));
                }
                Ok(AppSpec {
                    path: format!("{module}:{class}"),
                    limit: Some(u32::try_from(n).unwrap_or(u32::MAX)),
                })
            }
            _ => Err(format()),
        }
    }
}

/// A set of apps by their index in `dirty_apps`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AppSet(u64);

impl AppSet {
    pub const EMPTY: AppSet = AppSet(0);

    pub fn contains(self, app: usize) -> bool {
        app < MAX_APPS && self.0 & (1 << app) != 0
    }

    pub fn with(self, app: usize) -> AppSet {
        debug_assert!(app < MAX_APPS);
        AppSet(self.0 | (1u64 << (app % MAX_APPS)))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The indices in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..MAX_APPS).filter(move |&i| self.contains(i))
    }
}

/// The apps the worker in `slot` loads.
pub fn slot_apps(apps: &[AppSpec], slot: u32) -> AppSet {
    apps.iter()
        .take(MAX_APPS)
        .enumerate()
        .filter(|(_, a)| a.limit.is_none_or(|n| n > slot))
        .fold(AppSet::EMPTY, |set, (i, _)| set.with(i))
}

/// The fewest workers the pool may scale down to: gunicorn keeps at least
/// as many as the largest per-app limit, and never fewer than one.
pub fn minimum_workers(apps: &[AppSpec]) -> u32 {
    apps.iter()
        .filter_map(|a| a.limit)
        .max()
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> AppSpec {
        AppSpec::parse(s).expect("valid spec")
    }

    #[test]
    fn specs_parse_as_gunicorn_does() {
        assert_eq!(spec("a.b:C").limit, None);
        assert_eq!(
            spec("a.b:C:2"),
            AppSpec {
                path: "a.b:C".into(),
                limit: Some(2)
            }
        );
        assert!(AppSpec::parse("abc")
            .unwrap_err()
            .0
            .contains("Invalid import path"));
        assert!(AppSpec::parse("a:B:x")
            .unwrap_err()
            .0
            .contains("Expected integer"));
        assert!(AppSpec::parse("a:B:0")
            .unwrap_err()
            .0
            .contains("must be >= 1"));
        assert!(AppSpec::parse("a:B:1:2").is_err());
    }

    #[test]
    fn slots_load_apps_under_their_limit() {
        let apps = [spec("m:All"), spec("m:One:1"), spec("m:Two:2")];
        assert_eq!(slot_apps(&apps, 0).iter().collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(slot_apps(&apps, 1).iter().collect::<Vec<_>>(), [0, 2]);
        assert_eq!(slot_apps(&apps, 2).iter().collect::<Vec<_>>(), [0]);
        let limited = [spec("m:One:1")];
        assert!(slot_apps(&limited, 1).is_empty());
        assert_eq!(minimum_workers(&apps), 2);
        assert_eq!(minimum_workers(&[]), 1);
    }
}
