//! The dirty world's state, its actions and its checks.

use std::collections::BTreeMap;
use std::time::Duration;

use rcorn_core::arbiter::{KillSignal, Pid};
use rcorn_core::dirty::arbiter::WorkerState;
use rcorn_core::dirty::{AppSet, CallId, Command, DirtyArbiter, DirtySettings, DirtySignal, Event};
use rcorn_core::time::Instant;

use crate::{SimRng, Violation};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirtyAction {
    Advance(u32),
    Signal(DirtySignal),
    /// A client calls the app at this index (modulo one past the apps, so
    /// an unknown app is called too).
    Call(u8),
    /// A call that runs past `dirty_timeout`.
    StuckCall(u8),
    /// The n-th live dirty worker dies on its own.
    Crash(u8),
    /// The n-th live dirty worker stops beating and answering.
    Hang(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Waiting,
    Running { pid: Pid, done_at: Instant },
    Answered,
    Failed,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    made_at: Instant,
    app: Option<usize>,
    stuck: bool,
    state: CallState,
}

#[derive(Clone, Debug)]
struct Proc {
    pid: Pid,
    apps: AppSet,
    ready_at: Option<Instant>,
    exit_at: Option<Instant>,
    hung: bool,
}

const BEAT: Duration = Duration::from_millis(200);
const SLACK: Duration = Duration::from_millis(5);

#[derive(Clone)]
pub struct DirtyWorld {
    pub arbiter: DirtyArbiter,
    settings: DirtySettings,
    now: Instant,
    rng: SimRng,
    procs: Vec<Proc>,
    next_pid: Pid,
    calls: BTreeMap<CallId, Call>,
    next_call: CallId,
    exited: Option<i32>,
    stop_at: Option<Instant>,
    fault: Option<(u8, String)>,
}

impl DirtyWorld {
    pub fn new(settings: DirtySettings, seed: u64) -> DirtyWorld {
        let mut world = DirtyWorld {
            arbiter: DirtyArbiter::new(settings.clone()),
            settings,
            now: Instant::ZERO,
            rng: SimRng::new(seed),
            procs: Vec::new(),
            next_pid: 1000,
            calls: BTreeMap::new(),
            next_call: 1,
            exited: None,
            stop_at: None,
            fault: None,
        };
        world.deliver(Event::Boot);
        world
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.exited
    }

    fn violation(&self, invariant: u8, what: String) -> Violation {
        Violation {
            invariant,
            at: self.now.since_epoch(),
            what,
        }
    }

    fn note(&mut self, invariant: u8, what: String) {
        self.fault.get_or_insert((invariant, what));
    }

    fn deliver(&mut self, event: Event) {
        if self.exited.is_some() {
            return;
        }
        let mut out = Vec::new();
        self.arbiter.handle(self.now, event, &mut out);
        let mut i = 0;
        while i < out.len() {
            let command = out[i];
            i += 1;
            self.execute(command, &mut out);
        }
    }

    fn execute(&mut self, command: Command, out: &mut Vec<Command>) {
        match command {
            Command::SpawnWorker { id, apps } => {
                self.next_pid += 1;
                let pid = self.next_pid;
                let boot = Duration::from_millis(self.rng.range(5, 1_500));
                self.procs.push(Proc {
                    pid,
                    apps,
                    ready_at: Some(self.now + boot),
                    exit_at: None,
                    hung: false,
                });
                self.arbiter
                    .handle(self.now, Event::Spawned { id, pid }, out);
            }
            Command::Kill { pid, signal } => self.kill(pid, signal),
            Command::Dispatch { call, pid } => self.dispatch(call, pid),
            Command::Fail { call, .. } => match self.calls.get_mut(&call) {
                Some(c) if matches!(c.state, CallState::Waiting | CallState::Running { .. }) => {
                    c.state = CallState::Failed
                }
                other => {
                    let what = format!("call {call} failed while {other:?}");
                    self.note(7, what)
                }
            },
            Command::WorkerExitHook { .. } | Command::Log(_) | Command::ReopenLogs => {}
            Command::Exit { code } => self.exited = Some(code),
        }
    }

    fn kill(&mut self, pid: Pid, signal: KillSignal) {
        let now = self.now;
        let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid) else {
            return self.note(
                5,
                format!("{signal:?} sent to pid {pid}, which is not a live worker"),
            );
        };
        let exit = match signal {
            KillSignal::Kill => Some(now),
            // Log reopening: the worker goes on.
            KillSignal::Usr1 => None,
            _ if p.hung => None,
            KillSignal::Term => Some(now + Duration::from_millis(300)),
            _ => Some(now + Duration::from_millis(5)),
        };
        if let Some(t) = exit {
            p.exit_at = Some(p.exit_at.map_or(t, |e| e.min(t)));
        }
    }

    fn dispatch(&mut self, call: CallId, pid: Pid) {
        let threads = self.settings.threads.max(1) as usize;
        let busy = self
            .calls
            .values()
            .filter(|c| matches!(c.state, CallState::Running { pid: p, .. } if p == pid))
            .count();
        let proc = self.procs.iter().find(|p| p.pid == pid);
        let worker_ready = self
            .arbiter
            .workers()
            .iter()
            .any(|w| w.pid == pid && w.state == WorkerState::Ready);
        let Some(c) = self.calls.get(&call).copied() else {
            return self.note(7, format!("unknown call {call} dispatched"));
        };
        let loads = c
            .app
            .is_some_and(|a| proc.is_some_and(|p| p.apps.contains(a)));
        if c.state != CallState::Waiting || !loads || !worker_ready || busy >= threads {
            return self.note(
                7,
                format!("call {call} ({c:?}) dispatched to pid {pid}: loads {loads}, ready {worker_ready}, busy {busy}"),
            );
        }
        let run = if c.stuck {
            self.settings.timeout * 3
        } else {
            Duration::from_millis(self.rng.range(1, 400))
        };
        let done_at = self.now + run;
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Running { pid, done_at };
        }
    }
}

mod actions;
mod checks;

pub use actions::{dirty_sim_settings, random_dirty_schedule, run_dirty_schedule};
