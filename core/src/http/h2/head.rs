//! An HTTP/2 request as the [`RequestHead`] every application interface
//! reads, so the WSGI environ, the access log and the hooks serve HTTP/2
//! without a line of their own.
//!
//! The rules it keeps:
//!
//! 1. **Version 2.0**: `SERVER_PROTOCOL` is `HTTP/2.0`, as gunicorn gives.
//! 2. **`:authority` acts as Host** (RFC 9113 §8.3.1): it becomes the
//!    `host` field, first, and a `host` field the client sent beside it is
//!    dropped (a different one was already refused as malformed, see
//!    `stream.rs`); without `:authority`, a `host` field is kept as sent.
//! 3. **Cookies are joined** with `"; "` into one field (§8.2.3), as an
//!    HTTP/1.1 application expects them.
//! 4. **The body's framing** is the content-length when declared, none
//!    when HEADERS ended the stream, else of unknown length (`Chunked`:
//!    no `CONTENT_LENGTH`, read to the end).
//! 5. **The stream's priority** rides along (`RequestHead::h2_priority`)
//!    for gunicorn's `gunicorn.http2.priority_*` environ keys.

use super::stream::H2Request;
use crate::http::head::{BodyKind, RequestHead};

/// The head of `request`.
pub fn request_head(request: &H2Request) -> RequestHead {
    let mut head = RequestHead::default();
    head.begin_h2(request.priority.weight, request.priority.depends_on);
    let field_bytes: usize = request.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    let authority = request.authority.as_ref().map_or(0, |a| a.len() + 4);
    head.reserve(
        request.method.len() + request.path.len() + authority + field_bytes,
        request.headers.len() + 1,
    );
    let method = head.append(&[&request.method]);
    let (path, query) = match memchr::memchr(b'?', &request.path) {
        Some(q) => (&request.path[..q], &request.path[q..]),
        None => (&request.path[..], &b""[..]),
    };
    let path = head.append(&[path]);
    let query = if query.is_empty() {
        path.end..path.end
    } else {
        let with_mark = head.append(&[query]);
        with_mark.start + 1..with_mark.end
    };
    head.set_request_line(method, path, query);
    if let Some(authority) = &request.authority {
        let name = head.append(&[b"host"]);
        let value = head.append(&[authority]);
        head.push_field(name, value);
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (name, value) in &request.headers {
        if name == b"cookie" {
            cookies.push(value);
            continue;
        }
        if name == b"host" && request.authority.is_some() {
            continue;
        }
        let name = head.append(&[name]);
        let value = head.append(&[value]);
        head.push_field(name, value);
    }
    if !cookies.is_empty() {
        let name = head.append(&[b"cookie"]);
        let start = head.append(&[]).start;
        for (i, cookie) in cookies.iter().enumerate() {
            let sep: &[u8] = if i == 0 { b"" } else { b"; " };
            head.append(&[sep, cookie]);
        }
        let value = start..head.append(&[]).end;
        head.push_field(name, value);
    }
    head.set_body(match (request.content_length, request.end_stream) {
        (_, true) => BodyKind::None,
        (Some(n), false) => BodyKind::Length(n),
        (None, false) => BodyKind::Chunked,
    });
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, headers: &[(&str, &str)]) -> H2Request {
        H2Request {
            method: b"POST".to_vec(),
            scheme: b"https".to_vec(),
            authority: Some(b"example.com:8443".to_vec()),
            path: path.as_bytes().to_vec(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            end_stream: false,
            content_length: None,
            priority: Default::default(),
        }
    }

    fn fields(head: &RequestHead) -> Vec<(String, String)> {
        head.headers()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_request_line_and_version() {
        let head = request_head(&request("/a%20b/c?x=1&y=2", &[]));
        assert_eq!(head.method(), "POST");
        assert_eq!(head.target(), b"/a%20b/c?x=1&y=2");
        assert_eq!(head.path(), b"/a%20b/c");
        assert_eq!(head.query(), b"x=1&y=2");
        assert_eq!(head.fragment(), b"");
        assert_eq!(head.version(), (2, 0));
        assert!(!head.expect_continue());
        let bare = request_head(&request("/", &[]));
        assert_eq!((bare.path(), bare.query()), (&b"/"[..], &b""[..]));
    }

    #[test]
    fn authority_is_the_host_and_a_host_field_beside_it_is_dropped() {
        let head = request_head(&request("/", &[("host", "other"), ("x-a", "1")]));
        assert_eq!(
            fields(&head),
            [
                ("host".into(), "example.com:8443".into()),
                ("x-a".into(), "1".into())
            ]
        );
        let mut no_authority = request("/", &[("host", "h")]);
        no_authority.authority = None;
        assert_eq!(
            fields(&request_head(&no_authority)),
            [("host".into(), "h".into())]
        );
    }

    #[test]
    fn cookies_are_joined_into_one_field() {
        let head = request_head(&request(
            "/",
            &[("cookie", "a=1"), ("x", "y"), ("cookie", "b=2")],
        ));
        assert_eq!(
            fields(&head)[1..],
            [
                ("x".into(), "y".into()),
                ("cookie".into(), "a=1; b=2".into())
            ]
        );
    }

    #[test]
    fn body_framing() {
        let mut r = request("/", &[]);
        assert_eq!(request_head(&r).body(), BodyKind::Chunked);
        r.content_length = Some(5);
        assert_eq!(request_head(&r).body(), BodyKind::Length(5));
        r.end_stream = true;
        r.content_length = None;
        assert_eq!(request_head(&r).body(), BodyKind::None);
    }
}
