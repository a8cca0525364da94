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
///
/// The coarse clock: it is a few milliseconds behind at most, which whole
/// seconds do not show, and reading it costs a fraction of a precise read
/// (no TSC read), on every response.
pub fn unix_secs() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0)
}

/// The local time zone's offset from UTC at `unix_secs`, in seconds, as
/// gunicorn's log timestamps show it (`+0100`). Looked up once per second
/// and thread, since daylight saving may change it.
pub fn utc_offset_secs(unix_secs: i64) -> i32 {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<(i64, i32)> = const { Cell::new((i64::MIN, 0)) };
    }
    CACHED.with(|cached| {
        let (at, offset) = cached.get();
        if at == unix_secs {
            return offset;
        }
        let t = unix_secs as libc::time_t;
        // SAFETY: localtime_r fills the tm we pass; a zeroed tm is valid.
        let offset = unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            if libc::localtime_r(&t, &mut tm).is_null() {
                0
            } else {
                tm.tm_gmtoff as i32
            }
        };
        cached.set((unix_secs, offset));
        offset
    })
}
