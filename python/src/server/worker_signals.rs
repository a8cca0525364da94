//! `worker_int` and `worker_abort`. gunicorn runs them from Python signal
//! handlers, which interrupt the application wherever it is: a worker
//! aborted for a hung request runs `worker_abort` inside that request. rcorn
//! does the same: the worker's signal handler (the io crate's self-pipe)
//! also trips the interpreter's handler for these signals, which calls the
//! hook and ends the request with `SystemExit`; the worker's own loop sees
//! the signal through its pipe and exits as it always does.

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};

use crate::server::hooks::{HookSet, WorkerProxy};

/// A Python signal handler that calls its hook, if any, and then stops the
/// request.
#[pyclass(module = "rcorn")]
struct WorkerSignalHook {
    name: &'static str,
    hook: Option<Py<PyAny>>,
    worker: Py<WorkerProxy>,
    exit_code: i32,
}

#[pymethods]
impl WorkerSignalHook {
    fn __call__(&self, py: Python<'_>, _signum: i32, _frame: Py<PyAny>) -> PyResult<()> {
        if let Ok(mut w) = self.worker.bind(py).try_borrow_mut() {
            w.alive = false;
        }
        if let Some(hook) = &self.hook {
            if let Err(e) = hook.bind(py).call1((self.worker.clone_ref(py),)) {
                crate::traceback::log_exception(
                    py,
                    &e,
                    &format!("Exception in {} hook", self.name),
                );
            }
        }
        Err(PySystemExit::new_err(self.exit_code))
    }
}

/// Runs in the signal handler: `PyErr_SetInterruptEx` is async-signal-safe
/// and makes the interpreter call its handler for `signo` at the next
/// bytecode boundary.
extern "C" fn interrupt_python(signo: libc::c_int) {
    // SAFETY: documented as callable from a signal handler, GIL or not.
    unsafe {
        pyo3::ffi::PyErr_SetInterruptEx(signo);
    }
}

/// Installs the handlers gunicorn's workers have: SIGINT and SIGQUIT run
/// `worker_int` and stop the request (exit 0), SIGABRT runs `worker_abort`
/// (exit 1). Without the hooks they still stop a request in progress, so a
/// quick shutdown or an abort is not held up by the application.
pub fn install(py: Python<'_>, hooks: &HookSet, worker: &Py<WorkerProxy>) -> PyResult<()> {
    let table: [(&'static str, &[Signal], i32); 2] = [
        ("worker_int", &[Signal::SIGINT, Signal::SIGQUIT], 0),
        ("worker_abort", &[Signal::SIGABRT], 1),
    ];
    let mut forwarded = SigSet::empty();
    for (_, signals, _) in table {
        for &sig in signals {
            forwarded.add(sig);
        }
    }
    // `signal.signal` points the process's handler at the interpreter's,
    // which would keep a signal arriving now from the worker's pipe (a
    // QUIT during boot would be lost and the worker would never stop).
    // Held back meanwhile, it reaches the pipe once the pipe's handler is
    // back, and the interpreter's through the forwarder.
    let mut old = SigSet::empty();
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), Some(&mut old));
    let installed = install_handlers(py, hooks, worker, &table);
    let routed: Vec<Signal> = forwarded.iter().collect();
    let rerouted = rcorn_io::signals::route(&routed);
    if installed.is_ok() {
        rcorn_io::signals::forward(&routed, interrupt_python);
    }
    if blocked.is_ok() {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
    installed?;
    rerouted.map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

fn install_handlers(
    py: Python<'_>,
    hooks: &HookSet,
    worker: &Py<WorkerProxy>,
    table: &[(&'static str, &[Signal], i32)],
) -> PyResult<()> {
    let signal = py.import("signal")?;
    for &(name, signals, exit_code) in table {
        let handler = Py::new(
            py,
            WorkerSignalHook {
                name,
                hook: hooks.get(name).map(|h| h.clone_ref(py)),
                worker: worker.clone_ref(py),
                exit_code,
            },
        )?;
        for &sig in signals {
            signal.call_method1("signal", (sig as i32, handler.clone_ref(py)))?;
        }
    }
    Ok(())
}
