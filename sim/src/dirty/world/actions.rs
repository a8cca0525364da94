//! What a schedule does to the dirty world, and time passing in it.

use std::time::Duration;

use rcorn_core::arbiter::{ExitStatus, Pid};
use rcorn_core::dirty::apps::AppSpec;
use rcorn_core::dirty::{DirtySettings, DirtySignal, Event};
use rcorn_core::time::Instant;

use super::{Call, CallState, DirtyAction, DirtyWorld, BEAT};
use crate::{SimRng, Violation};

impl DirtyWorld {
    pub fn apply(&mut self, action: DirtyAction) -> Result<(), Violation> {
        match action {
            DirtyAction::Advance(ms) => return self.advance(Duration::from_millis(ms.into())),
            DirtyAction::Signal(s) => {
                if matches!(s, DirtySignal::Term | DirtySignal::Int | DirtySignal::Quit) {
                    self.stop_at.get_or_insert(self.now);
                }
                self.deliver(Event::Signal(s));
            }
            DirtyAction::Call(n) => self.call(n, false),
            DirtyAction::StuckCall(n) => self.call(n, true),
            DirtyAction::Crash(n) => {
                let now = self.now;
                if let Some(p) = self.nth_live(n) {
                    p.exit_at = Some(now);
                }
            }
            DirtyAction::Hang(n) => {
                if let Some(p) = self.nth_live(n) {
                    p.hung = true;
                }
            }
        }
        self.check()
    }

    fn nth_live(&mut self, n: u8) -> Option<&mut super::Proc> {
        let live = self.procs.iter().filter(|p| p.exit_at.is_none()).count();
        if live == 0 {
            return None;
        }
        self.procs
            .iter_mut()
            .filter(|p| p.exit_at.is_none())
            .nth(n as usize % live)
    }

    fn call(&mut self, n: u8, stuck: bool) {
        let apps = self.settings.apps.len();
        let index = n as usize % (apps + 1);
        let app = (index < apps).then_some(index);
        let call = self.next_call;
        self.next_call += 1;
        // After the arbiter exits a client's connect is refused: answered.
        let state = if self.exited.is_some() {
            CallState::Failed
        } else {
            CallState::Waiting
        };
        self.calls.insert(
            call,
            Call {
                made_at: self.now,
                app,
                stuck,
                state,
            },
        );
        self.deliver(Event::Call { call, app });
    }

    /// Lets `span` pass, stopping at every instant something happens.
    pub fn advance(&mut self, span: Duration) -> Result<(), Violation> {
        let end = self.now + span;
        while self.now < end && self.exited.is_none() {
            let next = self.next_event().map_or(end, |t| t.min(end));
            self.now = next.max(self.now + Duration::from_millis(1)).min(end);
            self.run_instant();
            self.check()?;
        }
        self.now = end;
        Ok(())
    }

    fn next_event(&self) -> Option<Instant> {
        let beat_ms = BEAT.as_millis() as u64;
        let now_ms = self.now.since_epoch().as_millis() as u64;
        let beat = Instant::from_millis((now_ms / beat_ms + 1) * beat_ms);
        let procs = self
            .procs
            .iter()
            .flat_map(|p| [p.ready_at, p.exit_at])
            .flatten();
        let calls = self.calls.values().filter_map(|c| match c.state {
            CallState::Running { done_at, .. } => Some(done_at),
            _ => None,
        });
        procs
            .chain(calls)
            .chain(self.arbiter.next_deadline())
            .chain([beat])
            .filter(|&t| t > self.now)
            .min()
    }

    fn run_instant(&mut self) {
        let now = self.now;
        let dead: Vec<Pid> = self
            .procs
            .iter()
            .filter(|p| p.exit_at.is_some_and(|t| t <= now))
            .map(|p| p.pid)
            .collect();
        for pid in dead {
            self.procs.retain(|p| p.pid != pid);
            self.deliver(Event::ChildExited {
                pid,
                status: ExitStatus::Code(1),
            });
        }
        let ready: Vec<Pid> = self
            .procs
            .iter_mut()
            .filter(|p| !p.hung && p.ready_at.is_some_and(|t| t <= now))
            .map(|p| {
                p.ready_at = None;
                p.pid
            })
            .collect();
        for pid in ready {
            self.deliver(Event::WorkerReady { pid });
        }
        let answering: Vec<Pid> = self
            .procs
            .iter()
            .filter(|p| !p.hung)
            .map(|p| p.pid)
            .collect();
        let done: Vec<u64> = self
            .calls
            .iter_mut()
            .filter(|(_, c)| {
                matches!(c.state, CallState::Running { pid, done_at }
                    if done_at <= now && answering.contains(&pid))
            })
            .map(|(&id, c)| {
                c.state = CallState::Answered;
                id
            })
            .collect();
        for call in done {
            self.deliver(Event::CallFinished { call });
        }
        if now
            .since_epoch()
            .as_millis()
            .is_multiple_of(BEAT.as_millis())
        {
            for pid in answering {
                self.deliver(Event::Heartbeat { pid, at: now });
            }
        }
        self.deliver(Event::Tick);
    }
}

/// Runs `actions` then settles; the first violation, if any.
pub fn run_dirty_schedule(
    settings: &DirtySettings,
    seed: u64,
    actions: &[DirtyAction],
) -> Result<DirtyWorld, Box<(Violation, DirtyWorld)>> {
    let mut world = DirtyWorld::new(settings.clone(), seed);
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

/// A random schedule: calls (some stuck), time, signals, crashes, hangs.
pub fn random_dirty_schedule(seed: u64, steps: usize) -> Vec<DirtyAction> {
    let mut rng = SimRng::new(seed ^ 0xd1d7);
    let signals = [
        DirtySignal::Hup,
        DirtySignal::Ttin,
        DirtySignal::Ttou,
        DirtySignal::Usr1,
    ];
    let stops = [DirtySignal::Term, DirtySignal::Int, DirtySignal::Quit];
    (0..steps)
        .map(|i| match rng.range(0, 99) {
            0..=34 => DirtyAction::Advance(rng.range(1, 2_000) as u32),
            35..=64 => DirtyAction::Call(rng.next_u64() as u8),
            65..=67 => DirtyAction::StuckCall(rng.next_u64() as u8),
            68..=77 => DirtyAction::Signal(signals[rng.range(0, 3) as usize]),
            78..=82 => DirtyAction::Crash(rng.next_u64() as u8),
            83..=84 => DirtyAction::Hang(rng.next_u64() as u8),
            85 if i > steps / 2 => DirtyAction::Signal(stops[rng.range(0, 2) as usize]),
            _ => DirtyAction::Advance(rng.range(1, 300) as u32),
        })
        .collect()
}

/// Three apps (one everywhere, one on one worker, one on two), timeouts
/// short enough to happen often.
pub fn dirty_sim_settings(workers: u32, threads: u32) -> DirtySettings {
    let apps = ["m:All", "m:One:1", "m:Two:2"];
    DirtySettings {
        workers,
        apps: apps.iter().filter_map(|a| AppSpec::parse(a).ok()).collect(),
        threads,
        timeout: Duration::from_secs(3),
        graceful_timeout: Duration::from_secs(2),
        ..DirtySettings::default()
    }
}
