//! The master's host: forking the way CPython expects.

use nix::unistd::ForkResult;
use pyo3::ffi;
use pyo3::Python;
use rcorn_core::arbiter::Hook;
use rcorn_io::Host;

pub struct PythonHost;

impl Host for PythonHost {
    /// `os.fork()`'s protocol: CPython's at-fork handlers (and
    /// `os.register_at_fork` callbacks) run before and after, with the
    /// interpreter's locks held across the fork so the child's are sane.
    fn fork(&mut self) -> nix::Result<ForkResult> {
        Python::attach(|_py| {
            // SAFETY: called with the GIL held, as these functions require;
            // the master runs no other threads of its own.
            unsafe {
                ffi::PyOS_BeforeFork();
                let result = nix::unistd::fork();
                match result {
                    Ok(ForkResult::Child) => ffi::PyOS_AfterFork_Child(),
                    _ => ffi::PyOS_AfterFork_Parent(),
                }
                result
            }
        })
    }

    fn hook(&mut self, _hook: &Hook) {
        // Server hooks from a config file arrive with the config-file
        // support; until then the master has none to run.
    }
}
