//! The scrape endpoint's HTTP, sans-IO: just enough HTTP/1.1 for
//! Prometheus (and curl) to fetch one page per connection.
//!
//! Rules: one request per connection, answered with `Connection: close`;
//! `GET` or `HEAD` of `/metrics` gets the page, any other path 404, any
//! other method 405; a head that is malformed, or not complete within
//! [`MAX_HEAD`] bytes, gets 400. A request body is never read.

use super::render::CONTENT_TYPE;

/// The most bytes a scrape's request head may take.
pub const MAX_HEAD: usize = 8 * 1024;

/// What a client asked, once its head is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrapeRequest {
    /// The head is not complete yet: read more.
    Incomplete,
    /// `GET /metrics`, or `HEAD` (`head_only`).
    Metrics {
        head_only: bool,
    },
    NotFound,
    MethodNotAllowed,
    Bad,
}

/// Reads the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> ScrapeRequest {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return ScrapeRequest::Incomplete,
        Ok(httparse::Status::Partial) | Err(_) => return ScrapeRequest::Bad,
    }
    let head_only = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return ScrapeRequest::MethodNotAllowed,
    };
    // The query (a Prometheus job may add one) does not change the page.
    let path = req.path.unwrap_or("").split('?').next().unwrap_or("");
    if path == "/metrics" {
        ScrapeRequest::Metrics { head_only }
    } else {
        ScrapeRequest::NotFound
    }
}

/// The whole response to `request` (not `Incomplete`); `page` makes the
/// page, called only when it is asked for.
pub fn respond(request: ScrapeRequest, page: impl FnOnce() -> String) -> Vec<u8> {
    let (status, body, head_only) = match request {
        ScrapeRequest::Metrics { head_only } => ("200 OK", page(), head_only),
        ScrapeRequest::NotFound => ("404 Not Found", "Not found: try /metrics\n".into(), false),
        ScrapeRequest::MethodNotAllowed => (
            "405 Method Not Allowed",
            "Only GET and HEAD\n".into(),
            false,
        ),
        ScrapeRequest::Bad | ScrapeRequest::Incomplete => {
            ("400 Bad Request", "Bad request\n".into(), false)
        }
    };
    let content_type = if matches!(request, ScrapeRequest::Metrics { .. }) {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let allow = if request == ScrapeRequest::MethodNotAllowed {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_told_apart() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\n"),
            ScrapeRequest::Incomplete
        );
        assert_eq!(
            parse(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            ScrapeRequest::Metrics { head_only: false }
        );
        assert_eq!(
            parse(b"HEAD /metrics HTTP/1.0\r\n\r\n"),
            ScrapeRequest::Metrics { head_only: true }
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), ScrapeRequest::NotFound);
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            ScrapeRequest::MethodNotAllowed
        );
        assert_eq!(parse(b"\x00\x01 nonsense\r\n\r\n"), ScrapeRequest::Bad);
        let endless = vec![b'a'; MAX_HEAD];
        assert_eq!(parse(&endless), ScrapeRequest::Bad);
    }

    #[test]
    fn responses_are_framed_and_close() {
        let ok = respond(ScrapeRequest::Metrics { head_only: false }, || {
            "x 1\n".into()
        });
        let ok = String::from_utf8(ok).expect("text");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(ok.contains("Content-Length: 4\r\n"));
        assert!(ok.contains("Connection: close\r\n"));
        assert!(ok.ends_with("\r\n\r\nx 1\n"));
        let head = respond(ScrapeRequest::Metrics { head_only: true }, || {
            "x 1\n".into()
        });
        assert!(head.ends_with(b"Content-Length: 4\r\nConnection: close\r\n\r\n"));
        let not_found = respond(ScrapeRequest::NotFound, || unreachable!("no page"));
        assert!(not_found.starts_with(b"HTTP/1.1 404 "));
        let wrong = respond(ScrapeRequest::MethodNotAllowed, String::new);
        assert!(String::from_utf8_lossy(&wrong).contains("Allow: GET, HEAD\r\n"));
    }
}
