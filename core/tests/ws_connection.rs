//! The WebSocket machine from the outside: client frames in (cut at any
//! points), messages and server frames out.

use std::time::Duration;

use proptest::prelude::*;
use rcorn_core::http::h1::{ConnEvent, ServerConnection, Timeouts};
use rcorn_core::http::DecoderConfig;
use rcorn_core::time::Instant;
use rcorn_core::ws::{
    check_handshake, is_upgrade, negotiate, HandshakeError, Message, WsConfig, WsConnection,
    WsState,
};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// A server frame parsed back: (first byte, payload), and the rest.
fn server_frames(mut out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while out.len() >= 2 {
        let (len, at) = match out[1] {
            126 => (u16::from_be_bytes([out[2], out[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(out[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        frames.push((out[0], out[at..at + len].to_vec()));
        out = &out[at + len..];
    }
    frames
}

fn ws(max_size: usize) -> WsConnection {
    let cfg = WsConfig {
        max_size,
        ..WsConfig::default()
    };
    WsConnection::new(cfg, None, Instant::ZERO)
}

/// Feeds `input` in the given pieces; the messages, the outcome and what
/// was sent.
fn run(input: &[u8], cuts: &[usize]) -> (Vec<Message>, Option<(u16, String)>, Vec<u8>) {
    let mut c = ws(1 << 20);
    let mut out = Vec::new();
    let mut messages = Vec::new();
    let mut from = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for to in points {
        c.feed(&input[from..to], Instant::ZERO, &mut out);
        from = to;
        while let Some(m) = c.poll_message() {
            messages.push(m);
        }
    }
    let outcome = c.disconnect(&mut out).map(|(code, r)| (code, r.to_owned()));
    (messages, outcome, out)
}

fn conversation() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[a-zé€]{0,40}".prop_map(|t| frame(0x81, t.as_bytes())),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| frame(0x82, &b)),
        "[a-z]{0,20}".prop_map(|t| {
            let mut f = frame(0x01, t.as_bytes());
            f.extend(frame(0x89, b"in between"));
            f.extend(frame(0x80, t.as_bytes()));
            f
        }),
        proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(|junk| frame(0x80 | 0x0f & junk.len() as u8, &junk)),
        Just(frame(0x81, b"\xce\xba\xff")),
    ];
    proptest::collection::vec(piece, 1..8).prop_map(|v| v.concat())
}

proptest! {
    /// Rule 1: however the bytes are cut, the same messages, outcome and
    /// answers.
    #[test]
    fn the_same_events_however_the_bytes_are_split(
        input in conversation(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = run(&input, &[]);
        prop_assert_eq!(run(&input, &cuts), whole.clone());
        let every: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(run(&input, &every), whole);
    }

    /// Random bytes never panic and never make a message the client did
    /// not frame as text with valid UTF-8.
    #[test]
    fn random_bytes_are_refused_cleanly(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (messages, _, _) = run(&input, &[7, 30]);
        for m in messages {
            if let Message::Text(t) = m {
                prop_assert!(std::str::from_utf8(t.as_bytes()).is_ok());
            }
        }
    }
}

#[test]
fn fragments_with_a_ping_between_make_one_message_and_a_pong() {
    let mut input = frame(0x01, b"Hel");
    input.extend(frame(0x89, b"p"));
    input.extend(frame(0x80, b"lo"));
    let (messages, outcome, out) = run(&input, &[]);
    assert_eq!(messages, [Message::Text("Hello".into())]);
    assert_eq!(outcome, None);
    assert_eq!(server_frames(&out), [(0x8a, b"p".to_vec())]);
}

#[test]
fn protocol_errors_close_with_their_code_and_tell_the_application() {
    let cases: [(Vec<u8>, u16); 6] = [
        (frame(0x80, b"x"), 1002),       // continuation, no message
        (frame(0x81, b"\xff"), 1007),    // not UTF-8
        (frame(0x83, b""), 1002),        // reserved opcode
        (frame(0x82, &[0; 2000]), 1009), // past max_size
        (frame(0x88, b"\x03"), 1002),    // one-byte close
        ([frame(0x01, b"a"), frame(0x81, b"b")].concat(), 1002), // new message inside one
    ];
    for (input, code) in cases {
        let mut c = ws(1000);
        let mut out = Vec::new();
        c.feed(&input, Instant::ZERO, &mut out);
        assert!(!c.wants_input());
        assert_eq!(c.disconnect(&mut out), Some((code, "")));
        assert_eq!(c.state(), WsState::Closed);
        assert_eq!(server_frames(&out), [(0x88, code.to_be_bytes().to_vec())]);
    }
}

#[test]
fn text_fails_at_its_first_bad_byte_before_the_frame_is_whole() {
    let input = frame(0x81, b"ok \xed\xa0\x80 and much more");
    let mut c = ws(1000);
    let mut out = Vec::new();
    c.feed(&input[..12], Instant::ZERO, &mut out);
    assert_eq!(c.disconnect(&mut out), Some((1007, "")));
}

/// Rule 2: a message that came whole before a bad frame is the
/// application's to answer before the close (Autobahn 3.2, 4.1.3 ...).
#[test]
fn a_message_before_a_bad_frame_is_answered_before_the_close() {
    let input = [
        frame(0x81, b"first"),
        frame(0xa1, b"rsv2"),
        frame(0x89, b"p"),
    ]
    .concat();
    let mut c = ws(1000);
    let mut out = Vec::new();
    c.feed(&input, Instant::ZERO, &mut out);
    assert!(out.is_empty(), "the close waits for the application");
    assert!(!c.wants_input() && !c.is_over());
    assert_eq!(c.poll_message(), Some(Message::Text("first".into())));
    assert!(c.is_over());
    assert!(c.send(true, b"first", &mut out));
    assert_eq!(c.disconnect(&mut out), Some((1002, "")));
    assert_eq!(c.state(), WsState::Closed);
    assert_eq!(
        server_frames(&out),
        [
            (0x81, b"first".to_vec()),
            (0x88, 1002u16.to_be_bytes().to_vec())
        ]
    );
}

/// An application that does not ask again still lets the close go: at
/// `close_timeout`, or with its own close (the failure's code wins).
#[test]
fn a_held_close_goes_at_close_timeout_or_with_the_applications_close() {
    let input = [frame(0x82, b"x"), frame(0x80, b"orphan")].concat();
    let mut c = ws(1000);
    let mut out = Vec::new();
    c.feed(&input, Instant::from_millis(5), &mut out);
    assert_eq!(c.next_deadline(), Some(Instant::from_millis(10_005)));
    c.handle_timeout(Instant::from_millis(10_004), &mut out);
    assert!(out.is_empty());
    c.handle_timeout(Instant::from_millis(10_005), &mut out);
    assert_eq!(
        server_frames(&out),
        [(0x88, 1002u16.to_be_bytes().to_vec())]
    );
    assert_eq!(c.state(), WsState::Closed);

    let mut c = ws(1000);
    let mut out = Vec::new();
    c.feed(&input, Instant::ZERO, &mut out);
    c.close(1000, "", Instant::ZERO, &mut out);
    assert_eq!(
        server_frames(&out),
        [(0x88, 1002u16.to_be_bytes().to_vec())]
    );
    assert_eq!(c.state(), WsState::Closed);
}

#[test]
fn a_close_is_echoed_and_an_empty_one_reports_1005() {
    let (_, outcome, out) = run(&frame(0x88, b"\x0f\xa0bye"), &[]);
    assert_eq!(outcome, Some((4000, "bye".to_owned())));
    assert_eq!(server_frames(&out), [(0x88, b"\x0f\xa0".to_vec())]);
    let (_, outcome, out) = run(&frame(0x88, b""), &[]);
    assert_eq!(outcome, Some((1005, String::new())));
    assert_eq!(server_frames(&out), [(0x88, Vec::new())]);
}

#[test]
fn nothing_is_sent_after_a_close_and_a_dropped_peer_is_1006() {
    let mut c = ws(1000);
    let mut out = Vec::new();
    assert!(c.send(true, b"hi", &mut out));
    c.close(1000, "done", Instant::ZERO, &mut out);
    assert!(!c.send(true, b"late", &mut out));
    c.feed(&frame(0x89, b"p"), Instant::ZERO, &mut out);
    assert_eq!(
        server_frames(&out),
        [(0x81, b"hi".to_vec()), (0x88, b"\x03\xe8done".to_vec())]
    );
    assert_eq!(c.state(), WsState::Closing);
    c.feed_eof();
    assert_eq!(c.disconnect(&mut out), Some((1006, "")));
}

#[test]
fn pings_come_after_silence_and_an_unanswered_one_fails_with_1011() {
    let cfg = WsConfig {
        ping_interval: Some(Duration::from_secs(20)),
        ping_timeout: Some(Duration::from_secs(5)),
        ..WsConfig::default()
    };
    let mut c = WsConnection::new(cfg, None, Instant::ZERO);
    let mut out = Vec::new();
    assert_eq!(c.next_deadline(), Some(Instant::from_millis(20_000)));
    c.handle_timeout(Instant::from_millis(20_000), &mut out);
    assert_eq!(server_frames(&out)[0].0, 0x89);
    assert_eq!(c.next_deadline(), Some(Instant::from_millis(25_000)));
    c.handle_timeout(Instant::from_millis(25_000), &mut out);
    assert_eq!(
        c.disconnect(&mut out),
        Some((1011, "keepalive ping timeout"))
    );
    assert_eq!(c.state(), WsState::Closed);
    assert_eq!(
        server_frames(&out)[1],
        (0x88, 1011u16.to_be_bytes().to_vec())
    );
}

#[test]
fn a_going_away_server_tells_the_application_at_once() {
    let mut c = ws(1000);
    let mut out = Vec::new();
    c.go_away(1012, Instant::ZERO, &mut out);
    assert_eq!(c.disconnect(&mut out), Some((1012, "")));
    assert_eq!(server_frames(&out), [(0x88, b"\x03\xf4".to_vec())]);
    assert_eq!(c.next_deadline(), Some(Instant::from_millis(10_000)));
}

#[test]
fn compressed_messages_inflate_within_the_limit() {
    use flate2::{Compress, Compression, FlushCompress};
    let params = negotiate("permessage-deflate; client_max_window_bits").unwrap();
    let mut c = WsConnection::new(
        WsConfig {
            max_size: 5000,
            ..WsConfig::default()
        },
        Some(params),
        Instant::ZERO,
    );
    let deflated = |data: &[u8]| {
        let mut z = Compress::new(Compression::default(), false);
        let mut wire = Vec::with_capacity(data.len() + 64);
        z.compress_vec(data, &mut wire, FlushCompress::Sync)
            .unwrap();
        wire.truncate(wire.len() - 4);
        wire
    };
    let mut out = Vec::new();
    c.feed(
        &frame(0xc1, &deflated(b"squeezed squeezed")),
        Instant::ZERO,
        &mut out,
    );
    assert_eq!(
        c.poll_message(),
        Some(Message::Text("squeezed squeezed".into()))
    );
    assert!(c.send(false, &[1; 1000], &mut out));
    assert_eq!(out[0], 0xc2, "RSV1 marks the compressed frame");
    c.feed(&frame(0xc2, &deflated(&[0; 6000])), Instant::ZERO, &mut out);
    assert_eq!(c.disconnect(&mut out), Some((1009, "")));
}

fn head(request: &[u8]) -> ServerConnection {
    let mut conn = ServerConnection::new(DecoderConfig::default(), b"rcorn", Timeouts::default());
    conn.feed(request);
    assert!(matches!(conn.poll_event(), Ok(ConnEvent::Request(_))));
    conn
}

#[test]
fn handshakes_are_checked_and_bytes_past_the_head_handed_over() {
    let mut conn = head(
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: chat, superchat\r\n\r\n\x81\x80",
    );
    let h = conn.request_head().unwrap();
    assert!(is_upgrade(h));
    let shake = check_handshake(h).unwrap();
    assert_eq!(shake.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(shake.subprotocols, ["chat", "superchat"]);
    let mut rest = Vec::new();
    conn.take_upgraded_bytes(&mut rest);
    assert_eq!(rest, b"\x81\x80");

    let conn = head(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    assert_eq!(
        check_handshake(conn.request_head().unwrap()),
        Err(HandshakeError::Version)
    );
    let conn = head(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
          Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(matches!(
        check_handshake(conn.request_head().unwrap()),
        Err(HandshakeError::Malformed(_))
    ));
    // A body would be taken for frames.
    let conn = head(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
          Content-Length: 2\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n\x81\x80",
    );
    assert!(matches!(
        check_handshake(conn.request_head().unwrap()),
        Err(HandshakeError::Malformed(_))
    ));
}

#[test]
fn a_backlog_stops_the_reading_until_a_close_is_sent() {
    let mut c = ws(1 << 20);
    let mut out = Vec::new();
    c.feed(&frame(0x82, &[0; 70_000]), Instant::ZERO, &mut out);
    assert!(!c.wants_input(), "64 KiB wait for the application");
    c.close(1001, "", Instant::ZERO, &mut out);
    assert!(c.wants_input(), "the peer's close is read");
    c.feed(&frame(0x88, b"\x03\xe9"), Instant::ZERO, &mut out);
    assert_eq!(c.state(), WsState::Closed);
}
