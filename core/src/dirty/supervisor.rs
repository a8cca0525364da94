//! The master's side of the dirty arbiter: keep exactly one alive while
//! the server runs, pass it the signals it acts on, and stop it with the
//! workers.
//!
//! Rules:
//! - the dirty arbiter is forked once the master boots; if it dies while
//!   the master runs it is forked again, at once the first time and with
//!   an exponential back-off while it keeps dying young;
//! - the master's HUP and USR1 are passed on, as gunicorn does (its TTIN and TTOU
//!   scale the HTTP workers; the dirty pool is scaled by sending them to
//!   the dirty arbiter itself), and only to a live pid;
//! - TERM/INT/QUIT of the master are passed on; SIGKILL follows after
//!   `dirty_graceful_timeout` and a grace, and the supervisor is done once
//!   the dirty arbiter is reaped.

use std::time::Duration;

use crate::arbiter::{ExitStatus, Pid};
use crate::time::Instant;

use super::arbiter::DirtySignal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisorEvent {
    Boot,
    Spawned { pid: Pid },
    SpawnFailed,
    Exited { pid: Pid, status: ExitStatus },
    Signal(DirtySignal),
    Tick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisorCommand {
    Spawn,
    Signal {
        pid: Pid,
        signal: DirtySignal,
    },
    Kill {
        pid: Pid,
    },
    /// The dirty arbiter died while the server ran; restart in this long.
    Restarting {
        pid: Pid,
        status: ExitStatus,
        retry_in: Duration,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisorState {
    Idle,
    Forking,
    Running {
        pid: Pid,
        since: Instant,
    },
    BackingOff {
        until: Instant,
    },
    Stopping {
        pid: Pid,
        kill_at: Instant,
        killed: bool,
    },
    Done,
}

#[derive(Clone, Debug)]
pub struct DirtySupervisor {
    state: SupervisorState,
    graceful_timeout: Duration,
    young_deaths: u32,
    /// Asked to stop while a fork was under way.
    stop_after_fork: Option<DirtySignal>,
}

/// Beyond `dirty_graceful_timeout`, for the dirty arbiter to kill and reap
/// its own workers before the master kills it.
const STOP_GRACE: Duration = Duration::from_secs(2);
const CRASH_WINDOW: Duration = Duration::from_secs(1);
const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

impl DirtySupervisor {
    pub fn new(graceful_timeout: Duration) -> Self {
        DirtySupervisor {
            state: SupervisorState::Idle,
            graceful_timeout,
            young_deaths: 0,
            stop_after_fork: None,
        }
    }

    pub fn state(&self) -> SupervisorState {
        self.state
    }

    /// The dirty arbiter's pid while one lives.
    pub fn pid(&self) -> Option<Pid> {
        match self.state {
            SupervisorState::Running { pid, .. } | SupervisorState::Stopping { pid, .. } => {
                Some(pid)
            }
            _ => None,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, SupervisorState::Done | SupervisorState::Idle)
    }

    pub fn handle(
        &mut self,
        now: Instant,
        event: SupervisorEvent,
        out: &mut Vec<SupervisorCommand>,
    ) {
        use SupervisorState as S;
        match (self.state, event) {
            (S::Idle, SupervisorEvent::Boot) => self.fork(out),
            (S::Forking, SupervisorEvent::Spawned { pid }) => {
                self.state = S::Running { pid, since: now };
                if let Some(signal) = self.stop_after_fork.take() {
                    self.stop(now, signal, out);
                }
            }
            (S::Forking, SupervisorEvent::SpawnFailed) => self.back_off(now),
            (S::Running { pid, since }, SupervisorEvent::Exited { pid: p, status }) if p == pid => {
                if now.saturating_since(since) < CRASH_WINDOW {
                    self.young_deaths += 1;
                } else {
                    self.young_deaths = 0;
                }
                let retry_in = self.retry_in();
                out.push(SupervisorCommand::Restarting {
                    pid,
                    status,
                    retry_in,
                });
                if retry_in.is_zero() {
                    self.fork(out);
                } else {
                    self.state = S::BackingOff {
                        until: now + retry_in,
                    };
                }
            }
            (S::Stopping { pid, .. }, SupervisorEvent::Exited { pid: p, .. }) if p == pid => {
                self.state = S::Done;
            }
            (_, SupervisorEvent::Signal(signal)) => self.on_signal(now, signal, out),
            (S::BackingOff { until }, SupervisorEvent::Tick) if now >= until => self.fork(out),
            (
                S::Stopping {
                    pid,
                    kill_at,
                    killed: false,
                },
                SupervisorEvent::Tick,
            ) if now >= kill_at => {
                out.push(SupervisorCommand::Kill { pid });
                self.state = S::Stopping {
                    pid,
                    kill_at,
                    killed: true,
                };
            }
            _ => {}
        }
    }

    fn on_signal(&mut self, now: Instant, signal: DirtySignal, out: &mut Vec<SupervisorCommand>) {
        use SupervisorState as S;
        let stopping = matches!(
            signal,
            DirtySignal::Term | DirtySignal::Int | DirtySignal::Quit
        );
        match self.state {
            S::Running { pid, .. } if matches!(signal, DirtySignal::Hup | DirtySignal::Usr1) => {
                out.push(SupervisorCommand::Signal { pid, signal })
            }
            _ if !stopping => {}
            S::Running { .. } => self.stop(now, signal, out),
            S::Forking => self.stop_after_fork = Some(signal),
            S::Idle | S::BackingOff { .. } => self.state = S::Done,
            // A second INT/QUIT during a TERM makes it quick.
            S::Stopping { pid, .. } => out.push(SupervisorCommand::Signal { pid, signal }),
            S::Done => {}
        }
    }

    fn stop(&mut self, now: Instant, signal: DirtySignal, out: &mut Vec<SupervisorCommand>) {
        if let SupervisorState::Running { pid, .. } = self.state {
            out.push(SupervisorCommand::Signal { pid, signal });
            let kill_at = now + self.graceful_timeout + STOP_GRACE;
            self.state = SupervisorState::Stopping {
                pid,
                kill_at,
                killed: false,
            };
        }
    }

    fn fork(&mut self, out: &mut Vec<SupervisorCommand>) {
        self.state = SupervisorState::Forking;
        out.push(SupervisorCommand::Spawn);
    }

    fn back_off(&mut self, now: Instant) {
        self.young_deaths += 1;
        self.state = SupervisorState::BackingOff {
            until: now + self.retry_in().max(BACKOFF_INITIAL),
        };
    }

    fn retry_in(&self) -> Duration {
        match self.young_deaths {
            0 | 1 => Duration::ZERO,
            n => (BACKOFF_INITIAL * (1u32 << (n - 2).min(16))).min(BACKOFF_MAX),
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            SupervisorState::BackingOff { until } => Some(until),
            SupervisorState::Stopping {
                kill_at,
                killed: false,
                ..
            } => Some(kill_at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SupervisorCommand as C;
    use SupervisorEvent as E;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn run(s: &mut DirtySupervisor, ms: u64, e: SupervisorEvent) -> Vec<C> {
        let mut out = Vec::new();
        s.handle(at(ms), e, &mut out);
        out
    }

    #[test]
    fn a_dead_dirty_arbiter_is_restarted_and_backs_off_while_dying_young() {
        let mut s = DirtySupervisor::new(Duration::from_secs(30));
        assert_eq!(run(&mut s, 0, E::Boot), [C::Spawn]);
        run(&mut s, 0, E::Spawned { pid: 10 });
        let status = ExitStatus::Signaled(9);
        // Lived long: replaced at once.
        let out = run(&mut s, 5_000, E::Exited { pid: 10, status });
        assert_eq!(out.last(), Some(&C::Spawn));
        run(&mut s, 5_000, E::Spawned { pid: 11 });
        // Died young once: still at once; twice: a back-off.
        let out = run(&mut s, 5_100, E::Exited { pid: 11, status });
        assert_eq!(out.last(), Some(&C::Spawn));
        run(&mut s, 5_100, E::Spawned { pid: 12 });
        let out = run(&mut s, 5_200, E::Exited { pid: 12, status });
        assert_eq!(
            out,
            [C::Restarting {
                pid: 12,
                status,
                retry_in: Duration::from_millis(100)
            }]
        );
        assert_eq!(s.next_deadline(), Some(at(5_300)));
        assert!(run(&mut s, 5_250, E::Tick).is_empty());
        assert_eq!(run(&mut s, 5_300, E::Tick), [C::Spawn]);
    }

    #[test]
    fn signals_go_only_to_a_live_dirty_arbiter_and_stop_ends_with_a_kill() {
        let mut s = DirtySupervisor::new(Duration::from_secs(1));
        run(&mut s, 0, E::Boot);
        // Forking: a HUP has no one to go to.
        assert!(run(&mut s, 0, E::Signal(DirtySignal::Hup)).is_empty());
        run(&mut s, 0, E::Spawned { pid: 7 });
        assert!(run(&mut s, 1, E::Signal(DirtySignal::Ttin)).is_empty());
        assert_eq!(
            run(&mut s, 1, E::Signal(DirtySignal::Hup)),
            [C::Signal {
                pid: 7,
                signal: DirtySignal::Hup
            }]
        );
        assert_eq!(
            run(&mut s, 1, E::Signal(DirtySignal::Usr1)),
            [C::Signal {
                pid: 7,
                signal: DirtySignal::Usr1
            }]
        );
        assert_eq!(
            run(&mut s, 10, E::Signal(DirtySignal::Term)),
            [C::Signal {
                pid: 7,
                signal: DirtySignal::Term
            }]
        );
        assert_eq!(s.next_deadline(), Some(at(3_010)));
        assert_eq!(run(&mut s, 3_010, E::Tick), [C::Kill { pid: 7 }]);
        assert!(run(&mut s, 3_020, E::Tick).is_empty());
        run(
            &mut s,
            3_030,
            E::Exited {
                pid: 7,
                status: ExitStatus::Signaled(9),
            },
        );
        assert!(s.is_done());
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn a_stop_during_the_fork_stops_the_new_dirty_arbiter() {
        let mut s = DirtySupervisor::new(Duration::from_secs(1));
        run(&mut s, 0, E::Boot);
        assert!(run(&mut s, 0, E::Signal(DirtySignal::Quit)).is_empty());
        assert_eq!(
            run(&mut s, 1, E::Spawned { pid: 3 }),
            [C::Signal {
                pid: 3,
                signal: DirtySignal::Quit
            }]
        );
        assert!(matches!(
            s.state(),
            SupervisorState::Stopping { pid: 3, .. }
        ));
    }
}
