//! The `Upgrade: h2c` entry of the HTTP/2 machine, from the HTTP/1.1 bytes
//! of the request to stream 1 answered over HTTP/2.

mod h2_support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use h2_support::*;
use rcorn_core::http::h2::frame::setting;
use rcorn_core::http::h2::{request_head, BodyRead, ErrorCode, H2Config, H2Connection, H2Event};
use rcorn_core::http::negotiate::{Negotiation, PendingUpgrade, UPGRADE_101};
use rcorn_core::http::{DecoderConfig, Event, RequestDecoder};

fn settings_header(params: &[(u16, u32)]) -> String {
    let mut payload = Vec::new();
    for (id, value) in params {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(payload)
}

fn upgrade_request(method: &str, settings: &str, extra: &str, body: &str) -> String {
    format!(
        "{method} /up?x=1 HTTP/1.1\r\nHost: example.test\r\n\
         Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
         HTTP2-Settings: {settings}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The upgrade a request asks for, its body read as HTTP/1.1 decodes it.
fn pending(request: &str) -> Option<Box<PendingUpgrade>> {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.feed(request.as_bytes());
    let Ok(Event::Head(head)) = decoder.next_event() else {
        panic!("not a head")
    };
    let mut up = PendingUpgrade::from_head(head)?;
    loop {
        match decoder.next_event() {
            Ok(Event::Body(bytes)) => up.push_body(bytes),
            Ok(Event::End) => return Some(up),
            other => panic!("{other:?}"),
        }
    }
}

fn upgraded(request: &str) -> (H2Connection, Vec<u8>) {
    let up = pending(request).expect("a well-formed upgrade");
    let mut conn = up.into_connection(H2Config::default(), T0);
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    (conn, out)
}

#[test]
fn the_request_is_stream_1_after_a_101_and_the_servers_settings() {
    let request = upgrade_request("GET", &settings_header(&[]), "TE: trailers\r\n", "");
    let (mut conn, out) = upgraded(&request);
    assert!(out.starts_with(UPGRADE_101));
    assert_eq!(
        parse_output(&out[UPGRADE_101.len()..])[0],
        Out::Settings { ack: false }
    );
    let Ok(H2Event::Request { stream: 1, request }) = conn.poll_event() else {
        panic!("no request on stream 1")
    };
    assert_eq!(request.method, b"GET");
    assert_eq!(request.scheme, b"http");
    assert_eq!(request.path, b"/up?x=1");
    assert_eq!(request.authority.as_deref(), Some(&b"example.test"[..]));
    assert!(request.end_stream);
    let names: Vec<&[u8]> = request.headers.iter().map(|(n, _)| &n[..]).collect();
    // Connection-specific fields and HTTP2-Settings are not carried.
    assert_eq!(names, [&b"te"[..], b"content-length"]);
    let head = request_head(&request);
    assert_eq!(head.version(), (2, 0));
    // The client's preface still comes; its SETTINGS are acknowledged.
    conn.feed(&client_preface(&[]));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(events, vec![H2Event::NeedData]);
    conn.send_headers(1, 200, &[], false).unwrap();
    assert_eq!(conn.send_data(T0, 1, b"hi", true).unwrap(), 2);
    conn.finish_stream(1);
    let frames = output(&mut conn);
    assert_eq!(frames[0], Out::Settings { ack: true });
    assert!(matches!(frames[1], Out::Headers { stream: 1, .. }));
    assert_eq!(
        frames[2],
        Out::Data {
            stream: 1,
            len: 2,
            end_stream: true
        }
    );
    // The next stream is the client's 3; 1 is used.
    conn.feed(&get(3));
    let (events, _) = run(&mut conn);
    assert!(matches!(events[0], H2Event::Request { stream: 3, .. }));
}

#[test]
fn the_body_read_over_http1_is_stream_1s_and_costs_no_credit() {
    let body = "x".repeat(40_000);
    let request = upgrade_request("POST", &settings_header(&[]), "", &body);
    let (mut conn, _) = upgraded(&request);
    let Ok(H2Event::Request { stream: 1, request }) = conn.poll_event() else {
        panic!("no request on stream 1")
    };
    assert!(!request.end_stream);
    assert_eq!(request.content_length, Some(40_000));
    let mut read = Vec::new();
    assert_eq!(
        conn.read_body(1, &mut read, 100_000).unwrap(),
        BodyRead::Data(40_000)
    );
    assert_eq!(read, body.as_bytes());
    assert_eq!(conn.read_body(1, &mut read, 100).unwrap(), BodyRead::End);
    // No WINDOW_UPDATE for bytes that never took a window.
    let frames = output(&mut conn);
    assert!(
        !frames.iter().any(|f| matches!(f, Out::WindowUpdate { .. })),
        "{frames:?}"
    );
}

#[test]
fn the_clients_settings_from_the_header_apply_without_an_ack() {
    let settings = settings_header(&[(setting::INITIAL_WINDOW_SIZE, 10)]);
    let (mut conn, out) = upgraded(&upgrade_request("GET", &settings, "", ""));
    let frames = parse_output(&out[UPGRADE_101.len()..]);
    assert!(!frames.contains(&Out::Settings { ack: true }), "{frames:?}");
    let Ok(H2Event::Request { stream: 1, .. }) = conn.poll_event() else {
        panic!("no request on stream 1")
    };
    conn.send_headers(1, 200, &[], false).unwrap();
    // The stream's send window is the client's 10 bytes.
    assert_eq!(conn.send_data(T0, 1, &[0; 100], true).unwrap(), 10);
}

#[test]
fn stream_1_is_half_closed_so_the_client_cannot_send_on_it() {
    let (mut conn, _) = upgraded(&upgrade_request("GET", &settings_header(&[]), "", ""));
    let mut bytes = client_preface(&[]);
    bytes.extend_from_slice(&get(1));
    conn.feed(&bytes);
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(events.contains(&H2Event::Reset {
        stream: 1,
        code: ErrorCode::StreamClosed
    }));
    let frames = output(&mut conn);
    assert!(frames.contains(&Out::Rst {
        stream: 1,
        code: ErrorCode::StreamClosed
    }));
}

#[test]
fn only_an_allowed_well_formed_request_upgrades() {
    let p = vec!["h2".to_owned(), "h1".to_owned()];
    let request = upgrade_request("GET", &settings_header(&[]), "", "");
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.feed(request.as_bytes());
    let Ok(Event::Head(head)) = decoder.next_event() else {
        panic!("not a head")
    };
    let both = Negotiation::new(&p, "both", true);
    assert!(both.upgrade(head, false, false, true).is_some());
    assert!(
        both.upgrade(head, false, false, false).is_none(),
        "untrusted"
    );
    assert!(both.upgrade(head, true, false, true).is_none(), "over TLS");
    let prior = Negotiation::new(&p, "prior-knowledge", true);
    assert!(prior.upgrade(head, false, false, true).is_none());
    // A settings value out of range is no upgrade at all.
    let bad = settings_header(&[(setting::MAX_FRAME_SIZE, 1)]);
    assert!(pending(&upgrade_request("GET", &bad, "", "")).is_none());
    assert!(pending(&upgrade_request("GET", "not base64!", "", "")).is_none());
}
