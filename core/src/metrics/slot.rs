//! One worker's counters, in memory the master shares with it.
//!
//! Written by the worker's threads and read by the master, with relaxed
//! atomics only: each number is counted on its own and none is used to
//! order the reading of another, so the master may read a request's
//! status count a moment before its duration; the next scrape sees both.
//! All-zero bytes are a valid empty slot, so a fresh anonymous mapping
//! needs no initialising (its pages stay untouched until a worker uses
//! them).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::buckets::{self, BUCKETS};
use super::counts::WorkerCounts;
use super::labels::{self, METHODS, STATUS_CLASSES};

/// 64 words: one worker's counters, cache-line aligned so two workers
/// never write the same line.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct WorkerMetricsSlot {
    responses: [[AtomicU64; STATUS_CLASSES.len()]; METHODS.len()],
    /// Requests by duration bucket, not cumulative.
    durations: [AtomicU64; BUCKETS],
    duration_micros: AtomicU64,
    /// Requests begun and not yet finished (wrapping add and subtract).
    in_flight: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

impl WorkerMetricsSlot {
    pub const fn new() -> Self {
        WorkerMetricsSlot {
            responses: [const { [const { AtomicU64::new(0) }; STATUS_CLASSES.len()] };
                METHODS.len()],
            durations: [const { AtomicU64::new(0) }; BUCKETS],
            duration_micros: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
        }
    }

    /// A request's head is complete and the application is about to be
    /// called.
    pub fn request_started(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    /// The request begun with [`request_started`](Self::request_started)
    /// is answered: `method` as [`labels::method_index`] gives it.
    pub fn request_finished(&self, method: usize, status: u16, duration: Duration) {
        let method = method.min(METHODS.len() - 1);
        let micros = buckets::micros(duration);
        self.responses[method][labels::status_class_index(status)].fetch_add(1, Relaxed);
        self.durations[buckets::bucket_index(micros)].fetch_add(1, Relaxed);
        self.duration_micros.fetch_add(micros, Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
    }

    pub fn received(&self, bytes: usize) {
        self.bytes_received.fetch_add(bytes as u64, Relaxed);
    }

    pub fn sent(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
    }

    /// Requests finished so far (`show workers`' `requests`).
    pub fn requests(&self) -> u64 {
        self.responses
            .iter()
            .flatten()
            .map(|c| c.load(Relaxed))
            .sum()
    }

    /// The slot's numbers now.
    pub fn snapshot(&self) -> WorkerCounts {
        let load = |c: &AtomicU64| c.load(Relaxed);
        WorkerCounts {
            responses: self
                .responses
                .each_ref()
                .map(|row| row.each_ref().map(load)),
            durations: self.durations.each_ref().map(load),
            duration_micros: load(&self.duration_micros),
            // A request may be counted finished before it was seen begun:
            // never report a negative count.
            in_flight: i64::try_from(load(&self.in_flight)).unwrap_or(0),
            bytes_received: load(&self.bytes_received),
            bytes_sent: load(&self.bytes_sent),
        }
    }

    /// Clears the slot for its next worker (once the master has folded
    /// what the last one counted).
    pub fn reset(&self) {
        for c in self.responses.iter().flatten().chain(&self.durations) {
            c.store(0, Relaxed);
        }
        for c in [
            &self.duration_micros,
            &self.in_flight,
            &self.bytes_received,
            &self.bytes_sent,
        ] {
            c.store(0, Relaxed);
        }
    }
}

impl Default for WorkerMetricsSlot {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::labels::method_index;

    #[test]
    fn the_slot_is_one_power_of_two_of_words() {
        assert_eq!(std::mem::size_of::<WorkerMetricsSlot>(), 512);
        assert_eq!(std::mem::align_of::<WorkerMetricsSlot>(), 64);
    }

    #[test]
    fn a_request_is_counted_by_method_status_and_duration() {
        let slot = WorkerMetricsSlot::new();
        slot.request_started();
        assert_eq!(slot.snapshot().in_flight, 1);
        slot.request_finished(method_index(b"POST"), 201, Duration::from_millis(30));
        slot.request_started();
        slot.request_finished(method_index(b"GET"), 404, Duration::from_micros(10));
        slot.received(100);
        slot.sent(250);
        let c = slot.snapshot();
        assert_eq!(c.in_flight, 0);
        assert_eq!(c.responses[2][1], 1, "POST 2xx");
        assert_eq!(c.responses[0][3], 1, "GET 4xx");
        assert_eq!(c.durations[3], 1, "30 ms is in the 50 ms bucket");
        assert_eq!(c.durations[0], 1);
        assert_eq!(c.duration_micros, 30_010);
        assert_eq!((c.bytes_received, c.bytes_sent), (100, 250));
        assert_eq!(slot.requests(), 2);
        slot.reset();
        assert_eq!(slot.snapshot(), WorkerCounts::default());
    }

    #[test]
    fn an_unmatched_finish_never_reads_negative() {
        let slot = WorkerMetricsSlot::new();
        slot.request_finished(0, 200, Duration::ZERO);
        assert_eq!(slot.snapshot().in_flight, 0);
    }
}
