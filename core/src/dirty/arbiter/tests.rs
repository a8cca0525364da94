use std::time::Duration;

use super::*;
use crate::dirty::apps::AppSpec;

fn settings(workers: u32, apps: &[&str]) -> DirtySettings {
    DirtySettings {
        workers,
        apps: apps
            .iter()
            .map(|a| AppSpec::parse(a).expect("spec"))
            .collect(),
        timeout: Duration::from_secs(10),
        ..DirtySettings::default()
    }
}

struct Bench {
    arbiter: DirtyArbiter,
    now: Instant,
    next_pid: Pid,
}

impl Bench {
    fn new(settings: DirtySettings) -> Bench {
        let mut b = Bench {
            arbiter: DirtyArbiter::new(settings),
            now: Instant::ZERO,
            next_pid: 100,
        };
        b.run(Event::Boot);
        b
    }

    /// Feeds one event; forks are answered at once and every worker is
    /// made ready, like a pool that boots instantly.
    fn run(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        self.arbiter.handle(self.now, event, &mut out);
        let mut i = 0;
        while i < out.len() {
            if let Command::SpawnWorker { id, .. } = out[i] {
                self.next_pid += 1;
                let pid = self.next_pid;
                self.arbiter
                    .handle(self.now, Event::Spawned { id, pid }, &mut out);
                self.arbiter
                    .handle(self.now, Event::WorkerReady { pid }, &mut out);
            }
            i += 1;
        }
        out
    }

    fn at(&mut self, ms: u64, event: Event) -> Vec<Command> {
        self.now = Instant::from_millis(ms);
        self.run(event)
    }

    fn pids(&self) -> Vec<Pid> {
        self.arbiter
            .workers()
            .iter()
            .filter(|w| w.is_live())
            .map(|w| w.pid)
            .collect()
    }
}

fn dispatched(out: &[Command]) -> Vec<(CallId, Pid)> {
    out.iter()
        .filter_map(|c| match *c {
            Command::Dispatch { call, pid } => Some((call, pid)),
            _ => None,
        })
        .collect()
}

fn failed(out: &[Command]) -> Vec<(CallId, CallError)> {
    out.iter()
        .filter_map(|c| match *c {
            Command::Fail { call, error } => Some((call, error)),
            _ => None,
        })
        .collect()
}

#[test]
fn boot_fills_every_slot_and_limited_apps_only_their_first_slots() {
    let b = Bench::new(settings(3, &["m:All", "m:One:1"]));
    let apps: Vec<Vec<usize>> = b
        .arbiter
        .workers()
        .iter()
        .map(|w| w.apps.iter().collect())
        .collect();
    assert_eq!(apps, [vec![0, 1], vec![0], vec![0]]);
    // Only limited apps: a slot with nothing to load stays empty.
    let b = Bench::new(settings(3, &["m:One:1"]));
    assert_eq!(b.pids().len(), 1);
}

#[test]
fn calls_go_to_a_free_worker_that_loads_the_app_and_queue_otherwise() {
    let mut b = Bench::new(settings(2, &["m:All", "m:One:1"]));
    let [first, second] = [b.pids()[0], b.pids()[1]];
    assert_eq!(
        dispatched(&b.run(Event::Call {
            call: 1,
            app: Some(1)
        })),
        [(1, first)]
    );
    // The only worker loading app 1 is busy: the call waits.
    assert!(dispatched(&b.run(Event::Call {
        call: 2,
        app: Some(1)
    }))
    .is_empty());
    // App 0 goes to the idle worker.
    assert_eq!(
        dispatched(&b.run(Event::Call {
            call: 3,
            app: Some(0)
        })),
        [(3, second)]
    );
    assert_eq!(
        dispatched(&b.run(Event::CallFinished { call: 1 })),
        [(2, first)]
    );
}

#[test]
fn an_unknown_app_or_no_worker_fails_at_once() {
    let mut b = Bench::new(settings(1, &["m:All"]));
    assert_eq!(
        failed(&b.run(Event::Call { call: 1, app: None })),
        [(1, CallError::NoWorkersForApp)]
    );
    let pid = b.pids()[0];
    b.run(Event::Signal(DirtySignal::Term));
    assert_eq!(
        failed(&b.run(Event::Call {
            call: 2,
            app: Some(0)
        })),
        [(2, CallError::ShuttingDown)]
    );
    let out = b.at(
        10,
        Event::ChildExited {
            pid,
            status: ExitStatus::Code(0),
        },
    );
    assert!(out.contains(&Command::Exit { code: 0 }));
}

#[test]
fn a_stuck_call_times_out_and_its_worker_is_aborted_then_killed() {
    let mut b = Bench::new(settings(1, &["m:All"]));
    let pid = b.pids()[0];
    b.run(Event::Call {
        call: 1,
        app: Some(0),
    });
    b.run(Event::Call {
        call: 2,
        app: Some(0),
    });
    assert_eq!(
        b.arbiter.next_deadline(),
        Some(Instant::from_millis(10_000))
    );
    b.at(
        9_000,
        Event::Heartbeat {
            pid,
            at: Instant::from_millis(9_000),
        },
    );
    let out = b.at(10_000, Event::Tick);
    assert_eq!(
        failed(&out),
        [(2, CallError::Timeout), (1, CallError::Timeout)]
    );
    assert!(out.contains(&Command::Kill {
        pid,
        signal: KillSignal::Abort
    }));
    // Its slot is filled at once, not when it is reaped.
    assert!(out.iter().any(|c| matches!(c, Command::SpawnWorker { .. })));
    let out = b.at(11_000, Event::Tick);
    assert!(out.contains(&Command::Kill {
        pid,
        signal: KillSignal::Kill
    }));
    let out = b.at(
        11_001,
        Event::ChildExited {
            pid,
            status: ExitStatus::Signaled(9),
        },
    );
    assert!(!out.iter().any(|c| matches!(c, Command::SpawnWorker { .. })));
}

#[test]
fn a_dying_worker_fails_the_calls_it_held_and_is_replaced_with_its_apps() {
    let mut b = Bench::new(settings(2, &["m:All", "m:One:1"]));
    let holder = b.pids()[0];
    b.run(Event::Call {
        call: 1,
        app: Some(1),
    });
    let out = b.at(
        5_000,
        Event::ChildExited {
            pid: holder,
            status: ExitStatus::Signaled(11),
        },
    );
    assert_eq!(failed(&out), [(1, CallError::WorkerDied { pid: holder })]);
    assert!(out.contains(&Command::SpawnWorker {
        id: 3,
        apps: AppSet::EMPTY.with(0).with(1)
    }));
}

#[test]
fn hup_keeps_the_old_generation_serving_until_the_new_one_is_ready() {
    let mut b = Bench::new(settings(1, &["m:All"]));
    let old = b.pids()[0];
    let mut out = Vec::new();
    b.arbiter
        .handle(b.now, Event::Signal(DirtySignal::Hup), &mut out);
    let Some(&Command::SpawnWorker { id, .. }) = out
        .iter()
        .find(|c| matches!(c, Command::SpawnWorker { .. }))
    else {
        panic!("no spawn after HUP: {out:?}");
    };
    assert!(!out.contains(&Command::Kill {
        pid: old,
        signal: KillSignal::Term
    }));
    out.clear();
    b.arbiter
        .handle(b.now, Event::Spawned { id, pid: 500 }, &mut out);
    // Still booting: a call goes to the old worker.
    b.arbiter.handle(
        b.now,
        Event::Call {
            call: 9,
            app: Some(0),
        },
        &mut out,
    );
    assert_eq!(dispatched(&out), [(9, old)]);
    out.clear();
    b.arbiter
        .handle(b.now, Event::WorkerReady { pid: 500 }, &mut out);
    assert!(out.contains(&Command::Kill {
        pid: old,
        signal: KillSignal::Term
    }));
}

#[test]
fn ttou_stops_at_the_largest_app_limit() {
    let mut b = Bench::new(settings(3, &["m:All", "m:Two:2"]));
    let last = b.pids()[2];
    let out = b.run(Event::Signal(DirtySignal::Ttou));
    assert!(out.contains(&Command::Kill {
        pid: last,
        signal: KillSignal::Term
    }));
    let out = b.run(Event::Signal(DirtySignal::Ttou));
    assert!(out.contains(&Command::Log(DirtyNotice::AtMinimum { min: 2 })));
    assert_eq!(b.arbiter.target(), 2);
}

#[test]
fn usr1_reopens_the_logs_here_and_in_every_live_worker_even_while_stopping() {
    let mut b = Bench::new(settings(2, &["a:A"]));
    let pids = b.pids();
    let usr1 = |out: &[Command]| -> Vec<Pid> {
        out.iter()
            .filter_map(|c| match *c {
                Command::Kill {
                    pid,
                    signal: KillSignal::Usr1,
                } => Some(pid),
                _ => None,
            })
            .collect()
    };
    let out = b.at(10, Event::Signal(DirtySignal::Usr1));
    assert_eq!(out[0], Command::ReopenLogs);
    assert_eq!(usr1(&out), pids);
    // Workers told to stop are left alone; the arbiter still reopens.
    b.at(20, Event::Signal(DirtySignal::Term));
    let out = b.at(30, Event::Signal(DirtySignal::Usr1));
    assert_eq!(out, [Command::ReopenLogs]);
}
