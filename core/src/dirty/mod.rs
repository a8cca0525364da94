//! Dirty arbiters: a separate pool of processes for long, stateful work
//! (loading and running models) that HTTP workers call, after gunicorn's.
//!
//! - `arbiter`: the pool's lifecycle and its calls, a pure state machine;
//! - `apps`: which apps each worker loads (`dirty_apps`, per-app limits);
//! - `calls`: the calls waiting and in hand, and their errors;
//! - `supervisor`: the master's side, keeping one dirty arbiter alive;
//! - `stash`: the shared key/value tables the dirty arbiter holds;
//! - `tlv` and `frame`: gunicorn's binary protocol, sans-IO.

pub mod apps;
pub mod arbiter;
pub mod calls;
pub mod frame;
pub mod notice;
pub mod stash;
pub mod supervisor;
pub mod tlv;

pub use apps::{AppSet, AppSpec};
pub use arbiter::{Command, DirtyArbiter, DirtySettings, DirtySignal, Event};
pub use calls::{CallError, CallId};
pub use notice::DirtyNotice;
