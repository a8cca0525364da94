//! rcorn's real adapter: it owns the operating system.
//!
//! The pure state machines of `rcorn-core` decide; this crate carries their
//! decisions out with real sockets (mio), real processes (fork, waitpid),
//! real signals (a self-pipe) and a shared-memory heartbeat region. It knows
//! nothing of Python: an [`App`] serves requests, and the `rcorn-python`
//! crate provides the WSGI one. Its own tests serve with a Rust `App`.

pub mod accept;
pub mod access;
pub mod app;
mod app_pool;
pub mod blocking;
pub mod clock;
mod conn_table;
pub mod connection_task;
pub mod control;
pub mod control_socket;
pub mod exchange;
mod h2;
pub mod heartbeat_region;
pub mod lifecycle_host;
pub mod listener;
pub mod log;
mod log_level;
pub mod master;
mod master_dirty;
pub mod metrics;
pub mod metrics_endpoint;
pub mod metrics_region;
pub mod reexec;
pub mod refused;
mod request;
pub mod shared_mapping;
pub mod signals;
pub mod statsd;
pub mod stream;
pub mod systemd;
pub mod tls;
mod tls_ciphers;
pub mod worker_config;
pub mod worker_loop;

pub use app::App;
pub use exchange::Exchange;
/// The line an HTTP/2 connection the client's behaviour ended logs (a
/// warning for a flood cut off), shared by every worker that serves HTTP/2.
pub use h2::log_connection_error as log_h2_connection_error;
/// The warning each HTTP/2 limit that cut off a stream logs, shared by
/// every worker that serves HTTP/2.
pub use h2::log_notice as log_h2_notice;
pub use listener::{BindAddress, Listener};
pub use master::{run_master, Host, MasterOutcome, WorkerStart};
