//! RFC 9113 rules the conformance run (tests/e2e/test_h2_conformance.py)
//! found the machine breaking, each pinned here with a scripted client:
//! frames on closed streams (§5.1, §6.1), a client's GOAWAY (§6.8), and a
//! Host that differs from `:authority` (§8.3.1). Also h2spec's HPACK
//! cases (RFC 7541), which that run does not have.

mod h2_support;

use h2_support::*;
use rcorn_core::http::h2::frame::kind;
use rcorn_core::http::h2::{ErrorCode, H2Config, H2Connection, H2Event};

/// Stream 1 as a POST whose handler reads its whole (empty) body and
/// answers: closed on both sides, the handler finished.
fn served_post(conn: &mut H2Connection) {
    conn.feed(&headers(1, &request_block("POST", "/", &[]), true));
    run(conn).1.unwrap();
    conn.send_headers(1, 204, &[], true).unwrap();
    conn.finish_stream(1);
    output(conn);
    assert_eq!(conn.stream_count(), 0);
}

fn resets(frames: &[Out]) -> Vec<(u32, ErrorCode)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Out::Rst { stream, code } => Some((*stream, *code)),
            _ => None,
        })
        .collect()
}

#[test]
fn data_on_a_stream_the_client_ended_is_stream_closed() {
    // While the handler still runs (half-closed remote) ...
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), true));
    run(&mut conn).1.unwrap();
    output(&mut conn);
    conn.feed(&data(1, b"test", true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::StreamClosed)]);
    // ... and once it is closed and forgotten.
    let mut conn = connected(H2Config::default());
    served_post(&mut conn);
    conn.feed(&data(1, b"test", true));
    let (_, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::StreamClosed)]);
    // One reset answers the stream: what follows on it is ignored.
    conn.feed(&data(1, b"more", true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), []);
}

#[test]
fn frames_after_the_clients_rst_stream_are_stream_closed() {
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    conn.feed(&rst(1));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(events.contains(&H2Event::Reset {
        stream: 1,
        code: ErrorCode::Cancel
    }));
    output(&mut conn);
    // The handler has not finished: the stream is still in the table.
    conn.feed(&data(1, b"test", true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::StreamClosed)]);
    let mut conn = connected(H2Config::default());
    conn.feed(&headers(1, &request_block("POST", "/", &[]), false));
    conn.feed(&rst(1));
    run(&mut conn).1.unwrap();
    output(&mut conn);
    conn.feed(&headers(1, &request_block("POST", "/", &[]), true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::StreamClosed)]);
}

#[test]
fn frames_after_our_rst_stream_are_ignored() {
    // Reset for a bad body while the handler still holds the stream.
    let mut conn = connected(H2Config::default());
    let block = request_block("POST", "/", &[("content-length", "2")]);
    conn.feed(&headers(1, &block, false));
    conn.feed(&data(1, b"abc", false));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::ProtocolError)]);
    conn.feed(&data(1, b"in flight", true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), []);
    // Answered without reading the body: reset (NO_ERROR) and forgotten.
    conn.feed(&headers(3, &request_block("POST", "/", &[]), false));
    run(&mut conn).1.unwrap();
    conn.send_headers(3, 204, &[], true).unwrap();
    conn.finish_stream(3);
    assert_eq!(resets(&output(&mut conn)), [(3, ErrorCode::NoError)]);
    conn.feed(&data(3, b"in flight", true));
    run(&mut conn).1.unwrap();
    assert_eq!(resets(&output(&mut conn)), []);
}

#[test]
fn a_clients_goaway_does_not_close_the_connection() {
    let mut conn = connected(H2Config::default());
    let mut goaway = 0u32.to_be_bytes().to_vec();
    goaway.extend_from_slice(&0xffu32.to_be_bytes());
    conn.feed(&raw_frame(kind::GOAWAY, 0, 0, &goaway));
    conn.feed(&ping());
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(events, [H2Event::NeedData]);
    assert_eq!(output(&mut conn), [Out::Ping]);
    // The client closing is what ends it.
    conn.feed_eof();
    assert_eq!(run(&mut conn).0.last(), Some(&H2Event::Closed));
}

#[test]
fn a_host_that_differs_from_authority_is_malformed() {
    let mut conn = connected(H2Config::default());
    let block = request_block("GET", "/", &[("host", "other.example")]);
    conn.feed(&headers(1, &block, true));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert_eq!(events, [H2Event::NeedData]);
    assert_eq!(resets(&output(&mut conn)), [(1, ErrorCode::ProtocolError)]);
    // The same name in other letters is the same host.
    let block = request_block("GET", "/", &[("host", "TEST")]);
    conn.feed(&headers(3, &block, true));
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(matches!(events[0], H2Event::Request { stream: 3, .. }));
}

/// h2spec's HPACK cases (RFC 7541): each block ends the connection with
/// COMPRESSION_ERROR, whether the bad part comes first or after fields.
#[test]
fn malformed_hpack_is_a_compression_error() {
    let literal = |value: &[u8]| [&[0x00, 0x01, b'x'], value].concat();
    let bad: [(&str, Vec<u8>); 8] = [
        ("indexed field 0 (§6.1)", vec![0x80]),
        ("index past both tables (§2.3.3)", vec![0xbe]),
        (
            "literal's name index past both tables",
            vec![0x7e, 0x01, b'a'],
        ),
        (
            "table size update past our setting (§4.2)",
            vec![0x3f, 0xe2, 0x1f],
        ),
        ("table size update after a field (§4.2)", vec![0x82, 0x20]),
        (
            "Huffman string holding EOS (§5.2)",
            literal(&[0x84, 0xff, 0xff, 0xff, 0xff]),
        ),
        (
            "Huffman padding over 7 bits (§5.2)",
            literal(&[0x82, 0x1f, 0xff]),
        ),
        (
            "Huffman padding not EOS's ones (§5.2)",
            literal(&[0x81, 0x18]),
        ),
    ];
    for (case, tail) in bad {
        for lead in [Vec::new(), request_block("GET", "/", &[])] {
            let mut conn = connected(H2Config::default());
            conn.feed(&headers(1, &[lead, tail.clone()].concat(), true));
            let result = run(&mut conn).1;
            assert!(
                matches!(
                    result,
                    Err(rcorn_core::http::h2::H2Error::Connection {
                        code: ErrorCode::CompressionError,
                        ..
                    })
                ),
                "{case}: {result:?}"
            );
            assert_eq!(
                goaway_code(&output(&mut conn)),
                Some(ErrorCode::CompressionError),
                "{case}"
            );
        }
    }
}

/// Found by the run's teardown: a client that set its window to 1 and
/// hung up left the handler waiting `stall_timeout` for credit, and the
/// worker's graceful shutdown with it.
#[test]
fn after_the_clients_eof_a_response_short_of_credit_is_reset_at_once() {
    use rcorn_core::http::h2::frame::setting;
    use rcorn_core::http::h2::AppError;
    let mut conn = H2Connection::new(H2Config::default(), T0);
    conn.feed(&client_preface(&[(setting::INITIAL_WINDOW_SIZE, 1)]));
    conn.feed(&settings_ack());
    conn.feed(&get(1));
    conn.feed(&get(3));
    run(&mut conn).1.unwrap();
    // Stream 1 stalls for credit before the EOF, stream 3 after it.
    conn.send_headers(1, 200, &[], false).unwrap();
    assert_eq!(conn.send_data(T0, 1, b"hello", true).unwrap(), 1);
    conn.send_headers(3, 200, &[], false).unwrap();
    conn.feed_eof();
    let (events, result) = run(&mut conn);
    result.unwrap();
    assert!(
        events.contains(&H2Event::Reset {
            stream: 1,
            code: ErrorCode::Cancel
        }),
        "{events:?}"
    );
    assert_eq!(conn.send_data(T0, 3, b"x", false), Ok(1));
    assert_eq!(
        conn.send_data(T0, 3, b"hello", true),
        Err(AppError::StreamReset)
    );
    conn.finish_stream(1);
    conn.finish_stream(3);
    assert_eq!(run(&mut conn).0.last(), Some(&H2Event::Closed));
}

/// A frame that is a stream error by its shape alone (a PRIORITY not 5
/// bytes long, §6.3) is answered once: it used to stay unread, be found
/// again and again, and spend the whole reset budget (200 RST_STREAMs,
/// then GOAWAY ENHANCE_YOUR_CALM).
#[test]
fn a_malformed_priority_resets_its_stream_once() {
    let mut conn = connected(H2Config::default());
    conn.feed(&get(1));
    run(&mut conn).1.unwrap();
    conn.feed(&raw_frame(kind::PRIORITY, 0, 1, &[0x80, 0, 0, 1]));
    conn.feed(&ping());
    run(&mut conn).1.unwrap();
    let frames = output(&mut conn);
    assert_eq!(resets(&frames), [(1, ErrorCode::FrameSizeError)]);
    assert_eq!(goaway_code(&frames), None);
    assert!(frames.contains(&Out::Ping), "{frames:?}");
}
