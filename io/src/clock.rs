//! The real clock, translated into the core's injected `Instant`.

use rcorn_core::time::Instant;

/// Milliseconds on CLOCK_MONOTONIC: the same clock in the master and in
/// every worker, so heartbeat stamps compare across processes.
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// Now, for the core: the monotonic clock since boot is the epoch.
pub fn now() -> Instant {
    Instant::from_millis(monotonic_ms())
}

/// Seconds since the Unix epoch, for Date headers and log lines.
pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
