//! Random schedules against the arbiter, every invariant after every step.
//!
//! `SIM_SCHEDULES` (default 10 000) schedules of `SIM_STEPS` (default 200)
//! actions run from consecutive seeds; `SIM_SEED=<seed>` replays one. A
//! failure prints its seed, the invariant, a shrunk schedule and a trace.

use proptest::prelude::*;
use rcorn_core::arbiter::Signal;
use sim::{random_schedule, run_schedule, sim_settings, Action};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Greedy shrinking: drop actions while the same invariant still breaks.
fn shrink(workers: u32, seed: u64, mut actions: Vec<Action>, invariant: u8) -> Vec<Action> {
    let settings = sim_settings(workers);
    let mut i = 0;
    while i < actions.len() {
        let mut candidate = actions.clone();
        candidate.remove(i);
        match run_schedule(&settings, seed, &candidate).map_err(|e| e.0) {
            Err(v) if v.invariant == invariant => actions = candidate,
            _ => i += 1,
        }
    }
    actions
}

fn run_seed(seed: u64, steps: usize) {
    let workers = 1 + (seed % 3) as u32;
    let actions = random_schedule(seed, steps);
    if let Err(failure) = run_schedule(&sim_settings(workers), seed, &actions) {
        let violation = failure.0;
        let shrunk = shrink(workers, seed, actions, violation.invariant);
        let mut world = sim::World::new(sim_settings(workers), seed).with_trace();
        for &a in &shrunk {
            if world.apply(a).is_err() {
                break;
            }
        }
        let _ = world.settle();
        let trace = world.trace().join("\n");
        panic!(
            "invariant {} broken at {:?}: {}\nreplay: SIM_SEED={seed} cargo test -p sim\nshrunk schedule ({} workers): {shrunk:?}\ntrace:\n{trace}",
            violation.invariant, violation.at, violation.what, workers
        );
    }
}

#[test]
fn random_schedules_keep_every_invariant() {
    let steps = env_number("SIM_STEPS", 200) as usize;
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed = seed.parse().expect("SIM_SEED must be a number");
        run_seed(seed, steps);
        return;
    }
    let count = env_number("SIM_SCHEDULES", 10_000);
    let first = env_number("SIM_FIRST_SEED", 0);
    let started = std::time::Instant::now();
    for seed in first..first + count {
        run_seed(seed, steps);
    }
    println!(
        "{count} schedules of {steps} steps in {:?}",
        started.elapsed()
    );
}

fn action() -> impl Strategy<Value = Action> {
    let signal = prop::sample::select(vec![
        Signal::Hup,
        Signal::Ttin,
        Signal::Ttou,
        Signal::Term,
        Signal::Int,
        Signal::Quit,
        Signal::Usr1,
        Signal::Usr2,
        Signal::Winch,
    ]);
    prop_oneof![
        4 => (1u32..5_000).prop_map(Action::Advance),
        3 => signal.prop_map(Action::Signal),
        1 => any::<u8>().prop_map(Action::Crash),
        1 => any::<u8>().prop_map(Action::Hang),
        1 => Just(Action::BootFailNext),
        1 => Just(Action::ForkFailNext),
        1 => Just(Action::ReapStranger),
        1 => any::<u8>().prop_map(Action::OomKill),
        1 => any::<u8>().prop_map(Action::Recycle),
        1 => (-3i8..=3).prop_map(Action::ControlScale),
        1 => any::<u8>().prop_map(Action::ControlStopWorker),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The same checks with proptest's generator and shrinker, which
    /// reports a minimal failing schedule by itself.
    #[test]
    fn proptest_schedules_keep_every_invariant(
        seed in any::<u64>(),
        workers in 1u32..4,
        actions in prop::collection::vec(action(), 1..120),
    ) {
        if let Err(failure) = run_schedule(&sim_settings(workers), seed, &actions) {
            let v = failure.0;
            prop_assert!(false, "invariant {} broken at {:?}: {}", v.invariant, v.at, v.what);
        }
    }
}
