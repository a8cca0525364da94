//! Log timestamps: `%(t)s` of the access log and the error-log prefix, in
//! the local time whose offset the caller passes (the core reads no clock
//! and no time zone).

use super::render::push_u64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (year, month 1-12, day 1-31) of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn civil(unix_secs: i64, utc_offset_secs: i32) -> Civil {
    let local = unix_secs.saturating_add(i64::from(utc_offset_secs));
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let tod = local.rem_euclid(86_400) as u32;
    Civil {
        year,
        month,
        day,
        hour: tod / 3600,
        minute: tod / 60 % 60,
        second: tod % 60,
    }
}

fn push2(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

fn push_year(out: &mut Vec<u8>, y: i64) {
    if (0..10_000).contains(&y) {
        let y = y as u32;
        push2(out, y / 100);
        push2(out, y % 100);
    } else {
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(y).as_bytes());
    }
}

/// strftime's `%z`: `+hhmm` / `-hhmm`.
fn push_offset(out: &mut Vec<u8>, offset: i32) {
    out.push(if offset < 0 { b'-' } else { b'+' });
    let abs = offset.unsigned_abs();
    push2(out, abs / 3600);
    push2(out, abs / 60 % 60);
}

/// `13:55:36 -0700`: strftime's `%H:%M:%S %z`.
fn push_clock_and_offset(out: &mut Vec<u8>, c: &Civil, offset: i32) {
    push2(out, c.hour);
    out.push(b':');
    push2(out, c.minute);
    out.push(b':');
    push2(out, c.second);
    out.push(b' ');
    push_offset(out, offset);
}

/// `[10/Oct/2000:13:55:36 -0700]`, gunicorn's `%(t)s`.
pub(super) fn push_clf_time(unix_secs: i64, utc_offset_secs: i32, out: &mut Vec<u8>) {
    let c = civil(unix_secs, utc_offset_secs);
    out.push(b'[');
    push2(out, c.day);
    out.push(b'/');
    out.extend_from_slice(MONTHS[(c.month as usize).saturating_sub(1) % 12].as_bytes());
    out.push(b'/');
    push_year(out, c.year);
    out.push(b':');
    push_clock_and_offset(out, &c, utc_offset_secs);
    out.push(b']');
}

/// gunicorn's error-log line prefix, `[2026-11-24 06:30:00 +0000] [1234] [INFO] `
/// (its `%(asctime)s [%(process)d] [%(levelname)s] ` with datefmt
/// `[%Y-%m-%d %H:%M:%S %z]`). `level` is written as given: INFO, WARNING,
/// ERROR, CRITICAL, DEBUG.
pub fn error_log_prefix(
    unix_secs: i64,
    utc_offset_secs: i32,
    pid: u32,
    level: &str,
    out: &mut Vec<u8>,
) {
    let c = civil(unix_secs, utc_offset_secs);
    out.push(b'[');
    push_year(out, c.year);
    out.push(b'-');
    push2(out, c.month);
    out.push(b'-');
    push2(out, c.day);
    out.push(b' ');
    push_clock_and_offset(out, &c, utc_offset_secs);
    out.extend_from_slice(b"] [");
    push_u64(out, u64::from(pid));
    out.extend_from_slice(b"] [");
    out.extend_from_slice(level.as_bytes());
    out.extend_from_slice(b"] ");
}
