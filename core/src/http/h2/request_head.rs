//! An HTTP/2 request as the [`RequestHead`] every worker already reads
//! (scope, environ, access log, forwarded-header policy), so nothing
//! downstream needs a second request type.
//!
//! The rules it keeps:
//!
//! 1. `version` is (2, 0): an ASGI scope says `"2"`, a log line `HTTP/2.0`.
//! 2. `:authority` acts as Host: the fields start with `host`, whose value
//!    is `:authority` when the client sent one, else its own `host` field;
//!    any other `host` field is dropped (what hypercorn's scope shows).
//! 3. `:path` is the target: the path before `?`, the query after it.
//! 4. The body's framing is its declared length, `None` when HEADERS
//!    ended the stream, and otherwise unknown (`Chunked`: read to its end).

use crate::http::{BodyKind, RequestHead};

use super::H2Request;

impl H2Request {
    /// The request as a head (rules above).
    pub fn to_head(&self) -> RequestHead {
        let mut head = RequestHead::default();
        head.set_http2();
        let method = head.append(&[&self.method]);
        let target = head.append(&[&self.path]);
        let (path, query) = match self.path.iter().position(|&b| b == b'?') {
            Some(q) => (
                target.start..target.start + q,
                target.start + q + 1..target.end,
            ),
            None => (target.clone(), target.end..target.end),
        };
        head.set_request_line(method, path, query);
        let host = self.authority.as_deref().or_else(|| self.header(b"host"));
        let name = head.append(&[b"host"]);
        let value = head.append(&[host.unwrap_or_default()]);
        head.push_field(name, value);
        for (name, value) in self.headers.iter().filter(|(n, _)| n != b"host") {
            let name = head.append(&[name]);
            let value = head.append(&[value]);
            head.push_field(name, value);
        }
        head.set_body(match (self.end_stream, self.content_length) {
            (true, _) => BodyKind::None,
            (false, Some(n)) => BodyKind::Length(n),
            (false, None) => BodyKind::Chunked,
        });
        head
    }

    /// The first regular field named `name` (lower case).
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &[u8], authority: Option<&[u8]>, headers: &[(&[u8], &[u8])]) -> H2Request {
        H2Request {
            method: b"GET".to_vec(),
            scheme: b"https".to_vec(),
            authority: authority.map(<[u8]>::to_vec),
            path: path.to_vec(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
            end_stream: true,
            content_length: None,
        }
    }

    #[test]
    fn authority_is_the_first_field_host() {
        let req = request(
            b"/a/b?x=1&y",
            Some(b"example.com:8443"),
            &[(b"accept", b"*/*"), (b"host", b"ignored")],
        );
        let head = req.to_head();
        assert_eq!(head.version(), (2, 0));
        assert_eq!(head.method(), "GET");
        assert_eq!(head.target(), b"/a/b?x=1&y");
        assert_eq!(head.path(), b"/a/b");
        assert_eq!(head.query(), b"x=1&y");
        let fields: Vec<_> = head.headers().collect();
        assert_eq!(
            fields,
            vec![
                (&b"host"[..], &b"example.com:8443"[..]),
                (b"accept", b"*/*")
            ]
        );
        assert_eq!(head.body(), BodyKind::None);
    }

    #[test]
    fn without_authority_the_host_field_stands() {
        let mut req = request(b"/", None, &[(b"host", b"h.example")]);
        req.end_stream = false;
        req.content_length = Some(5);
        let head = req.to_head();
        let fields: Vec<_> = head.headers().collect();
        assert_eq!(fields, vec![(&b"host"[..], &b"h.example"[..])]);
        assert_eq!(head.query(), b"");
        assert_eq!(head.body(), BodyKind::Length(5));
    }
}
