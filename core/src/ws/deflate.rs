//! permessage-deflate (RFC 7692): the offer negotiated, and messages
//! compressed and inflated.
//!
//! Rules:
//! 1. The first offer rcorn can honour is accepted; an offer with an
//!    unknown or repeated parameter, or a value out of 8–15, is declined
//!    and the next one tried. `server_max_window_bits=8` is declined too:
//!    zlib cannot make a raw deflate stream with a 256-byte window (it
//!    would silently use 512, which a client holding 256 cannot read).
//! 2. The answer repeats what the client asked of the server
//!    (`server_no_context_takeover`, `server_max_window_bits`) and never
//!    says more of the client than it offered (`client_max_window_bits`
//!    only when offered with a value, echoed).
//! 3. A message is compressed whole and ends with a sync flush whose
//!    `00 00 ff ff` is taken off; without context takeover the compressor
//!    starts afresh for each message.
//! 4. Inflating is bounded: a message whose inflated size passes the
//!    limit fails (1009) as soon as that is known, never after inflating
//!    it all. The inflater always keeps a 32 KiB window, which reads any
//!    smaller window's stream.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

const TRAILER: [u8; 4] = [0, 0, 0xff, 0xff];

/// What a negotiation agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// The window rcorn compresses with (9–15).
    pub server_max_window_bits: u8,
    /// `Some` when the client offered a value (echoed).
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The `Sec-WebSocket-Extensions` answer.
    pub fn response(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            s.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if let Some(bits) = self.client_max_window_bits {
            s.push_str(&format!("; client_max_window_bits={bits}"));
        }
        s
    }
}

/// The first `permessage-deflate` offer in a `Sec-WebSocket-Extensions`
/// value that can be accepted (rule 1).
pub fn negotiate(extensions: &str) -> Option<DeflateParams> {
    extensions.split(',').find_map(accept_offer)
}

fn accept_offer(offer: &str) -> Option<DeflateParams> {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next()? != "permessage-deflate" {
        return None;
    }
    let mut p = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: None,
    };
    let mut seen = Vec::new();
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => p.server_max_window_bits = window_bits(v)?,
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(v)) => p.client_max_window_bits = Some(window_bits(v)?),
            _ => return None,
        }
    }
    (p.server_max_window_bits > 8).then_some(p)
}

fn window_bits(value: &str) -> Option<u8> {
    let ok = !value.is_empty() && value.len() <= 2 && value.bytes().all(|b| b.is_ascii_digit());
    let bits: u8 = value.parse().ok().filter(|_| ok)?;
    (8..=15).contains(&bits).then_some(bits)
}

/// One connection's compressor and inflater.
pub struct Deflate {
    params: DeflateParams,
    compress: Compress,
    inflate: Decompress,
}

/// Inflating a message failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// Not a valid deflate stream (1007).
    Corrupt,
    /// Past the size limit (1009).
    TooBig,
}

impl Deflate {
    pub fn new(params: DeflateParams) -> Deflate {
        Deflate {
            params,
            compress: Compress::new_with_window_bits(
                Compression::default(),
                false,
                params.server_max_window_bits,
            ),
            inflate: Decompress::new_with_window_bits(false, 15),
        }
    }

    /// Appends `data` compressed (rule 3) to `out`.
    pub fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(data.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            let before = self.compress.total_in();
            let status = self
                .compress
                .compress_vec(&data[consumed..], out, FlushCompress::Sync);
            consumed += (self.compress.total_in() - before) as usize;
            let room_left = out.len() < out.capacity();
            if consumed == data.len() && room_left {
                break;
            }
            if status.is_err() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if out[start..].ends_with(&TRAILER) {
            out.truncate(out.len() - TRAILER.len());
        } else if out.len() == start {
            // zlib makes nothing of an empty message after a flush; the
            // empty stored block the peer completes with the trailer.
            out.push(0);
        }
        if self.params.server_no_context_takeover {
            self.compress.reset();
        }
    }

    /// Inflates one frame's payload of a compressed message onto `out`;
    /// `last`: the message ends with it. `limit`: the most `out` may hold.
    pub fn inflate(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.inflate_some(input, out, limit)?;
        if last {
            self.inflate_some(&TRAILER, out, limit)?;
            if self.params.client_no_context_takeover {
                self.inflate.reset(false);
            }
        }
        Ok(())
    }

    fn inflate_some(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                // Grow in steps, and only to one byte past the limit: that
                // byte is what shows the message is too big.
                let room = (limit + 1).saturating_sub(out.len()).min(64 * 1024);
                if room == 0 {
                    return Err(InflateError::TooBig);
                }
                out.reserve_exact(room);
            }
            let before = self.inflate.total_in();
            let status = self
                .inflate
                .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            consumed += (self.inflate.total_in() - before) as usize;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            if status == Status::StreamEnd {
                // A final block ends a stream; permessage-deflate keeps one.
                return if consumed == input.len() {
                    Ok(())
                } else {
                    Err(InflateError::Corrupt)
                };
            }
            if consumed == input.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_accepted_or_declined_as_the_rfc_says() {
        let p = negotiate("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(p.response(), "permessage-deflate");
        let p = negotiate(
            "permessage-deflate; server_max_window_bits=8, \
             permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        )
        .unwrap();
        assert_eq!(
            p.response(),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        );
        assert_eq!(
            negotiate("permessage-deflate; server_max_window_bits"),
            None
        );
        assert_eq!(negotiate("permessage-deflate; foo"), None);
        assert_eq!(
            negotiate("permessage-deflate; client_no_context_takeover; client_no_context_takeover"),
            None
        );
        assert_eq!(negotiate("x-webkit-deflate-frame"), None);
    }

    #[test]
    fn what_is_compressed_inflates_back_within_the_limit() {
        for params in [
            negotiate("permessage-deflate").unwrap(),
            negotiate("permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
                .unwrap(),
        ] {
            // One each way, as the two ends of a connection hold them.
            let mut d = Deflate::new(params);
            let mut peer = Deflate::new(params);
            for msg in [&b"hello hello hello"[..], b"", &[7u8; 100_000]] {
                let mut wire = Vec::new();
                d.compress(msg, &mut wire);
                let mut back = Vec::new();
                peer.inflate(&wire, true, &mut back, msg.len()).unwrap();
                assert_eq!(back, msg);
            }
        }
        let mut d = Deflate::new(negotiate("permessage-deflate").unwrap());
        let mut wire = Vec::new();
        d.compress(&[0u8; 1_000_000], &mut wire);
        let mut back = Vec::new();
        assert_eq!(
            d.inflate(&wire, true, &mut back, 999_999),
            Err(InflateError::TooBig)
        );
        assert!(back.capacity() <= 1_000_000 + 64 * 1024);
    }
}
