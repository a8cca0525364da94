//! The HTTP/2 server machine as a worker drives it, on any client bytes:
//! no panic, bounded state, well-formed output, sticky errors.
//!
//! Input: byte 0 chooses the set-up (bit 0: the bytes start after a valid
//! preface, SETTINGS and ACK, so the fuzzer reaches deeper; bit 1: tiny
//! limits; bit 2: the application reads bodies; bit 3: it answers with a
//! large body); byte 1: the size of the pieces the bytes arrive in; the
//! rest: what the client sent.

use std::time::Duration;

use rcorn_core::http::h2::frame::{self, Frame};
use rcorn_core::http::h2::{BodyRead, ErrorCode, H2Config, H2Connection, H2Event};
use rcorn_core::time::Instant;

fn config(tiny: bool) -> H2Config {
    if !tiny {
        return H2Config::default();
    }
    H2Config {
        max_concurrent_streams: 4,
        initial_window_size: 100,
        max_header_list_size: 200,
        reset_budget: 10,
        max_header_block: 1000,
        max_empty_frames: 5,
        max_pending_output: 512,
        ..H2Config::default()
    }
}

/// A body larger than a frame and than a tiny window.
static BIG: [u8; 40_000] = [7; 40_000];

/// What the model application does on each event.
fn act(conn: &mut H2Connection, event: &H2Event, read: bool, big: bool, now: Instant) {
    match *event {
        H2Event::Request {
            stream,
            ref request,
        } if request.end_stream || !read => {
            let _ = conn.send_headers(stream, 200, &[(b"x-a", b"b")], false);
            let body: &[u8] = if big { &BIG } else { b"ok" };
            if conn.send_data(now, stream, body, true) == Ok(body.len()) {
                conn.finish_stream(stream);
            }
        }
        H2Event::Readable { stream } if read => {
            let mut body = Vec::new();
            while let Ok(BodyRead::Data(_)) = conn.read_body(stream, &mut body, 1000) {}
            if let Ok(BodyRead::End) = conn.read_body(stream, &mut body, 1000) {
                let _ = conn.send_headers(stream, 204, &[], true);
                conn.finish_stream(stream);
            }
        }
        // The rest of a large body is not kept: a smaller one ends it.
        H2Event::Writable { stream }
            if conn.send_data(now, stream, &[1; 5000], true) == Ok(5000) =>
        {
            conn.finish_stream(stream)
        }
        H2Event::Reset { stream, .. } => conn.finish_stream(stream),
        _ => {}
    }
}

pub fn check_h2_connection(data: &[u8]) {
    let (Some(&setup), Some(&piece)) = (data.first(), data.get(1)) else {
        return;
    };
    let cfg = config(setup & 2 != 0);
    let (read, big) = (setup & 4 != 0, setup & 8 != 0);
    let mut input = Vec::new();
    if setup & 1 != 0 {
        input.extend_from_slice(frame::PREFACE);
        frame::write_settings(&mut input, &[]);
        frame::write_header(&mut input, 0, frame::kind::SETTINGS, frame::flag::ACK, 0);
    }
    input.extend_from_slice(&data[2..]);
    let piece = usize::from(piece) + 1;
    let now = Instant::ZERO;
    let mut conn = H2Connection::new(cfg.clone(), now);
    let mut out = OutputCheck::default();
    let mut fed = 0;
    let mut error = None;
    while error.is_none() {
        if conn.wants_read() && fed < input.len() {
            let end = (fed + piece).min(input.len());
            conn.feed(&input[fed..end]);
            fed = end;
        } else if fed == input.len() {
            conn.feed_eof();
        }
        let resting = loop {
            match conn.poll_event() {
                Ok(
                    event @ (H2Event::NeedData
                    | H2Event::Blocked
                    | H2Event::Closed
                    | H2Event::Paused),
                ) => break event,
                Ok(event) => act(&mut conn, &event, read, big, now),
                Err(e) => {
                    error = Some(e);
                    break H2Event::Closed;
                }
            }
            assert!(conn.stream_count() <= cfg.max_concurrent_streams as usize);
        };
        let backlog = conn.pending_output().len();
        assert!(
            backlog <= cfg.max_pending_output + 32 * 1024,
            "output backlog {backlog}"
        );
        out.take(&mut conn);
        if matches!(resting, H2Event::Closed | H2Event::Paused) {
            break;
        }
    }
    if let Some(e) = &error {
        assert_eq!(conn.poll_event().as_ref(), Err(e), "errors are sticky");
    } else {
        conn.handle_timeout(now + Duration::from_secs(3600));
        while let Ok(event) = conn.poll_event() {
            if matches!(
                event,
                H2Event::NeedData | H2Event::Blocked | H2Event::Closed | H2Event::Paused
            ) {
                break;
            }
            act(&mut conn, &event, read, big, now);
        }
        assert!(
            conn.next_deadline()
                .is_none_or(|d| d > now + Duration::from_secs(3600))
                || conn.error().is_some()
        );
    }
    out.take(&mut conn);
    assert!(out.partial.is_empty(), "the server writes whole frames");
}

/// The output, checked as it is written: frames that parse, and nothing
/// after a GOAWAY for an error. Only a partial frame is kept, so the
/// check's own memory stays small.
#[derive(Default)]
struct OutputCheck {
    partial: Vec<u8>,
    failed: bool,
}

impl OutputCheck {
    fn take(&mut self, conn: &mut H2Connection) {
        self.partial.extend_from_slice(conn.pending_output());
        let n = conn.pending_output().len();
        conn.consume_output(n);
        let mut at = 0;
        while let Some((f, used)) = frame::parse(&self.partial[at..], frame::MAX_MAX_FRAME_SIZE)
            .expect("the server's frames parse")
        {
            assert!(!self.failed, "a frame after GOAWAY for an error: {f:?}");
            if let Frame::GoAway { code, .. } = f {
                self.failed = code != ErrorCode::NoError;
            }
            at += used;
        }
        self.partial.drain(..at);
    }
}
