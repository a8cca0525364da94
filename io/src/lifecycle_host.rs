//! Carrying out the worker lifecycle's commands, for every worker loop:
//! the sync/gthread loop (`worker_loop`) and the asgi worker's driver.
//! Each loop says how it stops or resumes accepting, retires its idle
//! connections and records its exit; what each command means, which
//! signals a worker acts on and when its lifecycle ticks are here, once.

use nix::sys::signal::Signal;
use rcorn_core::heartbeat::HeartbeatSlot;
use rcorn_core::time::Instant;
use rcorn_core::worker::{WorkerCommand, WorkerEvent, WorkerLifecycle, WorkerSignal};

/// A worker loop, as its lifecycle's commands reach it.
pub trait LifecycleHost {
    /// The lifecycle, and the buffer its commands are collected in
    /// (reused, so an event allocates nothing).
    fn lifecycle_parts(&mut self) -> (&mut WorkerLifecycle, &mut Vec<WorkerCommand>);
    /// The loop's clock, as last read.
    fn now(&self) -> Instant;
    /// Registers or deregisters the listeners.
    fn set_accepting(&mut self, on: bool);
    /// [`WorkerCommand::RetireIdleConnections`].
    fn retire_idle(&mut self);
    /// The first exit code given is kept.
    fn exit(&mut self, code: i32);
    /// Runs once the lifecycle has decided, before its commands.
    fn decided(&mut self) {}
}

/// Hands `event` to the host's lifecycle and carries out what it commands.
pub fn lifecycle_event<H: LifecycleHost + ?Sized>(host: &mut H, event: WorkerEvent) {
    let now = host.now();
    let (lifecycle, commands) = host.lifecycle_parts();
    lifecycle.handle(now, event, commands);
    carry_out(host);
}

/// Carries out the commands collected in the host's buffer: by
/// [`lifecycle_event`], or by a core type that reports to the lifecycle
/// itself (the connection table, when a connection opens or closes).
pub fn carry_out<H: LifecycleHost + ?Sized>(host: &mut H) {
    let (_, commands) = host.lifecycle_parts();
    // Taken while they run: a command may report another event (a retired
    // connection closes), which collects into a buffer of its own.
    let commands = std::mem::take(commands);
    host.decided();
    for command in &commands {
        match command {
            WorkerCommand::StopAccepting => host.set_accepting(false),
            WorkerCommand::ResumeAccepting => host.set_accepting(true),
            WorkerCommand::RetireIdleConnections => host.retire_idle(),
            WorkerCommand::ReopenLogs => crate::log::reopen(),
            WorkerCommand::Exit { code } => host.exit(*code),
        }
    }
    let (_, buffer) = host.lifecycle_parts();
    *buffer = commands;
    buffer.clear();
}

/// [`WorkerEvent::Tick`] when the lifecycle's own deadline has come.
pub fn tick_if_due<H: LifecycleHost + ?Sized>(host: &mut H) {
    let now = host.now();
    let (lifecycle, _) = host.lifecycle_parts();
    if lifecycle.next_deadline().is_some_and(|d| d <= now) {
        lifecycle_event(host, WorkerEvent::Tick);
    }
}

/// The event a signal a worker acts on means to its lifecycle: a TERM the
/// master sent after marking `slot` replaces the worker, any other is the
/// signal itself.
pub fn signal_event(sig: Signal, slot: &HeartbeatSlot) -> Option<WorkerEvent> {
    if sig == Signal::SIGTERM && slot.replaced() {
        return Some(WorkerEvent::Replaced);
    }
    worker_signal(sig).map(WorkerEvent::Signal)
}

/// The lifecycle's name for a signal a worker acts on.
pub fn worker_signal(sig: Signal) -> Option<WorkerSignal> {
    Some(match sig {
        Signal::SIGTERM => WorkerSignal::Term,
        Signal::SIGINT => WorkerSignal::Int,
        Signal::SIGQUIT => WorkerSignal::Quit,
        Signal::SIGUSR1 => WorkerSignal::Usr1,
        Signal::SIGWINCH => WorkerSignal::Winch,
        Signal::SIGABRT => WorkerSignal::Abort,
        _ => return None,
    })
}
