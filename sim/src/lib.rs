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
//! SIGABRT by "WORKER TIMEOUT"; a TERM is marked as a restart exactly when
//! the service goes on without that worker (10).
//!
//! This file holds the world's state; `world` builds it and feeds the
//! arbiter, `commands` carries out what the arbiter asks, `process` is
//! what a signal does to a worker, `steps` applies actions and lets time
//! run, `invariants` checks §4, and `schedule` makes and runs schedules.

mod commands;
pub mod dirty;
mod invariants;
mod process;
mod schedule;
mod steps;
mod world;

use std::time::Duration;

use rcorn_core::arbiter::{
    Arbiter, ArbiterSettings, Command, ExitStatus, Hook, Notice, Pid, Signal,
};
use rcorn_core::time::Instant;

/// The simulator's one source of randomness, seeded per run; core's
/// splitmix64, so a seed replays the same schedule everywhere.
pub type SimRng = rcorn_core::rng::SplitMix64;

pub use schedule::{random_schedule, run_schedule, sim_settings, Action};

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
    /// The worker the master just marked as replaced; its TERM comes next.
    replace_mark: Option<Pid>,
    /// TERMs sent to workers, marked as a restart or not (10).
    replaced_terms: usize,
    plain_terms: usize,
}

/// How far past a deadline the checks below tolerate before they call it
/// missed.
const CHECK_SLACK: Duration = Duration::from_millis(5);

/// How long a worker takes to exit on INT/QUIT.
const QUICK_EXIT: Duration = Duration::from_millis(5);

/// Simulated time for everything to settle after the last fault.
const SETTLE: Duration = Duration::from_secs(300);
