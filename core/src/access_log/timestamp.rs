//! Log timestamps: `%(t)s` of the access log and the error-log prefix, in
//! the local time whose offset the caller passes (the core reads no clock
//! and no time zone).

use time::{OffsetDateTime, PrimitiveDateTime};

use super::escape::push_u64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A local date and time, as the log prints it.
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
}

/// The calendar date and time of day `utc_offset_secs` east of UTC at
/// `unix_secs`. Past the years -9999 and 9999, which `time` stops at and no
/// clock reaches, it is the first or last second it can show.
pub(super) fn civil(unix_secs: i64, utc_offset_secs: i32) -> Civil {
    let local = unix_secs.saturating_add(i64::from(utc_offset_secs));
    let t = OffsetDateTime::from_unix_timestamp(local).unwrap_or_else(|_| {
        let edge = if local < 0 {
            PrimitiveDateTime::MIN
        } else {
            PrimitiveDateTime::MAX
        };
        edge.assume_utc()
    });
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second) = t.to_hms();
    Civil {
        year: i64::from(year),
        month: u32::from(u8::from(month)),
        day: u32::from(day),
        hour: u32::from(hour),
        minute: u32::from(minute),
        second: u32::from(second),
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

/// `2026-11-24T06:30:00.250+01:00` (RFC 3339, milliseconds): the `time`
/// of a JSON log line, in the same local time as the text lines. Apart
/// from [`civil`] and its helpers, which the text lines' hot path inlines.
pub fn rfc3339_millis(unix_secs: i64, millis: u32, utc_offset_secs: i32, out: &mut Vec<u8>) {
    let local = unix_secs.saturating_add(i64::from(utc_offset_secs));
    let t = OffsetDateTime::from_unix_timestamp(local).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second) = t.to_hms();
    let offset = utc_offset_secs.unsigned_abs();
    let sign = if utc_offset_secs < 0 { '-' } else { '+' };
    let text = format!(
        "{year:04}-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}{sign}{:02}:{:02}",
        u8::from(month),
        millis.min(999),
        offset / 3600,
        offset / 60 % 60,
    );
    out.extend_from_slice(text.as_bytes());
}
