//! The master's host: forking the way CPython expects, and running the
//! server hooks the arbiter asks for.

use std::path::PathBuf;
use std::time::Duration;

use nix::unistd::ForkResult;
use pyo3::ffi;
use pyo3::prelude::*;
use rcorn_core::arbiter::Hook;
use rcorn_core::config::Settings;
use rcorn_io::reexec::{self, cstring, ExecSpec};
use rcorn_io::Host;

use crate::server::hooks::{HookSet, ServerProxy, WorkerProxy};
use crate::server::new_master::NewMaster;
use crate::server::pidfile::{self, Pidfile};

/// How often a new master looks for its old master's exit (gunicorn's
/// loop wakes once a second).
const PROMOTION_CHECK: Duration = Duration::from_secs(1);

pub struct PythonHost<'a> {
    pub hooks: &'a HookSet,
    pub server: &'a Py<ServerProxy>,
    pub settings: &'a Settings,
    pub pidfile: Option<Pidfile>,
    /// `Some` while this master, started by a USR2 upgrade, waits for its
    /// old master to exit.
    pub new_master: Option<NewMaster>,
    /// The working directory rcorn was started in: a USR2 upgrade execs
    /// the new master there, so relative paths mean the same.
    pub start_dir: PathBuf,
}

impl PythonHost<'_> {
    /// The `worker` argument of a master-side hook: the worker with age
    /// `id`, and its pid once it has one (gunicorn's pre_fork sees none,
    /// here the master's).
    fn worker(&self, py: Python<'_>, id: u64, pid: Option<u32>) -> PyResult<Py<WorkerProxy>> {
        let master = std::process::id();
        let mut worker = WorkerProxy::new(py, self.settings, id, master)?;
        worker.pid = pid.unwrap_or(master);
        Py::new(py, worker)
    }

    /// gunicorn's promotion: the old master is gone, so this one takes the
    /// pidfile's plain name, its plain title, and leaves the environment
    /// of an upgrade.
    fn promote(&mut self) {
        let old_master = self.new_master.take().map(|m| m.old_master());
        rcorn_io::info!("Master has been promoted.");
        if let (Some(pidfile), Some(configured)) = (&mut self.pidfile, self.settings.pidfile()) {
            if let Err(e) = pidfile.rename(pidfile::path_for(configured, false), old_master) {
                rcorn_io::error!("{e}");
            }
        }
        Python::attach(|py| {
            if let Ok(environ) = py.import("os").and_then(|os| os.getattr("environ")) {
                let _ = environ.call_method1("pop", (reexec::PARENT_VAR, py.None()));
            }
            let name = self.settings.effective_proc_name();
            // What hooks see as `server.proc_name` loses its `.2` too.
            if let Ok(mut server) = self.server.try_borrow_mut(py) {
                server.proc_name = name.to_owned();
            }
            crate::server::proc_title::set(py, "master", name);
        });
    }

    fn worker_hook(&self, py: Python<'_>, name: &str, id: u64, pid: Option<u32>) {
        if !self.hooks.defines(name) {
            return;
        }
        match self.worker(py, id, pid) {
            Ok(worker) => self
                .hooks
                .call(py, name, (self.server.clone_ref(py), worker)),
            Err(e) => crate::traceback::log_exception(py, &e, &format!("Exception in {name} hook")),
        }
    }
}

impl Host for PythonHost<'_> {
    /// `os.fork()`'s protocol, see [`python_fork`], after freezing the
    /// master's objects (see [`freeze_before_fork`]).
    fn fork(&mut self) -> nix::Result<ForkResult> {
        Python::attach(|py| {
            freeze_before_fork(py);
            python_fork(py)
        })
    }

    /// The same interpreter running the same command line, with the
    /// environment as it is now, as gunicorn re-execs itself.
    fn reexec_spec(&mut self) -> Option<ExecSpec> {
        // Started by an upgrade whose old master still lives: another
        // upgrade now would leave three masters.
        if self.new_master.as_ref().is_some_and(|m| !m.promoted()) {
            rcorn_io::warning!("USR2 signal ignored. Parent exists.");
            return None;
        }
        let spec = Python::attach(|py| -> PyResult<ExecSpec> {
            let sys = py.import("sys")?;
            let program: String = sys.getattr("executable")?.extract()?;
            let argv: Vec<String> = sys.getattr("argv")?.extract()?;
            let environ: std::collections::HashMap<String, String> = py
                .import("os")?
                .getattr("environ")?
                .call_method0("copy")?
                .extract()?;
            let mut args = vec![cstring(program.clone())];
            args.extend(argv.into_iter().map(cstring));
            let env = environ
                .into_iter()
                .filter(|(k, _)| k != reexec::FDS_VAR && k != reexec::PARENT_VAR)
                .map(|(k, v)| cstring(format!("{k}={v}")))
                .collect();
            Ok(ExecSpec {
                program: cstring(program),
                args,
                env,
                cwd: cstring(self.start_dir.to_string_lossy().into_owned()),
            })
        });
        match spec {
            Ok(spec) => Some(spec),
            Err(e) => {
                rcorn_io::error!("USR2: cannot prepare the new master: {e}");
                None
            }
        }
    }

    fn on_wake(&mut self) -> Option<Duration> {
        let promoted = self.new_master.as_ref()?.promoted();
        if promoted {
            self.promote();
            return None;
        }
        Some(PROMOTION_CHECK)
    }

    /// gunicorn's master-side hooks, with its arguments.
    fn hook(&mut self, hook: &Hook) {
        Python::attach(|py| {
            let server = || self.server.clone_ref(py);
            match *hook {
                Hook::PreFork { id } => self.worker_hook(py, "pre_fork", id, None),
                Hook::ChildExit { pid, id } => {
                    self.worker_hook(py, "child_exit", id, Some(pid.unsigned_abs()))
                }
                Hook::NworkersChanged { new, old } => {
                    if let Ok(mut s) = self.server.bind(py).try_borrow_mut() {
                        s.num_workers = new;
                    }
                    self.hooks
                        .call(py, "nworkers_changed", (server(), new, old));
                }
                Hook::OnReload => self.hooks.call(py, "on_reload", (server(),)),
                Hook::PreExec => self.hooks.call(py, "pre_exec", (server(),)),
            }
        })
    }
}

/// Moves every object the master holds into the collector's permanent
/// generation, as Python's `gc.freeze` documentation advises before a fork
/// without exec. A worker shares the master's pages until it writes to
/// them, and a full collection writes to every object it examines: without
/// this, a worker's first full collection copied the whole preloaded app
/// (about 10 MB for a small Flask app). Garbage is collected first, so
/// none of it is kept for good; after the first fork that collection only
/// examines what the master made since the last one.
fn freeze_before_fork(py: Python<'_>) {
    let frozen = py.import("gc").and_then(|gc| {
        gc.call_method0("collect")?;
        gc.call_method0("freeze")
    });
    if let Err(e) = frozen {
        // The fork goes ahead: a frozen heap saves memory, nothing more.
        crate::traceback::log_exception(
            py,
            &e,
            "Could not freeze the master's objects before a fork",
        );
    }
}

/// Forks as `os.fork()` does: CPython's at-fork handlers (and
/// `os.register_at_fork` callbacks) run before and after, with the
/// interpreter's locks held across the fork so the child's are sane.
pub fn python_fork(_py: Python<'_>) -> nix::Result<ForkResult> {
    // SAFETY: the GIL is held (the token proves it), as these functions
    // require; rcorn's master runs no other threads of its own.
    unsafe {
        ffi::PyOS_BeforeFork();
        let result = nix::unistd::fork();
        match result {
            Ok(ForkResult::Child) => ffi::PyOS_AfterFork_Child(),
            _ => ffi::PyOS_AfterFork_Parent(),
        }
        result
    }
}
