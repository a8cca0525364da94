//! The request-duration histogram's buckets: Prometheus client libraries'
//! default bounds (5 ms to 10 s), which suit a web server's latencies.
//! A worker counts each request in one bucket (not cumulatively: one add
//! per request); the page makes them cumulative.

use std::time::Duration;

/// Upper bounds, in seconds, as the page prints them (`le`).
pub const BOUNDS_SECONDS: [&str; 11] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
];

/// The same bounds in microseconds, compared against a request's duration.
const BOUNDS_MICROS: [u64; 11] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// The bounds and one more bucket for what is longer (`+Inf`).
pub const BUCKETS: usize = BOUNDS_MICROS.len() + 1;

/// A duration in whole microseconds, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The bucket a request of `micros` microseconds falls in: the first
/// whose bound it does not exceed (Prometheus' `le`), else `+Inf`'s.
pub fn bucket_index(micros: u64) -> usize {
    BOUNDS_MICROS.partition_point(|&bound| bound < micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_falls_in_the_first_bucket_it_does_not_exceed() {
        assert_eq!(bucket_index(0), 0);
        assert_eq!(bucket_index(5_000), 0);
        assert_eq!(bucket_index(5_001), 1);
        assert_eq!(bucket_index(1_000_000), 7);
        assert_eq!(bucket_index(10_000_000), 10);
        assert_eq!(bucket_index(10_000_001), BUCKETS - 1);
        assert_eq!(bucket_index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn printed_bounds_match_the_compared_ones() {
        for (text, micros) in BOUNDS_SECONDS.iter().zip(BOUNDS_MICROS) {
            let seconds: f64 = text.parse().expect("a number");
            assert_eq!((seconds * 1e6).round() as u64, micros);
        }
        assert_eq!(micros(Duration::from_millis(3)), 3_000);
    }
}
