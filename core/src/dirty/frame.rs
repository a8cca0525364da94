//! gunicorn's dirty message framing, sans-IO.
//!
//! Rules (gunicorn's `dirty/protocol.py`, byte for byte):
//! - a 16-byte header: magic `GD`, version 1, the message type, the
//!   payload length (4 bytes, big-endian, at most 64 MiB) and the request
//!   id (8 bytes, big-endian); then the payload, one TLV value (a dict),
//!   empty for `End` and `Status`;
//! - a header with another magic, version or type, or a larger length,
//!   is an error; the reader's errors are sticky, as nothing after a bad
//!   header can be trusted to start a message;
//! - replies carry the request's id; the reader yields whole messages
//!   however the bytes were split.

use std::fmt;

use super::tlv::{self, TlvError, Value};

pub const MAGIC: [u8; 2] = *b"GD";
pub const VERSION: u8 = 1;
pub const HEADER_SIZE: usize = 16;
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Request = 0x01,
    Response = 0x02,
    Error = 0x03,
    Chunk = 0x04,
    End = 0x05,
    Stash = 0x10,
    Status = 0x11,
    Manage = 0x12,
}

impl MessageType {
    pub fn from_byte(b: u8) -> Option<MessageType> {
        Some(match b {
            0x01 => MessageType::Request,
            0x02 => MessageType::Response,
            0x03 => MessageType::Error,
            0x04 => MessageType::Chunk,
            0x05 => MessageType::End,
            0x10 => MessageType::Stash,
            0x11 => MessageType::Status,
            0x12 => MessageType::Manage,
            _ => return None,
        })
    }

    /// A message that ends a call: the client's reply is complete.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MessageType::Response | MessageType::Error | MessageType::End
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    BadMagic([u8; 2]),
    BadVersion(u8),
    UnknownType(u8),
    TooLarge(usize),
    Payload(TlvError),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadMagic(m) => write!(f, "Invalid magic: {m:?}, expected b'GD'"),
            FrameError::BadVersion(v) => {
                write!(f, "Unsupported protocol version: {v}, expected {VERSION}")
            }
            FrameError::UnknownType(t) => write!(f, "Unknown message type: 0x{t:02x}"),
            FrameError::TooLarge(n) => {
                write!(f, "Message too large: {n} bytes (max: {MAX_MESSAGE_SIZE})")
            }
            FrameError::Payload(e) => e.fmt(f),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: MessageType,
    pub request_id: u64,
    pub length: usize,
}

pub fn encode_header(kind: MessageType, request_id: u64, length: usize) -> [u8; HEADER_SIZE] {
    let mut h = [0u8; HEADER_SIZE];
    h[..2].copy_from_slice(&MAGIC);
    h[2] = VERSION;
    h[3] = kind as u8;
    h[4..8].copy_from_slice(&(length as u32).to_be_bytes());
    h[8..].copy_from_slice(&request_id.to_be_bytes());
    h
}

pub fn decode_header(h: &[u8; HEADER_SIZE]) -> Result<Header, FrameError> {
    if h[..2] != MAGIC {
        return Err(FrameError::BadMagic([h[0], h[1]]));
    }
    if h[2] != VERSION {
        return Err(FrameError::BadVersion(h[2]));
    }
    let kind = MessageType::from_byte(h[3]).ok_or(FrameError::UnknownType(h[3]))?;
    let length = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    if length > MAX_MESSAGE_SIZE {
        return Err(FrameError::TooLarge(length));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&h[8..]);
    Ok(Header {
        kind,
        request_id: u64::from_be_bytes(id),
        length,
    })
}

/// Appends one message: header, then `payload` encoded (nothing for `None`).
pub fn encode_message(
    kind: MessageType,
    request_id: u64,
    payload: Option<&Value>,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_SIZE]);
    if let Some(value) = payload {
        if let Err(e) = tlv::encode(value, out) {
            out.truncate(start);
            return Err(FrameError::Payload(e));
        }
    }
    let length = out.len() - start - HEADER_SIZE;
    if length > MAX_MESSAGE_SIZE {
        out.truncate(start);
        return Err(FrameError::TooLarge(length));
    }
    out[start..start + HEADER_SIZE].copy_from_slice(&encode_header(kind, request_id, length));
    Ok(())
}

/// Rewrites the request id of an encoded message in place: the arbiter
/// gives each call its own id on the way to a worker and the client's back.
pub fn set_request_id(message: &mut [u8], request_id: u64) {
    if message.len() >= HEADER_SIZE {
        message[8..HEADER_SIZE].copy_from_slice(&request_id.to_be_bytes());
    }
}

/// One whole message as read, its payload still encoded: the arbiter
/// forwards most messages without decoding them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    /// Header and payload, as they came.
    pub bytes: Vec<u8>,
}

impl Frame {
    pub fn payload(&self) -> &[u8] {
        &self.bytes[HEADER_SIZE..]
    }

    /// The payload decoded; an empty payload is an empty dict, as in
    /// gunicorn.
    pub fn value(&self) -> Result<Value, FrameError> {
        if self.payload().is_empty() {
            return Ok(Value::Dict(Vec::new()));
        }
        tlv::decode_full(self.payload()).map_err(FrameError::Payload)
    }
}

/// Bytes in, whole messages out; the first bad header is a sticky error.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    error: Option<FrameError>,
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes of a message begun and not yet whole.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, `Ok(None)` until one is.
    pub fn poll_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let Some(head) = self.buf.first_chunk::<HEADER_SIZE>() else {
            return Ok(None);
        };
        let header = match decode_header(head) {
            Ok(h) => h,
            Err(e) => {
                self.buf = Vec::new();
                self.error = Some(e.clone());
                return Err(e);
            }
        };
        let total = HEADER_SIZE + header.length;
        if self.buf.len() < total {
            return Ok(None);
        }
        let rest = self.buf.split_off(total);
        let bytes = std::mem::replace(&mut self.buf, rest);
        Ok(Some(Frame { header, bytes }))
    }
}

#[cfg(test)]
mod tests;
