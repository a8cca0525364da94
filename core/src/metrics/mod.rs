//! Prometheus metrics, sans-IO: what a worker counts, how the master adds
//! the workers up, and the page it serves (`--metrics-bind`).
//!
//! Rules:
//! - A worker counts into its own [`WorkerMetricsSlot`], in memory it
//!   shares with the master, with relaxed atomic adds only: no lock and no
//!   syscall on the request path. Only the master reads the slots.
//! - Counters survive a worker: the master folds a reaped worker's slot
//!   into its own totals ([`WorkerCounts::fold_counters`]) before the slot
//!   is given to another worker. Gauges (in-flight requests) of a dead
//!   worker are dropped, since they describe a process that is gone.
//! - The page ([`render`]) follows Prometheus' text format and naming
//!   conventions: the `rcorn_` prefix, base units (`_seconds`, `_bytes`),
//!   `_total` on counters, and a HELP line saying what each family means.

pub mod address;
pub mod buckets;
pub mod counts;
pub mod labels;
pub mod render;
pub mod scrape;
pub mod slot;

pub use counts::WorkerCounts;
pub use render::{render, MasterView};
pub use slot::WorkerMetricsSlot;
