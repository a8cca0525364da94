//! The HTTP/2 server machine driven by a scripted client: the exchange,
//! flow control, and each limit against the known floods.

mod h2_support;

use std::time::Duration;

use h2_support::*;
use rcorn_core::http::h2::frame::{flag, kind, setting};
use rcorn_core::http::h2::{BodyRead, ErrorCode, H2Config, H2Error, H2Event, H2Notice};

fn requests(events: &[H2Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            H2Event::Request { stream, .. } => Some(*stream),
            _ => None,
        })
        .collect()
}

#[test]
fn a_get_is_answered_on_its_stream() {
    let mut conn = H2Connection::new(H2Config::default(), T0);
    let first = output(&mut conn);
    assert_eq!(first[0], Out::Settings { ack: false });
    conn.feed(&client_preface(&[]));
    conn.feed(&get(1));
    let (events, result) = run(&mut conn);
    result.unwrap();
    let H2Event::Request { stream: 1, request } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(request.method, b"GET");
    assert_eq!(request.path, b"/");
    assert_eq!(request.authority.as_deref(), Some(&b"test"[..]));
    assert!(request.end_stream);
    conn.send_headers(
        1,
        200,
        &[(b"Content-Type", b"text/plain"), (b"Connection", b"close")],
        false,
    )
    .unwrap();
    assert_eq!(conn.send_data(T0, 1, b"hello", true).unwrap(), 5);
    conn.finish_stream(1);
    let frames = output(&mut conn);
    assert_eq!(frames[0], Out::Settings { ack: true });
    let Out::Headers {
        stream: 1,
        end_stream: false,
        fields,
    } = &frames[1]
    else {
        panic!("{frames:?}")
    };
    // Names lower-cased, the connection-specific field dropped.
    assert_eq!(
        fields,
        &[
            (":status".into(), "200".into()),
            ("content-type".into(), "text/plain".into())
        ]
    );
    assert_eq!(
        frames[2],
        Out::Data {
            stream: 1,
            len: 5,
            end_stream: true
        }
    );
    assert_eq!(conn.stream_count(), 0);
}

#[test]
fn a_bad_preface_is_a_connection_error() {
    let mut conn = H2Connection::new(H2Config::default(), T0);
    conn.feed(b"GET / HTTP/1.1\r\n\r\n");
    let (_, result) = run(&mut conn);
    assert!(matches!(
        result,
        Err(H2Error::Connection {
            code: ErrorCode::ProtocolError,
            ..
        })
    ));
    assert_eq!(
        goaway_code(&output(&mut conn)),
        Some(ErrorCode::ProtocolError)
    );
    // Sticky.
    assert!(conn.poll_event().is_err());
}

#[test]
fn body_credit_returns_as_the_application_reads() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    conn.feed(&data(1, &[7; 40_000], false));
    conn.feed(&data(1, &[7; 20_000], true));
    let (events, _) = run(&mut conn);
    assert_eq!(requests(&events), vec![1]);
    // Nothing read yet: no stream credit back.
    assert!(!output(&mut conn)
        .iter()
        .any(|f| matches!(f, Out::WindowUpdate { stream: 1, .. })));
    let mut body = Vec::new();
    assert_eq!(
        conn.read_body(1, &mut body, 40_000).unwrap(),
        BodyRead::Data(40_000)
    );
    // The stream's body has ended, so only the connection gets credit.
    let frames = output(&mut conn);
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, Out::WindowUpdate { stream: 1, .. })),
        "{frames:?}"
    );
    assert_eq!(
        conn.read_body(1, &mut body, 1 << 20).unwrap(),
        BodyRead::Data(20_000)
    );
    assert_eq!(
        conn.read_body(1, &mut body, 1 << 20).unwrap(),
        BodyRead::End
    );
}

#[test]
fn a_stream_window_is_enforced_and_refilled_when_read() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    conn.feed(&data(1, &[1; 65_535], false));
    run(&mut conn).1.unwrap();
    let mut body = Vec::new();
    conn.read_body(1, &mut body, 40_000).unwrap();
    let frames = output(&mut conn);
    assert!(
        frames.contains(&Out::WindowUpdate {
            stream: 1,
            increment: 40_000
        }),
        "{frames:?}"
    );
    // 25,535 left + 40,000 returned: one byte more is a stream error.
    conn.feed(&data(1, &[1; 65_536], false));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(events.contains(&H2Event::Reset {
        stream: 1,
        code: ErrorCode::FlowControlError
    }));
    assert!(output(&mut conn).contains(&Out::Rst {
        stream: 1,
        code: ErrorCode::FlowControlError
    }));
}

#[test]
fn trailers_both_ways() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    conn.feed(&data(1, b"abc", false));
    let mut trailer = Vec::new();
    rcorn_core::http::h2::hpack::encode_field(b"x-sum", b"6", &mut trailer);
    conn.feed(&headers(1, &trailer, true));
    run(&mut conn).1.unwrap();
    let mut body = Vec::new();
    assert_eq!(
        conn.read_body(1, &mut body, 100).unwrap(),
        BodyRead::Data(3)
    );
    assert_eq!(conn.read_body(1, &mut body, 100).unwrap(), BodyRead::End);
    assert_eq!(
        conn.trailers(1).unwrap(),
        &[(b"x-sum".to_vec(), b"6".to_vec())]
    );
    conn.send_headers(1, 200, &[], false).unwrap();
    conn.send_data(T0, 1, b"ok", false).unwrap();
    conn.send_trailers(1, &[(b"X-Check", b"yes")]).unwrap();
    conn.finish_stream(1);
    let frames = output(&mut conn);
    let last = frames.last().unwrap();
    assert_eq!(
        last,
        &Out::Headers {
            stream: 1,
            end_stream: true,
            fields: vec![("x-check".into(), "yes".into())]
        }
    );
}

#[test]
fn rapid_reset_streams_count_until_handled_and_resets_are_budgeted() {
    let config = H2Config {
        max_concurrent_streams: 10,
        reset_budget: 50,
        ..H2Config::default()
    };
    let mut conn = connected(config);
    let mut seen = 0;
    let mut result = Ok(());
    for i in 0..200u32 {
        let id = 2 * i + 1;
        conn.feed(&get(id));
        conn.feed(&rst(id));
        let (events, r) = run(&mut conn);
        seen += requests(&events).len();
        result = r;
        if result.is_err() {
            break;
        }
    }
    // The handlers never finished: only 10 requests reached the app.
    assert_eq!(seen, 10);
    assert_eq!(conn.stream_count(), 10);
    assert!(matches!(
        result,
        Err(H2Error::Connection {
            code: ErrorCode::EnhanceYourCalm,
            ..
        })
    ));
    assert_eq!(
        goaway_code(&output(&mut conn)),
        Some(ErrorCode::EnhanceYourCalm)
    );
}

#[test]
fn finished_streams_earn_their_resets_back() {
    let mut conn = connected(H2Config {
        reset_budget: 5,
        ..H2Config::default()
    });
    for i in 0..100u32 {
        let (reset, fine) = (4 * i + 1, 4 * i + 3);
        conn.feed(&get(reset));
        conn.feed(&rst(reset));
        conn.feed(&get(fine));
        run(&mut conn).1.unwrap();
        conn.finish_stream(reset);
        // A well-ended stream between resets keeps the budget.
        conn.send_headers(fine, 204, &[], true).unwrap();
        conn.finish_stream(fine);
    }
    assert!(conn.error().is_none());
    assert_eq!(conn.stream_count(), 0);
}

#[test]
fn made_you_reset_server_resets_are_budgeted_and_streams_still_count() {
    let config = H2Config {
        max_concurrent_streams: 5,
        reset_budget: 20,
        ..H2Config::default()
    };
    let mut conn = connected(config);
    let mut result = Ok(());
    let mut seen = 0;
    for i in 0..100u32 {
        let id = 2 * i + 1;
        conn.feed(&headers(id, &request_block("POST", "/", &[]), false));
        // WINDOW_UPDATE of 0 on a stream: a stream error the server must
        // answer with RST_STREAM.
        conn.feed(&raw_frame(kind::WINDOW_UPDATE, 0, id, &[0; 4]));
        let (events, r) = run(&mut conn);
        seen += requests(&events).len();
        result = r;
        if result.is_err() {
            break;
        }
    }
    assert_eq!(seen, 5);
    assert_eq!(conn.stream_count(), 5);
    assert!(matches!(
        result,
        Err(H2Error::Connection {
            code: ErrorCode::EnhanceYourCalm,
            ..
        })
    ));
}

#[test]
fn continuation_flood_is_cut_before_decoding() {
    let mut conn = connected(H2Config::default());
    let block = request_block("GET", "/", &[]);
    conn.feed(&raw_frame(kind::HEADERS, flag::END_STREAM, 1, &block));
    let mut result = Ok(());
    for _ in 0..100 {
        conn.feed(&raw_frame(kind::CONTINUATION, 0, 1, &[0x40; 16_384]));
        result = run(&mut conn).1;
        if result.is_err() {
            break;
        }
    }
    assert!(
        matches!(
            result,
            Err(H2Error::Connection {
                code: ErrorCode::EnhanceYourCalm,
                ..
            })
        ),
        "{result:?}"
    );
    // Empty CONTINUATIONs are counted too.
    let mut conn = connected(H2Config::default());
    conn.feed(&raw_frame(kind::HEADERS, 0, 1, &block));
    for _ in 0..1000 {
        conn.feed(&raw_frame(kind::CONTINUATION, 0, 1, &[]));
    }
    let result = run(&mut conn).1;
    assert!(
        matches!(
            result,
            Err(H2Error::Connection {
                code: ErrorCode::EnhanceYourCalm,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn hpack_bomb_gets_431_and_the_connection_goes_on() {
    let mut conn = connected(H2Config {
        max_header_list_size: 16_384,
        ..H2Config::default()
    });
    // One 4000-byte entry added to the table (a literal with indexing, its
    // length 127 + 33 + 30 * 128), then referenced 1000 times: 4 MB.
    let mut block = request_block("GET", "/", &[]);
    block.extend_from_slice(&[0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e]);
    block.extend(std::iter::repeat_n(b'a', 4000));
    block.extend(std::iter::repeat_n(0xbe, 1000));
    conn.feed(&headers(1, &block, true));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(requests(&events).is_empty());
    let frames = output(&mut conn);
    let Out::Headers {
        stream: 1,
        end_stream: true,
        fields,
    } = &frames[0]
    else {
        panic!("{frames:?}")
    };
    assert_eq!(fields[0].1, "431");
    assert_eq!(
        conn.take_notice(),
        Some(H2Notice::HeaderListTooLarge { stream: 1 })
    );
    assert_eq!(conn.take_notice(), None);
    // The HPACK table stayed in step: the next request decodes.
    conn.feed(&get(3));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(requests(&events), vec![3]);
}

#[test]
fn ping_flood_pauses_reading_while_output_is_full() {
    let mut conn = connected(H2Config {
        max_pending_output: 4096,
        ..H2Config::default()
    });
    let pings: Vec<u8> = (0..10_000).flat_map(|_| ping()).collect();
    conn.feed(&pings);
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(events, vec![H2Event::Blocked]);
    assert!(!conn.wants_read());
    let pending = conn.pending_output().len();
    assert!(pending < 4096 + 64, "{pending}");
    // Writing it lets the machine go on.
    let n = conn.pending_output().len();
    conn.consume_output(n);
    assert!(run(&mut conn).1.is_ok());
    assert!(conn.pending_output().len() >= 17 * 200);
}

#[test]
fn settings_flood_pauses_reading_too() {
    let mut conn = connected(H2Config {
        max_pending_output: 1000,
        ..H2Config::default()
    });
    let mut flood = Vec::new();
    for _ in 0..5000 {
        flood.extend(raw_frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
    }
    conn.feed(&flood);
    assert_eq!(run(&mut conn).0, vec![H2Event::Blocked]);
    assert!(conn.pending_output().len() < 1000 + 9);
}

#[test]
fn empty_data_flood_is_refused() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    for _ in 0..1000 {
        conn.feed(&data(1, b"", false));
    }
    let result = run(&mut conn).1;
    assert!(
        matches!(
            result,
            Err(H2Error::Connection {
                code: ErrorCode::EnhanceYourCalm,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn a_stream_without_credit_is_reset_after_the_stall_timeout() {
    let config = H2Config {
        stall_timeout: Some(Duration::from_secs(5)),
        ..H2Config::default()
    };
    let mut conn = rcorn_core::http::h2::H2Connection::new(config, T0);
    conn.feed(&client_preface(&[(setting::INITIAL_WINDOW_SIZE, 0)]));
    conn.feed(&settings_ack());
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    conn.send_headers(1, 200, &[], false).unwrap();
    let at = T0 + Duration::from_secs(1);
    assert_eq!(conn.send_data(at, 1, b"blocked", true).unwrap(), 0);
    assert_eq!(conn.next_deadline(), Some(at + Duration::from_secs(5)));
    conn.handle_timeout(at + Duration::from_secs(4));
    assert_eq!(run(&mut conn).0, vec![H2Event::NeedData]);
    conn.handle_timeout(at + Duration::from_secs(5));
    assert_eq!(
        run(&mut conn).0,
        vec![
            H2Event::Reset {
                stream: 1,
                code: ErrorCode::Cancel
            },
            H2Event::NeedData
        ]
    );
    assert!(output(&mut conn).contains(&Out::Rst {
        stream: 1,
        code: ErrorCode::Cancel
    }));
    assert_eq!(conn.take_notice(), Some(H2Notice::Stalled { stream: 1 }));
    assert_eq!(conn.next_deadline(), None);
}

#[test]
fn credit_wakes_a_waiting_writer() {
    let mut conn = H2Connection::new(H2Config::default(), T0);
    conn.feed(&client_preface(&[(setting::INITIAL_WINDOW_SIZE, 3)]));
    conn.feed(&settings_ack());
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    conn.send_headers(1, 200, &[], false).unwrap();
    assert_eq!(conn.send_data(T0, 1, b"hello", true).unwrap(), 3);
    conn.feed(&raw_frame(kind::WINDOW_UPDATE, 0, 1, &10u32.to_be_bytes()));
    assert_eq!(
        run(&mut conn).0,
        vec![H2Event::Writable { stream: 1 }, H2Event::NeedData]
    );
    assert_eq!(conn.send_data(T0, 1, b"lo", true).unwrap(), 2);
    let frames = output(&mut conn);
    assert!(frames.contains(&Out::Data {
        stream: 1,
        len: 2,
        end_stream: true
    }));
}

#[test]
fn concurrency_limit_refuses_new_streams() {
    let mut conn = connected(H2Config {
        max_concurrent_streams: 2,
        ..H2Config::default()
    });
    for id in [1, 3, 5] {
        conn.feed(&get(id));
    }
    let (events, _) = run(&mut conn);
    assert_eq!(requests(&events), vec![1, 3]);
    assert!(output(&mut conn).contains(&Out::Rst {
        stream: 5,
        code: ErrorCode::RefusedStream
    }));
    conn.send_headers(1, 204, &[], true).unwrap();
    conn.finish_stream(1);
    conn.feed(&get(7));
    assert_eq!(requests(&run(&mut conn).0), vec![7]);
}

#[test]
fn malformed_requests_are_stream_errors() {
    let mut conn = connected(H2Config::default());
    let cases: [&[(&str, &str)]; 4] = [
        &[("connection", "keep-alive")],
        &[("Upper", "x")],
        &[("te", "gzip")],
        &[("content-length", "x")],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let id = 2 * i as u32 + 1;
        conn.feed(&headers(id, &request_block("GET", "/", extra), true));
        let (events, result) = run(&mut conn);
        result.unwrap();
        assert!(requests(&events).is_empty(), "{extra:?}");
        assert!(
            output(&mut conn).contains(&Out::Rst {
                stream: id,
                code: ErrorCode::ProtocolError
            }),
            "{extra:?}"
        );
    }
}

#[test]
fn protocol_violations_end_the_connection() {
    let cases: Vec<(Vec<u8>, ErrorCode)> = vec![
        (raw_frame(kind::DATA, 0, 0, b"x"), ErrorCode::ProtocolError),
        (
            raw_frame(kind::PING, 0, 0, &[0; 7]),
            ErrorCode::FrameSizeError,
        ),
        (raw_frame(kind::DATA, 0, 9, b"x"), ErrorCode::ProtocolError),
        (get(2), ErrorCode::ProtocolError),
        ([get(5), get(3)].concat(), ErrorCode::ProtocolError),
        (
            raw_frame(kind::WINDOW_UPDATE, 0, 0, &[0; 4]),
            ErrorCode::ProtocolError,
        ),
        (
            raw_frame(kind::CONTINUATION, flag::END_HEADERS, 1, &[]),
            ErrorCode::ProtocolError,
        ),
        (
            raw_frame(kind::SETTINGS, 0, 0, &[0, 5, 0, 0, 0, 1]),
            ErrorCode::ProtocolError,
        ),
        (
            raw_frame(kind::HEADERS, flag::END_HEADERS, 1, &[0xff, 0xff]),
            ErrorCode::CompressionError,
        ),
        (
            raw_frame(kind::DATA, 0, 1, &[0; 16_385]),
            ErrorCode::FrameSizeError,
        ),
    ];
    for (bytes, code) in cases {
        let mut conn = connected(H2Config::default());
        conn.feed(&bytes);
        let result = run(&mut conn).1;
        assert!(
            matches!(&result, Err(H2Error::Connection { code: c, .. }) if *c == code),
            "{result:?} for {bytes:?}"
        );
        assert_eq!(goaway_code(&output(&mut conn)), Some(code));
    }
}

#[test]
fn settings_must_be_acknowledged_in_time() {
    let mut conn = H2Connection::new(H2Config::default(), T0);
    conn.feed(&client_preface(&[]));
    run(&mut conn).1.unwrap();
    assert_eq!(conn.next_deadline(), Some(T0 + Duration::from_secs(30)));
    conn.handle_timeout(T0 + Duration::from_secs(30));
    assert!(matches!(
        conn.poll_event(),
        Err(H2Error::Connection {
            code: ErrorCode::SettingsTimeout,
            ..
        })
    ));
}

#[test]
fn graceful_shutdown_lets_open_streams_finish() {
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    conn.shutdown();
    conn.feed(&get(3));
    let (events, _) = run(&mut conn);
    assert!(requests(&events).is_empty());
    conn.send_headers(1, 204, &[], true).unwrap();
    conn.finish_stream(1);
    assert_eq!(conn.poll_event().unwrap(), H2Event::Closed);
    assert_eq!(goaway_code(&output(&mut conn)), Some(ErrorCode::NoError));
}

use rcorn_core::http::h2::H2Connection;

#[test]
fn late_trailers_on_a_stream_we_reset_are_ignored_but_headers_on_a_closed_one_are_not() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    run(&mut conn).1.unwrap();
    // Answered without reading the body: RST_STREAM NO_ERROR.
    conn.send_headers(1, 204, &[], true).unwrap();
    conn.finish_stream(1);
    assert!(output(&mut conn).contains(&Out::Rst {
        stream: 1,
        code: ErrorCode::NoError
    }));
    let mut trailer = Vec::new();
    rcorn_core::http::h2::hpack::encode_field(b"x-late", b"1", &mut trailer);
    conn.feed(&data(1, b"late body", false));
    conn.feed(&headers(1, &trailer, true));
    run(&mut conn).1.unwrap();
    // A stream that closed normally is another matter.
    conn.feed(&get(3));
    run(&mut conn).1.unwrap();
    conn.send_headers(3, 204, &[], true).unwrap();
    conn.finish_stream(3);
    conn.feed(&get(3));
    let result = run(&mut conn).1;
    assert!(
        matches!(
            result,
            Err(H2Error::Connection {
                code: ErrorCode::StreamClosed,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn an_idle_connection_is_closed_gracefully_after_keepalive() {
    let mut conn = connected(H2Config {
        idle_timeout: Some(Duration::from_secs(2)),
        ..H2Config::default()
    });
    conn.await_peer(T0);
    assert_eq!(conn.next_deadline(), Some(T0 + Duration::from_secs(2)));
    // A request in time cancels it.
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    assert_eq!(conn.next_deadline(), None);
    conn.send_headers(1, 204, &[], true).unwrap();
    conn.finish_stream(1);
    let later = T0 + Duration::from_secs(10);
    conn.await_peer(later);
    conn.handle_timeout(later + Duration::from_secs(2));
    assert_eq!(conn.poll_event().unwrap(), H2Event::Closed);
    assert_eq!(goaway_code(&output(&mut conn)), Some(ErrorCode::NoError));
}

#[test]
fn the_config_comes_from_gunicorns_settings() {
    use rcorn_core::config::{Settings, Source};
    assert_eq!(
        H2Config::from_settings(&Settings::defaults()),
        H2Config::default()
    );
    let mut s = Settings::defaults();
    for (name, value) in [
        ("http2_max_concurrent_streams", "7"),
        ("http2_initial_window_size", "1000"),
        ("http2_max_frame_size", "32768"),
        ("http2_max_header_list_size", "0"),
        ("timeout", "0"),
        ("keepalive", "5"),
    ] {
        s.set_from_str(name, value, Source::CommandLine).unwrap();
    }
    let c = H2Config::from_settings(&s);
    assert_eq!(
        (
            c.max_concurrent_streams,
            c.initial_window_size,
            c.max_frame_size
        ),
        (7, 1000, 32768)
    );
    assert_eq!(c.max_header_list_size, 0);
    assert_eq!(c.stall_timeout, None);
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(5)));
}

#[test]
fn a_handler_waiting_too_long_for_body_bytes_has_its_stream_reset() {
    let config = H2Config {
        stall_timeout: Some(Duration::from_secs(5)),
        ..H2Config::default()
    };
    let mut conn = connected(config);
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    run(&mut conn).1.unwrap();
    let mut body = Vec::new();
    assert_eq!(
        conn.read_body(1, &mut body, 100).unwrap(),
        BodyRead::Pending
    );
    conn.await_peer(T0);
    assert_eq!(conn.next_deadline(), Some(T0 + Duration::from_secs(5)));
    // Bytes in time start the wait again.
    conn.feed(&data(1, b"a", false));
    run(&mut conn).1.unwrap();
    assert_eq!(conn.next_deadline(), None);
    conn.read_body(1, &mut body, 100).unwrap();
    assert_eq!(
        conn.read_body(1, &mut body, 100).unwrap(),
        BodyRead::Pending
    );
    let later = T0 + Duration::from_secs(4);
    conn.await_peer(later);
    conn.handle_timeout(later + Duration::from_secs(5));
    assert_eq!(
        run(&mut conn).0,
        vec![
            H2Event::Reset {
                stream: 1,
                code: ErrorCode::Cancel
            },
            H2Event::NeedData
        ]
    );
    assert_eq!(
        conn.read_body(1, &mut body, 100),
        Err(rcorn_core::http::h2::AppError::StreamReset)
    );
    conn.finish_stream(1);
    assert_eq!(conn.stream_count(), 0);
}

#[test]
fn early_hints_come_before_the_response_and_mistakes_change_nothing() {
    use rcorn_core::http::h2::AppError;
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    assert_eq!(conn.send_data(T0, 1, b"x", false), Err(AppError::NoHeaders));
    assert_eq!(
        conn.send_headers(1, 103, &[], true),
        Err(AppError::BadStatus)
    );
    assert_eq!(
        conn.send_headers(1, 200, &[(b"bad name", b"v")], false),
        Err(AppError::BadHeader)
    );
    conn.send_headers(1, 103, &[(b"Link", b"</a.css>; rel=preload")], false)
        .unwrap();
    conn.send_headers(1, 200, &[], false).unwrap();
    assert_eq!(
        conn.send_headers(1, 200, &[], false),
        Err(AppError::HeadersSent)
    );
    conn.send_data(T0, 1, b"", true).unwrap();
    assert_eq!(conn.send_data(T0, 1, b"x", true), Err(AppError::Ended));
    conn.finish_stream(1);
    assert_eq!(
        conn.send_data(T0, 1, b"x", true),
        Err(AppError::UnknownStream)
    );
    let frames = output(&mut conn);
    let statuses: Vec<&str> = frames
        .iter()
        .filter_map(|f| match f {
            Out::Headers { fields, .. } => Some(fields[0].1.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, ["103", "200"]);
    assert_eq!(
        frames.last(),
        Some(&Out::Data {
            stream: 1,
            len: 0,
            end_stream: true
        })
    );
}

#[test]
fn after_a_connection_error_the_application_is_told_its_stream_is_gone() {
    use rcorn_core::http::h2::AppError;
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    conn.feed(&raw_frame(
        kind::PUSH_PROMISE,
        flag::END_HEADERS,
        1,
        &[0, 0, 0, 2],
    ));
    let (events, result) = run(&mut conn);
    assert_eq!(requests(&events), vec![1]);
    assert!(matches!(
        result,
        Err(H2Error::Connection {
            code: ErrorCode::ProtocolError,
            ..
        })
    ));
    assert_eq!(
        conn.send_headers(1, 200, &[], true),
        Err(AppError::StreamReset)
    );
    conn.finish_stream(1);
    let frames = output(&mut conn);
    assert_eq!(
        frames.last(),
        Some(&Out::GoAway {
            code: ErrorCode::ProtocolError
        })
    );
}

#[test]
fn a_block_split_over_continuations_is_the_same_request_as_one_whole() {
    let block = request_block("GET", "/split?x=1", &[("user-agent", "test"), ("x-a", "b")]);
    let whole = {
        let mut conn = connected(H2Config::default());
        conn.feed(&headers(1, &block, true));
        run(&mut conn).0
    };
    let mut conn = connected(H2Config::default());
    let (first, rest) = block.split_at(5);
    let (middle, last) = rest.split_at(rest.len() / 2);
    conn.feed(&raw_frame(kind::HEADERS, flag::END_STREAM, 1, first));
    conn.feed(&raw_frame(kind::CONTINUATION, 0, 1, middle));
    conn.feed(&raw_frame(kind::CONTINUATION, flag::END_HEADERS, 1, last));
    let (split, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(requests(&split), vec![1]);
    assert_eq!(split, whole);
}

#[test]
fn a_head_encoded_ahead_goes_out_as_send_headers_would_send_it() {
    use rcorn_core::http::h2::{encode_response_field, AppError};
    let fields: [(&[u8], &[u8]); 3] = [
        (b"Content-Type", b"text/plain"),
        (b"keep-alive", b"timeout=5"),
        (b"x-custom", b"1"),
    ];
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    conn.feed(&get(3));
    run(&mut conn).1.unwrap();
    conn.send_headers(1, 200, &fields, true).unwrap();
    let mut block = Vec::new();
    for (name, value) in fields {
        encode_response_field(name, value, &mut block).unwrap();
    }
    conn.send_encoded_headers(3, 200, &block, true).unwrap();
    let heads: Vec<_> = output(&mut conn)
        .into_iter()
        .filter_map(|frame| match frame {
            Out::Headers { stream, fields, .. } => Some((stream, fields)),
            _ => None,
        })
        .collect();
    assert_eq!(heads.len(), 2);
    assert_eq!(heads[0].1, heads[1].1);
    assert_eq!(
        heads[1].1,
        [
            (":status".into(), "200".into()),
            ("content-type".into(), "text/plain".into()),
            ("x-custom".into(), "1".into())
        ]
    );
    // A field HTTP/2 cannot carry is refused as it is encoded.
    assert_eq!(
        encode_response_field(b"x-bad", b"a\nb", &mut block),
        Err(AppError::BadHeader)
    );
    assert_eq!(
        encode_response_field(b"bad name", b"v", &mut block),
        Err(AppError::BadHeader)
    );
    // The stream's head is sent once, whichever way it came.
    assert!(conn.send_encoded_headers(3, 200, &block, true).is_err());
}

/// HEADERS with the PRIORITY flag: 4 bytes of dependency (the top bit
/// exclusive), a weight byte, then the block.
fn prioritised_get(stream: u32, depends_on: u32, exclusive: bool, weight_byte: u8) -> Vec<u8> {
    let mut payload = (depends_on | if exclusive { 1 << 31 } else { 0 })
        .to_be_bytes()
        .to_vec();
    payload.push(weight_byte);
    payload.extend_from_slice(&request_block("GET", "/", &[]));
    raw_frame(
        kind::HEADERS,
        flag::END_STREAM | flag::END_HEADERS | flag::PRIORITY,
        stream,
        &payload,
    )
}

#[test]
fn a_request_carries_its_headers_priority_or_the_default() {
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    conn.feed(&prioritised_get(3, 1, true, 200));
    conn.feed(&prioritised_get(5, 0, false, 0));
    let (events, result) = run(&mut conn);
    result.unwrap();
    let priorities: Vec<(u32, u16, u32)> = events
        .iter()
        .filter_map(|e| match e {
            H2Event::Request { stream, request } => Some((
                *stream,
                request.priority.weight,
                request.priority.depends_on,
            )),
            _ => None,
        })
        .collect();
    // The exclusive bit is not part of the dependency; the weight is the
    // byte plus one.
    assert_eq!(priorities, vec![(1, 16, 0), (3, 201, 1), (5, 1, 0)]);
}

#[test]
fn a_stream_depending_on_itself_is_reset_and_the_next_is_served() {
    let mut conn = connected(H2Config::default());
    conn.feed(&prioritised_get(1, 1, false, 15));
    conn.feed(&get(3));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(requests(&events), vec![3]);
    let frames = output(&mut conn);
    assert!(
        frames.contains(&Out::Rst {
            stream: 1,
            code: ErrorCode::ProtocolError
        }),
        "{frames:?}"
    );
}
