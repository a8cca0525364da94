//! The arbiter counts why workers were replaced, for the metrics page:
//! timeout, max_requests (a ready worker recycling itself) and crash;
//! workers it stopped itself (HUP, shutdown) are none of these.

use std::time::Duration;

use rcorn_core::arbiter::{Arbiter, ArbiterSettings, Command, Event, ExitStatus, Signal};
use rcorn_core::time::Instant;

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

/// Answers every spawn with a ready worker at `now`; returns their pids.
fn spawn_all(
    a: &mut Arbiter,
    now: Instant,
    out: &mut Vec<Command>,
    next_pid: &mut i32,
) -> Vec<i32> {
    let mut pids = Vec::new();
    while let Some(i) = out
        .iter()
        .position(|c| matches!(c, Command::SpawnWorker { .. }))
    {
        let Command::SpawnWorker { id } = out.remove(i) else {
            unreachable!()
        };
        let pid = *next_pid;
        *next_pid += 1;
        let mut more = Vec::new();
        a.handle(now, Event::Spawned { id, pid }, &mut more);
        a.handle(now, Event::WorkerReady { pid }, &mut more);
        out.extend(more);
        pids.push(pid);
    }
    out.clear();
    pids
}

#[test]
fn restarts_are_counted_by_cause() {
    let mut a = Arbiter::new(ArbiterSettings {
        workers: 1,
        timeout: Duration::from_secs(30),
        ..ArbiterSettings::default()
    });
    let mut out = Vec::new();
    let mut next_pid = 100;
    a.handle(at(0), Event::Boot, &mut out);
    let pid = spawn_all(&mut a, at(0), &mut out, &mut next_pid)[0];

    // Recycled by max_requests: exits 0 on its own while ready.
    a.handle(
        at(10),
        Event::ChildExited {
            pid,
            status: ExitStatus::Code(0),
        },
        &mut out,
    );
    let pid = spawn_all(&mut a, at(10), &mut out, &mut next_pid)[0];
    assert_eq!(a.stats().restarts_max_requests, 1);

    // A crash, long after it became ready.
    a.handle(
        at(20),
        Event::ChildExited {
            pid,
            status: ExitStatus::Signaled(11),
        },
        &mut out,
    );
    let pid = spawn_all(&mut a, at(20), &mut out, &mut next_pid)[0];
    assert_eq!(a.stats().restarts_crash, 1);

    // Silent past the timeout: aborted, then reaped, which is no crash.
    a.handle(at(60), Event::Tick, &mut out);
    assert_eq!(a.stats().restarts_timeout, 1);
    a.handle(
        at(60),
        Event::ChildExited {
            pid,
            status: ExitStatus::Signaled(6),
        },
        &mut out,
    );
    let pid = spawn_all(&mut a, at(60), &mut out, &mut next_pid)[0];

    // A reload replaces the worker: not a restart by any of the causes.
    a.handle(at(70), Event::Signal(Signal::Hup), &mut out);
    spawn_all(&mut a, at(70), &mut out, &mut next_pid);
    a.handle(
        at(71),
        Event::ChildExited {
            pid,
            status: ExitStatus::Code(0),
        },
        &mut out,
    );
    let s = a.stats();
    assert_eq!(
        (
            s.restarts_timeout,
            s.restarts_max_requests,
            s.restarts_crash,
            s.reloads
        ),
        (1, 1, 1, 1)
    );
}
