//! Carrying out a control command against the arbiter: the events it
//! feeds in, and the answer's data.

use serde_json::{Map, Value};

use super::answer::{self, ListenerView, StatsView, WorkerView};
use super::Command;
use crate::arbiter::{self, Arbiter, ControlAction, Event, Signal, WorkerState};
use crate::time::Instant;

/// What the master knows that the arbiter does not.
pub struct MasterFacts<'a> {
    pub pid: i32,
    pub started: Instant,
    pub listeners: &'a [ListenerView],
    /// `show config`'s values, by setting name.
    pub config: &'a Map<String, Value>,
    /// Requests a worker has answered, by pid (its metrics slot's count).
    pub worker_requests: &'a dyn Fn(arbiter::Pid) -> u64,
}

/// Runs `command` at `now`: the arbiter's commands go to `out`, as for any
/// event; returns the answer's data.
pub fn execute(
    command: &Command,
    arbiter: &mut Arbiter,
    now: Instant,
    facts: &MasterFacts<'_>,
    out: &mut Vec<arbiter::Command>,
) -> Value {
    let mut feed = |arbiter: &mut Arbiter, event| arbiter.handle(now, event, out);
    match *command {
        Command::ShowAll => answer::all(facts.pid, &worker_views(arbiter, now, facts)),
        Command::ShowWorkers => answer::workers(&worker_views(arbiter, now, facts)),
        Command::ShowDirty => answer::dirty(),
        Command::ShowConfig => answer::config(facts.config.clone()),
        Command::ShowStats => answer::stats(&stats_view(arbiter, now, facts)),
        Command::ShowListeners => answer::listeners(facts.listeners),
        Command::WorkerAdd(n) => {
            let previous = arbiter.target();
            feed(arbiter, Event::Control(ControlAction::Scale { by: by(n) }));
            answer::worker_add(n, previous, arbiter.target())
        }
        Command::WorkerRemove(n) => {
            let previous = arbiter.target();
            feed(arbiter, Event::Control(ControlAction::Scale { by: -by(n) }));
            answer::worker_remove(previous, arbiter.target())
        }
        Command::WorkerKill(pid) => {
            let known = arbiter
                .workers()
                .iter()
                .any(|w| w.pid == pid && w.state != WorkerState::Killed);
            if known {
                feed(arbiter, Event::Control(ControlAction::StopWorker { pid }));
            }
            answer::worker_kill(pid, known)
        }
        Command::DirtyAdd(_) | Command::DirtyRemove(_) => answer::dirty_not_running(),
        Command::Reload => {
            feed(arbiter, Event::Signal(Signal::Hup));
            answer::reload()
        }
        Command::Reopen => {
            feed(arbiter, Event::Signal(Signal::Usr1));
            answer::reopen()
        }
        Command::Shutdown { quick } => {
            let signal = if quick { Signal::Int } else { Signal::Term };
            feed(arbiter, Event::Signal(signal));
            answer::shutdown(quick)
        }
        Command::Help => answer::help(),
    }
}

fn by(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn worker_views(arbiter: &Arbiter, now: Instant, facts: &MasterFacts<'_>) -> Vec<WorkerView> {
    arbiter
        .workers()
        .iter()
        .map(|w| WorkerView {
            pid: w.pid,
            age: w.id,
            booted: w.ready_at.is_some(),
            aborted: matches!(w.state, WorkerState::Aborting { .. }),
            last_heartbeat: now.saturating_since(w.last_beat).as_secs_f64(),
            requests: (facts.worker_requests)(w.pid),
        })
        .collect()
}

fn stats_view(arbiter: &Arbiter, now: Instant, facts: &MasterFacts<'_>) -> StatsView {
    let stats = arbiter.stats();
    StatsView {
        pid: facts.pid,
        uptime_secs: now.saturating_since(facts.started).as_secs_f64(),
        workers_current: arbiter.workers().len(),
        workers_target: arbiter.target(),
        workers_spawned: stats.workers_spawned,
        workers_killed: stats.workers_killed,
        reloads: stats.reloads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arbiter::{ArbiterSettings, Command as Do};
    use std::time::Duration;

    fn booted(workers: u32) -> (Arbiter, Vec<Do>) {
        let mut a = Arbiter::new(ArbiterSettings {
            workers,
            ..ArbiterSettings::default()
        });
        let mut out = Vec::new();
        a.handle(Instant::ZERO, Event::Boot, &mut out);
        let ids: Vec<_> = out
            .iter()
            .filter_map(|c| match c {
                Do::SpawnWorker { id } => Some(*id),
                _ => None,
            })
            .collect();
        for (i, id) in ids.into_iter().enumerate() {
            let pid = 100 + i as i32;
            a.handle(Instant::ZERO, Event::Spawned { id, pid }, &mut out);
            a.handle(Instant::ZERO, Event::WorkerReady { pid }, &mut out);
        }
        (a, out)
    }

    fn run(a: &mut Arbiter, c: Command) -> (Value, Vec<Do>) {
        let config = Map::new();
        let facts = MasterFacts {
            pid: 1,
            started: Instant::ZERO,
            listeners: &[],
            config: &config,
            worker_requests: &|pid| u64::from(pid.unsigned_abs()) * 10,
        };
        let mut out = Vec::new();
        let now = Instant::ZERO + Duration::from_secs(2);
        let v = execute(&c, a, now, &facts, &mut out);
        (v, out)
    }

    #[test]
    fn show_workers_lists_the_arbiters_workers() {
        let (mut a, _) = booted(2);
        let (v, out) = run(&mut a, Command::ShowWorkers);
        assert!(out.is_empty());
        assert_eq!(v["count"], 2);
        assert_eq!(v["workers"][0]["pid"], 100);
        assert_eq!(v["workers"][0]["booted"], true);
        assert_eq!(v["workers"][0]["last_heartbeat"], 2.0);
        assert_eq!(v["workers"][0]["requests"], 1000);
    }

    #[test]
    fn worker_add_spawns_and_remove_never_goes_below_one() {
        let (mut a, _) = booted(1);
        let (v, out) = run(&mut a, Command::WorkerAdd(2));
        assert_eq!(
            v,
            serde_json::json!({"added": 2, "previous": 1, "total": 3})
        );
        assert_eq!(
            out.iter()
                .filter(|c| matches!(c, Do::SpawnWorker { .. }))
                .count(),
            2
        );
        let (v, _) = run(&mut a, Command::WorkerRemove(5));
        assert_eq!(
            v,
            serde_json::json!({"removed": 2, "previous": 3, "total": 1})
        );
    }

    #[test]
    fn worker_kill_of_an_unknown_pid_says_so_and_does_nothing() {
        let (mut a, _) = booted(1);
        let (v, out) = run(&mut a, Command::WorkerKill(4242));
        assert_eq!(v["success"], false);
        assert!(out.is_empty());
        let (v, out) = run(&mut a, Command::WorkerKill(100));
        assert_eq!(v["killed"], 100);
        // The replacement first; the TERM once it is ready.
        assert!(out.iter().any(|c| matches!(c, Do::SpawnWorker { .. })));
        assert!(!out.iter().any(|c| matches!(c, Do::Kill { .. })));
    }

    #[test]
    fn shutdown_and_reload_are_their_signals() {
        let (mut a, _) = booted(1);
        let (_, out) = run(&mut a, Command::Reload);
        assert!(out.iter().any(|c| matches!(c, Do::SpawnWorker { .. })));
        assert_eq!(a.stats().reloads, 1);
        let (v, out) = run(&mut a, Command::Shutdown { quick: false });
        assert_eq!(v["mode"], "graceful");
        assert!(out.iter().any(|c| matches!(c, Do::Kill { .. })));
        assert!(matches!(a.phase(), crate::arbiter::Phase::Stopping { .. }));
    }
}
