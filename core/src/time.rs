//! Injected time: the core never reads a clock, it is told what time it is.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the adapter's monotonic clock, measured from an arbitrary epoch
/// chosen by the adapter (process start for the real one, zero for the
/// simulator). Only differences between two `Instant`s mean anything.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The adapter's epoch.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    pub const fn from_duration(since_epoch: Duration) -> Self {
        Instant(since_epoch)
    }

    pub const fn from_millis(ms: u64) -> Self {
        Instant(Duration::from_millis(ms))
    }

    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Instant::from_millis(5);
        assert_eq!(t - Duration::from_millis(10), Instant::ZERO);
        assert_eq!(t.saturating_since(Instant::from_millis(9)), Duration::ZERO);
        assert_eq!(
            Instant::from_millis(9).saturating_since(t),
            Duration::from_millis(4)
        );
        assert_eq!(t + Duration::from_millis(1), Instant::from_millis(6));
    }
}
