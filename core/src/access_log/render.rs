//! One request's atoms written into a log line, with Python's %-format
//! padding and precision where a placeholder asks for them.

use super::atom::Atom;
use super::escape::{push_header_or_dash, push_latin1, push_percent_decoded, push_str, push_u64};
use super::spec::Spec;
use super::timestamp::push_clf_time;
use super::user::push_user;
use super::AccessRecord;

pub(super) fn render_with_spec(
    atom: Atom,
    name: &str,
    spec: &Spec,
    rec: &dyn AccessRecord,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    if spec.integer {
        // Only numeric atoms get here (checked at parse time).
        let n = number(atom, rec);
        let sign = if spec.plus {
            "+"
        } else if spec.space {
            " "
        } else {
            ""
        };
        let mut digits = n.to_string();
        if let Some(p) = spec.precision.filter(|&p| p > digits.len()) {
            digits.insert_str(0, &"0".repeat(p - digits.len()));
        }
        let len = sign.len() + digits.len();
        let pad = spec.width.saturating_sub(len);
        if spec.left {
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b' ', pad));
        } else if spec.zero {
            out.extend_from_slice(sign.as_bytes());
            out.extend(std::iter::repeat_n(b'0', pad));
            out.extend_from_slice(digits.as_bytes());
        } else {
            out.extend(std::iter::repeat_n(b' ', pad));
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(digits.as_bytes());
        }
        return;
    }
    render_atom(atom, name, rec, out);
    // Python counts characters, not bytes; what we wrote is UTF-8.
    if let Some(p) = spec.precision {
        let cut = char_boundary_after(&out[start..], p);
        out.truncate(start + cut);
    }
    let chars = count_chars(&out[start..]);
    if chars < spec.width {
        let pad = spec.width - chars;
        if spec.left {
            out.extend(std::iter::repeat_n(b' ', pad));
        } else {
            out.splice(start..start, std::iter::repeat_n(b' ', pad));
        }
    }
}

fn count_chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

fn char_boundary_after(b: &[u8], n: usize) -> usize {
    let mut seen = 0;
    for (i, &c) in b.iter().enumerate() {
        if (c & 0xC0) != 0x80 {
            if seen == n {
                return i;
            }
            seen += 1;
        }
    }
    b.len()
}

fn number(atom: Atom, rec: &dyn AccessRecord) -> u64 {
    let d = rec.duration();
    // gunicorn's request_time is a timedelta: microsecond resolution,
    // truncated.
    let secs = d.as_secs();
    let micros = u64::from(d.subsec_micros());
    match atom {
        Atom::BytesNumber => rec.response_length().unwrap_or(0),
        Atom::Seconds => secs,
        Atom::Micros => secs.saturating_mul(1_000_000).saturating_add(micros),
        Atom::Millis => secs.saturating_mul(1000).saturating_add(micros / 1000),
        _ => 0,
    }
}

pub(super) fn render_atom(atom: Atom, name: &str, rec: &dyn AccessRecord, out: &mut Vec<u8>) {
    match atom {
        Atom::RemoteAddr => push_str(out, rec.remote_addr()),
        Atom::Dash | Atom::Missing => out.push(b'-'),
        Atom::User => push_user(rec, out),
        Atom::Time => {
            // gunicorn stamps the line when it writes it, at the end of the
            // response, not when the request arrived.
            let (secs, nanos) = rec.start_unix();
            let end_nanos = u64::from(nanos) + u64::from(rec.duration().subsec_nanos());
            let end = secs
                .saturating_add(i64::try_from(rec.duration().as_secs()).unwrap_or(i64::MAX))
                .saturating_add(i64::try_from(end_nanos / 1_000_000_000).unwrap_or(0));
            push_clf_time(end, rec.utc_offset_secs(), out);
        }
        Atom::RequestLine => {
            push_str(out, rec.method());
            out.push(b' ');
            push_latin1(out, rec.raw_uri());
            out.push(b' ');
            push_protocol(rec.http_version(), out);
        }
        Atom::Method => push_str(out, rec.method()),
        Atom::PathInfo => push_percent_decoded(out, rec.path()),
        Atom::Query => push_latin1(out, rec.query()),
        Atom::Protocol => push_protocol(rec.http_version(), out),
        Atom::Status => push_u64(out, u64::from(rec.status())),
        Atom::BytesClf => match rec.response_length() {
            Some(n) => push_u64(out, n),
            None => out.push(b'-'),
        },
        Atom::BytesNumber | Atom::Seconds | Atom::Micros | Atom::Millis => {
            push_u64(out, number(atom, rec))
        }
        Atom::Referer => push_header_or_dash(out, rec.request_header("referer")),
        Atom::UserAgent => push_header_or_dash(out, rec.request_header("user-agent")),
        Atom::DecimalSecs => {
            let d = rec.duration();
            push_u64(out, d.as_secs());
            out.push(b'.');
            let micros = d.subsec_micros();
            let mut buf = itoa::Buffer::new();
            let s = buf.format(micros);
            out.extend(std::iter::repeat_n(b'0', 6 - s.len()));
            out.extend_from_slice(s.as_bytes());
        }
        Atom::Pid => {
            out.push(b'<');
            push_u64(out, u64::from(rec.pid()));
            out.push(b'>');
        }
        Atom::RequestHeader => push_header_or_dash(out, rec.request_header(name)),
        Atom::ResponseHeader => push_header_or_dash(out, rec.response_header(name)),
        Atom::Environ => match rec.environ_var(name) {
            Some(v) => push_str(out, &v),
            None => out.push(b'-'),
        },
    }
}

fn push_protocol((major, minor): (u8, u8), out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/");
    push_u64(out, u64::from(major));
    out.push(b'.');
    push_u64(out, u64::from(minor));
}
