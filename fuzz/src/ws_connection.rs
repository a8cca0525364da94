//! The WebSocket machine on arbitrary client bytes: byte 0 chooses
//! permessage-deflate (bit 0) and a small message limit (bit 1), byte 1
//! the piece size the rest arrives in. Checked: no panic; the same
//! messages, outcome and output whole and in pieces; text messages are
//! UTF-8; the output is well-formed server frames (unmasked, control
//! frames at most 125 bytes, a close code that may be on the wire) with
//! nothing after a close.

use rcorn_core::time::Instant;
use rcorn_core::ws::{close_code_is_valid, negotiate, Message, WsConfig, WsConnection};

type Run = (Vec<Message>, Option<(u16, String)>, Vec<u8>);

fn run(data: &[u8], deflate: bool, max_size: usize, piece: usize) -> Run {
    let params = deflate.then(|| negotiate("permessage-deflate").expect("a valid offer"));
    let cfg = WsConfig {
        max_size,
        ..WsConfig::default()
    };
    let mut c = WsConnection::new(cfg, params, Instant::ZERO);
    let mut out = Vec::new();
    let mut messages = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        c.feed(chunk, Instant::ZERO, &mut out);
        while let Some(m) = c.poll_message() {
            messages.push(m);
        }
    }
    // Asked past the last message: a failure's held close goes now.
    let outcome = c.disconnect(&mut out).map(|(code, r)| (code, r.to_owned()));
    (messages, outcome, out)
}

/// Parses the server's output back; panics on anything malformed.
fn check_output(mut out: &[u8]) {
    let mut closed = false;
    while !out.is_empty() {
        assert!(!closed, "a frame after the close");
        assert!(out.len() >= 2);
        assert_eq!(out[1] & 0x80, 0, "server frames are never masked");
        let opcode = out[0] & 0x0f;
        let (len, at) = match out[1] & 0x7f {
            126 => (u16::from_be_bytes([out[2], out[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(out[2..10].try_into().expect("8 bytes")) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let payload = &out[at..at + len];
        if opcode >= 8 {
            assert!(len <= 125, "a control frame past 125 bytes");
        }
        if opcode == 8 {
            closed = true;
            assert_ne!(len, 1);
            if len >= 2 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                assert!(close_code_is_valid(code), "close code {code} on the wire");
            }
        }
        out = &out[at + len..];
    }
}

pub fn check_ws_connection(data: &[u8]) {
    let [flags, piece, rest @ ..] = data else {
        return;
    };
    let deflate = flags & 1 != 0;
    let max_size = if flags & 2 != 0 { 64 } else { 1 << 20 };
    let whole = run(rest, deflate, max_size, rest.len());
    let pieces = run(rest, deflate, max_size, usize::from(*piece));
    assert_eq!(
        whole, pieces,
        "the result depends on how the bytes were split"
    );
    for m in &whole.0 {
        let len = match m {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        };
        assert!(len <= max_size, "a message past the limit");
    }
    check_output(&whole.2);
}
