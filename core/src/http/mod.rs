//! Sans-IO HTTP: no sockets, no clock; bytes and time come in as
//! arguments. `h1` holds the HTTP/1.1 wire protocol (a strict incremental
//! request decoder, a response encoder, and the server connection that
//! runs one exchange after another between them); what does not depend on
//! the wire format (the request head, its errors, the Date header, the
//! proxy preambles and headers) sits beside it, for a future `h2`.

mod date;
mod error;
pub mod forwarded;
pub mod h1;
pub mod h2;
pub(crate) mod head;
mod limits;
pub mod negotiate;
pub mod proxy_protocol;
mod target;

pub use date::DateCache;
pub use error::{DecodeError, DecodeErrorKind};
pub use h1::{
    error_response, reason_phrase, ConnError, ConnEvent, EncodeError, Event, ExternalBody, Next,
    RequestDecoder, RequestFacts, ResponseEncoder, ServerConnection, Timeouts,
};
pub use head::{BodyKind, RequestHead};
pub use limits::{
    DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE, UNLIMITED_REQUEST_LINE,
};

use std::sync::Arc;

/// The decoder's limits and leniencies, by gunicorn's setting names.
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// Longest request line; over it: 414. The limits here are the ones
    /// applied: [`DecoderConfig::with_limits`] turns the settings into them.
    pub limit_request_line: usize,
    /// Most header fields (trailer fields too); over it: 431.
    pub limit_request_fields: usize,
    /// Longest header field line, its CRLF and folded lines included; over
    /// it: 431.
    pub limit_request_field_size: usize,
    /// Accept obs-fold (RFC 9112 §5.2), unfolding it to one space.
    pub permit_obsolete_folding: bool,
    /// Accept methods gunicorn calls unconventional (lower case, `#`, any
    /// length).
    pub permit_unconventional_http_method: bool,
    /// Accept whitespace between a field name and its colon.
    pub strip_header_spaces: bool,
    /// `header_map = refuse`: a field name with `_` is an error, unless it
    /// is one of `forwarder_headers` on a connection whose peer is trusted
    /// with them ([`RequestDecoder::trust_forwarder_headers`]).
    pub refuse_underscore_headers: bool,
    /// `forwarder_headers`: names with `_` a trusted proxy may send even
    /// under `header_map = refuse`, compared without case; `*` for any.
    pub forwarder_headers: Arc<[Box<str>]>,
}

impl DecoderConfig {
    /// Whether `name` is listed in `forwarder_headers`.
    pub fn is_forwarder_header(&self, name: &[u8]) -> bool {
        crate::config::is_forwarder_header(&self.forwarder_headers, name)
    }
}

impl Default for DecoderConfig {
    /// gunicorn's defaults.
    fn default() -> Self {
        DecoderConfig {
            limit_request_line: 4094,
            limit_request_fields: 100,
            limit_request_field_size: 8190,
            permit_obsolete_folding: false,
            permit_unconventional_http_method: false,
            strip_header_spaces: false,
            refuse_underscore_headers: false,
            forwarder_headers: Arc::from([Box::from("SCRIPT_NAME"), Box::from("PATH_INFO")]),
        }
    }
}
