//! The dirty arbiter's pool upkeep and timers: which slots need a worker,
//! which workers must go, and what happens when a deadline passes.

use crate::arbiter::{KillSignal, Pid};
use crate::time::Instant;

use super::super::apps::slot_apps;
use super::super::calls::CallError;
use super::super::notice::DirtyNotice;
use super::{Command, DirtyArbiter, PendingSpawn, Phase, WorkerState};

impl DirtyArbiter {
    /// Slots of the current target that load at least one app.
    fn wanted_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.target).filter(|&s| !slot_apps(&self.settings.apps, s).is_empty())
    }

    pub(super) fn manage_workers(&mut self, out: &mut Vec<Command>) {
        let generation = self.generation;
        let kill_at = self.now + self.settings.graceful_timeout;

        // Scaled down: the current workers past the target go.
        let excess: Vec<Pid> = self
            .workers
            .iter()
            .filter(|w| w.generation == generation && w.is_live() && w.slot >= self.target)
            .map(|w| w.pid)
            .collect();
        for pid in excess {
            self.stop_worker(pid, KillSignal::Term, kill_at, out);
        }

        if self.spawn_not_before.is_some_and(|t| self.now >= t) {
            self.spawn_not_before = None;
        }
        if self.spawn_not_before.is_none() {
            self.spawn_missing(out);
        }

        // An older generation goes once every slot of the new one is ready.
        let all_ready = self.wanted_slots().all(|s| {
            self.workers
                .iter()
                .any(|w| w.generation == generation && w.slot == s && w.state == WorkerState::Ready)
        });
        if all_ready {
            let old: Vec<Pid> = self
                .workers
                .iter()
                .filter(|w| w.generation < generation && w.is_live())
                .map(|w| w.pid)
                .collect();
            for pid in old {
                self.stop_worker(pid, KillSignal::Term, kill_at, out);
            }
        }
    }

    /// Forks a worker for each empty slot; while workers keep dying young,
    /// one at a time, none while another still boots.
    fn spawn_missing(&mut self, out: &mut Vec<Command>) {
        let generation = self.generation;
        let filled = |s: u32| {
            self.workers
                .iter()
                .any(|w| w.generation == generation && w.is_live() && w.slot == s)
                || self
                    .pending
                    .iter()
                    .any(|(p, g)| *g == generation && p.slot == s)
        };
        let missing: Vec<u32> = self.wanted_slots().filter(|&s| !filled(s)).collect();
        let probing = self.young_deaths > 1;
        let booting = self
            .workers
            .iter()
            .any(|w| w.generation == generation && w.state == WorkerState::Booting)
            || !self.pending.is_empty();
        let count = match (probing, booting) {
            (false, _) => missing.len(),
            (true, false) => 1.min(missing.len()),
            (true, true) => 0,
        };
        for &slot in missing.iter().take(count) {
            let id = self.next_id;
            self.next_id += 1;
            let apps = slot_apps(&self.settings.apps, slot);
            self.pending
                .push((PendingSpawn { id, slot, apps }, generation));
            out.push(Command::SpawnWorker { id, apps });
        }
    }

    /// Acts on timers, only on `Tick`, after the adapter has reported
    /// every heartbeat it read.
    pub(super) fn enforce_deadlines(&mut self, out: &mut Vec<Command>) {
        let now = self.now;
        self.expire_calls(out);
        let timeout = self.settings.timeout;
        let phase_kill = match self.phase {
            Phase::Stopping { kill_at } => Some(kill_at),
            _ => None,
        };
        let mut silent = Vec::new();
        for w in &mut self.workers {
            match w.state {
                WorkerState::Stopping { kill_at } | WorkerState::Aborting { kill_at }
                    if now >= kill_at || phase_kill.is_some_and(|k| now >= k) =>
                {
                    out.push(Command::Kill {
                        pid: w.pid,
                        signal: KillSignal::Kill,
                    });
                    w.state = WorkerState::Killed;
                }
                WorkerState::Booting | WorkerState::Ready | WorkerState::Stopping { .. }
                    if !timeout.is_zero() && now.saturating_since(w.last_beat) > timeout =>
                {
                    silent.push(w.pid);
                }
                _ => {}
            }
        }
        for pid in silent {
            out.push(Command::Log(DirtyNotice::WorkerTimeout { pid }));
            self.abort_worker(pid, out);
        }
    }

    /// Calls past `dirty_timeout` fail; a worker holding one is aborted,
    /// as the task it runs is what the setting bounds.
    fn expire_calls(&mut self, out: &mut Vec<Command>) {
        let now = self.now;
        let due = |d: Option<Instant>| d.is_some_and(|d| now >= d);
        for call in self.calls.take_queued(|q| due(q.deadline)) {
            out.push(Command::Fail {
                call,
                error: CallError::Timeout,
            });
        }
        let expired: Vec<(u64, Pid)> = self
            .calls
            .in_flight
            .iter()
            .filter(|(_, c)| due(c.deadline))
            .map(|(&id, c)| (id, c.pid))
            .collect();
        // The log line goes before the answer, so whoever gets the error
        // finds its reason already logged.
        for (call, pid) in expired {
            self.calls.in_flight.remove(&call);
            let live = self.workers.iter().any(|w| {
                w.pid == pid
                    && !matches!(w.state, WorkerState::Aborting { .. } | WorkerState::Killed)
            });
            if live {
                out.push(Command::Log(DirtyNotice::CallTimeout { pid }));
                self.abort_worker(pid, out);
            }
            out.push(Command::Fail {
                call,
                error: CallError::Timeout,
            });
        }
    }

    /// When the adapter must call back with `Tick` at the latest.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.phase == Phase::Exited {
            return None;
        }
        let timeout = self.settings.timeout;
        let beat_due = |last: Instant| {
            (!timeout.is_zero()).then(|| last + timeout + std::time::Duration::from_millis(1))
        };
        let mut deadlines: Vec<Instant> = Vec::new();
        for w in &self.workers {
            match w.state {
                WorkerState::Booting | WorkerState::Ready => {
                    deadlines.extend(beat_due(w.last_beat))
                }
                WorkerState::Stopping { kill_at } => {
                    deadlines.push(kill_at);
                    deadlines.extend(beat_due(w.last_beat));
                }
                WorkerState::Aborting { kill_at } => deadlines.push(kill_at),
                WorkerState::Killed => {}
            }
        }
        if let Phase::Stopping { kill_at } = self.phase {
            if self.workers.iter().any(|w| w.state != WorkerState::Killed) {
                deadlines.push(kill_at);
            }
        }
        if self.phase == Phase::Running {
            deadlines.extend(self.spawn_not_before);
        }
        deadlines.extend(self.calls.next_deadline());
        deadlines.into_iter().min()
    }
}
