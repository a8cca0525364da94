//! Applying a schedule's actions and letting simulated time run, with the
//! checks a signal or an exit calls for as it happens.

use std::time::Duration;

use rcorn_core::arbiter::{ControlAction, Event, ExitStatus, Hook, Notice, Phase, Pid, Signal};
use rcorn_core::time::Instant;

use crate::{Action, Proc, ProcState, SignalEffects, Violation, World};

impl World {
    /// Applies one action, then lets the world run until nothing is due.
    pub fn apply(&mut self, action: Action) -> Result<(), Violation> {
        if self.exit_code.is_some() {
            return Ok(());
        }
        match action {
            Action::Advance(ms) => self.advance(Duration::from_millis(u64::from(ms)))?,
            Action::Signal(signal) => {
                self.signals_sent += 1;
                self.signals_pending.push_back(signal);
                let running = self.arbiter.phase() == Phase::Running;
                if signal == Signal::Hup && running {
                    self.hups_while_running += 1;
                }
                if matches!(signal, Signal::Term | Signal::Int | Signal::Quit)
                    && self.stop_since.is_none()
                {
                    self.stop_since = Some(self.now);
                    self.stop_code = Some(0);
                }
                if matches!(signal, Signal::Int | Signal::Quit) && self.quick_since.is_none() {
                    self.quick_since = Some(self.now);
                }
                let before = self.signal_effects();
                self.deliver(Event::Signal(signal));
                if running {
                    self.check_signal_handled(signal, before);
                }
            }
            Action::Crash(n) => {
                let now = self.now;
                if let Some(p) = self.nth_live(n) {
                    if p.exit_at.is_none() {
                        p.exit_at = Some((now, ExitStatus::Signaled(11)));
                    }
                }
            }
            Action::Recycle(n) => {
                let now = self.now;
                if let Some(p) = self.nth_live(n) {
                    if p.exit_at.is_none() && p.state == ProcState::Ready {
                        p.exit_at = Some((now, ExitStatus::Code(0)));
                    }
                }
            }
            Action::Hang(n) => {
                let now = self.now;
                if let Some(p) = self.nth_live(n) {
                    if p.hung_since.is_none() {
                        // It beat just before it hung; the master learns of
                        // that beat at its next wake.
                        p.hung_since = Some(now);
                        p.stamp = now;
                    }
                }
            }
            Action::OomKill(n) => {
                let now = self.now;
                if let Some(p) = self.nth_live(n) {
                    if p.exit_at.is_none() {
                        p.exit_at = Some((now, ExitStatus::Signaled(9)));
                    }
                }
            }
            Action::ControlScale(by) => self.control_scale(i32::from(by)),
            Action::ControlStopWorker(n) => {
                let pids: Vec<Pid> = self.arbiter.worker_pids().collect();
                if !pids.is_empty() {
                    let pid = pids[usize::from(n) % pids.len()];
                    self.deliver(Event::Control(ControlAction::StopWorker { pid }));
                }
            }
            Action::BootFailNext => self.boot_fail_next = true,
            Action::ForkFailNext => self.fork_fail_next = true,
            Action::ReapStranger => {
                let pid = self.next_pid + 1000;
                self.deliver(Event::ChildExited {
                    pid,
                    status: ExitStatus::Code(0),
                });
            }
        }
        self.advance(Duration::ZERO)?;
        self.check()
    }

    /// `worker add` / `worker remove` while running changes the target by
    /// that much, never below one, with one `nworkers_changed` when it
    /// changes (8).
    fn control_scale(&mut self, by: i32) {
        let running = self.arbiter.phase() == Phase::Running;
        let old = self.arbiter.target();
        let hooks_before = self.hooks.len();
        self.deliver(Event::Control(ControlAction::Scale { by }));
        if !running || self.bad_report.is_some() {
            return;
        }
        let want = (i64::from(old) + i64::from(by)).max(1) as u32;
        let target = self.arbiter.target();
        let changed: Vec<Hook> = self.hooks[hooks_before..]
            .iter()
            .filter(|h| matches!(h, Hook::NworkersChanged { .. }))
            .copied()
            .collect();
        let hook_ok = if want == old {
            changed.is_empty()
        } else {
            changed == [Hook::NworkersChanged { new: want, old }]
        };
        if target != want || !hook_ok {
            self.bad_report = Some((
                8,
                format!("worker scale {by:+}: target {old} -> {target}, hooks {changed:?}"),
            ));
        }
    }

    fn nth_live(&mut self, n: u8) -> Option<&mut Proc> {
        let live: Vec<usize> = (0..self.procs.len())
            .filter(|&i| !self.procs[i].killed)
            .collect();
        if live.is_empty() {
            return None;
        }
        let i = live[usize::from(n) % live.len()];
        self.procs.get_mut(i)
    }

    /// The next instant something happens in the process table.
    fn next_process_event(&self) -> Option<Instant> {
        let new_master_exit = self.new_master.map(|(_, t)| t);
        self.procs
            .iter()
            .flat_map(|p| {
                let ready = match p.state {
                    ProcState::Booting { ready_at }
                        if p.hung_since.is_none() && p.exit_at.is_none() =>
                    {
                        Some(ready_at)
                    }
                    _ => None,
                };
                [ready, p.exit_at.map(|(t, _)| t)]
            })
            .flatten()
            .chain(new_master_exit)
            .min()
    }

    /// Runs the world for `span`, waking at every process event and every
    /// deadline the arbiter asks for, as the real adapter does.
    pub fn advance(&mut self, span: Duration) -> Result<(), Violation> {
        let until = self.now + span;
        // Wake-ups at one instant: a deadline the arbiter keeps asking for
        // but never acts on would spin the real master loop at 100 % CPU.
        let mut wakes_at_now = 0;
        loop {
            if self.exit_code.is_some() {
                return Ok(());
            }
            let next = [self.next_process_event(), self.arbiter.next_deadline()]
                .into_iter()
                .flatten()
                .min()
                .filter(|&t| t <= until);
            let Some(next) = next else {
                self.now = until;
                return Ok(());
            };
            if next <= self.now {
                wakes_at_now += 1;
                if wakes_at_now > 100 {
                    let what = format!(
                        "deadline {:?} stays due and is never acted on",
                        next.since_epoch()
                    );
                    return Err(self.violation(10, what));
                }
            } else {
                wakes_at_now = 0;
            }
            self.now = self.now.max(next);
            self.run_due();
            self.check()?;
        }
    }

    fn run_due(&mut self) {
        let now = self.now;
        if let Some((pid, _)) = self.new_master.filter(|&(_, t)| t <= now) {
            self.new_master = None;
            self.deliver(Event::ChildExited {
                pid,
                status: ExitStatus::Code(0),
            });
        }
        // Exits (reaped at once, as SIGCHLD wakes the master).
        while let Some(i) = self
            .procs
            .iter()
            .position(|p| p.exit_at.is_some_and(|(t, _)| t <= now))
        {
            let p = self.procs.remove(i);
            let status = p.exit_at.map(|(_, s)| s).unwrap_or(ExitStatus::Code(0));
            self.free_pids.push(p.pid);
            self.free_pids.sort_unstable_by(|a, b| b.cmp(a));
            self.reaped += 1;
            if status == ExitStatus::Code(3) && self.stop_since.is_none() {
                self.stop_since = Some(now);
                self.stop_code = Some(3);
            }
            let stopping = matches!(self.arbiter.phase(), Phase::Stopping { .. });
            let before = (self.notices.len(), self.hooks.len());
            self.deliver(Event::ChildExited { pid: p.pid, status });
            self.check_exit_report(&p, status, stopping, before);
        }
        // Boots completing.
        let ready: Vec<Pid> = self
            .procs
            .iter_mut()
            .filter_map(|p| match p.state {
                ProcState::Booting { ready_at }
                    if ready_at <= now && p.hung_since.is_none() && p.exit_at.is_none() =>
                {
                    p.state = ProcState::Ready;
                    Some(p.pid)
                }
                _ => None,
            })
            .collect();
        for pid in ready {
            self.deliver(Event::WorkerReady { pid });
        }
        // Heartbeats: every worker that is not hung has a fresh stamp; the
        // master reports each stamp it has not reported yet.
        let mut fresh = Vec::new();
        for p in &mut self.procs {
            if p.hung_since.is_none() {
                p.stamp = now;
            }
            if p.stamp > p.last_beat {
                p.last_beat = p.stamp;
                fresh.push((p.pid, p.stamp));
            }
        }
        for (pid, at) in fresh {
            self.deliver(Event::Heartbeat { pid, at });
        }
        if self.arbiter.next_deadline().is_some_and(|d| d <= now) {
            self.deliver(Event::Tick);
        }
    }

    fn signal_effects(&self) -> SignalEffects {
        SignalEffects {
            target: self.arbiter.target(),
            hooks: self.hooks.len(),
            notices: self.notices.len(),
            reopened_logs: self.reopened_logs,
            reexecs: self.reexecs,
            upgrading: self.new_master.is_some(),
            usr1: self.procs.iter().map(|p| (p.pid, p.usr1)).collect(),
        }
    }

    /// A signal handled while running does what gunicorn's does (8, 9).
    fn check_signal_handled(&mut self, signal: Signal, before: SignalEffects) {
        if self.bad_report.is_some() {
            return;
        }
        let hooks = &self.hooks[before.hooks..];
        let notices = &self.notices[before.notices..];
        let old = before.target;
        let target = self.arbiter.target();
        let changed = [Hook::NworkersChanged {
            new: target,
            old: before.target,
        }];
        let wrong = match signal {
            Signal::Ttin if target != old + 1 || !hooks.starts_with(&changed) => Some((
                8,
                format!("TTIN: target {old} -> {target}, hooks {hooks:?}"),
            )),
            Signal::Ttou
                if target != old.saturating_sub(1).max(1)
                    || hooks.starts_with(&changed) != (old > 1) =>
            {
                Some((
                    8,
                    format!("TTOU: target {old} -> {target}, hooks {hooks:?}"),
                ))
            }
            Signal::Hup if hooks.first() != Some(&Hook::OnReload) => {
                Some((9, format!("HUP without on_reload: {hooks:?}")))
            }
            Signal::Usr1 => {
                // Every worker not being killed reopens its logs too.
                let missed = self.procs.iter().filter(|p| !p.killed).find(|p| {
                    before
                        .usr1
                        .iter()
                        .any(|&(q, n)| q == p.pid && p.usr1 != n + 1)
                });
                if self.reopened_logs != before.reopened_logs + 1 {
                    Some((9, "USR1 did not reopen the master's logs".into()))
                } else {
                    missed.map(|p| (9, format!("USR1 not passed on to pid {}", p.pid)))
                }
            }
            // No new master is ever reported here, so each USR2 re-execs.
            // While a new master runs, a second USR2 is ignored, as in
            // gunicorn; otherwise it re-execs exactly once.
            Signal::Usr2 if self.reexecs != before.reexecs + usize::from(!before.upgrading) => {
                Some((
                    9,
                    "USR2 did not re-exec exactly when no upgrade was running".into(),
                ))
            }
            Signal::Winch
                if !self.settings.daemon
                    && (target != old || !notices.contains(&Notice::WinchIgnored)) =>
            {
                Some((
                    9,
                    "WINCH when not daemonized must be ignored, and say so".into(),
                ))
            }
            _ => None,
        };
        self.bad_report = wrong;
    }

    /// What the master logs about a reaped worker must match how it died:
    /// an exit code other than 0 is reported with that code; a SIGKILL the
    /// master did not send as "Perhaps out of memory?"; any other signal it
    /// did not cause as that signal; a death it asked for, not at all.
    fn check_exit_report(
        &mut self,
        p: &Proc,
        status: ExitStatus,
        stopping: bool,
        (from, hooks_from): (usize, usize),
    ) {
        if self.bad_report.is_some() {
            return;
        }
        let pid = p.pid;
        let asked = p.told_to_stop || p.aborted || p.killed || stopping;
        let expected = match status {
            ExitStatus::Code(0) => None,
            ExitStatus::Code(code) => Some(Notice::WorkerExited { pid, code }),
            ExitStatus::Signaled(9) if !p.killed => Some(Notice::KilledBySigkill { pid }),
            ExitStatus::Signaled(signal) if !asked => Some(Notice::WorkerSignaled { pid, signal }),
            ExitStatus::Signaled(_) => None,
        };
        let reports: Vec<Notice> = self.notices[from..]
            .iter()
            .copied()
            .filter(|n| {
                matches!(n,
                    Notice::WorkerExited { pid: q, .. }
                    | Notice::KilledBySigkill { pid: q }
                    | Notice::WorkerSignaled { pid: q, .. } if *q == pid)
            })
            .collect();
        let hooked = self.hooks[hooks_from..]
            .iter()
            .any(|h| matches!(h, Hook::ChildExit { pid: q, .. } if *q == pid));
        if !hooked {
            self.bad_report = Some((6, format!("pid {pid} reaped without child_exit")));
            return;
        }
        if reports != expected.into_iter().collect::<Vec<_>>() {
            self.bad_report = Some((
                6,
                format!(
                    "pid {pid} ended with {status:?} (asked to stop: {asked}); master logged {reports:?}"
                ),
            ));
        }
    }
}
