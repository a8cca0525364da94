//! WebSocket (RFC 6455), sans-IO, beside HTTP/1: the opening handshake
//! checked and answered, frames decoded and encoded, text validated as
//! UTF-8 as it arrives, the close handshake, pings on a timer, and
//! permessage-deflate (RFC 7692). No socket and no clock: the caller moves
//! the bytes and says what time it is.

mod close;
mod connection;
mod deflate;
mod frame;
mod handshake;
mod utf8;

pub use close::parse_close;
pub use close::{close_code_is_valid, CloseCode};
pub use connection::{Message, WsConfig, WsConnection, WsState, BACKLOG_LIMIT};
pub use deflate::InflateError;
pub use deflate::{negotiate, DeflateParams};
pub use frame::unmask;
pub use frame::{encode_frame_head, FrameHead, HeadError, Opcode};
pub use handshake::{
    accept_key, check_handshake, is_upgrade, write_accept, Handshake, HandshakeError,
};
pub use utf8::Utf8Validator;
