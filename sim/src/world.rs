//! The simulated world: its construction, what tests may read of it, and
//! how events reach the arbiter.

use std::time::Duration;

use rcorn_core::arbiter::{Arbiter, ArbiterSettings, Event, Notice, Pid};
use rcorn_core::time::Instant;

use crate::{ProcState, SimRng, Violation, World};

impl World {
    pub fn new(settings: ArbiterSettings, seed: u64) -> World {
        let mut world = World {
            arbiter: Arbiter::new(settings.clone()),
            settings,
            now: Instant::ZERO,
            rng: SimRng::new(seed),
            procs: Vec::new(),
            free_pids: Vec::new(),
            next_pid: 100,
            boot_fail_next: false,
            fork_fail_next: false,
            signals_sent: 0,
            signals_accounted: 0,
            stop_since: None,
            halted_for_boot_failure: false,
            exit_code: None,
            spawned: 0,
            reaped: 0,
            commands: Vec::new(),
            trace: Vec::new(),
            keep_trace: false,
            bad_signal: None,
            left_none_ready: None,
            notices: Vec::new(),
            signals_pending: std::collections::VecDeque::new(),
            hups_while_running: 0,
            bad_report: None,
            hooks: Vec::new(),
            reopened_logs: 0,
            reexecs: 0,
            new_master: None,
            backing_off_until: None,
            stop_code: None,
            quick_since: None,
            replace_mark: None,
            replaced_terms: 0,
            plain_terms: 0,
        };
        world.deliver(Event::Boot);
        world
    }

    /// Keep a human-readable trace of every event and command.
    pub fn with_trace(mut self) -> World {
        self.keep_trace = true;
        self
    }

    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    pub fn spawned(&self) -> usize {
        self.spawned
    }

    /// Everything the master logged, in order.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Simulated processes still booting.
    pub fn booting(&self) -> usize {
        self.procs
            .iter()
            .filter(|p| matches!(p.state, ProcState::Booting { .. }))
            .count()
    }

    /// Pids of the simulated processes not yet reaped.
    pub fn live_pids(&self) -> Vec<Pid> {
        self.procs.iter().map(|p| p.pid).collect()
    }

    /// TERMs the master marked as a restart (its websockets get 1012).
    pub fn replaced_terms(&self) -> usize {
        self.replaced_terms
    }

    /// TERMs that stop a worker without a replacement (a shutdown, TTOU).
    pub fn plain_terms(&self) -> usize {
        self.plain_terms
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Instant {
        self.now
    }

    fn at(&self) -> Duration {
        self.now.since_epoch()
    }

    pub(crate) fn violation(&self, invariant: u8, what: String) -> Violation {
        Violation {
            invariant,
            at: self.at(),
            what,
        }
    }

    /// Feeds one event to the arbiter and carries out what it says, the
    /// way the real adapter does (spawns answered synchronously).
    pub(crate) fn deliver(&mut self, event: Event) {
        if self.exit_code.is_some() {
            return;
        }
        if self.keep_trace {
            self.trace.push(format!("{:>9?} -> {event:?}", self.at()));
        }
        let mut out = std::mem::take(&mut self.commands);
        self.arbiter.handle(self.now, event, &mut out);
        let mut i = 0;
        while i < out.len() {
            let command = out[i];
            i += 1;
            if self.keep_trace {
                self.trace.push(format!("{:>9?} <- {command:?}", self.at()));
            }
            self.execute(command, &mut out);
        }
        out.clear();
        self.commands = out;
    }
}
