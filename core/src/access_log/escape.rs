//! How bytes from the request reach the log: read as Latin-1 (as gunicorn
//! decodes them) and written as UTF-8, with `"` escaped as gunicorn's
//! `SafeAtoms` does.

/// A str atom: `"` escaped as gunicorn's SafeAtoms does.
pub(super) fn push_str(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == b'"' {
            out.extend_from_slice(b"\\\"");
        } else {
            out.push(b);
        }
    }
}

/// Bytes from the wire: Latin-1 to UTF-8, `"` escaped.
pub(super) fn push_latin1(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        push_latin1_byte(out, b);
    }
}

fn push_latin1_byte(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        0..=0x7f => out.push(b),
        _ => {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
}

pub(super) fn push_header_or_dash(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => push_latin1(out, v),
        None => out.push(b'-'),
    }
}

/// `PATH_INFO`: percent-decoded to bytes (malformed escapes kept as they
/// are), then read as Latin-1, as gunicorn's `unquote_to_wsgi_str`.
pub(super) fn push_percent_decoded(out: &mut Vec<u8>, path: &[u8]) {
    for b in crate::percent::decoded_bytes(path) {
        push_latin1_byte(out, b);
    }
}

/// `n` in decimal, without `core::fmt`.
pub(super) fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}
