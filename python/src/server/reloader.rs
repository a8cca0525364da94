//! `--reload`: a worker restarts when a source file of the application
//! changes, as gunicorn's polling reloader does: once a second it looks at
//! the modification time of every module's file (and of
//! `--reload-extra-file` paths and glob patterns); the first change makes
//! the worker finish gracefully, and the master starts a fresh one that
//! imports the new code.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use pyo3::intern;
use pyo3::prelude::*;

const EVERY: Duration = Duration::from_secs(1);

pub struct Reloader {
    extra: Vec<String>,
    seen: HashMap<PathBuf, SystemTime>,
    next_look: Instant,
}

impl Reloader {
    /// Takes the first look now, before the worker serves: a change made
    /// after that, however soon, is one to act on.
    pub fn new(py: Python<'_>, extra: Vec<String>) -> Reloader {
        let mut reloader = Reloader {
            extra,
            seen: HashMap::new(),
            next_look: Instant::now(),
        };
        let _ = reloader.changed(py);
        reloader
    }

    /// The first file found changed since it was first seen, looking at
    /// most once a second.
    pub fn changed(&mut self, py: Python<'_>) -> Option<PathBuf> {
        let now = Instant::now();
        if now < self.next_look {
            return None;
        }
        self.next_look = now + EVERY;
        let files = match watched_files(py, &self.extra) {
            Ok(files) => files,
            Err(e) => {
                rcorn_io::debug!("reloader: cannot list the module files: {e}");
                return None;
            }
        };
        for path in files {
            let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
                continue;
            };
            match self.seen.insert(path.clone(), modified) {
                Some(before) if before != modified => return Some(path),
                _ => {}
            }
        }
        None
    }
}

/// Every loaded module's file, and the extra files (glob patterns expanded).
fn watched_files(py: Python<'_>, extra: &[String]) -> PyResult<Vec<PathBuf>> {
    let mut files = Vec::new();
    let modules = py
        .import(intern!(py, "sys"))?
        .getattr(intern!(py, "modules"))?;
    // A copy: importing during the walk must not change what is walked.
    let modules = modules.call_method0(intern!(py, "copy"))?;
    for module in modules.call_method0(intern!(py, "values"))?.try_iter()? {
        let Ok(file) = module?.getattr(intern!(py, "__file__")) else {
            continue;
        };
        if let Ok(path) = file.extract::<String>() {
            files.push(PathBuf::from(path));
        }
    }
    let glob = py.import(intern!(py, "glob"))?;
    for pattern in extra {
        let matches: Vec<String> = glob
            .call_method1(intern!(py, "glob"), (pattern,))?
            .extract()?;
        files.extend(matches.into_iter().map(PathBuf::from));
    }
    Ok(files)
}
