//! The HTTP/1.1 server connection: its rules one by one, and a property
//! over random pipelined request streams cut at random points (the same
//! check the `h1_connection` fuzz target runs).

use std::time::Duration;

use proptest::prelude::*;
use rcorn_core::http::{ConnError, ConnEvent, DecoderConfig, Next, ServerConnection, Timeouts};
use rcorn_core::time::Instant;

#[path = "../../fuzz/src/h1_connection.rs"]
mod h1_connection;

const DATE: &[u8] = h1_connection::DATE;

fn connection() -> ServerConnection {
    ServerConnection::new(DecoderConfig::default(), b"rcorn", Timeouts::default())
}

fn expect_request(conn: &mut ServerConnection) {
    match conn.poll_event() {
        Ok(ConnEvent::Request(_)) => {}
        other => panic!("expected a request, got {other:?}"),
    }
}

/// A complete response with a known length.
fn respond(conn: &mut ServerConnection, body: &[u8], out: &mut Vec<u8>) -> Next {
    conn.start_response(200, b"OK", true, out).expect("start");
    conn.end_head(DATE, Some(body.len() as u64), out)
        .expect("end head");
    conn.body(body, out).expect("body");
    conn.finish_response(out, || DATE)
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn continue_goes_out_only_when_the_body_is_wanted() {
    let head = b"POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(head);
    expect_request(&mut conn);
    assert!(
        !conn.poll_transmit(&mut out),
        "nothing before the body is asked"
    );
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::NeedData)));
    assert!(conn.poll_transmit(&mut out));
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::NeedData)));
    assert!(!conn.poll_transmit(&mut out), "one 100 Continue at most");
    conn.feed(b"hello");
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Body(b"hello"))));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::BodyEnd)));
    assert_eq!(respond(&mut conn, b"ok", &mut out), Next::Request);

    // Answered without reading: no invitation, and the connection closes,
    // since the client may or may not send the body.
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(head);
    expect_request(&mut conn);
    assert_eq!(respond(&mut conn, b"no", &mut out), Next::Close);
    assert!(!text(&out).contains("100 Continue"));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Closed)));
}

#[test]
fn the_next_request_waits_for_the_response() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_request(&mut conn);
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::BodyEnd)));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Paused)));
    assert_eq!(respond(&mut conn, b"a", &mut out), Next::Request);
    match conn.poll_event() {
        Ok(ConnEvent::Request(head)) => assert_eq!(head.target(), b"/b"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unread_body_is_drained_up_to_the_limit() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123");
    expect_request(&mut conn);
    assert_eq!(respond(&mut conn, b"a", &mut out), Next::Drain);
    assert_eq!(conn.drain(), Ok(Next::Drain));
    conn.feed(b"456789GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.drain(), Ok(Next::Request));
    expect_request(&mut conn);

    let big = 2 * rcorn_core::http::h1::DRAIN_LIMIT;
    let mut conn = connection();
    conn.feed(format!("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: {big}\r\n\r\n").as_bytes());
    expect_request(&mut conn);
    assert_eq!(respond(&mut conn, b"a", &mut out), Next::Drain);
    let piece = vec![b'x'; 64 * 1024];
    let mut next = Next::Drain;
    for _ in 0..8 {
        conn.feed(&piece);
        next = conn.drain().expect("a valid body");
        if next != Next::Drain {
            break;
        }
    }
    assert_eq!(next, Next::Close);
}

#[test]
fn a_bad_head_is_answered_and_sticks() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n");
    let Err(ConnError::Client(e)) = conn.poll_event() else {
        panic!("accepted a bad head");
    };
    assert_eq!(e.status(), 400);
    assert!(conn.poll_transmit(&mut out));
    assert!(text(&out).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(text(&out).contains("Connection: close\r\n"));
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(conn.poll_event(), Err(ConnError::Client(_))));
    assert!(!conn.poll_transmit(&mut out), "one error response");
}

#[test]
fn a_bad_body_gets_its_status_if_nothing_was_answered() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    expect_request(&mut conn);
    assert!(matches!(conn.poll_event(), Err(ConnError::Client(_))));
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Close);
    assert_eq!(conn.status(), 400);
    assert!(text(&out).starts_with("HTTP/1.1 400 "));
}

#[test]
fn application_mistakes_are_refused_and_it_may_answer_again() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_request(&mut conn);
    assert!(matches!(
        conn.body(b"early", &mut out),
        Err(ConnError::App(_))
    ));
    conn.start_response(200, b"OK", true, &mut out)
        .expect("start");
    assert!(matches!(
        conn.header(b"Bad Name", b"v", &mut out),
        Err(ConnError::App(_))
    ));
    assert!(conn.reset_response(&mut out));
    assert!(out.is_empty(), "the discarded head is gone");
    assert!(!conn.response_started());
    conn.start_response(500, b"Internal Server Error", true, &mut out)
        .expect("start again");
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Request);
    assert!(text(&out).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert!(text(&out).contains("Content-Length: 0\r\n"));
}

#[test]
fn a_response_cut_short_closes_without_ending_its_framing() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_request(&mut conn);
    conn.start_response(200, b"OK", true, &mut out)
        .expect("start");
    conn.end_head(DATE, None, &mut out).expect("end head");
    conn.body(b"part", &mut out).expect("body");
    conn.abort_response();
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Close);
    assert!(
        !text(&out).ends_with("0\r\n\r\n"),
        "a final chunk: {}",
        text(&out)
    );

    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_request(&mut conn);
    conn.start_response(200, b"OK", true, &mut out)
        .expect("start");
    conn.header(b"Content-Length", b"10", &mut out)
        .expect("length");
    conn.end_head(DATE, None, &mut out).expect("end head");
    conn.body(b"short", &mut out).expect("body");
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Close);
}

#[test]
fn the_caller_may_refuse_reuse() {
    let mut conn = connection();
    let mut out = Vec::new();
    conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_request(&mut conn);
    conn.start_response(200, b"OK", false, &mut out)
        .expect("start");
    assert_eq!(conn.finish_response(&mut out, || DATE), Next::Close);
    assert!(text(&out).contains("Connection: close\r\n"));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Closed)));
}

#[test]
fn deadlines_are_data() {
    let timeouts = Timeouts {
        head: Duration::from_secs(5),
        idle: Duration::from_secs(2),
        body: Duration::from_secs(7),
    };
    let t0 = Instant::from_millis(1000);
    let mut conn = ServerConnection::new(DecoderConfig::default(), b"", timeouts);
    assert_eq!(conn.next_deadline(), None);
    conn.await_peer(t0);
    assert_eq!(conn.next_deadline(), Some(t0 + timeouts.idle));
    conn.feed(b"GET / HT");
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::NeedData)));
    conn.await_peer(t0);
    assert_eq!(conn.next_deadline(), Some(t0 + timeouts.head));
    conn.retire(t0);
    assert_eq!(conn.next_deadline(), Some(t0 + timeouts.head), "not idle");
    assert!(!conn.handle_timeout(t0 + Duration::from_secs(4)));
    assert!(conn.handle_timeout(t0 + timeouts.head));
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Closed)));

    let mut conn = ServerConnection::new(DecoderConfig::default(), b"", timeouts);
    conn.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n");
    expect_request(&mut conn);
    conn.await_peer(t0);
    assert_eq!(conn.next_deadline(), Some(t0 + timeouts.body));

    let mut conn = ServerConnection::new(DecoderConfig::default(), b"", timeouts);
    conn.await_peer(t0);
    conn.retire(t0 + Duration::from_secs(1));
    assert_eq!(
        conn.next_deadline(),
        Some(t0 + timeouts.idle),
        "kept the earlier"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random valid pipelined requests, cut at random points, answered by
    /// the model application: one response per request, in order, framed
    /// exactly, nothing after a close (see `h1_connection::check_scenario`).
    #[test]
    fn random_request_streams_hold_the_model(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        h1_connection::check_h1_connection(&data);
    }
}
