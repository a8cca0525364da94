//! Random schedules against the dirty arbiter, every invariant after every
//! step. `SIM_DIRTY_SCHEDULES` (default 2 000) schedules of `SIM_STEPS`
//! (default 200) actions from consecutive seeds; `SIM_SEED=<seed>` replays
//! one. A failure prints its seed, the invariant and a shrunk schedule.

use sim::dirty::{dirty_sim_settings, random_dirty_schedule, run_dirty_schedule, DirtyAction};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn shape(seed: u64) -> (u32, u32) {
    (1 + (seed % 3) as u32, 1 + (seed / 3 % 2) as u32)
}

/// Greedy shrinking: drop actions while the same invariant still breaks.
fn shrink(seed: u64, mut actions: Vec<DirtyAction>, invariant: u8) -> Vec<DirtyAction> {
    let (workers, threads) = shape(seed);
    let settings = dirty_sim_settings(workers, threads);
    let mut i = 0;
    while i < actions.len() {
        let mut candidate = actions.clone();
        candidate.remove(i);
        match run_dirty_schedule(&settings, seed, &candidate).map_err(|e| e.0) {
            Err(v) if v.invariant == invariant => actions = candidate,
            _ => i += 1,
        }
    }
    actions
}

fn run_seed(seed: u64, steps: usize) {
    let (workers, threads) = shape(seed);
    let actions = random_dirty_schedule(seed, steps);
    if let Err(failure) = run_dirty_schedule(&dirty_sim_settings(workers, threads), seed, &actions)
    {
        let v = failure.0;
        let shrunk = shrink(seed, actions, v.invariant);
        panic!(
            "invariant {} broken at {:?}: {}\nreplay: SIM_SEED={seed} cargo test -p sim --test dirty_schedules\n\
             shrunk ({workers} workers, {threads} threads): {shrunk:?}",
            v.invariant, v.at, v.what
        );
    }
}

#[test]
fn random_dirty_schedules_keep_every_invariant() {
    let steps = env_number("SIM_STEPS", 200) as usize;
    if let Ok(seed) = std::env::var("SIM_SEED") {
        run_seed(seed.parse().expect("SIM_SEED must be a number"), steps);
        return;
    }
    for seed in 0..env_number("SIM_DIRTY_SCHEDULES", 2_000) {
        run_seed(seed, steps);
    }
}

#[test]
fn a_stuck_call_is_answered_and_its_worker_replaced() {
    let settings = dirty_sim_settings(1, 1);
    let actions = [
        DirtyAction::Advance(2_000),
        DirtyAction::StuckCall(0),
        DirtyAction::Call(0),
        DirtyAction::Advance(10_000),
    ];
    let world = run_dirty_schedule(&settings, 7, &actions)
        .map_err(|e| e.0)
        .expect("no violation");
    assert_eq!(world.exit_code(), Some(0));
}
