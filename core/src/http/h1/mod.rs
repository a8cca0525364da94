//! HTTP/1.1: the request decoder, the response encoder, and the server
//! connection that runs the exchange between them.

mod chunked;
mod connection;
mod decoder;
mod encoder;

pub use connection::{ConnError, ConnEvent, Next, ServerConnection, Timeouts, DRAIN_LIMIT};
pub use decoder::{Event, RequestDecoder};
pub use encoder::{
    error_response, reason_phrase, EncodeError, ExternalBody, RequestFacts, ResponseEncoder,
};
