//! rcorn's pure, deterministic core.
//!
//! Nothing in this crate reads a clock, makes a syscall, spawns a thread or
//! draws a random number: time and the outside world arrive as events, and
//! what should happen leaves as commands. The real adapter (`rcorn-io`) and
//! the simulator (`sim`) drive the same code.

pub mod access_log;
pub mod arbiter;
pub mod cipher_list;
pub mod config;
pub mod control;
pub mod dirty;
pub mod handoff;
pub mod heartbeat;
pub mod http;
pub mod metrics;
pub mod percent;
pub mod rng;
pub mod statsd;
pub mod syslog;
pub mod time;
pub mod uwsgi;
pub mod worker;
pub mod ws;
pub mod x509_name;
