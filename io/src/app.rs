//! The boundary between the server and an application.

use crate::exchange::Exchange;

/// Something that answers requests. The WSGI bridge is one; tests use Rust
/// ones, so a bug can be placed on the right side of the Python boundary.
///
/// `call` must answer through the exchange (`start_response` …
/// `write_body`). If it returns without starting a response, the server
/// answers 500; if it calls [`Exchange::abort`] after the head went out, the
/// connection is closed so the client never takes a cut-short body for a
/// complete one.
pub trait App {
    fn call(&mut self, exchange: &mut Exchange<'_>);

    /// Called by an idle worker after signals arrived, so an application
    /// runtime with handlers of its own (Python's) can run them.
    fn signals_arrived(&mut self) {}

    /// Asked on every wake of an idle worker: `true` makes the worker
    /// finish gracefully so the master starts a fresh one (`--reload`).
    fn wants_restart(&mut self) -> bool {
        false
    }

    /// Called by a gthread worker's loop about once a second, before it
    /// beats the heartbeat: returns once the application runtime can run
    /// code. A runtime wedged for good (Python's GIL held and never given
    /// back) keeps the loop here, the heartbeat goes stale and the master
    /// replaces the worker after `timeout`: gunicorn's gthread worker, whose
    /// loop is Python code, dies the same way. A long request that lets
    /// other threads run is not affected.
    fn runtime_responsive(&mut self) {}

    /// Runs an application thread's whole life (`run`) in a gthread
    /// worker, so a runtime can attach the thread once rather than per
    /// request (Python keeps the thread's state, and its `threading.local`
    /// data, across requests).
    fn thread_main(&mut self, run: &mut dyn FnMut(&mut Self))
    where
        Self: Sized,
    {
        run(self)
    }
}
