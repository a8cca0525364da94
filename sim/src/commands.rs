//! What the arbiter's commands do to the simulated processes, each
//! checked against what the master should have done first.

use std::time::Duration;

use rcorn_core::arbiter::{
    Command, Event, ExitStatus, Hook, KillSignal, Notice, Phase, Pid, WorkerId,
};

use crate::{Proc, ProcState, World};

impl World {
    pub(crate) fn execute(&mut self, command: Command, out: &mut Vec<Command>) {
        if let Some(pid) = self.replace_mark.take() {
            let follows =
                matches!(command, Command::Kill { pid: p, signal: KillSignal::Term } if p == pid);
            if !follows && self.bad_report.is_none() {
                self.bad_report =
                    Some((10, format!("pid {pid} marked replaced, then {command:?}")));
            }
            self.replace_mark = Some(pid).filter(|_| follows);
        }
        match command {
            Command::SpawnWorker { id } => self.spawn(id, out),
            Command::MarkReplaced { pid } => self.replace_mark = Some(pid),
            Command::Kill { pid, signal } => {
                if signal == KillSignal::Term {
                    self.check_replacement(pid);
                }
                self.kill(pid, signal)
            }
            Command::Log(notice) => self.record_notice(notice),
            Command::Hook(hook) => self.record_hook(hook),
            Command::ReopenLogs => self.reopened_logs += 1,
            Command::ReExec => self.re_exec(out),
            Command::Exit { code } => self.exit_code = Some(code),
        }
    }

    /// A fork: checked against the hooks and any back-off, then a new
    /// process that boots in 5 ms to 2 s (or fails to fork, when told to).
    fn spawn(&mut self, id: WorkerId, out: &mut Vec<Command>) {
        if self.hooks.last() != Some(&Hook::PreFork { id }) && self.bad_report.is_none() {
            self.bad_report = Some((6, format!("worker {id} forked without pre_fork")));
        }
        if let Some(t) = self.backing_off_until.filter(|&t| self.now < t) {
            if self.bad_report.is_none() {
                self.bad_report = Some((
                    7,
                    format!(
                        "worker {id} forked during a back-off announced until {:?}",
                        t.since_epoch()
                    ),
                ));
            }
        }
        let event = if std::mem::take(&mut self.fork_fail_next) {
            Event::SpawnFailed { id }
        } else {
            let pid = self.free_pids.pop().unwrap_or_else(|| {
                self.next_pid += 1;
                self.next_pid
            });
            let boot = Duration::from_millis(self.rng.range(5, 2_000));
            let exit_at = std::mem::take(&mut self.boot_fail_next)
                .then(|| (self.now + boot, ExitStatus::Code(3)));
            self.procs.push(Proc {
                pid,
                state: ProcState::Booting {
                    ready_at: self.now + boot,
                },
                exit_at,
                hung_since: None,
                aborted: false,
                last_beat: self.now,
                stamp: self.now,
                asked_to_stop_at: None,
                aborted_at: None,
                killed: false,
                told_to_stop: false,
                usr1: 0,
            });
            self.spawned += 1;
            Event::Spawned { id, pid }
        };
        self.arbiter.handle(self.now, event, out);
    }

    fn record_notice(&mut self, notice: Notice) {
        match notice {
            Notice::HandlingSignal(s) | Notice::SignalDropped(s) => {
                self.signals_accounted += 1;
                let expected = self.signals_pending.pop_front();
                if expected != Some(s) && self.bad_report.is_none() {
                    self.bad_report = Some((
                        9,
                        format!("{notice:?} logged; next signal sent was {expected:?}"),
                    ));
                }
            }
            Notice::SpawnFailed { retry_in } | Notice::CrashLoop { retry_in } => {
                self.backing_off_until = Some(self.now + retry_in)
            }
            Notice::BootFailed | Notice::AppLoadFailed => self.halted_for_boot_failure = true,
            _ => {}
        }
        self.notices.push(notice);
    }

    fn record_hook(&mut self, hook: Hook) {
        // A reload is the operator's "try again": it ends a back-off.
        if hook == Hook::OnReload {
            self.backing_off_until = None;
        }
        if let Hook::ChildExit { pid, .. } = hook {
            // Called as the worker is reaped, before it leaves the
            // table: it must be one of ours.
            if !self.arbiter.workers().iter().any(|w| w.pid == pid)
                && self.procs.iter().any(|p| p.pid == pid)
                && self.bad_report.is_none()
            {
                self.bad_report = Some((6, format!("child_exit for pid {pid}, not reaped")));
            }
        }
        self.hooks.push(hook)
    }

    /// The new master of a USR2: it runs 100 ms to 20 s, then exits.
    fn re_exec(&mut self, out: &mut Vec<Command>) {
        if self.hooks.last() != Some(&Hook::PreExec) && self.bad_report.is_none() {
            self.bad_report = Some((9, "re-exec without the pre_exec hook".into()));
        }
        self.reexecs += 1;
        self.next_pid += 1;
        let pid = self.next_pid;
        let exit_at = self.now + Duration::from_millis(self.rng.range(100, 20_000));
        self.new_master = Some((pid, exit_at));
        self.arbiter
            .handle(self.now, Event::ReExecSpawned { pid }, out);
    }

    /// A TERM is a restart for the worker's clients exactly when the
    /// service goes on without it: a USR2 upgrade's new master runs, or,
    /// while running, newer workers replace it (HUP, `worker kill`); not
    /// in a shutdown, nor for a TTOU (10).
    fn check_replacement(&mut self, pid: Pid) {
        let marked = self.replace_mark.take() == Some(pid);
        let replaced_here =
            self.arbiter.phase() == Phase::Running
                && self.arbiter.workers().iter().any(|w| {
                    w.pid == pid && (w.generation < self.arbiter.generation() || w.retiring)
                });
        let expected = self.new_master.is_some() || replaced_here;
        if marked {
            self.replaced_terms += 1;
        } else {
            self.plain_terms += 1;
        }
        if marked != expected && self.bad_report.is_none() {
            self.bad_report = Some((
                10,
                format!("TERM to pid {pid} marked replaced: {marked}, expected {expected}"),
            ));
        }
    }

    fn kill(&mut self, pid: Pid, signal: KillSignal) {
        let now = self.now;
        let grace = Duration::from_millis(self.rng.range(0, 800));
        let running = self.arbiter.phase() == Phase::Running;
        let ready_others = self
            .procs
            .iter()
            // Judged by what the arbiter can know: a hang or a crash still
            // to come shows only later, through silence or an exit.
            .filter(|p| p.pid != pid && p.state == ProcState::Ready && !p.told_to_stop)
            .count();
        let too_early = self.premature_kill(pid, signal);
        if too_early.is_some() && self.bad_report.is_none() {
            self.bad_report = too_early;
        }
        let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid) else {
            self.bad_signal = Some(format!(
                "{signal:?} sent to pid {pid}, which is not a live worker"
            ));
            return;
        };
        let serving = p.state == ProcState::Ready
            && !p.told_to_stop
            && p.exit_at.is_none()
            && p.hung_since.is_none();
        if running && serving && ready_others == 0 && matches!(signal, KillSignal::Term) {
            self.left_none_ready = Some(format!(
                "TERM to pid {pid}, the last ready worker, while running"
            ));
        }
        if signal == KillSignal::Abort
            && self.notices.last() != Some(&Notice::WorkerTimeout { pid })
            && self.bad_report.is_none()
        {
            self.bad_report = Some((2, format!("SIGABRT to pid {pid} without WORKER TIMEOUT")));
        }
        p.receive(signal, now, grace);
    }

    /// A SIGABRT to a worker that beat within `timeout`, or a SIGKILL
    /// before the grace it was owed ran out: which invariant, and how.
    fn premature_kill(&self, pid: Pid, signal: KillSignal) -> Option<(u8, String)> {
        let now = self.now;
        let phase_deadline_passed = self
            .stop_since
            .is_some_and(|t| now >= t + self.settings.graceful_timeout);
        self.procs
            .iter()
            .find(|p| p.pid == pid)
            .and_then(|p| match signal {
                KillSignal::Abort if now.saturating_since(p.stamp) <= self.settings.timeout => {
                    Some((
                        2,
                        format!(
                            "SIGABRT to pid {pid}, which beat at {:?}",
                            p.stamp.since_epoch()
                        ),
                    ))
                }
                KillSignal::Kill if phase_deadline_passed => None,
                KillSignal::Kill => match (p.aborted_at, p.asked_to_stop_at) {
                    (Some(t), _) if now < t + self.settings.abort_grace => Some((
                        2,
                        format!("SIGKILL to pid {pid} before the abort grace ran out"),
                    )),
                    (None, Some(t)) if now < t + self.settings.graceful_timeout => Some((
                        4,
                        format!("SIGKILL to pid {pid} before graceful_timeout ran out"),
                    )),
                    (None, None) => Some((4, format!("SIGKILL to pid {pid}, never asked to stop"))),
                    _ => None,
                },
                _ => None,
            })
    }
}
