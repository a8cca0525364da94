//! `--protocol uwsgi`: packets as nginx's `uwsgi_pass` writes them become
//! the request heads and bodies an HTTP/1 request would, however the bytes
//! are split; responses are HTTP/1.1, never chunked, and end the
//! connection; malformed packets and refused peers are answered 500.

use proptest::prelude::*;
use rcorn_core::http::forwarded::SchemePolicy;
use rcorn_core::http::{
    BodyKind, ConnError, ConnEvent, DecodeErrorKind as K, DecoderConfig, Next, ServerConnection,
    Timeouts,
};
use rcorn_core::uwsgi::{parse_packet, MAX_VARS};

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_properties;

use fuzz_properties::uwsgi::packet;

fn connection(peer_allowed: bool) -> ServerConnection {
    let mut c = ServerConnection::new(DecoderConfig::default(), b"rcorn", Timeouts::default());
    c.speak_uwsgi(peer_allowed);
    c
}

const NGINX: &[(&[u8], &[u8])] = &[
    (b"QUERY_STRING", b"a=1&b=%20"),
    (b"REQUEST_METHOD", b"POST"),
    (b"CONTENT_TYPE", b"text/plain"),
    (b"CONTENT_LENGTH", b"5"),
    (b"REQUEST_URI", b"/up%2541?a=1"),
    (b"PATH_INFO", b"/up%41 x"),
    (b"DOCUMENT_ROOT", b"/usr/share/nginx/html"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"),
    (b"REQUEST_SCHEME", b"http"),
    (b"REMOTE_ADDR", b"127.0.0.1"),
    (b"REMOTE_PORT", b"51234"),
    (b"SERVER_PORT", b"8080"),
    (b"SERVER_NAME", b"localhost"),
    (b"HTTP_HOST", b"example.com"),
    (b"HTTP_X_FORWARDED_PROTO", b"https"),
    (b"HTTP_USER_AGENT", b"curl/8"),
    (b"HTTP_CONTENT_TYPE", b"text/plain"),
    (b"HTTP_CONTENT_LENGTH", b"5"),
];

#[test]
fn an_nginx_packet_becomes_a_request_head_and_body() {
    let mut c = connection(true);
    let mut bytes = packet(NGINX).unwrap();
    bytes.extend_from_slice(b"hello");
    c.feed(&bytes);
    let Ok(ConnEvent::Request(head)) = c.poll_event() else {
        panic!("no request");
    };
    assert_eq!(head.method(), "POST");
    assert_eq!(head.version(), (1, 1));
    // PATH_INFO arrives decoded; its `%` is kept escaped in the raw path.
    assert_eq!(head.path(), b"/up%2541 x");
    assert_eq!(&*rcorn_core::percent::decode(head.path()), b"/up%41 x");
    assert_eq!(head.query(), b"a=1&b=%20");
    assert_eq!(head.target(), b"/up%2541 x?a=1&b=%20");
    assert_eq!(head.body(), BodyKind::Length(5));
    assert!(!head.keep_alive());
    assert!(head.from_uwsgi());
    let fields: Vec<(&[u8], &[u8])> = head.headers().collect();
    assert_eq!(
        fields,
        [
            (&b"Content-Type"[..], &b"text/plain"[..]),
            (b"Content-Length", b"5"),
            (b"HOST", b"example.com"),
            (b"X-FORWARDED-PROTO", b"https"),
            (b"USER-AGENT", b"curl/8"),
        ]
    );
    // The scheme is the packet's (no HTTPS here), never the client's field.
    let policy = SchemePolicy {
        trusted: rcorn_core::http::forwarded::TrustedPeers::parse(&["*"]).unwrap(),
        secure_headers: vec![("X-FORWARDED-PROTO".into(), "https".into())],
    };
    assert_eq!(policy.scheme(None, head), Ok(None));
    assert!(matches!(c.poll_event(), Ok(ConnEvent::Body(b"hello"))));
    assert!(matches!(c.poll_event(), Ok(ConnEvent::BodyEnd)));
}

#[test]
fn https_and_url_scheme_declare_the_scheme() {
    for (vars, scheme) in [
        (&[(&b"HTTPS"[..], &b"on"[..])][..], Some("https")),
        (&[(b"HTTPS", b"TRUE")], Some("https")),
        (
            &[(b"HTTPS", b"off"), (b"wsgi.url_scheme", b"http")],
            Some("http"),
        ),
        (&[(b"wsgi.url_scheme", b"https")], Some("https")),
        (&[(b"HTTPS", b"")], None),
    ] {
        let mut c = connection(true);
        c.feed(&packet(vars).unwrap());
        let Ok(ConnEvent::Request(head)) = c.poll_event() else {
            panic!("no request for {vars:?}");
        };
        assert_eq!(head.declared_scheme(), scheme, "{vars:?}");
        assert_eq!(head.method(), "GET");
        assert_eq!(head.path(), b"/");
    }
}

#[test]
fn content_length_as_gunicorn_reads_it() {
    for (value, body) in [
        (&b""[..], BodyKind::None),
        (b"0", BodyKind::None),
        (b" 12 ", BodyKind::Length(12)),
        (b"+3", BodyKind::Length(3)),
        (b"-3", BodyKind::None),
        (b"1e3", BodyKind::None),
    ] {
        let mut c = connection(true);
        c.feed(&packet(&[(b"CONTENT_LENGTH", value)]).unwrap());
        let Ok(ConnEvent::Request(head)) = c.poll_event() else {
            panic!("no request");
        };
        assert_eq!(head.body(), body, "{value:?}");
    }
}

/// Answers the request in `c` with `body` and no length: what goes out,
/// and what the connection does next.
fn answer_without_length(c: &mut ServerConnection, body: &[u8]) -> (Vec<u8>, Next) {
    let mut out = Vec::new();
    c.start_response(200, b"OK", true, &mut out).unwrap();
    c.header(b"Content-Type", b"text/plain", &mut out).unwrap();
    c.end_head(b"Thu, 01 Jan 2026 00:00:00 GMT", None, &mut out)
        .unwrap();
    c.body(body, &mut out).unwrap();
    let next = c.finish_response(&mut out, || b"");
    (out, next)
}

#[test]
fn a_response_is_never_chunked_and_ends_the_connection() {
    let mut c = connection(true);
    let mut bytes = packet(&[(b"PATH_INFO", b"/stream")]).unwrap();
    // A second packet on the same connection is never read.
    bytes.extend_from_slice(&packet(&[(b"PATH_INFO", b"/second")]).unwrap());
    c.feed(&bytes);
    assert!(matches!(c.poll_event(), Ok(ConnEvent::Request(_))));
    assert!(matches!(c.poll_event(), Ok(ConnEvent::BodyEnd)));
    let (out, next) = answer_without_length(&mut c, b"tick");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("transfer-encoding"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\ntick"), "{text}");
    assert_eq!(next, Next::Close);
    assert!(matches!(c.poll_event(), Ok(ConnEvent::Closed)));
}

fn first_error(c: &mut ServerConnection) -> (K, Vec<u8>) {
    let kind = match c.poll_event() {
        Err(ConnError::Client(e)) => e.kind(),
        other => panic!("not refused: {other:?}"),
    };
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    (kind, out)
}

#[test]
fn a_peer_outside_the_allow_list_is_answered_500_before_it_sends() {
    let mut c = connection(false);
    let (kind, out) = first_error(&mut c);
    assert_eq!(kind, K::ForbiddenUWSGIRequest);
    assert!(out.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    assert!(kind.is_uwsgi());
}

#[test]
fn malformed_packets_are_answered_500() {
    let mut vars = Vec::new();
    let key = b"K".to_vec();
    for _ in 0..=MAX_VARS {
        vars.push((&key[..], &b""[..]));
    }
    let too_many = packet(&vars).unwrap();
    let mut truncated = packet(&[(b"PATH_INFO", b"/x")]).unwrap();
    truncated[1] -= 1; // the block ends inside the value
    let cases: [(&[u8], K, bool); 5] = [
        (b"GET / HTTP/1.1\r\n\r\n", K::UnsupportedModifier, false),
        (b"\x05", K::UnsupportedModifier, false),
        (&too_many, K::InvalidUWSGIHeader, false),
        (&truncated, K::InvalidUWSGIHeader, false),
        (b"\0\x10\0\0abc", K::InvalidUWSGIHeader, true),
    ];
    for (bytes, want, needs_eof) in cases {
        let mut c = connection(true);
        c.feed(bytes);
        if needs_eof {
            assert!(matches!(c.poll_event(), Ok(ConnEvent::NeedData)));
            c.feed_eof();
        }
        let (kind, out) = first_error(&mut c);
        assert_eq!(kind, want, "{bytes:?}");
        assert!(out.starts_with(b"HTTP/1.1 500 "), "{bytes:?}");
    }
    let bad_method = packet(&[(b"REQUEST_METHOD", b"G T")]).unwrap();
    let mut c = connection(true);
    c.feed(&bad_method);
    assert_eq!(first_error(&mut c).0, K::InvalidUWSGIHeader);
}

#[test]
fn the_packet_parser_reports_its_parts() {
    let bytes = packet(&[(b"A", b"bc")]).unwrap();
    let p = parse_packet(&bytes).unwrap().unwrap();
    assert_eq!((p.modifier1, p.modifier2, p.size()), (0, 0, bytes.len()));
    let vars: Vec<_> = p.vars().map(Result::unwrap).collect();
    assert_eq!(vars, [(&b"A"[..], &b"bc"[..])]);
    assert!(parse_packet(&bytes[..bytes.len() - 1]).unwrap().is_none());
    assert!(parse_packet(b"").unwrap().is_none());
}

fn var() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let key = prop_oneof![
        Just(b"REQUEST_METHOD".to_vec()),
        Just(b"PATH_INFO".to_vec()),
        Just(b"QUERY_STRING".to_vec()),
        Just(b"HTTPS".to_vec()),
        Just(b"CONTENT_TYPE".to_vec()),
        "HTTP_[A-Z_]{1,12}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    (key, proptest::collection::vec(any::<u8>(), 0..24))
}

proptest! {
    /// Random packets (and the body their CONTENT_LENGTH announces, then
    /// garbage) give the same events however they are cut: the fuzz
    /// target's property, run on stable in every `cargo test`.
    #[test]
    fn events_do_not_depend_on_the_split(
        vars in proptest::collection::vec(var(), 0..12),
        body_len in 0usize..40,
        trailing in proptest::collection::vec(any::<u8>(), 0..16),
        at in any::<u8>(),
        piece in any::<u8>(),
    ) {
        let mut text = Vec::new();
        for (k, v) in &vars {
            if k.contains(&b'=') || k.contains(&b'\n') || k.is_empty() || v.contains(&b'\n') {
                continue;
            }
            text.extend_from_slice(k);
            text.push(b'=');
            text.extend_from_slice(v);
            text.push(b'\n');
        }
        text.extend_from_slice(format!("CONTENT_LENGTH={body_len}\n--").as_bytes());
        text.extend(std::iter::repeat_n(b'b', body_len));
        text.extend_from_slice(&trailing);
        let mut input = vec![0, at, piece];
        input.extend_from_slice(&text);
        fuzz_properties::uwsgi::check_uwsgi_decoder(&input);
        // And the same bytes taken raw.
        input[0] = 1;
        fuzz_properties::uwsgi::check_uwsgi_decoder(&input);
    }
}

#[test]
fn a_packet_that_fails_leaves_no_head_behind() {
    use rcorn_core::http::{Event, RequestDecoder};
    let mut d = RequestDecoder::new(DecoderConfig::default());
    d.expect_uwsgi(true);
    let mut bytes = packet(&[(b"PATH_INFO", b"/one")]).unwrap();
    bytes.extend_from_slice(&packet(&[(b"REQUEST_METHOD", b"G T")]).unwrap());
    d.feed(&bytes);
    assert!(matches!(d.next_event(), Ok(Event::Head(_))));
    assert!(matches!(d.next_event(), Ok(Event::End)));
    let e = d.next_event().unwrap_err();
    assert_eq!(e.kind(), K::InvalidUWSGIHeader);
    assert!(d.head().is_none());
}
