//! Named lifecycle scenarios, each checking what gunicorn users rely on.

use std::time::Duration;

use rcorn_core::arbiter::{ArbiterSettings, Notice, NoticeLevel, Signal};
use sim::{run_schedule, sim_settings, Action, World};

fn ok(world: Result<World, Box<(sim::Violation, World)>>) -> World {
    match world.map_err(|e| *e) {
        Ok(w) => w,
        Err((v, w)) => panic!(
            "invariant {} broken at {:?}: {}\n{}",
            v.invariant,
            v.at,
            v.what,
            w.trace().join("\n")
        ),
    }
}

fn assert_no_crash_loop(w: &World) {
    assert!(
        !w.notices()
            .iter()
            .any(|n| matches!(n, Notice::CrashLoop { .. })),
        "{:?}",
        w.notices()
    );
}

#[test]
fn hup_replaces_the_generation_without_a_gap() {
    let w = ok(run_schedule(
        &sim_settings(3),
        1,
        &[
            Action::Advance(5_000),
            Action::Signal(Signal::Hup),
            Action::Advance(10_000),
        ],
    ));
    // 3 at start + 3 for the new generation.
    assert_eq!(w.spawned(), 6);
}

#[test]
fn a_hung_worker_is_aborted_killed_and_replaced() {
    let w = ok(run_schedule(
        &sim_settings(2),
        2,
        &[
            Action::Advance(5_000),
            Action::Hang(0),
            Action::Advance(20_000),
        ],
    ));
    assert_eq!(w.spawned(), 3);
}

#[test]
fn boot_failure_halts_with_code_3_instead_of_respawning() {
    // The initial workers boot; the replacement of a crashed one fails to.
    let w = ok(run_schedule(
        &sim_settings(2),
        3,
        &[
            Action::Advance(3_000),
            Action::BootFailNext,
            Action::Crash(0),
            Action::Advance(60_000),
        ],
    ));
    assert_eq!(w.exit_code(), Some(3));
    assert_eq!(w.spawned(), 3, "no respawn loop");
}

#[test]
fn term_is_graceful_and_exits_zero() {
    let w = ok(run_schedule(
        &sim_settings(3),
        4,
        &[
            Action::Advance(5_000),
            Action::Signal(Signal::Term),
            Action::Advance(10_000),
        ],
    ));
    assert_eq!(w.exit_code(), Some(0));
}

#[test]
fn term_with_a_hung_worker_kills_it_after_graceful_timeout() {
    let w = ok(run_schedule(
        &sim_settings(2),
        5,
        &[
            Action::Advance(5_000),
            Action::Hang(1),
            Action::Signal(Signal::Term),
            Action::Advance(10_000),
        ],
    ));
    assert_eq!(w.exit_code(), Some(0));
}

#[test]
fn ttin_and_ttou_move_the_target_and_never_below_one() {
    let mut w = World::new(sim_settings(1), 6);
    for a in [
        Action::Advance(3_000),
        Action::Signal(Signal::Ttin),
        Action::Signal(Signal::Ttin),
        Action::Advance(3_000),
    ] {
        w.apply(a).unwrap();
    }
    assert_eq!(w.arbiter.target(), 3);
    for _ in 0..5 {
        w.apply(Action::Signal(Signal::Ttou)).unwrap();
    }
    assert_eq!(w.arbiter.target(), 1);
    w.settle().unwrap();
}

#[test]
fn workers_that_keep_crashing_are_respawned_with_back_off() {
    let mut w = World::new(sim_settings(1), 7);
    w.apply(Action::Advance(3_000)).unwrap();
    for _ in 0..200 {
        w.apply(Action::Crash(0)).unwrap();
        w.apply(Action::Advance(100)).unwrap();
    }
    // 200 crashes in 20 s: with back-off, far fewer than one spawn per crash.
    assert!(w.spawned() < 60, "{} spawns", w.spawned());
    w.settle().unwrap();
}

#[test]
fn fork_failures_are_retried() {
    let w = ok(run_schedule(
        &sim_settings(2),
        8,
        &[
            Action::ForkFailNext,
            Action::Advance(1),
            Action::Advance(5_000),
        ],
    ));
    assert_eq!(w.arbiter.target(), 2);
    let _ = Duration::ZERO;
}

// The three schedules below are the shrunk failures the simulator found in
// the arbiter; each is kept as a named regression.

#[test]
fn a_worker_that_hangs_while_draining_is_still_aborted_at_timeout() {
    // TTOU tells the hung worker to stop; it must not wait for
    // graceful_timeout when it is already silent past `timeout`.
    ok(run_schedule(
        &sim_settings(1),
        0,
        &[
            Action::ForkFailNext,
            Action::Signal(Signal::Ttin),
            Action::Hang(0),
            Action::Advance(2_408),
            Action::Signal(Signal::Ttou),
            Action::Signal(Signal::Hup),
            Action::Advance(2_598),
        ],
    ));
}

#[test]
fn a_halt_does_not_postpone_the_kill_of_an_aborted_worker() {
    let w = ok(run_schedule(
        &sim_settings(2),
        2_255_463_406_559_161_065,
        &[
            Action::Advance(641),
            Action::Advance(4_122),
            Action::Advance(2_095),
            Action::Hang(74),
            Action::Signal(Signal::Ttin),
            Action::BootFailNext,
            Action::Advance(1),
            Action::Advance(1),
        ],
    ));
    assert_eq!(w.exit_code(), Some(3));
}

#[test]
fn an_expired_back_off_does_not_stay_due() {
    // A fork failure during HUP starts a back-off; once nothing needs
    // spawning any more, its deadline must not keep waking the master.
    ok(run_schedule(
        &sim_settings(1),
        0,
        &[
            Action::ForkFailNext,
            Action::Signal(Signal::Hup),
            Action::Crash(84),
            Action::Advance(1),
        ],
    ));
}

#[test]
fn ttou_stops_a_booting_worker_before_the_last_ready_one() {
    ok(run_schedule(
        &sim_settings(3),
        0,
        &[
            Action::Advance(516),
            Action::Hang(8),
            Action::Signal(Signal::Ttin),
            Action::Signal(Signal::Ttou),
        ],
    ));
}

#[test]
fn a_reloaded_worker_count_takes_effect_and_never_below_one() {
    // HUP re-reads the configuration: the adapter passes the new count.
    let mut w = World::new(sim_settings(1), 10);
    w.apply(Action::Advance(3_000)).unwrap();
    w.arbiter.set_workers(3);
    w.apply(Action::Signal(Signal::Hup)).unwrap();
    w.settle().unwrap();
    assert_eq!(w.arbiter.target(), 3);
    assert_eq!(w.live_pids().len(), 3);
    w.arbiter.set_workers(0);
    w.apply(Action::Signal(Signal::Hup)).unwrap();
    w.settle().unwrap();
    assert_eq!(w.arbiter.target(), 1);
    assert_eq!(w.live_pids().len(), 1);
}

/// gunicorn's lower-case signal names, as its log says them.
const SIGNAL_NAMES: [(Signal, &str); 9] = [
    (Signal::Hup, "hup"),
    (Signal::Ttin, "ttin"),
    (Signal::Ttou, "ttou"),
    (Signal::Term, "term"),
    (Signal::Int, "int"),
    (Signal::Quit, "quit"),
    (Signal::Usr1, "usr1"),
    (Signal::Usr2, "usr2"),
    (Signal::Winch, "winch"),
];

#[test]
fn the_master_logs_in_gunicorns_words() {
    let mut w = World::new(sim_settings(2), 11);
    let mut run = |a: Action| w.apply(a).unwrap();
    run(Action::Advance(3_000));
    for (signal, _) in SIGNAL_NAMES {
        if !matches!(signal, Signal::Term | Signal::Int | Signal::Quit) {
            run(Action::Signal(signal));
        }
    }
    run(Action::Advance(3_000));
    run(Action::Hang(0));
    run(Action::Advance(8_000));
    run(Action::OomKill(0));
    run(Action::Advance(3_000));
    run(Action::Crash(0));
    run(Action::Advance(3_000));
    run(Action::BootFailNext);
    run(Action::Crash(0));
    w.settle().unwrap();
    assert_eq!(w.exit_code(), Some(3));

    let mut seen = std::collections::BTreeSet::new();
    for notice in w.notices() {
        let line = notice.to_string();
        let (kind, expected, level) = match *notice {
            Notice::HandlingSignal(s) => {
                let name = SIGNAL_NAMES.iter().find(|(t, _)| *t == s).unwrap().1;
                (
                    "signal",
                    format!("Handling signal: {name}"),
                    NoticeLevel::Info,
                )
            }
            Notice::WorkerTimeout { pid } => (
                "timeout",
                format!("WORKER TIMEOUT (pid:{pid})"),
                NoticeLevel::Critical,
            ),
            Notice::KilledBySigkill { pid } => (
                "oom",
                format!("Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?"),
                NoticeLevel::Error,
            ),
            Notice::WorkerExited { pid, code } => (
                "exit",
                format!("Worker (pid:{pid}) exited with code {code}"),
                NoticeLevel::Error,
            ),
            Notice::WorkerSignaled { pid, signal } => (
                "signaled",
                format!("Worker (pid:{pid}) was sent signal {signal}!"),
                NoticeLevel::Error,
            ),
            Notice::WinchIgnored => (
                "winch",
                "SIGWINCH ignored. Not daemonized".to_string(),
                NoticeLevel::Info,
            ),
            Notice::BootFailed => (
                "boot",
                "Worker failed to boot.".to_string(),
                NoticeLevel::Critical,
            ),
            _ => continue,
        };
        assert_eq!(line, expected);
        assert_eq!(notice.level(), level, "{line}");
        seen.insert(kind);
    }
    let all = [
        "boot", "exit", "oom", "signal", "signaled", "timeout", "winch",
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), all);
}

#[test]
fn repeated_fork_failures_back_off_exponentially_up_to_the_maximum() {
    let settings = sim_settings(1);
    let mut w = World::new(settings.clone(), 12);
    w.apply(Action::Advance(3_000)).unwrap();
    // The worker dies young, and from then on every fork fails.
    w.apply(Action::ForkFailNext).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    for _ in 0..1_000 {
        w.apply(Action::ForkFailNext).unwrap();
        w.apply(Action::Advance(50)).unwrap();
    }
    let delays: Vec<Duration> = w
        .notices()
        .iter()
        .filter_map(|n| match n {
            Notice::SpawnFailed { retry_in } | Notice::CrashLoop { retry_in } => Some(*retry_in),
            _ => None,
        })
        .collect();
    // The first failure after a young death is retried at once; then the
    // delay starts at backoff_initial and doubles up to backoff_max.
    assert_eq!(
        delays.first(),
        Some(&settings.backoff_initial),
        "{delays:?}"
    );
    for pair in delays.windows(2) {
        assert_eq!(
            pair[1],
            (pair[0] * 2).min(settings.backoff_max),
            "{delays:?}"
        );
    }
    assert_eq!(delays.last(), Some(&settings.backoff_max), "{delays:?}");
    // Every attempt failed: none got through during a back-off (the world
    // checks that), and the only worker ever forked is the first.
    assert_eq!(w.spawned(), 1);
}

#[test]
fn a_worker_that_lived_a_full_crash_window_does_not_count_as_dying_young() {
    let settings = sim_settings(1);
    let window = settings.crash_window.as_millis() as u32;
    let mut w = World::new(settings, 13);
    // One young death (replaced at once), then the replacement lives
    // exactly crash_window after it is ready before it dies too.
    w.apply(Action::Advance(1_000)).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    // Boots take whole milliseconds: step one at a time to the instant
    // the replacement reports ready.
    for _ in 0..3_000 {
        if w.booting() == 0 {
            break;
        }
        w.apply(Action::Advance(1)).unwrap();
    }
    assert_eq!(w.booting(), 0);
    w.apply(Action::Advance(window)).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    assert_no_crash_loop(&w);
    assert_eq!(w.spawned(), 3, "both replaced at once");
    // Whereas two young deaths in a row start a back-off.
    w.apply(Action::Advance(1_000)).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    w.apply(Action::Advance(1)).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    assert!(w
        .notices()
        .iter()
        .any(|n| matches!(n, Notice::CrashLoop { .. })));
    w.settle().unwrap();
}

#[test]
fn a_zero_timeout_disables_the_silence_check_and_its_wake_ups() {
    let settings = ArbiterSettings {
        timeout: Duration::ZERO,
        ..sim_settings(2)
    };
    let graceful = settings.graceful_timeout;
    let mut w = World::new(settings, 14);
    w.apply(Action::Advance(3_000)).unwrap();
    assert_eq!(
        w.arbiter.next_deadline(),
        None,
        "an idle master without a timeout has nothing to wake up for"
    );
    w.apply(Action::Hang(0)).unwrap();
    w.apply(Action::Advance(60_000)).unwrap();
    assert!(!w
        .notices()
        .iter()
        .any(|n| matches!(n, Notice::WorkerTimeout { .. })));
    assert_eq!(w.spawned(), 2);
    // A worker told to stop is woken for at graceful_timeout only.
    w.apply(Action::Signal(Signal::Ttou)).unwrap();
    assert_eq!(w.arbiter.next_deadline(), Some(w.now() + graceful));
    w.settle().unwrap();
}

#[test]
fn int_during_a_graceful_stop_makes_it_quick() {
    // The world checks that every listening worker is gone within a few
    // milliseconds of the INT, though TERM lets them drain for longer.
    for seed in 0..20 {
        let w = ok(run_schedule(
            &sim_settings(3),
            seed,
            &[
                Action::Advance(3_000),
                Action::Signal(Signal::Term),
                Action::Advance(1),
                Action::Signal(Signal::Int),
                Action::Advance(100),
            ],
        ));
        assert_eq!(w.exit_code(), Some(0));
    }
}

#[test]
fn a_worker_silent_for_exactly_the_timeout_is_not_aborted_yet() {
    // Two hung workers whose last beats are 1 ms apart: the master wakes
    // for the first one's timeout, when the second has been silent for
    // exactly `timeout`, which is not yet too long (gunicorn aborts only
    // past it). The world checks every SIGABRT against the last beat.
    let mut w = World::new(sim_settings(3), 15);
    let mut run = |a: Action| w.apply(a).unwrap();
    run(Action::Advance(3_000));
    // A crash wakes the master, which takes everyone's beat; then the
    // second worker hangs.
    run(Action::Crash(2));
    run(Action::Hang(1));
    run(Action::Advance(1));
    // Another wake 1 ms later (the replacement crashes), then the first
    // worker hangs too.
    run(Action::Crash(2));
    run(Action::Hang(0));
    run(Action::Advance(8_000));
    let timeouts = w
        .notices()
        .iter()
        .filter(|n| matches!(n, Notice::WorkerTimeout { .. }))
        .count();
    assert_eq!(timeouts, 2);
    w.settle().unwrap();
}

#[test]
fn missing_workers_are_forked_together_unless_backing_off() {
    // At boot, every worker at once.
    let mut w = World::new(sim_settings(3), 16);
    assert_eq!(w.spawned(), 3);
    // One worker dying young is no crash loop: a raised target is filled
    // at once at the next event.
    w.apply(Action::Advance(3_000)).unwrap();
    w.apply(Action::Crash(0)).unwrap();
    assert_eq!(w.spawned(), 4);
    w.arbiter.set_workers(5);
    w.apply(Action::Signal(Signal::Usr1)).unwrap();
    assert_eq!(w.spawned(), 6);
    w.settle().unwrap();
}

#[test]
fn during_a_crash_loop_workers_are_probed_one_at_a_time() {
    // Regression: each event after a back-off ran out forked one more
    // worker, so heartbeats and a tick at one instant forked several.
    // A crash window long enough that deaths 3 s in are young.
    let settings = ArbiterSettings {
        crash_window: Duration::from_secs(10),
        ..sim_settings(3)
    };
    let mut w = World::new(settings, 17);
    w.apply(Action::Advance(3_000)).unwrap();
    // Three young deaths at one instant: the first is replaced at once,
    // the next two start a back-off.
    for _ in 0..3 {
        w.apply(Action::Crash(0)).unwrap();
    }
    assert_eq!(w.spawned(), 4);
    // From then on, no fork until the last one has booted.
    for _ in 0..15_000 {
        w.apply(Action::Advance(1)).unwrap();
        assert!(w.booting() <= 1, "{} booting at once", w.booting());
    }
    assert_eq!(w.spawned(), 6);
    w.settle().unwrap();
}

#[test]
fn workers_recycled_by_max_requests_are_replaced_at_once_however_often() {
    // A busy worker with a small max_requests exits cleanly soon after it
    // is ready, again and again: that is not a crash loop, and a back-off
    // here would leave the server without workers under load.
    let mut w = World::new(sim_settings(2), 21);
    w.apply(Action::Advance(3_000)).unwrap();
    for i in 0..30 {
        w.apply(Action::Recycle(i % 2)).unwrap();
        // Longer than the slowest boot: the replacement is ready again.
        w.apply(Action::Advance(2_100)).unwrap();
    }
    assert_no_crash_loop(&w);
    assert_eq!(
        w.spawned(),
        2 + 30,
        "every recycled worker replaced at once"
    );
    w.settle().unwrap();
}

#[test]
fn workers_killed_from_outside_every_two_seconds_are_replaced_at_once() {
    // An OOM killer (or an operator) SIGKILLs a worker every 2 s: each had
    // been serving for longer than the crash window, so this is no crash
    // loop and every one is replaced without a back-off.
    let mut w = World::new(sim_settings(2), 23);
    w.apply(Action::Advance(3_000)).unwrap();
    for _ in 0..20 {
        // The oldest live worker: ready for at least 2 s by now.
        w.apply(Action::OomKill(0)).unwrap();
        w.apply(Action::Advance(2_000)).unwrap();
    }
    assert_no_crash_loop(&w);
    assert_eq!(w.spawned(), 2 + 20);
    w.settle().unwrap();
}

#[test]
fn control_worker_add_and_remove_move_the_target_never_below_one() {
    let mut w = World::new(sim_settings(1), 6);
    w.apply(Action::Advance(3_000)).unwrap();
    w.apply(Action::ControlScale(3)).unwrap();
    w.apply(Action::Advance(3_000)).unwrap();
    assert_eq!(w.arbiter.target(), 4);
    assert_eq!(w.arbiter.stats().workers_spawned, 4);
    w.apply(Action::ControlScale(-10)).unwrap();
    assert_eq!(w.arbiter.target(), 1);
    w.settle().unwrap();
}

#[test]
fn control_worker_kill_stops_that_worker_and_replaces_it() {
    let mut w = World::new(sim_settings(2), 7);
    w.apply(Action::Advance(5_000)).unwrap();
    let before: Vec<_> = w.arbiter.worker_pids().collect();
    w.apply(Action::ControlStopWorker(0)).unwrap();
    w.apply(Action::Advance(5_000)).unwrap();
    w.settle().unwrap();
    let after: Vec<_> = w.arbiter.worker_pids().collect();
    assert!(!after.contains(&before[0]), "{before:?} -> {after:?}");
    assert!(after.contains(&before[1]), "{before:?} -> {after:?}");
    assert_eq!(w.spawned(), 3);
    assert_eq!(w.arbiter.stats().workers_killed, 1);
    assert_no_crash_loop(&w);
}

/// Websockets close with 1012 (restart) when their worker is replaced and
/// the service goes on, 1001 (going away) otherwise: the arbiter marks a
/// TERM as a replacement exactly then (invariant 10 checks each one).
#[test]
fn a_term_is_marked_as_a_restart_only_when_the_service_goes_on() {
    let mut w = World::new(sim_settings(3), 12);
    let run = |w: &mut World, a: Action| w.apply(a).unwrap();
    run(&mut w, Action::Advance(5_000));
    run(&mut w, Action::Signal(Signal::Hup));
    run(&mut w, Action::Advance(10_000));
    assert_eq!((w.replaced_terms(), w.plain_terms()), (3, 0), "HUP");
    run(&mut w, Action::ControlStopWorker(0));
    run(&mut w, Action::Advance(10_000));
    assert_eq!((w.replaced_terms(), w.plain_terms()), (4, 0), "worker kill");
    run(&mut w, Action::Signal(Signal::Ttou));
    run(&mut w, Action::Advance(10_000));
    assert_eq!((w.replaced_terms(), w.plain_terms()), (4, 1), "TTOU");
    run(&mut w, Action::Signal(Signal::Term));
    w.settle().unwrap();
    assert_eq!((w.replaced_terms(), w.plain_terms()), (4, 3), "shutdown");
}

/// The old master of a USR2 upgrade stops its workers while the new
/// master serves: a restart for their clients.
#[test]
fn stopping_the_old_master_of_an_upgrade_is_a_restart() {
    let mut w = World::new(sim_settings(2), 13);
    w.apply(Action::Advance(5_000)).unwrap();
    w.apply(Action::Signal(Signal::Usr2)).unwrap();
    // The new master runs at least 100 ms.
    w.apply(Action::Advance(50)).unwrap();
    assert!(w.arbiter.upgrade_running());
    w.apply(Action::Signal(Signal::Term)).unwrap();
    w.settle().unwrap();
    assert_eq!((w.replaced_terms(), w.plain_terms()), (2, 0));
}
