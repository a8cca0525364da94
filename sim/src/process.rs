//! A simulated worker process and what signals do to it.

use std::time::Duration;

use rcorn_core::arbiter::{ExitStatus, KillSignal};
use rcorn_core::time::Instant;

use crate::{Proc, QUICK_EXIT};

impl Proc {
    /// What a signal does to the process: it exits at once, after a grace,
    /// or not at all while hung.
    pub(crate) fn receive(&mut self, signal: KillSignal, now: Instant, grace: Duration) {
        let hung = self.hung_since.is_some();
        match signal {
            KillSignal::Kill => {
                self.killed = true;
                self.exit_at = Some((now, ExitStatus::Signaled(9)));
            }
            KillSignal::Abort => {
                self.aborted = true;
                self.aborted_at.get_or_insert(now);
                if !hung && self.exit_at.is_none() {
                    self.exit_at = Some((now + Duration::from_millis(5), ExitStatus::Signaled(6)));
                }
            }
            // TERM: finish the requests in hand (up to 800 ms here).
            KillSignal::Term => {
                self.told_to_stop = true;
                self.asked_to_stop_at.get_or_insert(now);
                if !hung && self.exit_at.is_none() {
                    self.exit_at = Some((now + grace, ExitStatus::Code(0)));
                }
            }
            // INT/QUIT: exit at once, even while draining after a TERM.
            KillSignal::Int | KillSignal::Quit => {
                self.told_to_stop = true;
                self.asked_to_stop_at.get_or_insert(now);
                let quick = now + QUICK_EXIT;
                // A worker still booting (even one bound to fail) quits too.
                if !hung && self.exit_at.is_none_or(|(t, _)| t > quick) {
                    self.exit_at = Some((quick, ExitStatus::Code(0)));
                }
            }
            KillSignal::Usr1 => self.usr1 += 1,
            KillSignal::Winch => {}
        }
    }
}
