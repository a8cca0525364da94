//! A worker's numbers read out of its slot, and the sums the page shows.

use super::buckets::BUCKETS;
use super::labels::{METHODS, STATUS_CLASSES};

/// Plain numbers: one worker's at one instant, or a sum of workers'.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerCounts {
    /// Finished requests by method (rows) and status class.
    pub responses: [[u64; STATUS_CLASSES.len()]; METHODS.len()],
    /// Finished requests by duration bucket, not cumulative.
    pub durations: [u64; BUCKETS],
    pub duration_micros: u64,
    pub in_flight: i64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl WorkerCounts {
    /// Adds `other`'s counters, not its in-flight gauge: how a reaped
    /// worker's numbers join the master's totals, so counters never go
    /// back when a worker is replaced.
    pub fn fold_counters(&mut self, other: &WorkerCounts) {
        for (row, other_row) in self.responses.iter_mut().zip(&other.responses) {
            for (c, o) in row.iter_mut().zip(other_row) {
                *c = c.wrapping_add(*o);
            }
        }
        for (c, o) in self.durations.iter_mut().zip(&other.durations) {
            *c = c.wrapping_add(*o);
        }
        self.duration_micros = self.duration_micros.wrapping_add(other.duration_micros);
        self.bytes_received = self.bytes_received.wrapping_add(other.bytes_received);
        self.bytes_sent = self.bytes_sent.wrapping_add(other.bytes_sent);
    }

    /// Adds a live worker's numbers: counters and in-flight requests.
    pub fn add_live(&mut self, other: &WorkerCounts) {
        self.fold_counters(other);
        self.in_flight = self.in_flight.saturating_add(other.in_flight);
    }

    /// Finished requests, all methods and statuses.
    pub fn requests(&self) -> u64 {
        self.responses.iter().flatten().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(requests: u64, in_flight: i64) -> WorkerCounts {
        let mut c = WorkerCounts::default();
        c.responses[0][1] = requests;
        c.durations[0] = requests;
        c.duration_micros = requests * 10;
        c.in_flight = in_flight;
        c.bytes_received = requests * 100;
        c.bytes_sent = requests * 200;
        c
    }

    #[test]
    fn folding_a_dead_worker_keeps_its_counters_and_drops_its_gauge() {
        let mut totals = counts(5, 0);
        totals.fold_counters(&counts(3, 2));
        assert_eq!(totals, counts(8, 0));
        totals.add_live(&counts(1, 1));
        assert_eq!(totals.requests(), 9);
        assert_eq!(totals.in_flight, 1);
        assert_eq!(totals.bytes_sent, 1800);
    }
}
