//! The calls a dirty arbiter holds: waiting for a worker, or in a worker.
//!
//! Every call that enters leaves exactly once: dispatched and then finished
//! by its worker's final message, or failed with an error the client is
//! sent. Nothing here decides; the arbiter moves calls between the two
//! tables and fails them.

use std::collections::{BTreeMap, VecDeque};

use crate::arbiter::Pid;
use crate::time::Instant;

/// Assigned by the adapter, unique while the call lives.
pub type CallId = u64;

/// Why a call got an error instead of its worker's answer. Each is one of
/// gunicorn's documented exceptions on the client side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No dirty worker is alive or booting (`DirtyError`, "No dirty
    /// workers available").
    NoWorkers,
    /// No worker loads the app asked for, or it is not configured
    /// (`DirtyNoWorkersAvailableError`).
    NoWorkersForApp,
    /// Not answered within `dirty_timeout` (`DirtyTimeoutError`).
    Timeout,
    /// Its worker died with the call in hand (`DirtyWorkerError`).
    WorkerDied { pid: Pid },
    /// The pool is stopping (`DirtyError`).
    ShuttingDown,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Queued {
    pub call: CallId,
    pub app: usize,
    /// Failed with `Timeout` if still waiting then; `None` without a timeout.
    pub deadline: Option<Instant>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlight {
    pub pid: Pid,
    pub deadline: Option<Instant>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Calls {
    pub queued: VecDeque<Queued>,
    pub in_flight: BTreeMap<CallId, InFlight>,
}

impl Calls {
    pub fn in_flight_on(&self, pid: Pid) -> u32 {
        self.in_flight.values().filter(|c| c.pid == pid).count() as u32
    }

    /// Removes and returns the calls a worker holds.
    pub fn take_worker(&mut self, pid: Pid) -> Vec<CallId> {
        let calls: Vec<CallId> = self
            .in_flight
            .iter()
            .filter(|(_, c)| c.pid == pid)
            .map(|(&id, _)| id)
            .collect();
        for id in &calls {
            self.in_flight.remove(id);
        }
        calls
    }

    /// Removes and returns the queued calls for which `drop` is true.
    pub fn take_queued(&mut self, mut drop: impl FnMut(&Queued) -> bool) -> Vec<CallId> {
        let mut taken = Vec::new();
        self.queued.retain(|q| {
            let gone = drop(q);
            if gone {
                taken.push(q.call);
            }
            !gone
        });
        taken
    }

    /// The earliest deadline of any call.
    pub fn next_deadline(&self) -> Option<Instant> {
        let queued = self.queued.iter().filter_map(|q| q.deadline);
        let in_flight = self.in_flight.values().filter_map(|c| c.deadline);
        queued.chain(in_flight).min()
    }
}
