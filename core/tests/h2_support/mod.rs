//! A scripted HTTP/2 client for tests of the server machine: frames built
//! by hand (so hostile sequences are easy), the machine driven to rest,
//! and the server's output parsed back into frames.
#![allow(dead_code)]

use rcorn_core::http::h2::frame::{self, kind, Frame};
use rcorn_core::http::h2::hpack;
use rcorn_core::http::h2::{ErrorCode, H2Config, H2Connection, H2Error, H2Event};
use rcorn_core::time::Instant;

pub const T0: Instant = Instant::ZERO;

pub fn client_preface(settings: &[(u16, u32)]) -> Vec<u8> {
    let mut out = frame::PREFACE.to_vec();
    frame::write_settings(&mut out, settings);
    out
}

pub fn request_block(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (n, v) in [
        (":method", method),
        (":scheme", "http"),
        (":path", path),
        (":authority", "test"),
    ] {
        hpack::encode_field(n.as_bytes(), v.as_bytes(), &mut block);
    }
    for (n, v) in extra {
        hpack::encode_field(n.as_bytes(), v.as_bytes(), &mut block);
    }
    block
}

pub fn headers(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let mut out = Vec::new();
    frame::write_headers(&mut out, stream, block, end_stream, 16_384);
    out
}

pub fn get(stream: u32) -> Vec<u8> {
    headers(stream, &request_block("GET", "/", &[]), true)
}

pub fn data(stream: u32, bytes: &[u8], end_stream: bool) -> Vec<u8> {
    let mut out = Vec::new();
    frame::write_data(&mut out, stream, bytes, end_stream, 16_384);
    out
}

pub fn raw_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::write_header(&mut out, payload.len(), kind, flags, stream);
    out.extend_from_slice(payload);
    out
}

pub fn rst(stream: u32) -> Vec<u8> {
    let mut out = Vec::new();
    frame::write_rst_stream(&mut out, stream, ErrorCode::Cancel);
    out
}

pub fn ping() -> Vec<u8> {
    raw_frame(kind::PING, 0, 0, &[1; 8])
}

pub fn settings_ack() -> Vec<u8> {
    raw_frame(kind::SETTINGS, frame::flag::ACK, 0, &[])
}

/// A frame of the server's output, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Settings {
        ack: bool,
    },
    WindowUpdate {
        stream: u32,
        increment: u32,
    },
    Headers {
        stream: u32,
        end_stream: bool,
        fields: Vec<(String, String)>,
    },
    Data {
        stream: u32,
        len: usize,
        end_stream: bool,
    },
    Rst {
        stream: u32,
        code: ErrorCode,
    },
    Ping,
    GoAway {
        code: ErrorCode,
    },
    Other,
}

pub fn parse_output(mut bytes: &[u8]) -> Vec<Out> {
    let mut frames = Vec::new();
    let mut decoder = hpack::Decoder::new(4096);
    let mut block: Option<(u32, bool, Vec<u8>)> = None;
    while let Some((f, used)) =
        frame::parse(bytes, frame::MAX_MAX_FRAME_SIZE).expect("server frames parse")
    {
        bytes = &bytes[used..];
        let mut finish = |stream, end_stream, b: &[u8]| {
            let mut fields = Vec::new();
            decoder
                .decode(b, usize::MAX, |n, v| {
                    fields.push((
                        String::from_utf8_lossy(n).into(),
                        String::from_utf8_lossy(v).into(),
                    ))
                })
                .expect("server HPACK decodes");
            Out::Headers {
                stream,
                end_stream,
                fields,
            }
        };
        frames.push(match f {
            Frame::Settings { ack, .. } => Out::Settings { ack },
            Frame::WindowUpdate { stream, increment } => Out::WindowUpdate { stream, increment },
            Frame::Headers {
                stream,
                end_stream,
                end_headers: true,
                fragment,
                ..
            } => finish(stream, end_stream, fragment),
            Frame::Headers {
                stream,
                end_stream,
                fragment,
                ..
            } => {
                block = Some((stream, end_stream, fragment.to_vec()));
                continue;
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => {
                let (stream, end_stream, mut b) = block.take().expect("CONTINUATION after HEADERS");
                b.extend_from_slice(fragment);
                if !end_headers {
                    block = Some((stream, end_stream, b));
                    continue;
                }
                finish(stream, end_stream, &b)
            }
            Frame::Data {
                stream,
                data,
                end_stream,
                ..
            } => Out::Data {
                stream,
                len: data.len(),
                end_stream,
            },
            Frame::RstStream { stream, code } => Out::Rst { stream, code },
            Frame::Ping { .. } => Out::Ping,
            Frame::GoAway { code, .. } => Out::GoAway { code },
            _ => Out::Other,
        });
    }
    assert!(bytes.is_empty(), "a partial frame at the end of the output");
    frames
}

/// A connection past the handshake (preface, SETTINGS both ways, ACK).
pub fn connected(config: H2Config) -> H2Connection {
    let mut conn = H2Connection::new(config, T0);
    conn.feed(&client_preface(&[]));
    conn.feed(&settings_ack());
    let (events, result) = run(&mut conn);
    assert_eq!(events, vec![H2Event::NeedData]);
    assert!(result.is_ok());
    conn.poll_transmit(&mut Vec::new());
    conn
}

/// Polls until the machine rests; the events seen (the resting one
/// last), and the error if it ended on one.
pub fn run(conn: &mut H2Connection) -> (Vec<H2Event>, Result<(), H2Error>) {
    let mut events = Vec::new();
    loop {
        match conn.poll_event() {
            Ok(e @ (H2Event::NeedData | H2Event::Blocked | H2Event::Closed | H2Event::Paused)) => {
                events.push(e);
                return (events, Ok(()));
            }
            Ok(e) => events.push(e),
            Err(e) => return (events, Err(e)),
        }
    }
}

pub fn output(conn: &mut H2Connection) -> Vec<Out> {
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    parse_output(&out)
}

pub fn goaway_code(frames: &[Out]) -> Option<ErrorCode> {
    frames.iter().find_map(|f| match f {
        Out::GoAway { code } => Some(*code),
        _ => None,
    })
}
