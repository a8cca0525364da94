//! Every way the codec refuses its input, one case per path: the decoder's
//! error kind and status for each malformed request (decoded whole and one
//! byte at a time, with the stage it fails at), and the encoder's errors.

use rcorn_core::http::{
    DecodeErrorKind as K, DecoderConfig, EncodeError, Event, RequestDecoder, RequestFacts,
    ResponseEncoder,
};

/// When the error shows: before any head (the application is never
/// called) or after one.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Head,
    Body,
}

struct Case {
    why: &'static str,
    cfg: fn() -> DecoderConfig,
    input: Vec<u8>,
    kind: K,
    status: u16,
    stage: Stage,
}

fn defaults() -> DecoderConfig {
    DecoderConfig::default()
}

fn small_limits() -> DecoderConfig {
    DecoderConfig {
        limit_request_line: 32,
        limit_request_fields: 3,
        limit_request_field_size: 24,
        ..DecoderConfig::default()
    }
}

fn few_fields() -> DecoderConfig {
    DecoderConfig {
        limit_request_fields: 3,
        ..DecoderConfig::default()
    }
}

fn folding_small_fields() -> DecoderConfig {
    DecoderConfig {
        permit_obsolete_folding: true,
        limit_request_field_size: 24,
        ..DecoderConfig::default()
    }
}

fn refuse_underscores() -> DecoderConfig {
    DecoderConfig {
        refuse_underscore_headers: true,
        ..DecoderConfig::default()
    }
}

/// A chunked request with `body` as its (malformed) body.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend_from_slice(body);
    raw
}

/// A GET with one extra field line.
fn with_field(line: &[u8]) -> Vec<u8> {
    let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    raw.extend_from_slice(line);
    raw.extend_from_slice(b"\r\n\r\n");
    raw
}

fn case(why: &'static str, input: impl Into<Vec<u8>>, kind: K, status: u16, stage: Stage) -> Case {
    Case {
        why,
        cfg: defaults,
        input: input.into(),
        kind,
        status,
        stage,
    }
}

fn with_cfg(cfg: fn() -> DecoderConfig, c: Case) -> Case {
    Case { cfg, ..c }
}

fn cases() -> Vec<Case> {
    use Stage::{Body, Head};
    let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
    let many_fields: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    vec![
        // The request line.
        case("request line over limit_request_line", long_target.clone(), K::LimitRequestLine, 414, Head),
        case("request line over the limit, no end yet", &long_target.as_bytes()[..4200], K::LimitRequestLine, 414, Head),
        case("bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("empty line before the request line", "\r\nGET / HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("two spaces in the request line", "GET  / HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("control byte in the target", "GET /a\x01b HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("raw UTF-8 in the target", "GET /caf\u{e9} HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("bare CR in the request line", "GET / HTTP/1.1\rX\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("target neither origin- nor absolute-form", "GET foo HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("asterisk-form outside OPTIONS", "GET * HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("CONNECT with a path", "CONNECT /a HTTP/1.1\r\n\r\n", K::InvalidRequestLine, 400, Head),
        case("method with a non-token byte", "G@T / HTTP/1.1\r\n\r\n", K::InvalidRequestMethod, 400, Head),
        case("method in lower case", "get / HTTP/1.1\r\n\r\n", K::InvalidRequestMethod, 400, Head),
        case("method shorter than 3", "GE / HTTP/1.1\r\n\r\n", K::InvalidRequestMethod, 400, Head),
        case("method longer than 20", "ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n\r\n", K::InvalidRequestMethod, 400, Head),
        case("method with '#'", "GE#T / HTTP/1.1\r\n\r\n", K::InvalidRequestMethod, 400, Head),
        case("HTTP/2.0 on the request line", "GET / HTTP/2.0\r\n\r\n", K::InvalidHTTPVersion, 400, Head),
        case("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", K::InvalidHTTPVersion, 400, Head),
        case("lower-case protocol name", "GET / http/1.1\r\n\r\n", K::InvalidHTTPVersion, 400, Head),
        // Field lines.
        case("bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", K::InvalidHeader, 400, Head),
        case("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", K::InvalidHeader, 400, Head),
        case("bare CR in a value", with_field(b"X: a\rb"), K::InvalidHeader, 400, Head),
        case("NUL in a value", with_field(b"X: a\x00b"), K::InvalidHeader, 400, Head),
        case("DEL in a value", with_field(b"X: a\x7fb"), K::InvalidHeader, 400, Head),
        case("whitespace before the colon", with_field(b"X-Name : v"), K::InvalidHeaderName, 400, Head),
        case("space inside a name", with_field(b"X Name: v"), K::InvalidHeaderName, 400, Head),
        case("no colon", with_field(b"X-Name"), K::InvalidHeaderName, 400, Head),
        case("empty name", with_field(b": v"), K::InvalidHeaderName, 400, Head),
        case("NUL in a name", with_field(b"X\x00: v"), K::InvalidHeaderName, 400, Head),
        case("obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", K::ObsoleteFolding, 400, Head),
        case("obs-fold with a tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", K::ObsoleteFolding, 400, Head),
        case("obs-fold on the first field line", "GET / HTTP/1.1\r\n X: a\r\n\r\n", K::ObsoleteFolding, 400, Head),
        case("more than limit_request_fields fields", format!("GET / HTTP/1.1\r\n{many_fields}\r\n"), K::LimitRequestHeaders, 431, Head),
        case("field over limit_request_field_size", with_field(format!("X: {}", "v".repeat(8200)).as_bytes()), K::LimitRequestHeaders, 431, Head),
        with_cfg(small_limits, case("request line over a small limit", "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", K::LimitRequestLine, 414, Head)),
        with_cfg(small_limits, case("fourth field over a limit of 3", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", K::LimitRequestHeaders, 431, Head)),
        with_cfg(small_limits, case("field over a small size limit, no end yet", "GET / HTTP/1.1\r\nX: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", K::LimitRequestHeaders, 431, Head)),
        with_cfg(folding_small_fields, case("folded lines add up past the size limit", "GET / HTTP/1.1\r\nX: aaaaaaaa\r\n bbbbbbbb\r\n cccccccc\r\n\r\n", K::LimitRequestHeaders, 431, Head)),
        with_cfg(refuse_underscores, case("underscore in a name (header_map=refuse)", with_field(b"X_Name: v"), K::InvalidHeaderName, 400, Head)),
        // Framing fields.
        case("Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", K::InvalidHeader, 400, Head),
        case("Transfer-Encoding then Content-Length", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", K::InvalidHeader, 400, Head),
        case("two equal Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", K::InvalidHeader, 400, Head),
        case("two different Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", K::InvalidHeader, 400, Head),
        case("Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", K::InvalidHeader, 400, Head),
        case("signed Content-Length", "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", K::InvalidHeader, 400, Head),
        case("negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", K::InvalidHeader, 400, Head),
        case("hexadecimal Content-Length", "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc", K::InvalidHeader, 400, Head),
        case("empty Content-Length", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", K::InvalidHeader, 400, Head),
        case("Content-Length past u64", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", K::InvalidHeader, 400, Head),
        case("Content-Length just past u64, 19 digits fit", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", K::InvalidHeader, 400, Head),
        case("chunked not the final coding", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", K::InvalidHeader, 400, Head),
        case("chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", K::InvalidHeader, 400, Head),
        case("a coding without chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", K::InvalidHeader, 400, Head),
        case("an unknown coding", "POST / HTTP/1.1\r\nTransfer-Encoding: br, chunked\r\n\r\n", K::UnsupportedTransferCoding, 501, Head),
        case("Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", K::InvalidHeader, 400, Head),
        case("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", K::InvalidHeader, 400, Head),
        case("two Content-Types", "POST / HTTP/1.1\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n", K::InvalidHeader, 400, Head),
        case("an expectation other than 100-continue", with_field(b"Expect: 200-ok"), K::ExpectationFailed, 417, Head),
        case("connection closed inside the head", "GET / HTTP/1.1\r\nHost: a\r\n", K::IncompleteMessage, 400, Head),
        // Bodies.
        case("connection closed inside a Content-Length body", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", K::IncompleteMessage, 400, Body),
        case("chunk size not hexadecimal", chunked(b"xyz\r\n"), K::InvalidChunkSize, 400, Body),
        case("negative chunk size", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("0x prefix on a chunk size", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("chunk size past u64", chunked(b"10000000000000000\r\n"), K::InvalidChunkSize, 400, Body),
        case("space after the chunk size", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("space before the chunk size", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("empty chunk-size line", chunked(b"\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("bare LF after the chunk size", chunked(b"5\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("bare CR in a chunk-size line", chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkExtension, 400, Body),
        case("chunk-size line over its limit", chunked(format!("5;a={}\r\n", "b".repeat(5000)).as_bytes()), K::InvalidChunkSize, 400, Body),
        case("chunk extension without a name", chunked(b"5;\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkExtension, 400, Body),
        case("chunk extension without a value", chunked(b"5;a=\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkExtension, 400, Body),
        case("unterminated quoted chunk extension", chunked(b"5;a=\"b\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkExtension, 400, Body),
        case("control byte in a quoted chunk extension", chunked(b"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkExtension, 400, Body),
        case("junk after a chunk extension", chunked(b"5;a=b c\r\nhello\r\n0\r\n\r\n"), K::InvalidChunkSize, 400, Body),
        case("chunk data longer than its size", chunked(b"3\r\nhello\r\n0\r\n\r\n"), K::ChunkMissingTerminator, 400, Body),
        case("chunk data with a bare LF after it", chunked(b"5\r\nhello\n0\r\n\r\n"), K::ChunkMissingTerminator, 400, Body),
        case("connection closed inside chunk data", chunked(b"5\r\nhel"), K::ChunkMissingTerminator, 400, Body),
        case("connection closed before the last chunk", chunked(b"5\r\nhello\r\n"), K::InvalidChunkSize, 400, Body),
        case("connection closed after the last chunk, before its CRLF", chunked(b"5\r\nhello\r\n0\r\n"), K::ChunkMissingTerminator, 400, Body),
        case("bare LF ending the trailers", chunked(b"0\r\n\n"), K::ChunkMissingTerminator, 400, Body),
        case("trailer without a colon", chunked(b"0\r\nX-T\r\n\r\n"), K::InvalidHeaderName, 400, Body),
        case("folded trailer", chunked(b"0\r\nX-T: a\r\n b\r\n\r\n"), K::InvalidHeaderName, 400, Body),
        case("Content-Length as a trailer", chunked(b"0\r\nContent-Length: 5\r\n\r\n"), K::InvalidHeaderName, 400, Body),
        case("Transfer-Encoding as a trailer", chunked(b"0\r\nTransfer-Encoding: chunked\r\n\r\n"), K::InvalidHeaderName, 400, Body),
        case("Host as a trailer", chunked(b"0\r\nHost: b\r\n\r\n"), K::InvalidHeaderName, 400, Body),
        case("control byte in a trailer value", chunked(b"0\r\nX-T: a\x01b\r\n\r\n"), K::InvalidHeader, 400, Body),
        case("trailer line over limit_request_field_size", chunked(format!("0\r\nX-T: {}\r\n\r\n", "v".repeat(8200)).as_bytes()), K::ChunkMissingTerminator, 400, Body),
        with_cfg(few_fields, case("more trailers than limit_request_fields", chunked(b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), K::LimitRequestHeaders, 431, Body)),
    ]
}

/// Decodes `raw` fed `piece` bytes at a time, then EOF. Returns the error
/// and how many heads came before it.
fn first_error(cfg: &DecoderConfig, raw: &[u8], piece: usize) -> Option<(K, u16, usize)> {
    let mut decoder = RequestDecoder::new(cfg.clone());
    let mut fed = 0;
    let mut heads = 0;
    loop {
        match decoder.next_event() {
            Ok(Event::Head(_)) => heads += 1,
            Ok(Event::Body(_) | Event::End) => {}
            Ok(Event::NeedData) if fed < raw.len() => {
                let n = piece.min(raw.len() - fed);
                decoder.feed(&raw[fed..fed + n]);
                fed += n;
            }
            Ok(Event::NeedData) => decoder.feed_eof(),
            Ok(Event::Closed) => return None,
            Err(e) => {
                let line = e.to_string();
                assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
                // A failed decoder stays failed: the connection is never
                // reused.
                assert_eq!(decoder.next_event().err(), Some(e.clone()));
                assert!(!decoder.is_idle());
                return Some((e.kind(), e.status(), heads));
            }
        }
    }
}

#[test]
fn every_decoder_error_path() {
    let mut failures = Vec::new();
    for c in cases() {
        let cfg = (c.cfg)();
        let want = Some((c.kind, c.status, usize::from(c.stage == Stage::Body)));
        for piece in [usize::MAX, 1] {
            let got = first_error(&cfg, &c.input, piece);
            if got != want {
                failures.push(format!(
                    "{} (pieces of {piece}): want {want:?}, got {got:?}",
                    c.why
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_request_after_an_error_is_never_decoded() {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.feed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
    let first = decoder.next_event().expect_err("duplicate Host refused");
    decoder.feed(b"GET /more HTTP/1.1\r\n\r\n");
    decoder.feed_eof();
    for _ in 0..3 {
        assert_eq!(decoder.next_event().err(), Some(first.clone()));
    }
    assert!(decoder.head().is_none());
}

/// `header_map = refuse` keeps a name listed in `forwarder_headers` when
/// the connection's peer is trusted with them, and refuses every other
/// name with `_`, whole or byte by byte.
#[test]
fn refused_underscores_spare_forwarder_headers_from_a_trusted_peer() {
    let outcome = |list: &[&str], trusted: bool, field: &[u8], piece: usize| {
        let cfg = DecoderConfig {
            refuse_underscore_headers: true,
            forwarder_headers: list.iter().map(|&n| Box::from(n)).collect(),
            ..DecoderConfig::default()
        };
        let raw = with_field(field);
        let mut decoder = RequestDecoder::new(cfg);
        if trusted {
            decoder.trust_forwarder_headers();
        }
        // Byte by byte, the head is scanned incrementally, not whole.
        let mut chunks = raw.chunks(piece);
        loop {
            match decoder.next_event() {
                Ok(Event::NeedData) => decoder.feed(chunks.next().expect("a complete head")),
                Ok(Event::Head(head)) => {
                    break Ok(head
                        .headers()
                        .find(|(n, _)| n.contains(&b'_'))
                        .map(|(n, v)| (n.to_vec(), v.to_vec())))
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) => break Err((e.kind(), e.status())),
            }
        }
    };
    let refused = Err((K::InvalidHeaderName, 400));
    let kept = |name: &[u8]| Ok(Some((name.to_vec(), b"/app".to_vec())));
    for piece in [usize::MAX, 1] {
        let listed = &["SCRIPT_NAME"][..];
        assert_eq!(
            outcome(listed, true, b"SCRIPT_NAME: /app", piece),
            kept(b"SCRIPT_NAME")
        );
        assert_eq!(
            outcome(listed, true, b"script_name: /app", piece),
            kept(b"script_name")
        );
        assert_eq!(outcome(listed, false, b"SCRIPT_NAME: /app", piece), refused);
        assert_eq!(outcome(listed, true, b"X_Other: /app", piece), refused);
        assert_eq!(
            outcome(&["*"], true, b"X_Other: /app", piece),
            kept(b"X_Other")
        );
        assert_eq!(outcome(&["*"], false, b"X_Other: /app", piece), refused);
        assert_eq!(outcome(&[], true, b"SCRIPT_NAME: /app", piece), refused);
    }
}

const FACTS: RequestFacts = RequestFacts {
    head_request: false,
    http_minor: 1,
    keep_alive: true,
};

#[test]
fn encoder_refuses_bad_status_lines() {
    let mut out = Vec::new();
    let mut enc = ResponseEncoder::new(b"rcorn");
    for status in [0, 99, 1000, u16::MAX] {
        assert_eq!(
            enc.start(FACTS, status, b"X", &mut out),
            Err(EncodeError::InvalidStatus(status))
        );
    }
    for reason in [&b"O\rK"[..], b"O\nK", b"O\x00K", b"O\x7fK", b"O\x1bK"] {
        assert_eq!(
            enc.start(FACTS, 200, reason, &mut out),
            Err(EncodeError::InvalidReason)
        );
    }
    assert!(out.is_empty(), "a refused status line wrote bytes");
    assert!(enc.start(FACTS, 999, b"", &mut out).is_ok());
}

#[test]
fn encoder_refuses_bad_fields() {
    let mut out = Vec::new();
    let mut enc = ResponseEncoder::new(b"rcorn");
    enc.start(FACTS, 200, b"OK", &mut out)
        .expect("valid status");
    let status_line = out.len();
    for name in [
        &b""[..],
        b"X Y",
        b"X:Y",
        b"X\r\nY",
        b"X\x00",
        b"caf\xc3\xa9",
    ] {
        assert!(
            matches!(
                enc.header(name, b"v", &mut out),
                Err(EncodeError::InvalidHeaderName(_))
            ),
            "{name:?}"
        );
    }
    for value in [
        &b"a\r\nSet-Cookie: x"[..],
        b"a\rb",
        b"a\nb",
        b"a\x00b",
        b"a\x7fb",
    ] {
        assert!(
            matches!(
                enc.header(b"X-Test", value, &mut out),
                Err(EncodeError::InvalidHeaderValue(_))
            ),
            "{value:?}"
        );
    }
    for length in [
        &b"abc"[..],
        b"-1",
        b"+1",
        b"1 2",
        b"",
        b"99999999999999999999",
    ] {
        assert!(
            matches!(
                enc.header(b"Content-Length", length, &mut out),
                Err(EncodeError::InvalidContentLength(_))
            ),
            "{length:?}"
        );
    }
    assert_eq!(out.len(), status_line, "a refused field wrote bytes");
    enc.header(b"Content-Length", b"3", &mut out)
        .expect("valid length");
    assert!(matches!(
        enc.header(b"Content-Length", b"4", &mut out),
        Err(EncodeError::InvalidContentLength(_))
    ));
}

#[test]
fn encoder_refuses_calls_out_of_order() {
    let mut out = Vec::new();
    let mut enc = ResponseEncoder::new(b"rcorn");
    assert!(matches!(
        enc.header(b"X", b"v", &mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    assert!(matches!(
        enc.finish_head(b"date", None, &mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    assert!(matches!(
        enc.body(b"x", &mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    assert!(matches!(
        enc.finish(&mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    enc.start(FACTS, 200, b"OK", &mut out)
        .expect("valid status");
    enc.finish_head(b"date", Some(0), &mut out)
        .expect("head ends");
    assert!(matches!(
        enc.header(b"X", b"v", &mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    assert!(matches!(
        enc.finish_head(b"date", None, &mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
    assert_eq!(enc.finish(&mut out), Ok(true));
    assert!(matches!(
        enc.finish(&mut out),
        Err(EncodeError::OutOfOrder(_))
    ));
}

#[test]
fn encoder_reports_a_short_body_and_closes() {
    let mut out = Vec::new();
    let mut enc = ResponseEncoder::new(b"rcorn");
    enc.start(FACTS, 200, b"OK", &mut out)
        .expect("valid status");
    enc.header(b"Content-Length", b"10", &mut out)
        .expect("valid length");
    enc.finish_head(b"date", None, &mut out).expect("head ends");
    enc.body(b"short", &mut out).expect("within the length");
    assert_eq!(
        enc.finish(&mut out),
        Err(EncodeError::ShortBody {
            declared: 10,
            written: 5
        })
    );
    assert!(!enc.keep_alive());
    for e in [
        EncodeError::InvalidStatus(1),
        EncodeError::InvalidReason,
        EncodeError::ShortBody {
            declared: 2,
            written: 1,
        },
    ] {
        assert!(!e.to_string().contains('\n'));
    }
}
