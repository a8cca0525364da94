//! HPACK (RFC 7541), written here rather than taken from a crate: the
//! decoder must enforce `http2_max_header_list_size` while it decodes (an
//! indexed reference to a large table entry costs one byte on the wire and
//! kilobytes decoded), keep its dynamic table in step even for a block it
//! refuses, and be strict where the RFC says "MUST" — none of the
//! maintained runtime-free HPACK crates offers all three.
//!
//! The encoder never indexes (no dynamic table, so no state to keep in
//! step with the client): statuses and names from the static table are
//! referenced, values Huffman-coded when that is shorter.

mod decoder;
mod encoder;
mod huffman;
mod huffman_table;
mod static_table;

pub use decoder::{Decoder, Fit, HpackError};
pub use encoder::{encode_field, encode_status};

/// What a field costs in the header list size (RFC 7541 §4.1).
pub fn field_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 32
}
