//! Interim (1xx) responses before the final one, and trailer fields after
//! a chunked body: what reaches the wire, and what is refused.

use rcorn_core::http::{ConnError, ConnEvent, DecoderConfig, Next, ServerConnection, Timeouts};

const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn with_request(request: &[u8]) -> ServerConnection {
    let mut conn = ServerConnection::new(DecoderConfig::default(), b"", Timeouts::default());
    conn.feed(request);
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Request(_))));
    conn
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn early_hints_go_before_the_final_response() {
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::new();
    let hints: [(&[u8], &[u8]); 1] = [(b"Link", b"</style.css>; rel=preload")];
    assert_eq!(conn.informational(103, &hints, &mut out), Ok(true));
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    conn.end_head(DATE, Some(2), &mut out).unwrap();
    conn.body(b"ok", &mut out).unwrap();
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Request);
    let wire = text(&out);
    assert!(
        wire.starts_with("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{wire}"
    );
    assert!(wire.ends_with("\r\n\r\nok"));
}

#[test]
fn a_hint_after_start_response_goes_before_the_held_head() {
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Bytes of an earlier response still waiting to be written.
    let mut out = b"earlier".to_vec();
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    conn.header(b"X-A", b"1", &mut out).unwrap();
    let held = conn.take_unsent_head(&mut out);
    assert!(
        text(&held).starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        text(&held)
    );
    assert_eq!(out, b"earlier");
    // No head may be lifted twice, and a 100 Continue never goes now.
    assert!(conn.take_unsent_head(&mut out).is_empty());
    assert!(matches!(
        conn.informational(100, &[], &mut out),
        Err(ConnError::App(_))
    ));
    let hints: [(&[u8], &[u8]); 1] = [(b"Link", b"</a.css>; rel=preload")];
    assert_eq!(conn.informational(103, &hints, &mut out), Ok(true));
    // The caller wrote `out` before giving the head back.
    out.clear();
    conn.restore_unsent_head(held, &mut out);
    // The head is whole again: it may still be replaced (exc_info).
    assert!(conn.reset_response(&mut out));
    assert!(out.is_empty());
    conn.start_response(503, b"Service Unavailable", true, &mut out)
        .unwrap();
    conn.end_head(DATE, Some(0), &mut out).unwrap();
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Request);
    assert!(text(&out).starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    // Without a lifted head, a hint after start_response is still refused.
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::new();
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    conn.end_head(DATE, None, &mut out).unwrap();
    assert!(conn.take_unsent_head(&mut out).is_empty());
    assert!(matches!(
        conn.informational(103, &hints, &mut out),
        Err(ConnError::App(_))
    ));
}

#[test]
fn interim_responses_are_refused_when_they_cannot_be_sent() {
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::new();
    // 101 switches protocols; 200 is no interim status; a bad field value.
    assert!(matches!(
        conn.informational(101, &[], &mut out),
        Err(ConnError::App(_))
    ));
    assert!(matches!(
        conn.informational(200, &[], &mut out),
        Err(ConnError::App(_))
    ));
    let bad: [(&[u8], &[u8]); 1] = [(b"Link", b"a\r\nb")];
    assert!(matches!(
        conn.informational(103, &bad, &mut out),
        Err(ConnError::App(_))
    ));
    assert!(out.is_empty());
    // Once the final response has begun, none may come before it.
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    assert!(matches!(
        conn.informational(103, &[], &mut out),
        Err(ConnError::App(_))
    ));
    // An HTTP/1.0 client knows no 1xx: nothing is written.
    let mut conn = with_request(b"GET / HTTP/1.0\r\n\r\n");
    let mut out = Vec::new();
    assert_eq!(conn.informational(103, &[], &mut out), Ok(false));
    assert!(out.is_empty());
}

#[test]
fn an_application_100_continue_is_the_go_ahead() {
    let mut conn = with_request(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    );
    let mut out = Vec::new();
    assert_eq!(conn.informational(100, &[], &mut out), Ok(true));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::NeedData)));
    // The connection does not send a second one.
    assert!(!conn.poll_transmit(&mut out));
    assert_eq!(text(&out), "HTTP/1.1 100 Continue\r\n\r\n");
}

#[test]
fn trailers_end_a_chunked_body() {
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n");
    let mut out = Vec::new();
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    conn.end_head(DATE, None, &mut out).unwrap();
    conn.body(b"abc", &mut out).unwrap();
    conn.trailer(b"Server-Timing", b"app;dur=3").unwrap();
    // Fields that frame the message may not come late.
    assert!(matches!(
        conn.trailer(b"Content-Length", b"3"),
        Err(ConnError::App(_))
    ));
    assert!(matches!(
        conn.trailer(b"X", b"a\nb"),
        Err(ConnError::App(_))
    ));
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Request);
    assert!(
        text(&out).ends_with("3\r\nabc\r\n0\r\nServer-Timing: app;dur=3\r\n\r\n"),
        "{}",
        text(&out)
    );
    // The next response starts without them.
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Request(_))));
    let mut out = Vec::new();
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    conn.end_head(DATE, None, &mut out).unwrap();
    conn.finish_response(&mut out, || DATE);
    assert!(text(&out).ends_with("\r\n0\r\n\r\n"));
}

#[test]
fn trailers_are_dropped_when_the_body_is_not_chunked() {
    let mut conn = with_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::new();
    conn.start_response(200, b"OK", true, &mut out).unwrap();
    // Before the body there is nowhere to put them.
    assert!(matches!(conn.trailer(b"X", b"1"), Err(ConnError::App(_))));
    conn.end_head(DATE, Some(2), &mut out).unwrap();
    conn.body(b"ok", &mut out).unwrap();
    conn.trailer(b"X", b"1").unwrap();
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Request);
    assert!(text(&out).ends_with("\r\n\r\nok"));
}

#[test]
fn a_request_accepts_trailers_only_when_its_te_lists_them() {
    let accepts = |request: &[u8]| {
        let mut conn = with_request(request);
        let accepts = conn.request_head().is_some_and(|h| h.accepts_trailers());
        let _ = conn.poll_event();
        accepts
    };
    assert!(accepts(
        b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"
    ));
    assert!(accepts(
        b"GET / HTTP/1.1\r\nHost: x\r\nte: gzip;q=0.5 , Trailers\r\n\r\n"
    ));
    assert!(accepts(
        b"GET / HTTP/1.1\r\nHost: x\r\nTE: gzip\r\nTE: trailers\r\n\r\n"
    ));
    // No TE, another coding only, a member that only starts with the word.
    assert!(!accepts(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(!accepts(b"GET / HTTP/1.1\r\nHost: x\r\nTE: gzip\r\n\r\n"));
    assert!(!accepts(
        b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailersx\r\n\r\n"
    ));
    // HTTP/1.0 has no chunked body to carry them.
    assert!(!accepts(b"GET / HTTP/1.0\r\nTE: trailers\r\n\r\n"));
}
