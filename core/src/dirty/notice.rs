//! What the dirty arbiter logs; `Display` gives gunicorn's wording.

use std::fmt;
use std::time::Duration;

use crate::arbiter::{NoticeLevel, Pid};

use super::arbiter::DirtySignal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirtyNotice {
    Reloading,
    Increasing {
        to: u32,
    },
    Decreasing {
        to: u32,
    },
    /// TTOU refused: apps with a worker limit need this many.
    AtMinimum {
        min: u32,
    },
    WorkerTimeout {
        pid: Pid,
    },
    /// A call ran past `dirty_timeout`; its worker is aborted.
    CallTimeout {
        pid: Pid,
    },
    WorkerExited {
        pid: Pid,
    },
    BootFailed {
        pid: Pid,
    },
    KilledBySignal {
        pid: Pid,
        signal: i32,
    },
    SpawnFailed {
        retry_in: Duration,
    },
    CrashLoop {
        retry_in: Duration,
    },
    Ignored(DirtySignal),
}

impl DirtyNotice {
    pub fn level(&self) -> NoticeLevel {
        match self {
            DirtyNotice::Reloading
            | DirtyNotice::Increasing { .. }
            | DirtyNotice::Decreasing { .. }
            | DirtyNotice::WorkerExited { .. } => NoticeLevel::Info,
            DirtyNotice::Ignored(_) => NoticeLevel::Debug,
            DirtyNotice::AtMinimum { .. }
            | DirtyNotice::KilledBySignal { .. }
            | DirtyNotice::SpawnFailed { .. }
            | DirtyNotice::CrashLoop { .. } => NoticeLevel::Warning,
            DirtyNotice::BootFailed { .. } => NoticeLevel::Error,
            DirtyNotice::WorkerTimeout { .. } | DirtyNotice::CallTimeout { .. } => {
                NoticeLevel::Critical
            }
        }
    }
}

impl fmt::Display for DirtyNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirtyNotice::Reloading => f.write_str("Reloading dirty workers"),
            DirtyNotice::Increasing { to } => {
                write!(f, "SIGTTIN: Increasing dirty workers to {to}")
            }
            DirtyNotice::Decreasing { to } => {
                write!(f, "SIGTTOU: Decreasing dirty workers to {to}")
            }
            DirtyNotice::AtMinimum { min } => write!(
                f,
                "SIGTTOU: Cannot decrease below {min} workers (required by app specs)"
            ),
            DirtyNotice::WorkerTimeout { pid } => write!(f, "DIRTY WORKER TIMEOUT (pid:{pid})"),
            DirtyNotice::CallTimeout { pid } => {
                write!(f, "Dirty call timed out, aborting dirty worker (pid:{pid})")
            }
            DirtyNotice::WorkerExited { pid } => write!(f, "Dirty worker exited (pid:{pid})"),
            DirtyNotice::BootFailed { pid } => {
                write!(f, "Dirty worker failed to boot (pid:{pid})")
            }
            DirtyNotice::KilledBySignal { pid, signal } => {
                write!(f, "Dirty worker (pid:{pid}) killed by signal {signal}")
            }
            DirtyNotice::SpawnFailed { retry_in } => write!(
                f,
                "Unable to fork a dirty worker; retrying in {} ms",
                retry_in.as_millis()
            ),
            DirtyNotice::CrashLoop { retry_in } => write!(
                f,
                "Dirty workers keep dying at start; next one in {} ms",
                retry_in.as_millis()
            ),
            DirtyNotice::Ignored(s) => write!(f, "Ignoring {s:?} while stopping"),
        }
    }
}
