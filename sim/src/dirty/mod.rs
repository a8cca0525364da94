//! A deterministic simulation of the dirty arbiter.
//!
//! `DirtyWorld` drives the real [`DirtyArbiter`] with a simulated clock,
//! dirty worker processes (slow boots, crashes, hangs, calls that run past
//! `dirty_timeout`) and clients making calls, all from one seeded RNG, and
//! checks after every step the main arbiter's invariants that apply
//! (DESIGN.md §4: 1 settled count, 2 silent workers aborted, 4 stop, 5 no
//! signal to a reaped pid, 6 every worker reaped) and the pool's own:
//! every call is answered exactly once (dispatched to a ready worker that
//! loads its app, with a free thread, or failed), never later than twice
//! `dirty_timeout` after it was made (waiting, then running), and no app
//! is loaded by more workers of a generation than its limit.

mod world;

pub use world::{
    dirty_sim_settings, random_dirty_schedule, run_dirty_schedule, DirtyAction, DirtyWorld,
};
