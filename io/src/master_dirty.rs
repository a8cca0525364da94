//! The master's dirty arbiter: forked, signalled, reaped and restarted as
//! `rcorn_core::dirty::supervisor` decides. The child returns out of
//! `run_master` (`MasterOutcome::DirtyArbiter`), as a worker does, and the
//! host runs the dirty arbiter in it.

use std::io;
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::unistd::{ForkResult, Pid as NixPid};
use rcorn_core::arbiter::{ExitStatus, Pid, Signal as ArbiterSignal};
use rcorn_core::dirty::supervisor::{
    DirtySupervisor, SupervisorCommand, SupervisorEvent, SupervisorState,
};
use rcorn_core::dirty::DirtySignal;

use crate::clock;
use crate::master::Host;
use crate::signals::{self, MASTER_SIGNALS};

pub(crate) struct DirtyChild {
    supervisor: DirtySupervisor,
    commands: Vec<SupervisorCommand>,
}

/// Which side of the dirty arbiter's fork this process is on.
pub(crate) enum DirtyFork {
    Child,
    Parent,
}

impl DirtyChild {
    pub fn new(graceful_timeout: Duration) -> Self {
        let mut child = DirtyChild {
            supervisor: DirtySupervisor::new(graceful_timeout),
            commands: Vec::new(),
        };
        child.handle(SupervisorEvent::Boot);
        child
    }

    fn handle(&mut self, event: SupervisorEvent) {
        self.supervisor
            .handle(clock::now(), event, &mut self.commands);
    }

    pub fn pid(&self) -> Option<Pid> {
        self.supervisor.pid()
    }

    pub fn is_done(&self) -> bool {
        self.supervisor.is_done()
    }

    pub fn next_deadline(&self) -> Option<rcorn_core::time::Instant> {
        self.supervisor.next_deadline()
    }

    /// The master's signal, for the dirty arbiter where gunicorn passes it.
    pub fn on_master_signal(&mut self, signal: ArbiterSignal) {
        let dirty = match signal {
            ArbiterSignal::Hup => DirtySignal::Hup,
            ArbiterSignal::Term => DirtySignal::Term,
            ArbiterSignal::Int => DirtySignal::Int,
            ArbiterSignal::Quit => DirtySignal::Quit,
            ArbiterSignal::Usr1 => DirtySignal::Usr1,
            _ => return,
        };
        self.handle(SupervisorEvent::Signal(dirty));
    }

    /// The master is exiting for another reason (a worker's boot error):
    /// the dirty arbiter stops too.
    pub fn stop(&mut self) {
        if !matches!(
            self.supervisor.state(),
            SupervisorState::Stopping { .. } | SupervisorState::Done
        ) {
            self.handle(SupervisorEvent::Signal(DirtySignal::Term));
        }
    }

    /// A reaped child; `false` if it is not the dirty arbiter.
    pub fn on_exit(&mut self, pid: Pid, status: ExitStatus) -> bool {
        if self.pid() != Some(pid) {
            return false;
        }
        self.handle(SupervisorEvent::Exited { pid, status });
        true
    }

    pub fn tick(&mut self) {
        if self.next_deadline().is_some_and(|d| d <= clock::now()) {
            self.handle(SupervisorEvent::Tick);
        }
    }

    /// Carries out what the supervisor asked; `Child` in a new dirty
    /// arbiter process.
    pub fn carry_out<H: Host>(&mut self, host: &mut H) -> io::Result<DirtyFork> {
        while !self.commands.is_empty() {
            for command in std::mem::take(&mut self.commands) {
                match command {
                    SupervisorCommand::Spawn => match fork_dirty(host) {
                        Ok(Some(pid)) => {
                            crate::info!("Spawned dirty arbiter (pid: {pid})");
                            self.handle(SupervisorEvent::Spawned { pid });
                        }
                        Ok(None) => return Ok(DirtyFork::Child),
                        Err(e) => {
                            crate::error!("Unable to fork the dirty arbiter: {e}");
                            self.handle(SupervisorEvent::SpawnFailed);
                        }
                    },
                    SupervisorCommand::Signal { pid, signal } => send(pid, to_nix(signal)),
                    SupervisorCommand::Kill { pid } => send(pid, Signal::SIGKILL),
                    SupervisorCommand::Restarting {
                        pid,
                        status,
                        retry_in,
                    } => crate::error!(
                        "Dirty arbiter (pid:{pid}) exited ({status:?}); restarting in {} ms",
                        retry_in.as_millis()
                    ),
                }
            }
        }
        Ok(DirtyFork::Parent)
    }
}

fn send(pid: Pid, signal: Signal) {
    let _ = nix::sys::signal::kill(NixPid::from_raw(pid), signal);
}

fn to_nix(signal: DirtySignal) -> Signal {
    match signal {
        DirtySignal::Hup => Signal::SIGHUP,
        DirtySignal::Ttin => Signal::SIGTTIN,
        DirtySignal::Ttou => Signal::SIGTTOU,
        DirtySignal::Term => Signal::SIGTERM,
        DirtySignal::Int => Signal::SIGINT,
        DirtySignal::Quit => Signal::SIGQUIT,
        DirtySignal::Usr1 => Signal::SIGUSR1,
    }
}

/// Forks with the master's signals blocked; the child sets them back to
/// their defaults before unblocking, so none reaches the master's pipe
/// handler there. `None` in the child.
fn fork_dirty<H: Host>(host: &mut H) -> io::Result<Option<Pid>> {
    let mut mask = SigSet::empty();
    for &sig in MASTER_SIGNALS {
        mask.add(sig);
    }
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))?;
    let forked = host.fork();
    if let Ok(ForkResult::Child) = forked {
        signals::reset(MASTER_SIGNALS);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None)?;
    match forked {
        Ok(ForkResult::Child) => Ok(None),
        Ok(ForkResult::Parent { child }) => Ok(Some(child.as_raw())),
        Err(errno) => Err(errno.into()),
    }
}
