//! core's dirty arbiter for the Python process that runs it: events in as
//! method calls, commands out as tuples the asyncio loop carries out. The
//! clock is io's; every decision is `rcorn_core::dirty::arbiter`'s.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::IntoPyObjectExt;
use rcorn_core::arbiter::{ExitStatus, KillSignal, NoticeLevel};
use rcorn_core::dirty::apps::AppSpec;
use rcorn_core::dirty::{CallError, Command, DirtyArbiter, DirtySettings, DirtySignal, Event};

#[pyclass(module = "rcorn", name = "DirtyCore", unsendable)]
pub struct DirtyCore {
    arbiter: DirtyArbiter,
}

fn signal_number(signal: KillSignal) -> i32 {
    match signal {
        KillSignal::Term => libc::SIGTERM,
        KillSignal::Int => libc::SIGINT,
        KillSignal::Quit => libc::SIGQUIT,
        KillSignal::Abort => libc::SIGABRT,
        KillSignal::Kill => libc::SIGKILL,
        KillSignal::Usr1 => libc::SIGUSR1,
        KillSignal::Winch => libc::SIGWINCH,
    }
}

fn error_kind(error: CallError) -> (&'static str, Option<i32>) {
    match error {
        CallError::NoWorkers => ("no_workers", None),
        CallError::NoWorkersForApp => ("no_workers_for_app", None),
        CallError::Timeout => ("timeout", None),
        CallError::WorkerDied { pid } => ("worker_died", Some(pid)),
        CallError::ShuttingDown => ("shutting_down", None),
    }
}

fn level_name(level: NoticeLevel) -> &'static str {
    match level {
        NoticeLevel::Debug => "debug",
        NoticeLevel::Info => "info",
        NoticeLevel::Warning => "warning",
        NoticeLevel::Error => "error",
        NoticeLevel::Critical => "critical",
    }
}

fn command_tuple<'py>(py: Python<'py>, command: Command) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Bound<'py, PyAny>> = match command {
        Command::SpawnWorker { id, apps } => {
            let apps: Vec<usize> = apps.iter().collect();
            vec![
                "spawn".into_bound_py_any(py)?,
                id.into_bound_py_any(py)?,
                apps.into_bound_py_any(py)?,
            ]
        }
        Command::Kill { pid, signal } => vec![
            "kill".into_bound_py_any(py)?,
            pid.into_bound_py_any(py)?,
            signal_number(signal).into_bound_py_any(py)?,
        ],
        Command::Dispatch { call, pid } => vec![
            "dispatch".into_bound_py_any(py)?,
            call.into_bound_py_any(py)?,
            pid.into_bound_py_any(py)?,
        ],
        Command::Fail { call, error } => {
            let (kind, pid) = error_kind(error);
            vec![
                "fail".into_bound_py_any(py)?,
                call.into_bound_py_any(py)?,
                kind.into_bound_py_any(py)?,
                pid.into_bound_py_any(py)?,
            ]
        }
        Command::WorkerExitHook { pid, id } => vec![
            "worker_exit".into_bound_py_any(py)?,
            pid.into_bound_py_any(py)?,
            id.into_bound_py_any(py)?,
        ],
        Command::Log(notice) => vec![
            "log".into_bound_py_any(py)?,
            level_name(notice.level()).into_bound_py_any(py)?,
            notice.to_string().into_bound_py_any(py)?,
        ],
        Command::ReopenLogs => vec!["reopen_logs".into_bound_py_any(py)?],
        Command::Exit { code } => vec!["exit".into_bound_py_any(py)?, code.into_bound_py_any(py)?],
    };
    PyTuple::new(py, items)
}

impl DirtyCore {
    fn run<'py>(&mut self, py: Python<'py>, event: Event) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let mut out = Vec::new();
        self.arbiter.handle(rcorn_io::clock::now(), event, &mut out);
        out.into_iter().map(|c| command_tuple(py, c)).collect()
    }
}

#[pymethods]
impl DirtyCore {
    /// `apps`: `dirty_apps` as `(path, limit)` pairs, limits resolved.
    #[new]
    fn new(
        workers: u32,
        apps: Vec<(String, Option<u32>)>,
        threads: u32,
        timeout: u64,
        graceful_timeout: u64,
    ) -> Self {
        let settings = DirtySettings {
            workers,
            apps: apps
                .into_iter()
                .map(|(path, limit)| AppSpec { path, limit })
                .collect(),
            threads,
            timeout: Duration::from_secs(timeout),
            graceful_timeout: Duration::from_secs(graceful_timeout),
            ..DirtySettings::default()
        };
        DirtyCore {
            arbiter: DirtyArbiter::new(settings),
        }
    }

    fn boot<'py>(&mut self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::Boot)
    }

    fn signal<'py>(&mut self, py: Python<'py>, name: &str) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let signal = match name {
            "hup" => DirtySignal::Hup,
            "ttin" => DirtySignal::Ttin,
            "ttou" => DirtySignal::Ttou,
            "term" => DirtySignal::Term,
            "int" => DirtySignal::Int,
            "quit" => DirtySignal::Quit,
            "usr1" => DirtySignal::Usr1,
            other => {
                return Err(PyValueError::new_err(format!(
                    "not a dirty signal: {other}"
                )))
            }
        };
        self.run(py, Event::Signal(signal))
    }

    fn spawned<'py>(
        &mut self,
        py: Python<'py>,
        id: u64,
        pid: i32,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::Spawned { id, pid })
    }

    fn spawn_failed<'py>(
        &mut self,
        py: Python<'py>,
        id: u64,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::SpawnFailed { id })
    }

    fn ready<'py>(&mut self, py: Python<'py>, pid: i32) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::WorkerReady { pid })
    }

    fn heartbeat<'py>(&mut self, py: Python<'py>, pid: i32) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(
            py,
            Event::Heartbeat {
                pid,
                at: rcorn_io::clock::now(),
            },
        )
    }

    /// A reaped worker: `code` if it exited, `signal` if a signal killed it.
    #[pyo3(signature = (pid, code=None, signal=None))]
    fn exited<'py>(
        &mut self,
        py: Python<'py>,
        pid: i32,
        code: Option<i32>,
        signal: Option<i32>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let status = match (code, signal) {
            (_, Some(s)) => ExitStatus::Signaled(s),
            (c, None) => ExitStatus::Code(c.unwrap_or(0)),
        };
        self.run(py, Event::ChildExited { pid, status })
    }

    #[pyo3(signature = (call, app=None))]
    fn call<'py>(
        &mut self,
        py: Python<'py>,
        call: u64,
        app: Option<usize>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::Call { call, app })
    }

    fn finished<'py>(&mut self, py: Python<'py>, call: u64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::CallFinished { call })
    }

    fn tick<'py>(&mut self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.run(py, Event::Tick)
    }

    /// Seconds until the next `tick` is due, `None` when nothing is.
    fn next_deadline(&self) -> Option<f64> {
        let now = rcorn_io::clock::now();
        self.arbiter
            .next_deadline()
            .map(|d| d.saturating_since(now).as_secs_f64())
    }

    /// `(pid, age, [app paths], ready, seconds since its last heartbeat)`
    /// of each worker, for status queries.
    fn workers(&self) -> Vec<(i32, u64, Vec<String>, bool, f64)> {
        let apps = &self.arbiter.settings().apps;
        let now = rcorn_io::clock::now();
        self.arbiter
            .workers()
            .iter()
            .map(|w| {
                let names = w
                    .apps
                    .iter()
                    .filter_map(|i| apps.get(i))
                    .map(|a| a.path.clone())
                    .collect();
                (
                    w.pid,
                    w.id,
                    names,
                    w.state == rcorn_core::dirty::arbiter::WorkerState::Ready,
                    now.saturating_since(w.last_beat).as_secs_f64(),
                )
            })
            .collect()
    }

    fn target(&self) -> u32 {
        self.arbiter.target()
    }
}
