//! HTTP/2 frames (RFC 9113 §4, §6): parsing one frame from the front of a
//! buffer, and writing each kind the server sends.
//!
//! Rules kept here, before any stream state is looked at:
//! - a frame longer than our `SETTINGS_MAX_FRAME_SIZE` is a connection
//!   `FRAME_SIZE_ERROR` (§4.2), found from its 9-byte header alone, so an
//!   oversized frame is refused before its payload is buffered;
//! - each type's fixed payload length and stream-0 rule (§6) is checked;
//! - padding longer than the payload is a connection `PROTOCOL_ERROR`;
//! - the parse is a pure function of the buffer, so it finds the same
//!   frames however the bytes were split.

use super::error::{conn_err, stream_err, ErrorCode, H2Error};
use super::stream::Priority;

pub const HEADER_LEN: usize = 9;
/// RFC 9113 §4.2: the smallest maximum frame size, and the largest.
pub const MIN_MAX_FRAME_SIZE: u32 = 16_384;
pub const MAX_MAX_FRAME_SIZE: u32 = 16_777_215;
/// The largest flow-control window (§6.9.1).
pub const MAX_WINDOW: i64 = (1 << 31) - 1;
/// The client connection preface (§3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// SETTINGS identifiers (§6.5.2).
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
}

/// One parsed frame, borrowing its payload from the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `flow_len` is the whole payload, padding included: what it costs
    /// in flow control (§6.9).
    Data {
        stream: u32,
        end_stream: bool,
        data: &'a [u8],
        flow_len: u32,
    },
    Headers {
        stream: u32,
        end_stream: bool,
        end_headers: bool,
        /// The stream's priority, if the priority flag is set.
        priority: Option<Priority>,
        fragment: &'a [u8],
    },
    Priority {
        stream: u32,
        priority: Priority,
    },
    RstStream {
        stream: u32,
        code: ErrorCode,
    },
    /// `params` holds whole 6-byte entries; read with [`settings_params`].
    Settings {
        ack: bool,
        params: &'a [u8],
    },
    PushPromise {
        stream: u32,
    },
    Ping {
        ack: bool,
        data: [u8; 8],
    },
    GoAway {
        last_stream: u32,
        code: ErrorCode,
        debug: &'a [u8],
    },
    WindowUpdate {
        stream: u32,
        increment: u32,
    },
    Continuation {
        stream: u32,
        end_headers: bool,
        fragment: &'a [u8],
    },
    /// A type this side does not know: ignored (§5.5), except inside a
    /// header block.
    Unknown {
        kind: u8,
        stream: u32,
    },
}

/// The (identifier, value) pairs of a SETTINGS payload.
pub fn settings_params(params: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    params.chunks_exact(6).map(|p| {
        (
            u16::from_be_bytes([p[0], p[1]]),
            u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
        )
    })
}

fn be24(b: &[u8]) -> u32 {
    (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2])
}

/// The 5 priority bytes (§6.3): the exclusive bit is dropped with the
/// dependency's top bit; the weight byte is one less than the weight.
fn priority_fields(b: &[u8]) -> Priority {
    Priority {
        depends_on: be31(b),
        weight: u16::from(b[4]) + 1,
    }
}

fn be31(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff
}

/// The payload length a frame header announces, once 9 bytes are here:
/// lets the caller refuse or size a read before the payload arrives.
pub fn announced_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= HEADER_LEN).then(|| be24(buf) as usize)
}

/// Parses the frame at the front of `buf`: `Ok(None)` while it is
/// incomplete, else the frame and how many bytes it took.
pub fn parse(buf: &[u8], max_frame_size: u32) -> Result<Option<(Frame<'_>, usize)>, H2Error> {
    let Some(len) = announced_len(buf) else {
        return Ok(None);
    };
    if len > max_frame_size as usize {
        return conn_err(
            ErrorCode::FrameSizeError,
            "frame larger than SETTINGS_MAX_FRAME_SIZE",
        );
    }
    if buf.len() < HEADER_LEN + len {
        return Ok(None);
    }
    let (kind, flags, stream) = (buf[3], buf[4], be31(&buf[5..9]));
    let payload = &buf[HEADER_LEN..HEADER_LEN + len];
    let frame = parse_payload(kind, flags, stream, payload)?;
    Ok(Some((frame, HEADER_LEN + len)))
}

fn parse_payload(kind: u8, flags: u8, stream: u32, p: &[u8]) -> Result<Frame<'_>, H2Error> {
    let on_stream = |detail| {
        if stream == 0 {
            conn_err(ErrorCode::ProtocolError, detail)
        } else {
            Ok(())
        }
    };
    let on_connection = |detail| {
        if stream != 0 {
            conn_err(ErrorCode::ProtocolError, detail)
        } else {
            Ok(())
        }
    };
    let fixed = |want: usize, detail| {
        if p.len() != want {
            conn_err(ErrorCode::FrameSizeError, detail)
        } else {
            Ok(())
        }
    };
    Ok(match kind {
        kind::DATA => {
            on_stream("DATA on stream 0")?;
            let data = unpad(flags, p)?;
            Frame::Data {
                stream,
                end_stream: flags & flag::END_STREAM != 0,
                data,
                flow_len: p.len() as u32,
            }
        }
        kind::HEADERS => {
            on_stream("HEADERS on stream 0")?;
            let mut block = unpad(flags, p)?;
            let mut priority = None;
            if flags & flag::PRIORITY != 0 {
                if block.len() < 5 {
                    return conn_err(ErrorCode::FrameSizeError, "HEADERS too short for priority");
                }
                priority = Some(priority_fields(block));
                block = &block[5..];
            }
            Frame::Headers {
                stream,
                end_stream: flags & flag::END_STREAM != 0,
                end_headers: flags & flag::END_HEADERS != 0,
                priority,
                fragment: block,
            }
        }
        kind::PRIORITY => {
            on_stream("PRIORITY on stream 0")?;
            if p.len() != 5 {
                return stream_err(stream, ErrorCode::FrameSizeError, "PRIORITY not 5 bytes");
            }
            Frame::Priority {
                stream,
                priority: priority_fields(p),
            }
        }
        kind::RST_STREAM => {
            on_stream("RST_STREAM on stream 0")?;
            fixed(4, "RST_STREAM not 4 bytes")?;
            Frame::RstStream {
                stream,
                code: ErrorCode::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]])),
            }
        }
        kind::SETTINGS => {
            on_connection("SETTINGS on a stream")?;
            let ack = flags & flag::ACK != 0;
            if (ack && !p.is_empty()) || !p.len().is_multiple_of(6) {
                return conn_err(ErrorCode::FrameSizeError, "SETTINGS length");
            }
            Frame::Settings { ack, params: p }
        }
        kind::PUSH_PROMISE => {
            on_stream("PUSH_PROMISE on stream 0")?;
            Frame::PushPromise { stream }
        }
        kind::PING => {
            on_connection("PING on a stream")?;
            fixed(8, "PING not 8 bytes")?;
            let mut data = [0; 8];
            data.copy_from_slice(p);
            Frame::Ping {
                ack: flags & flag::ACK != 0,
                data,
            }
        }
        kind::GOAWAY => {
            on_connection("GOAWAY on a stream")?;
            if p.len() < 8 {
                return conn_err(ErrorCode::FrameSizeError, "GOAWAY shorter than 8 bytes");
            }
            let code = ErrorCode::from_u32(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
            Frame::GoAway {
                last_stream: be31(p),
                code,
                debug: &p[8..],
            }
        }
        kind::WINDOW_UPDATE => {
            fixed(4, "WINDOW_UPDATE not 4 bytes")?;
            Frame::WindowUpdate {
                stream,
                increment: be31(p),
            }
        }
        kind::CONTINUATION => {
            on_stream("CONTINUATION on stream 0")?;
            Frame::Continuation {
                stream,
                end_headers: flags & flag::END_HEADERS != 0,
                fragment: p,
            }
        }
        kind => Frame::Unknown { kind, stream },
    })
}

fn unpad(flags: u8, p: &[u8]) -> Result<&[u8], H2Error> {
    if flags & flag::PADDED == 0 {
        return Ok(p);
    }
    let Some((&pad, rest)) = p.split_first() else {
        return conn_err(
            ErrorCode::FrameSizeError,
            "padded frame without its pad length",
        );
    };
    if usize::from(pad) > rest.len() {
        return conn_err(ErrorCode::ProtocolError, "padding longer than the payload");
    }
    Ok(&rest[..rest.len() - usize::from(pad)])
}

/// Appends a frame header.
pub fn write_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = len as u32;
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
}

pub fn write_settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    write_header(out, params.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

pub fn write_settings_ack(out: &mut Vec<u8>) {
    write_header(out, 0, kind::SETTINGS, flag::ACK, 0);
}

pub fn write_ping_ack(out: &mut Vec<u8>, data: &[u8; 8]) {
    write_header(out, 8, kind::PING, flag::ACK, 0);
    out.extend_from_slice(data);
}

pub fn write_rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    write_header(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&code.to_u32().to_be_bytes());
}

pub fn write_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    write_header(out, 8 + debug.len(), kind::GOAWAY, 0, 0);
    out.extend_from_slice(&(last_stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(&code.to_u32().to_be_bytes());
    out.extend_from_slice(debug);
}

pub fn write_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    write_header(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

/// DATA frames of at most `max_frame` bytes each; an empty `data` with
/// `end_stream` is one empty frame.
pub fn write_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool, max_frame: usize) {
    let mut chunks = data.chunks(max_frame.max(1)).peekable();
    if chunks.peek().is_none() {
        let flags = if end_stream { flag::END_STREAM } else { 0 };
        write_header(out, 0, kind::DATA, flags, stream);
        return;
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let flags = if last && end_stream {
            flag::END_STREAM
        } else {
            0
        };
        write_header(out, chunk.len(), kind::DATA, flags, stream);
        out.extend_from_slice(chunk);
    }
}

/// A HEADERS frame and as many CONTINUATIONs as `block` needs.
pub fn write_headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let max_frame = max_frame.max(1);
    let first = &block[..block.len().min(max_frame)];
    let mut rest = &block[first.len()..];
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.is_empty() {
        flags |= flag::END_HEADERS;
    }
    write_header(out, first.len(), kind::HEADERS, flags, stream);
    out.extend_from_slice(first);
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(max_frame)];
        rest = &rest[chunk.len()..];
        let flags = if rest.is_empty() {
            flag::END_HEADERS
        } else {
            0
        };
        write_header(out, chunk.len(), kind::CONTINUATION, flags, stream);
        out.extend_from_slice(chunk);
    }
}
