//! The worker's own lifecycle: accepting → draining → exited.
//!
//! The adapter reports what happens (connections, finished requests,
//! signals, the passing of time); the lifecycle answers with what to do
//! (stop or resume accepting, close idle connections, exit). It decides
//! gunicorn's worker rules: `max_requests` (+ jitter) recycling, graceful
//! stop on TERM with `graceful_timeout` as the bound, quick stop on INT/QUIT,
//! a parent that went away, and the `worker_connections` cap.

use std::time::Duration;

use crate::rng::SplitMix64;
use crate::time::Instant;

mod conn_table;
mod write_batch;

pub use conn_table::{ConnTable, TableConn};
pub use write_batch::WriteBatch;

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Requests after which the worker restarts; 0 disables.
    pub max_requests: u64,
    /// Up to this many extra requests, drawn once per worker, so workers
    /// started together do not all restart together.
    pub max_requests_jitter: u64,
    /// The seed the jitter is drawn from (injected: the core draws no
    /// randomness of its own).
    pub jitter_seed: u64,
    pub graceful_timeout: Duration,
    /// The master's heartbeat timeout; the worker wakes at least every half
    /// of it so its heartbeat never goes stale while idle. Zero: no timeout.
    pub timeout: Duration,
    /// How long an idle keep-alive connection may wait for its next
    /// request (the connections' `idle` deadline).
    pub keepalive: Duration,
    /// Open connections above which the worker stops accepting.
    pub worker_connections: usize,
}

impl Default for WorkerSettings {
    /// gunicorn's defaults.
    fn default() -> Self {
        WorkerSettings {
            max_requests: 0,
            max_requests_jitter: 0,
            jitter_seed: 0,
            graceful_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
            keepalive: Duration::from_secs(2),
            worker_connections: 1000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerSignal {
    Term,
    Int,
    Quit,
    Hup,
    Usr1,
    Winch,
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// The application is loaded; the worker starts accepting.
    Booted,
    ConnectionOpened,
    ConnectionClosed,
    RequestFinished,
    Signal(WorkerSignal),
    /// TERM from a master that replaces this worker while the service goes
    /// on (its slot is marked), or the worker's own `--reload`: a graceful
    /// stop like TERM's, a restart for its websocket clients.
    Replaced,
    /// The master is gone (the worker was re-parented).
    ParentChanged,
    /// `now` reached `next_deadline()`.
    Tick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerCommand {
    StopAccepting,
    ResumeAccepting,
    /// Connections with no request in progress get no more than the
    /// keep-alive time to send one (answered with `Connection: close`),
    /// then close: closing at once would race a request already on its way.
    RetireIdleConnections,
    ReopenLogs,
    Exit {
        code: i32,
    },
}

/// Why the worker drains; the adapter may log it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainReason {
    MaxRequests,
    Signal,
    /// Others take over ([`WorkerEvent::Replaced`]).
    Replaced,
    ParentChanged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    Booting,
    Accepting,
    Draining {
        reason: DrainReason,
        deadline: Instant,
    },
    Exited,
}

#[derive(Debug)]
pub struct WorkerLifecycle {
    settings: WorkerSettings,
    state: WorkerState,
    max_requests: Option<u64>,
    requests: u64,
    connections: usize,
    /// Accepting was paused because of `worker_connections`.
    at_capacity: bool,
    /// The last time the adapter told us; the heartbeat cadence counts from it.
    now: Instant,
}

impl WorkerLifecycle {
    pub fn new(settings: WorkerSettings, now: Instant) -> Self {
        let max_requests = (settings.max_requests > 0).then(|| {
            let jitter = match settings.max_requests_jitter {
                0 => 0,
                // A well-mixed number from the seed spreads restarts.
                j => SplitMix64::new(settings.jitter_seed).range(0, j),
            };
            settings.max_requests + jitter
        });
        WorkerLifecycle {
            settings,
            state: WorkerState::Booting,
            max_requests,
            requests: 0,
            connections: 0,
            at_capacity: false,
            now,
        }
    }

    pub fn state(&self) -> WorkerState {
        self.state
    }

    /// Whether the adapter should take new connections now.
    pub fn accepting(&self) -> bool {
        self.state == WorkerState::Accepting && !self.at_capacity
    }

    /// Whether kept-alive connections may carry further requests (false
    /// once draining: the current response is the last).
    pub fn accepting_requests(&self) -> bool {
        matches!(self.state, WorkerState::Booting | WorkerState::Accepting)
    }

    /// Whether the response being sent may invite another request on its
    /// connection: not while draining, nor for the request that reaches
    /// `max_requests` (its response says `Connection: close`, so the
    /// client does not send on a connection about to close).
    pub fn may_keep_alive(&self) -> bool {
        self.accepting_requests() && self.max_requests.is_none_or(|max| self.requests + 1 < max)
    }

    pub fn effective_max_requests(&self) -> Option<u64> {
        self.max_requests
    }

    pub fn connections(&self) -> usize {
        self.connections
    }

    pub fn handle(&mut self, now: Instant, event: WorkerEvent, out: &mut Vec<WorkerCommand>) {
        self.now = self.now.max(now);
        if self.state == WorkerState::Exited {
            return;
        }
        match event {
            WorkerEvent::Booted => {
                if self.state == WorkerState::Booting {
                    self.state = WorkerState::Accepting;
                }
            }
            WorkerEvent::ConnectionOpened => {
                self.connections += 1;
                if self.state == WorkerState::Accepting
                    && !self.at_capacity
                    && self.connections >= self.settings.worker_connections.max(1)
                {
                    self.at_capacity = true;
                    out.push(WorkerCommand::StopAccepting);
                }
            }
            WorkerEvent::ConnectionClosed => {
                self.connections = self.connections.saturating_sub(1);
                if self.at_capacity && self.connections < self.settings.worker_connections.max(1) {
                    self.at_capacity = false;
                    if self.state == WorkerState::Accepting {
                        out.push(WorkerCommand::ResumeAccepting);
                    }
                }
                self.exit_if_drained(out);
            }
            WorkerEvent::RequestFinished => {
                self.requests += 1;
                if self.max_requests.is_some_and(|max| self.requests >= max) {
                    self.drain(DrainReason::MaxRequests, out);
                }
            }
            WorkerEvent::Signal(signal) => match signal {
                WorkerSignal::Term | WorkerSignal::Hup => self.drain(DrainReason::Signal, out),
                WorkerSignal::Int | WorkerSignal::Quit => self.exit(0, out),
                WorkerSignal::Abort => self.exit(1, out),
                WorkerSignal::Usr1 => out.push(WorkerCommand::ReopenLogs),
                WorkerSignal::Winch => {}
            },
            WorkerEvent::Replaced => self.drain(DrainReason::Replaced, out),
            WorkerEvent::ParentChanged => self.drain(DrainReason::ParentChanged, out),
            WorkerEvent::Tick => {
                if let WorkerState::Draining { deadline, .. } = self.state {
                    if now >= deadline {
                        // graceful_timeout is up: whatever is still open is
                        // cut off, as gunicorn's master would do with KILL.
                        self.exit(0, out);
                    }
                }
            }
        }
    }

    fn drain(&mut self, reason: DrainReason, out: &mut Vec<WorkerCommand>) {
        if matches!(self.state, WorkerState::Draining { .. }) {
            return;
        }
        self.state = WorkerState::Draining {
            reason,
            deadline: self.now + self.settings.graceful_timeout,
        };
        out.push(WorkerCommand::StopAccepting);
        out.push(WorkerCommand::RetireIdleConnections);
        self.exit_if_drained(out);
    }

    fn exit_if_drained(&mut self, out: &mut Vec<WorkerCommand>) {
        if matches!(self.state, WorkerState::Draining { .. }) && self.connections == 0 {
            self.exit(0, out);
        }
    }

    fn exit(&mut self, code: i32, out: &mut Vec<WorkerCommand>) {
        self.state = WorkerState::Exited;
        out.push(WorkerCommand::Exit { code });
    }

    /// When the adapter must wake the lifecycle with `Tick` at the latest:
    /// the graceful deadline while draining, else the heartbeat cadence.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            WorkerState::Exited => None,
            WorkerState::Draining { deadline, .. } => Some(deadline),
            _ if self.settings.timeout.is_zero() => None,
            _ => Some(self.now + self.settings.timeout / 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn booted(settings: WorkerSettings) -> WorkerLifecycle {
        let mut w = WorkerLifecycle::new(settings, at(0));
        let mut out = Vec::new();
        w.handle(at(0), WorkerEvent::Booted, &mut out);
        assert!(out.is_empty());
        assert!(w.accepting());
        w
    }

    fn step(w: &mut WorkerLifecycle, ms: u64, ev: WorkerEvent) -> Vec<WorkerCommand> {
        let mut out = Vec::new();
        w.handle(at(ms), ev, &mut out);
        out
    }

    #[test]
    fn max_requests_drains_after_the_last_request_and_exits_when_idle() {
        let mut w = booted(WorkerSettings {
            max_requests: 2,
            ..Default::default()
        });
        step(&mut w, 1, WorkerEvent::ConnectionOpened);
        assert!(step(&mut w, 2, WorkerEvent::RequestFinished).is_empty());
        assert_eq!(
            step(&mut w, 3, WorkerEvent::RequestFinished),
            vec![
                WorkerCommand::StopAccepting,
                WorkerCommand::RetireIdleConnections
            ]
        );
        assert!(!w.accepting() && !w.accepting_requests());
        assert_eq!(
            step(&mut w, 4, WorkerEvent::ConnectionClosed),
            vec![WorkerCommand::Exit { code: 0 }]
        );
        assert_eq!(w.state(), WorkerState::Exited);
        assert!(step(&mut w, 5, WorkerEvent::RequestFinished).is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn jitter_stays_within_its_bound_and_depends_on_the_seed() {
        let limits: Vec<u64> = (0..200)
            .map(|seed| {
                let s = WorkerSettings {
                    max_requests: 100,
                    max_requests_jitter: 10,
                    jitter_seed: seed,
                    ..Default::default()
                };
                WorkerLifecycle::new(s, at(0))
                    .effective_max_requests()
                    .unwrap()
            })
            .collect();
        assert!(limits.iter().all(|&l| (100..=110).contains(&l)));
        assert!(
            limits.iter().any(|&l| l != limits[0]),
            "jitter varies with the seed"
        );
        let off = WorkerLifecycle::new(WorkerSettings::default(), at(0));
        assert_eq!(off.effective_max_requests(), None);
    }

    #[test]
    fn term_is_graceful_until_the_graceful_timeout() {
        let mut w = booted(WorkerSettings {
            graceful_timeout: Duration::from_secs(5),
            ..Default::default()
        });
        step(&mut w, 0, WorkerEvent::ConnectionOpened);
        assert_eq!(
            step(&mut w, 1000, WorkerEvent::Signal(WorkerSignal::Term)),
            vec![
                WorkerCommand::StopAccepting,
                WorkerCommand::RetireIdleConnections
            ]
        );
        assert_eq!(w.next_deadline(), Some(at(6000)));
        assert!(step(&mut w, 5999, WorkerEvent::Tick).is_empty());
        assert_eq!(
            step(&mut w, 6000, WorkerEvent::Tick),
            vec![WorkerCommand::Exit { code: 0 }]
        );
    }

    #[test]
    fn term_with_no_connections_exits_at_once() {
        let mut w = booted(WorkerSettings::default());
        assert_eq!(
            step(&mut w, 1, WorkerEvent::Signal(WorkerSignal::Term)),
            vec![
                WorkerCommand::StopAccepting,
                WorkerCommand::RetireIdleConnections,
                WorkerCommand::Exit { code: 0 }
            ]
        );
    }

    #[test]
    fn quick_signals_and_abort_exit_immediately() {
        for (sig, code) in [
            (WorkerSignal::Int, 0),
            (WorkerSignal::Quit, 0),
            (WorkerSignal::Abort, 1),
        ] {
            let mut w = booted(WorkerSettings::default());
            step(&mut w, 0, WorkerEvent::ConnectionOpened);
            assert_eq!(
                step(&mut w, 1, WorkerEvent::Signal(sig)),
                vec![WorkerCommand::Exit { code }]
            );
        }
    }

    #[test]
    fn usr1_reopens_logs_and_winch_is_ignored() {
        let mut w = booted(WorkerSettings::default());
        assert_eq!(
            step(&mut w, 1, WorkerEvent::Signal(WorkerSignal::Usr1)),
            vec![WorkerCommand::ReopenLogs]
        );
        assert!(step(&mut w, 1, WorkerEvent::Signal(WorkerSignal::Winch)).is_empty());
        assert!(w.accepting());
    }

    #[test]
    fn parent_change_drains() {
        let mut w = booted(WorkerSettings::default());
        step(&mut w, 0, WorkerEvent::ConnectionOpened);
        step(&mut w, 1, WorkerEvent::ParentChanged);
        assert!(matches!(
            w.state(),
            WorkerState::Draining {
                reason: DrainReason::ParentChanged,
                ..
            }
        ));
    }

    #[test]
    fn worker_connections_pauses_and_resumes_accepting() {
        let mut w = booted(WorkerSettings {
            worker_connections: 2,
            ..Default::default()
        });
        assert!(step(&mut w, 0, WorkerEvent::ConnectionOpened).is_empty());
        assert_eq!(
            step(&mut w, 0, WorkerEvent::ConnectionOpened),
            vec![WorkerCommand::StopAccepting]
        );
        assert!(!w.accepting() && w.accepting_requests());
        assert_eq!(
            step(&mut w, 0, WorkerEvent::ConnectionClosed),
            vec![WorkerCommand::ResumeAccepting]
        );
        assert!(w.accepting());
    }

    #[test]
    fn heartbeat_cadence_is_half_the_timeout_from_the_last_event() {
        let mut w = booted(WorkerSettings {
            timeout: Duration::from_secs(30),
            ..Default::default()
        });
        step(&mut w, 10_000, WorkerEvent::Tick);
        assert_eq!(w.next_deadline(), Some(at(25_000)));
        let w = booted(WorkerSettings {
            timeout: Duration::ZERO,
            ..Default::default()
        });
        assert_eq!(w.next_deadline(), None);
    }
}
