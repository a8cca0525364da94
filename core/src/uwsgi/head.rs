//! A uwsgi packet's variables made into a request head (rules 3 to 5 of
//! the module).

use std::ops::Range;

use super::packet::parse_packet;
use crate::http::head::is_tchar;
use crate::http::{BodyKind, DecodeError, DecodeErrorKind as K, RequestHead};

/// Decodes the packet at the front of `buf` into `head`: `Ok(Some(len))`
/// once its header and variables (`len` bytes) are all there, the body
/// after them; `Ok(None)` until then.
pub(crate) fn decode_head(
    buf: &[u8],
    head: &mut RequestHead,
) -> Result<Option<usize>, DecodeError> {
    let Some(packet) = parse_packet(buf)? else {
        return Ok(None);
    };
    head.begin_uwsgi();
    let mut line = RequestLine::default();
    let mut length: u64 = 0;
    for pair in packet.vars() {
        let (key, value) = pair?;
        if let Some(name) = key.strip_prefix(b"HTTP_") {
            // nginx passes the client's Content-Type and Content-Length
            // both as CGI variables and as `HTTP_*`: one field each.
            if is_token(name) && name != b"CONTENT_TYPE" && name != b"CONTENT_LENGTH" {
                let name = head.append(&[name]);
                head.replace_byte(name.clone(), b'_', b'-');
                let value = head.append(&[value]);
                head.push_field(name, value);
            }
            continue;
        }
        match key {
            b"REQUEST_METHOD" => line.method = Some(value),
            b"PATH_INFO" => line.path = Some(value),
            b"QUERY_STRING" => line.query = value,
            b"HTTPS" => line.https = Some(value),
            b"wsgi.url_scheme" => line.url_scheme = Some(value),
            b"CONTENT_TYPE" | b"CONTENT_LENGTH" => {
                if key == b"CONTENT_LENGTH" {
                    length = content_length(value);
                }
                let name = head.append(&[if key == b"CONTENT_TYPE" {
                    b"Content-Type"
                } else {
                    b"Content-Length"
                }]);
                let value = head.append(&[value]);
                head.push_field(name, value);
            }
            _ => {}
        }
    }
    line.apply(head)?;
    head.set_body(if length == 0 {
        BodyKind::None
    } else {
        BodyKind::Length(length)
    });
    Ok(Some(packet.size()))
}

/// The variables the request line is made of, as the last of each said.
#[derive(Default)]
struct RequestLine<'a> {
    method: Option<&'a [u8]>,
    path: Option<&'a [u8]>,
    query: &'a [u8],
    https: Option<&'a [u8]>,
    url_scheme: Option<&'a [u8]>,
}

impl RequestLine<'_> {
    fn apply(&self, head: &mut RequestHead) -> Result<(), DecodeError> {
        let method = self.method.unwrap_or(b"GET");
        if !is_token(method) {
            return Err(DecodeError::new(
                K::InvalidUWSGIHeader,
                "REQUEST_METHOD is not a token",
            ));
        }
        let method = head.append(&[method]);
        let path = append_escaped_path(head, self.path.unwrap_or(b"/"));
        let query = if self.query.is_empty() {
            path.end..path.end
        } else {
            let at = head.append(&[b"?", self.query]);
            at.start + 1..at.end
        };
        head.set_request_line(method, path, query);
        head.set_declared_scheme(self.scheme());
        Ok(())
    }

    fn scheme(&self) -> Option<&'static str> {
        let on = |v: &[u8]| {
            [&b"on"[..], b"1", b"true"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t))
        };
        if self.https.is_some_and(on) {
            return Some("https");
        }
        match self.url_scheme {
            Some(b"https") => Some("https"),
            Some(b"http") => Some("http"),
            _ => None,
        }
    }
}

/// `PATH_INFO` as a raw path that percent-decodes back to it: `%` escaped.
fn append_escaped_path(head: &mut RequestHead, path: &[u8]) -> Range<usize> {
    let start = head.append(&[]).start;
    for piece in path.split_inclusive(|&b| b == b'%') {
        match piece.strip_suffix(b"%") {
            Some(before) => head.append(&[before, b"%25"]),
            None => head.append(&[piece]),
        };
    }
    start..head.append(&[]).end
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// gunicorn's `max(int(CONTENT_LENGTH), 0)`, an unreadable value 0.
fn content_length(value: &[u8]) -> u64 {
    let digits = value.trim_ascii();
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}
