//! The dirty arbiter process's start, after gunicorn's: the master names
//! the socket before any fork (`GUNICORN_DIRTY_SOCKET`, which every HTTP
//! worker inherits and gunicorn's and rcorn's clients read), and the
//! forked child runs `rcorn.dirty._arbiter.main` with the settings and
//! the dirty hooks the config file defined.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rcorn_core::config::Settings;

use crate::server::hooks::HookSet;
use crate::traceback::log_exception;

const DIRTY_HOOKS: [&str; 4] = [
    "on_dirty_starting",
    "dirty_post_fork",
    "dirty_worker_init",
    "dirty_worker_exit",
];

/// In the master, before the first fork: a private directory for the
/// socket, and the variable that names it.
pub fn prepare(py: Python<'_>, settings: &Settings) -> PyResult<()> {
    if settings.dirty_settings().is_some() {
        py.import("rcorn.dirty._arbiter")?
            .call_method0("prepare_socket")?;
    }
    Ok(())
}

/// In the forked dirty arbiter: its whole life; the exit code.
pub fn run(py: Python<'_>, settings: &Settings, hooks: &HookSet, server: &Py<PyAny>) -> i32 {
    let Some(dirty) = settings.dirty_settings() else {
        return 0;
    };
    let result = (|| -> PyResult<i32> {
        let cfg = PyDict::new(py);
        cfg.set_item("workers", dirty.workers)?;
        let apps: Vec<(String, Option<u32>)> = dirty
            .apps
            .iter()
            .map(|a| (a.path.clone(), a.limit))
            .collect();
        cfg.set_item("apps", apps)?;
        cfg.set_item("threads", dirty.threads)?;
        cfg.set_item("timeout", dirty.timeout.as_secs())?;
        cfg.set_item("graceful_timeout", dirty.graceful_timeout.as_secs())?;
        cfg.set_item("proc_name", settings.effective_proc_name())?;
        cfg.set_item("server", server.clone_ref(py))?;
        let hook_dict = PyDict::new(py);
        for name in DIRTY_HOOKS {
            if let Some(hook) = hooks.get(name) {
                hook_dict.set_item(name, hook.clone_ref(py))?;
            }
        }
        cfg.set_item("hooks", hook_dict)?;
        py.import("rcorn.dirty._arbiter")?
            .call_method1("main", (cfg,))?
            .extract()
    })();
    result.unwrap_or_else(|e| {
        log_exception(py, &e, "Exception in the dirty arbiter");
        1
    })
}
