//! A deterministic simulation of rcorn's master.
//!
//! `World` drives the real [`Arbiter`] with a simulated clock, a fake
//! process table (pids reused, slow boots, boot failures, crashes, hangs
//! that stop heartbeats, fork failures) and signals, all from one seeded
//! RNG. After every step it checks the lifecycle invariants of DESIGN.md
//! §4; a broken one is returned as a [`Violation`] naming it.
//!
//! Beyond the process table it also holds the master to what it reports
//! and calls: its worker table is the process table; each HUP starts one
//! generation; TTIN/TTOU/USR1/USR2/WINCH do what gunicorn's do, with their
//! hooks; every signal is logged in the order sent; every reaped worker
//! gets `child_exit` and the log line its death calls for (none when the
//! master asked for it); every fork is preceded by `pre_fork` and every
//! SIGABRT by "WORKER TIMEOUT".

use std::time::Duration;

use rcorn_core::arbiter::{
    Arbiter, ArbiterSettings, Command, Event, ExitStatus, Hook, KillSignal, Notice, Phase, Pid,
    Signal, WorkerId,
};
use rcorn_core::time::Instant;

/// The simulator's one source of randomness, seeded per run; core's
/// splitmix64, so a seed replays the same schedule everywhere.
pub type SimRng = rcorn_core::rng::SplitMix64;

/// One step of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Let this many milliseconds pass.
    Advance(u32),
    Signal(Signal),
    /// The n-th live worker (modulo their number) dies on its own.
    Crash(u8),
    /// The n-th live worker stops heartbeating and ignores all but SIGKILL.
    Hang(u8),
    /// The next forked worker fails to boot (exit code 3).
    BootFailNext,
    /// The next fork fails (EAGAIN).
    ForkFailNext,
    /// A process that is not a worker is reaped (a re-parented grandchild).
    ReapStranger,
    /// The n-th live worker is SIGKILLed by someone else (the OOM killer).
    OomKill(u8),
    /// The n-th live worker, if ready, exits 0 on its own: it reached
    /// `max_requests`, or `--reload` saw a change.
    Recycle(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProcState {
    Booting { ready_at: Instant },
    Ready,
}

#[derive(Clone, Debug)]
struct Proc {
    pid: Pid,
    state: ProcState,
    /// When it exits on its own, and how.
    exit_at: Option<(Instant, ExitStatus)>,
    /// Hung since this instant: no heartbeats, deaf to all but SIGKILL.
    hung_since: Option<Instant>,
    aborted: bool,
    /// The last heartbeat the master was told of.
    last_beat: Instant,
    /// The worker's own last beat, as its slot holds it. The master reads
    /// it only when it wakes, so it may learn of a beat late: the arbiter
    /// must judge silence by this stamp, not by when it read it.
    stamp: Instant,
    /// The first TERM/INT/QUIT, and the SIGABRT, the master sent it.
    asked_to_stop_at: Option<Instant>,
    aborted_at: Option<Instant>,
    killed: bool,
    told_to_stop: bool,
    /// SIGUSR1s received (reopen your logs).
    usr1: u32,
}

impl Proc {
    /// What a signal does to the process: it exits at once, after a grace,
    /// or not at all while hung.
    fn receive(&mut self, signal: KillSignal, now: Instant, grace: Duration) {
        let hung = self.hung_since.is_some();
        match signal {
            KillSignal::Kill => {
                self.killed = true;
                self.exit_at = Some((now, ExitStatus::Signaled(9)));
            }
            KillSignal::Abort => {
                self.aborted = true;
                self.aborted_at.get_or_insert(now);
                if !hung && self.exit_at.is_none() {
                    self.exit_at = Some((now + Duration::from_millis(5), ExitStatus::Signaled(6)));
                }
            }
            // TERM: finish the requests in hand (up to 800 ms here).
            KillSignal::Term => {
                self.told_to_stop = true;
                self.asked_to_stop_at.get_or_insert(now);
                if !hung && self.exit_at.is_none() {
                    self.exit_at = Some((now + grace, ExitStatus::Code(0)));
                }
            }
            // INT/QUIT: exit at once, even while draining after a TERM.
            KillSignal::Int | KillSignal::Quit => {
                self.told_to_stop = true;
                self.asked_to_stop_at.get_or_insert(now);
                let quick = now + QUICK_EXIT;
                // A worker still booting (even one bound to fail) quits too.
                if !hung && self.exit_at.is_none_or(|(t, _)| t > quick) {
                    self.exit_at = Some((quick, ExitStatus::Code(0)));
                }
            }
            KillSignal::Usr1 => self.usr1 += 1,
            KillSignal::Winch => {}
        }
    }
}

/// What a signal may change, seen before it is handled.
struct SignalEffects {
    target: u32,
    hooks: usize,
    notices: usize,
    reopened_logs: usize,
    reexecs: usize,
    /// A new master from an earlier USR2 was running.
    upgrading: bool,
    usr1: Vec<(Pid, u32)>,
}

/// A broken invariant: which one (DESIGN.md §4 numbering) and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: u8,
    pub at: Duration,
    pub what: String,
}

/// `Clone` so an exhaustive search can branch from any state.
#[derive(Clone)]
pub struct World {
    pub arbiter: Arbiter,
    settings: ArbiterSettings,
    now: Instant,
    rng: SimRng,
    procs: Vec<Proc>,
    /// pids that were used and freed, reused lowest first like a busy
    /// kernel would.
    free_pids: Vec<Pid>,
    next_pid: Pid,
    boot_fail_next: bool,
    fork_fail_next: bool,
    signals_sent: usize,
    signals_accounted: usize,
    stop_since: Option<Instant>,
    halted_for_boot_failure: bool,
    exit_code: Option<i32>,
    spawned: usize,
    reaped: usize,
    commands: Vec<Command>,
    trace: Vec<String>,
    keep_trace: bool,
    /// Set when a signal went to a pid that is not a live worker (5).
    bad_signal: Option<String>,
    /// Set when the last ready worker was told to stop while running (3).
    left_none_ready: Option<String>,
    /// Everything the master logged, in order.
    notices: Vec<Notice>,
    /// Signals sent and not yet handled or reported dropped, in order (9).
    signals_pending: std::collections::VecDeque<Signal>,
    /// Generations HUP should have started (3).
    hups_while_running: u64,
    /// Set when what the master logged or did disagrees with what happened.
    bad_report: Option<(u8, String)>,
    /// Server hooks called, in order.
    hooks: Vec<Hook>,
    reopened_logs: usize,
    reexecs: usize,
    /// The new master a USR2 started, and when it exits (the operator
    /// retires it or it fails: gunicorn's rollback path).
    new_master: Option<(Pid, Instant)>,
    /// The end of the last back-off the master announced (7).
    backing_off_until: Option<Instant>,
    /// The exit code the first reason to stop calls for (4, 7).
    stop_code: Option<i32>,
    /// When the first INT/QUIT came (4).
    quick_since: Option<Instant>,
}

/// How far past a deadline the checks below tolerate before they call it
/// missed.
const CHECK_SLACK: Duration = Duration::from_millis(5);

/// How long a worker takes to exit on INT/QUIT.
const QUICK_EXIT: Duration = Duration::from_millis(5);

/// Simulated time for everything to settle after the last fault.
const SETTLE: Duration = Duration::from_secs(300);

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

    /// Simulated time since the start.
    pub fn now(&self) -> Instant {
        self.now
    }

    fn at(&self) -> Duration {
        self.now.since_epoch()
    }

    fn violation(&self, invariant: u8, what: String) -> Violation {
        Violation {
            invariant,
            at: self.at(),
            what,
        }
    }

    /// Feeds one event to the arbiter and carries out what it says, the
    /// way the real adapter does (spawns answered synchronously).
    fn deliver(&mut self, event: Event) {
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

    fn execute(&mut self, command: Command, out: &mut Vec<Command>) {
        match command {
            Command::SpawnWorker { id } => self.spawn(id, out),
            Command::Kill { pid, signal } => self.kill(pid, signal),
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

/// Runs `actions` then settles; the first violation, if any.
pub fn run_schedule(
    settings: &ArbiterSettings,
    seed: u64,
    actions: &[Action],
) -> Result<World, Box<(Violation, World)>> {
    let mut world = World::new(settings.clone(), seed);
    for &action in actions {
        if let Err(v) = world.apply(action) {
            return Err(Box::new((v, world)));
        }
    }
    match world.settle() {
        Ok(()) => Ok(world),
        Err(v) => Err(Box::new((v, world))),
    }
}

/// A random schedule of `steps` actions from `seed`: mostly time passing,
/// with signals (storms included), crashes, hangs and failures mixed in.
pub fn random_schedule(seed: u64, steps: usize) -> Vec<Action> {
    let mut rng = SimRng::new(seed ^ 0x5eed);
    let signals = [
        Signal::Hup,
        Signal::Ttin,
        Signal::Ttou,
        Signal::Usr1,
        Signal::Usr2,
        Signal::Winch,
    ];
    let stop = [Signal::Term, Signal::Int, Signal::Quit];
    (0..steps)
        .map(|i| match rng.range(0, 99) {
            0..=44 => Action::Advance(rng.range(1, 3_000) as u32),
            45..=64 => Action::Signal(signals[rng.range(0, signals.len() as u64 - 1) as usize]),
            65..=69 => Action::Signal(Signal::Hup),
            70..=76 => Action::Crash(rng.next_u64() as u8),
            77..=80 => Action::Hang(rng.next_u64() as u8),
            81..=83 => Action::ForkFailNext,
            84 => Action::ReapStranger,
            85 => Action::OomKill(rng.next_u64() as u8),
            89..=91 => Action::Recycle(rng.next_u64() as u8),
            86 if rng.range(0, 99) < 20 => Action::BootFailNext,
            // A stop late in the schedule, so most runs exercise the
            // steady state first.
            87..=88 if i > steps / 2 && rng.range(0, 99) < 30 => {
                Action::Signal(stop[rng.range(0, 2) as usize])
            }
            _ => Action::Advance(rng.range(1, 500) as u32),
        })
        .collect()
}

/// Settings small enough that timeouts and grace periods happen often.
pub fn sim_settings(workers: u32) -> ArbiterSettings {
    ArbiterSettings {
        workers,
        timeout: Duration::from_secs(5),
        graceful_timeout: Duration::from_secs(3),
        ..ArbiterSettings::default()
    }
}
