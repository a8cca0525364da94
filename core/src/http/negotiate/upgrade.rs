//! An `Upgrade: h2c` request on its way to HTTP/2: what it asked for,
//! and its body as it is read over HTTP/1.1.
//!
//! The rules it keeps (as gunicorn's gthread worker does it):
//!
//! 1. **The body comes first.** RFC 7540 §3.2: a client sends the whole
//!    body before its first HTTP/2 byte, so the caller reads it over
//!    HTTP/1.1 (`push_body` until the body's end) and only then switches;
//!    the body becomes stream 1's.
//! 2. **The body is bounded** by [`UPGRADE_BODY_LIMIT`]: a larger one
//!    never makes an upgrade (`upgrade_settings`), and what is pushed past
//!    it is dropped rather than held.

use crate::http::h2::{request_from_h1, H2Config, H2Connection, H2Request};
use crate::http::head::RequestHead;
use crate::time::Instant;

use super::{upgrade_settings, UPGRADE_BODY_LIMIT};

/// A well-formed upgrade request whose body is being read.
#[derive(Debug)]
pub struct PendingUpgrade {
    /// The decoded `HTTP2-Settings` payload.
    settings: Vec<u8>,
    request: H2Request,
    body: Vec<u8>,
}

impl PendingUpgrade {
    /// `None` when `head` is not a well-formed upgrade request.
    pub fn from_head(head: &RequestHead) -> Option<Box<Self>> {
        let settings = upgrade_settings(head)?;
        Some(Box::new(PendingUpgrade {
            settings,
            request: request_from_h1(head),
            body: Vec::new(),
        }))
    }

    /// More of the request body, as HTTP/1.1 decoded it.
    pub fn push_body(&mut self, bytes: &[u8]) {
        let room = (UPGRADE_BODY_LIMIT as usize).saturating_sub(self.body.len());
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Once the body has ended: the HTTP/2 connection, its `101` first in
    /// its output and the request as stream 1.
    pub fn into_connection(self, config: H2Config, now: Instant) -> H2Connection {
        H2Connection::upgraded(config, now, &self.settings, self.request, self.body)
    }
}
