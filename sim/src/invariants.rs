//! The lifecycle invariants of DESIGN.md §4, checked after every step, and
//! the steady state after the last fault.

use std::time::Duration;

use rcorn_core::arbiter::Pid;

use crate::{ProcState, Violation, World, CHECK_SLACK, QUICK_EXIT, SETTLE};

impl World {
    /// The invariants that must hold after every step.
    pub fn check(&mut self) -> Result<(), Violation> {
        self.take_reports()?;
        self.check_tables()?;
        self.check_generations()?;
        self.check_signals()?;
        self.check_hung_workers()?;
        self.check_stopping()
    }

    /// Faults noted while commands ran (5, and what they name).
    fn take_reports(&mut self) -> Result<(), Violation> {
        if let Some(what) = self.bad_signal.take() {
            return Err(self.violation(5, what));
        }
        if let Some((invariant, what)) = self.bad_report.take() {
            return Err(self.violation(invariant, what));
        }
        Ok(())
    }

    /// The process table and the master's agree (5, 6).
    fn check_tables(&self) -> Result<(), Violation> {
        // The master knows a new master runs exactly while one does (it
        // keeps the unix socket files for it).
        if self.arbiter.upgrade_running() != self.new_master.is_some() {
            return Err(self.violation(
                6,
                format!(
                    "upgrade_running() is {} while the new master is {:?}",
                    self.arbiter.upgrade_running(),
                    self.new_master
                ),
            ));
        }
        // The master's table is the process table: a worker is in it from
        // its fork until it is reaped (5, 6).
        let workers = self.arbiter.workers();
        let same = workers.len() == self.procs.len()
            && self.arbiter.worker_pids().count() == self.procs.len()
            && self.procs.iter().all(|p| {
                workers.iter().any(|w| w.pid == p.pid)
                    && self.arbiter.worker_pids().any(|q| q == p.pid)
            });
        if !same {
            let ours: Vec<Pid> = workers.iter().map(|w| w.pid).collect();
            let listed: Vec<Pid> = self.arbiter.worker_pids().collect();
            let theirs = self.live_pids();
            return Err(self.violation(
                6,
                format!("master knows workers {ours:?} ({listed:?}); processes are {theirs:?}"),
            ));
        }
        Ok(())
    }

    /// Generations follow HUPs; none is left without a ready worker (3).
    fn check_generations(&mut self) -> Result<(), Violation> {
        // Each HUP while running starts exactly one generation (3).
        let generation = self.arbiter.generation();
        if generation != self.hups_while_running {
            return Err(self.violation(
                3,
                format!(
                    "generation {generation} after {} HUPs",
                    self.hups_while_running
                ),
            ));
        }
        if let Some(w) = self
            .arbiter
            .workers()
            .iter()
            .find(|w| w.generation > generation)
        {
            return Err(self.violation(
                3,
                format!(
                    "pid {} of generation {} from the future",
                    w.pid, w.generation
                ),
            ));
        }
        if let Some(what) = self.left_none_ready.take() {
            return Err(self.violation(3, what));
        }
        Ok(())
    }

    /// Every signal is handled or reported dropped (9); the target stays at one or more (8).
    fn check_signals(&self) -> Result<(), Violation> {
        if self.signals_accounted != self.signals_sent && self.exit_code.is_none() {
            return Err(self.violation(
                9,
                format!(
                    "{} signals sent, {} handled or reported dropped",
                    self.signals_sent, self.signals_accounted
                ),
            ));
        }
        if self.arbiter.target() < 1 {
            return Err(self.violation(8, "target below one".into()));
        }
        Ok(())
    }

    /// A silent worker is aborted after timeout, killed after the grace (2).
    fn check_hung_workers(&self) -> Result<(), Violation> {
        let timeout = self.settings.timeout;
        if !timeout.is_zero() {
            for p in &self.procs {
                if let Some(since) = p.hung_since {
                    if !p.aborted && !p.killed && self.now > since + timeout + CHECK_SLACK {
                        return Err(self.violation(
                            2,
                            format!(
                                "pid {} silent since {:?} and not aborted",
                                p.pid,
                                since.since_epoch()
                            ),
                        ));
                    }
                    if !p.killed
                        && self.now > since + timeout + self.settings.abort_grace + CHECK_SLACK
                    {
                        return Err(self.violation(
                            2,
                            format!("pid {} aborted but not killed after the grace", p.pid),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops end in time, with the right code and every worker reaped (4, 6).
    fn check_stopping(&self) -> Result<(), Violation> {
        if let Some(since) = self.stop_since {
            // graceful_timeout after the stop began, a worker that ignored
            // it is SIGKILLed, whatever its own deadline.
            let due = since + self.settings.graceful_timeout + CHECK_SLACK;
            if self.now > due {
                if let Some(p) = self.procs.iter().find(|p| !p.killed) {
                    return Err(self.violation(
                        4,
                        format!(
                            "pid {} alive and not SIGKILLed graceful_timeout after the stop",
                            p.pid
                        ),
                    ));
                }
            }
        }
        if let Some(since) = self.stop_since {
            // Everything but hung workers stops within graceful_timeout;
            // those are killed then; the master exits once all are reaped.
            let bound = since
                + self.settings.graceful_timeout
                + self.settings.abort_grace
                + Duration::from_secs(1);
            if self.exit_code.is_none() && self.now > bound {
                return Err(self.violation(
                    4,
                    format!(
                        "stop began at {:?}; master still running",
                        since.since_epoch()
                    ),
                ));
            }
        }
        if let Some(since) = self.quick_since {
            // INT/QUIT is quick: every worker that still listens is gone
            // promptly, even if a graceful TERM came first.
            let bound = since + QUICK_EXIT + Duration::from_millis(50);
            if let Some(p) = self
                .procs
                .iter()
                .find(|p| p.hung_since.is_none() && self.now > bound)
            {
                return Err(self.violation(
                    4,
                    format!(
                        "pid {} still running after INT/QUIT at {:?}",
                        p.pid,
                        since.since_epoch()
                    ),
                ));
            }
        }
        if self.exit_code.is_some() && self.exit_code != self.stop_code {
            return Err(self.violation(
                4,
                format!(
                    "master exited with {:?}; its first reason to stop calls for {:?}",
                    self.exit_code, self.stop_code
                ),
            ));
        }
        if self.exit_code.is_some() && !self.procs.is_empty() {
            return Err(self.violation(
                6,
                format!("master exited with {} workers unreaped", self.procs.len()),
            ));
        }
        Ok(())
    }

    /// After the last fault: let things settle and check the steady state.
    pub fn settle(&mut self) -> Result<(), Violation> {
        self.advance(SETTLE)?;
        if self.halted_for_boot_failure {
            if self.exit_code.is_none() {
                return Err(self.violation(
                    7,
                    "a worker failed to boot but the master did not halt".into(),
                ));
            }
            return Ok(());
        }
        if let Some(code) = self.exit_code {
            if self.stop_since.is_none() {
                return Err(
                    self.violation(4, format!("master exited with {code} without being asked"))
                );
            }
            if self.spawned != self.reaped {
                return Err(self.violation(
                    6,
                    format!("{} spawned, {} reaped", self.spawned, self.reaped),
                ));
            }
            return Ok(());
        }
        if self.stop_since.is_some() {
            return Err(self.violation(4, "stop requested but the master never exited".into()));
        }
        // Hung workers have been killed and replaced by now.
        let serving = self
            .procs
            .iter()
            .filter(|p| p.state == ProcState::Ready && !p.told_to_stop)
            .count();
        let target = self.arbiter.target() as usize;
        let generation = self.arbiter.generation();
        if let Some(w) = self
            .arbiter
            .workers()
            .iter()
            .find(|w| w.generation != generation)
        {
            return Err(self.violation(
                3,
                format!(
                    "settled with pid {} of generation {}, current {generation}",
                    w.pid, w.generation
                ),
            ));
        }
        if serving != target || self.procs.len() != target {
            return Err(self.violation(
                1,
                format!(
                    "settled with {serving} ready of {} workers, target {target}",
                    self.procs.len()
                ),
            ));
        }
        Ok(())
    }
}
