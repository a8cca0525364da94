//! A head that arrives whole is parsed in one httparse pass; one that
//! arrives in pieces is scanned line by line first. Both must accept and
//! refuse exactly the same heads: this pins them together at the edges of
//! every rule the one-pass path re-checks (limits at and one past their
//! value, CRLF at each line end, empty lines before the request line).

use rcorn_core::http::{DecodeErrorKind, DecoderConfig, Event, RequestDecoder};

#[derive(Debug, PartialEq)]
enum Step {
    Head {
        method: String,
        target: Vec<u8>,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        keep_alive: bool,
    },
    Body(Vec<u8>),
    End,
    Error(DecodeErrorKind),
}

/// Every event, feeding `raw` in pieces of `piece` bytes.
fn decode(cfg: &DecoderConfig, raw: &[u8], piece: usize) -> Vec<Step> {
    let mut decoder = RequestDecoder::new(cfg.clone());
    let mut steps = Vec::new();
    let mut fed = 0;
    loop {
        match decoder.next_event() {
            Ok(Event::Head(h)) => steps.push(Step::Head {
                method: h.method().to_owned(),
                target: h.target().to_vec(),
                headers: h.headers().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
                keep_alive: h.keep_alive(),
            }),
            // Body bytes come in pieces as they arrive: record them joined.
            Ok(Event::Body(b)) => match steps.last_mut() {
                Some(Step::Body(body)) => body.extend_from_slice(b),
                _ => steps.push(Step::Body(b.to_vec())),
            },
            Ok(Event::End) => steps.push(Step::End),
            Ok(Event::NeedData) if fed < raw.len() => {
                let n = piece.min(raw.len() - fed);
                decoder.feed(&raw[fed..fed + n]);
                fed += n;
            }
            Ok(Event::NeedData) => decoder.feed_eof(),
            Ok(Event::Closed) => return steps,
            Err(e) => {
                steps.push(Step::Error(e.kind()));
                return steps;
            }
        }
    }
}

/// Decodes `raw` whole, then one byte at a time and in pieces of 7, and
/// checks all three agree; returns the whole decode.
fn same_either_way(cfg: &DecoderConfig, raw: &[u8]) -> Vec<Step> {
    let whole = decode(cfg, raw, usize::MAX);
    for piece in [1, 7] {
        assert_eq!(
            decode(cfg, raw, piece),
            whole,
            "pieces of {piece} differ from whole for {:?}",
            String::from_utf8_lossy(raw)
        );
    }
    whole
}

fn small_limits() -> DecoderConfig {
    DecoderConfig {
        limit_request_line: 32,
        limit_request_fields: 3,
        limit_request_field_size: 24,
        ..DecoderConfig::default()
    }
}

fn last_error(steps: &[Step]) -> Option<DecodeErrorKind> {
    match steps.last() {
        Some(Step::Error(kind)) => Some(*kind),
        _ => None,
    }
}

#[test]
fn limits_hold_at_and_one_past_their_value() {
    use DecodeErrorKind as K;
    let cfg = small_limits();
    // Request line content (without CRLF) of 32 bytes, then 33.
    let line = |len: usize| {
        let target = "/".to_owned() + &"a".repeat(len - "GET  HTTP/1.1".len() - 1);
        format!("GET {target} HTTP/1.1\r\n\r\n")
    };
    assert_eq!(line(32).find('\r'), Some(32));
    assert_eq!(
        last_error(&same_either_way(&cfg, line(32).as_bytes())),
        None
    );
    assert_eq!(
        last_error(&same_either_way(&cfg, line(33).as_bytes())),
        Some(K::LimitRequestLine)
    );
    // A field line with its CRLF of 24 bytes, then 25.
    let field = |len: usize| format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "v".repeat(len - 5));
    assert_eq!(
        last_error(&same_either_way(&cfg, field(24).as_bytes())),
        None
    );
    assert_eq!(
        last_error(&same_either_way(&cfg, field(25).as_bytes())),
        Some(K::LimitRequestHeaders)
    );
    // Three fields, then four.
    let fields = |n: usize| format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(n));
    assert_eq!(
        last_error(&same_either_way(&cfg, fields(3).as_bytes())),
        None
    );
    assert_eq!(
        last_error(&same_either_way(&cfg, fields(4).as_bytes())),
        Some(K::LimitRequestHeaders)
    );
    // The last field is measured up to the final empty line.
    let last = format!("GET / HTTP/1.1\r\nA: b\r\nX: {}\r\n\r\n", "v".repeat(20));
    assert_eq!(
        last_error(&same_either_way(&cfg, last.as_bytes())),
        Some(K::LimitRequestHeaders)
    );
}

#[test]
fn line_endings_and_leading_lines_decode_alike() {
    let heads: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        b"GET / HTTP/1.1\r\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nX: a\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\n\n",
        b"GET / HTTP/1.1\r\n\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
        b"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nX:\r\nY: \t\r\nZ: v \t \r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
    ];
    let lenient = DecoderConfig {
        permit_obsolete_folding: true,
        strip_header_spaces: true,
        ..DecoderConfig::default()
    };
    let unlimited = DecoderConfig::default().with_limits(0, 0, 0);
    for cfg in [DecoderConfig::default(), small_limits(), lenient, unlimited] {
        for raw in heads {
            same_either_way(&cfg, raw);
        }
    }
    // The rules still bite when the head arrives whole.
    let strict = DecoderConfig::default();
    for raw in &heads[1..=7] {
        assert!(last_error(&decode(&strict, raw, usize::MAX)).is_some());
    }
    for raw in &heads[9..=16] {
        assert!(last_error(&decode(&strict, raw, usize::MAX)).is_some());
    }
}
