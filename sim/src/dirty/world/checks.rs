//! The dirty world's invariants, after every step and once settled.

use std::time::Duration;

use rcorn_core::dirty::apps::slot_apps;
use rcorn_core::dirty::arbiter::Phase;
use rcorn_core::dirty::{DirtySignal, Event};

use super::{CallState, DirtyWorld, SLACK};
use crate::Violation;

impl DirtyWorld {
    pub fn check(&mut self) -> Result<(), Violation> {
        if let Some((invariant, what)) = self.fault.take() {
            return Err(self.violation(invariant, what));
        }
        self.check_table()?;
        self.check_calls()?;
        self.check_limits()
    }

    /// The arbiter's table is the process table (5, 6).
    fn check_table(&self) -> Result<(), Violation> {
        let mut ours: Vec<_> = self.arbiter.workers().iter().map(|w| w.pid).collect();
        let mut theirs: Vec<_> = self.procs.iter().map(|p| p.pid).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        if ours != theirs && self.exited.is_none() {
            return Err(self.violation(
                6,
                format!("arbiter knows {ours:?}, processes are {theirs:?}"),
            ));
        }
        Ok(())
    }

    /// No call is lost or left waiting past its bound (7).
    fn check_calls(&self) -> Result<(), Violation> {
        let timeout = self.settings.timeout;
        for (id, c) in &self.calls {
            let open = matches!(c.state, CallState::Waiting | CallState::Running { .. });
            if let CallState::Running { pid, .. } = c.state {
                if !self.procs.iter().any(|p| p.pid == pid) {
                    return Err(self.violation(7, format!("call {id} lost with its worker {pid}")));
                }
            }
            if open && !timeout.is_zero() && self.now > c.made_at + timeout * 2 + SLACK {
                return Err(self.violation(
                    7,
                    format!("call {id} unanswered since {:?}: {c:?}", c.made_at),
                ));
            }
            if open && self.exited.is_some() {
                return Err(self.violation(7, format!("call {id} unanswered at exit: {c:?}")));
            }
        }
        Ok(())
    }

    /// No generation loads a limited app on more workers than its limit.
    fn check_limits(&self) -> Result<(), Violation> {
        for (i, app) in self.settings.apps.iter().enumerate() {
            let Some(limit) = app.limit else { continue };
            for generation in 0..=self.arbiter.generation() {
                let holders = self
                    .arbiter
                    .workers()
                    .iter()
                    .filter(|w| w.is_live() && w.generation == generation && w.apps.contains(i))
                    .count();
                if holders > limit as usize {
                    return Err(self.violation(7, format!("{} on {holders} workers", app.path)));
                }
            }
        }
        Ok(())
    }

    /// With faults over: the pool refills (1), every call is answered (7);
    /// then TERM ends it with every worker reaped (4, 6).
    pub fn settle(&mut self) -> Result<(), Violation> {
        for p in &mut self.procs {
            p.hung = false;
        }
        let quiet = self.settings.timeout * 3 + Duration::from_secs(15);
        self.advance(quiet)?;
        if self.arbiter.phase() == Phase::Running {
            let wanted = (0..self.arbiter.target())
                .filter(|&s| !slot_apps(&self.settings.apps, s).is_empty())
                .count();
            let live = self
                .arbiter
                .workers()
                .iter()
                .filter(|w| w.is_live())
                .count();
            if live != wanted || self.procs.len() != wanted {
                let procs = self.procs.len();
                return Err(self.violation(
                    1,
                    format!("{live} live workers, {procs} processes, {wanted} wanted"),
                ));
            }
            self.stop_at = Some(self.now);
            self.deliver(Event::Signal(DirtySignal::Term));
        }
        let stop_at = self.stop_at.unwrap_or(self.now);
        self.advance(self.settings.graceful_timeout + Duration::from_secs(2))?;
        if self.exited != Some(0) || !self.procs.is_empty() {
            let what = format!(
                "stopped at {stop_at:?}: exit {:?} with {} processes",
                self.exited,
                self.procs.len()
            );
            return Err(self.violation(4, what));
        }
        Ok(())
    }
}
