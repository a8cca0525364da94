//! Exhaustive exploration of a small model: two workers and an alphabet of
//! eleven actions, every sequence of `SIM_EXHAUSTIVE_DEPTH` (default 6)
//! actions, depth first. Every invariant is checked after every step (by
//! `World::apply`) and each leaf is settled and checked for the steady
//! state. The `World` is cloned at each level, so a prefix is run once.
//!
//! `SIM_EXHAUSTIVE_SEED` picks the seed of the simulated process table
//! (boot durations, drain times).

use std::time::Duration;

use rcorn_core::arbiter::Signal;
use sim::{sim_settings, Action, Violation, World};

/// Timeout is 5 s in `sim_settings`: `SHORT` lets boots finish or not
/// (they take 5 ms to 2 s), `LONG` is past the timeout and the abort grace.
const SHORT: u32 = 700;
const LONG: u32 = 6_500;

const ALPHABET: [Action; 11] = [
    Action::Advance(SHORT),
    Action::Advance(LONG),
    Action::Signal(Signal::Hup),
    Action::Signal(Signal::Ttin),
    Action::Signal(Signal::Ttou),
    Action::Signal(Signal::Term),
    Action::Crash(0),
    Action::Crash(1),
    Action::Hang(0),
    Action::ForkFailNext,
    Action::BootFailNext,
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Search {
    depth: usize,
    path: Vec<Action>,
    /// Sequences run to the end and settled.
    leaves: u64,
    /// Sequences during which the master exited (to show the model reaches
    /// both the running and the stopped states).
    exited: u64,
}

impl Search {
    fn explore(&mut self, world: &World) -> Result<(), Violation> {
        if self.path.len() == self.depth {
            let mut leaf = world.clone();
            leaf.settle()?;
            self.leaves += 1;
            if leaf.exit_code().is_some() {
                self.exited += 1;
            }
            return Ok(());
        }
        for action in ALPHABET {
            let mut next = world.clone();
            self.path.push(action);
            next.apply(action)?;
            self.explore(&next)?;
            self.path.pop();
        }
        Ok(())
    }
}

#[test]
fn every_short_schedule_keeps_every_invariant() {
    let depth = env_number("SIM_EXHAUSTIVE_DEPTH", 6) as usize;
    let seed = env_number("SIM_EXHAUSTIVE_SEED", 1);
    let workers = 2;
    let started = std::time::Instant::now();
    let mut search = Search {
        depth,
        path: Vec::with_capacity(depth),
        leaves: 0,
        exited: 0,
    };
    let root = World::new(sim_settings(workers), seed);
    if let Err(v) = search.explore(&root) {
        // Replay the failing sequence with a trace.
        let mut world = World::new(sim_settings(workers), seed).with_trace();
        for &a in &search.path {
            if world.apply(a).is_err() {
                break;
            }
        }
        let _ = world.settle();
        panic!(
            "invariant {} broken at {:?}: {}\nsequence ({workers} workers, seed {seed}): {:?}\ntrace:\n{}",
            v.invariant,
            v.at,
            v.what,
            search.path,
            world.trace().join("\n")
        );
    }
    let expected = (ALPHABET.len() as u64).pow(depth as u32);
    let elapsed: Duration = started.elapsed();
    println!(
        "exhaustive: {} sequences ({}^{depth}), {} ending in exit, in {:.1} s",
        search.leaves,
        ALPHABET.len(),
        search.exited,
        elapsed.as_secs_f64()
    );
    assert_eq!(search.leaves, expected, "exploration was cut short");
    // The model must reach both outcomes, or the alphabet is too weak.
    assert!(search.exited > 0 && search.exited < search.leaves);
}
