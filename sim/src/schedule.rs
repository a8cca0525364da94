//! Schedules: the actions a run is made of, random ones from a seed, and
//! running one to the end.

use std::time::Duration;

use rcorn_core::arbiter::{ArbiterSettings, Signal};

use crate::{SimRng, Violation, World};

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
    /// The control socket's `worker add N` (positive) or `worker remove N`.
    ControlScale(i8),
    /// The control socket's `worker kill PID` for the n-th worker the
    /// arbiter knows (live or not).
    ControlStopWorker(u8),
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
            92 => Action::ControlScale(rng.range(0, 6) as i8 - 3),
            93 => Action::ControlStopWorker(rng.next_u64() as u8),
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
