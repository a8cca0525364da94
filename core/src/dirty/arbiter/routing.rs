//! Calls through the dirty arbiter: taking one in, handing queued calls
//! to workers, and failing those no live worker can take.

use super::super::calls::{CallError, CallId, InFlight, Queued};
use super::{Command, DirtyArbiter, DirtyWorker, Phase, WorkerState};

impl DirtyArbiter {
    pub(super) fn on_call(&mut self, call: CallId, app: Option<usize>, out: &mut Vec<Command>) {
        let fail = |error| Command::Fail { call, error };
        if self.phase != Phase::Running {
            return out.push(fail(CallError::ShuttingDown));
        }
        if !self.workers.iter().any(DirtyWorker::is_live) && self.pending.is_empty() {
            return out.push(fail(CallError::NoWorkers));
        }
        let Some(app) = app.filter(|&a| self.served(a)) else {
            return out.push(fail(CallError::NoWorkersForApp));
        };
        let deadline = (!self.settings.timeout.is_zero()).then(|| self.now + self.settings.timeout);
        self.calls.queued.push_back(Queued {
            call,
            app,
            deadline,
        });
    }

    /// A live worker (or one being forked) loads the app.
    fn served(&self, app: usize) -> bool {
        self.workers
            .iter()
            .any(|w| w.is_live() && w.apps.contains(app))
            || self.pending.iter().any(|(p, _)| p.apps.contains(app))
    }

    /// Queued calls whose app no live worker loads any more (every worker
    /// for it died and its replacement waits out a back-off) fail now
    /// rather than at their deadline, as gunicorn answers at once.
    pub(super) fn fail_unserved(&mut self, out: &mut Vec<Command>) {
        let mut unserved: Vec<usize> = Vec::new();
        for q in &self.calls.queued {
            if !self.served(q.app) && !unserved.contains(&q.app) {
                unserved.push(q.app);
            }
        }
        if unserved.is_empty() {
            return;
        }
        let none_live = !self.workers.iter().any(DirtyWorker::is_live) && self.pending.is_empty();
        let error = if none_live {
            CallError::NoWorkers
        } else {
            CallError::NoWorkersForApp
        };
        for call in self.calls.take_queued(|q| unserved.contains(&q.app)) {
            out.push(Command::Fail { call, error });
        }
    }

    /// Hands queued calls, oldest first, to the least busy ready worker
    /// that loads their app and has a thread free.
    pub(super) fn dispatch(&mut self, out: &mut Vec<Command>) {
        let threads = self.settings.threads.max(1);
        let mut i = 0;
        while i < self.calls.queued.len() {
            let q = self.calls.queued[i];
            let rr = self.rr;
            let chosen = self
                .workers
                .iter()
                .filter(|w| w.state == WorkerState::Ready && w.apps.contains(q.app))
                .map(|w| (self.calls.in_flight_on(w.pid), w.id.wrapping_sub(rr), w))
                .filter(|(busy, _, _)| *busy < threads)
                .min_by_key(|(busy, turn, _)| (*busy, *turn))
                .map(|(_, _, w)| (w.pid, w.id));
            let Some((pid, id)) = chosen else {
                i += 1;
                continue;
            };
            self.calls.queued.remove(i);
            self.rr = id.wrapping_add(1);
            let deadline =
                (!self.settings.timeout.is_zero()).then(|| self.now + self.settings.timeout);
            self.calls
                .in_flight
                .insert(q.call, InFlight { pid, deadline });
            out.push(Command::Dispatch { call: q.call, pid });
        }
    }
}
