//! Length-prefixed framing of the control socket: a 4-byte big-endian
//! length, then that many bytes of JSON.
//!
//! Sans-IO: the caller reads the socket and hands the bytes to
//! [`FrameReader::feed`], then takes whole payloads from
//! [`FrameReader::next_frame`] until it answers `Ok(None)`. An announced
//! length over the limit is an error as soon as the prefix is in, before
//! any of the payload is kept; the error is sticky, since nothing after a
//! bad prefix can be trusted to start a frame.

/// The longest payload a request may announce. gunicorn allows 16 MiB; a
/// control command is a few dozen bytes, and the socket is a way into the
/// master, so rcorn keeps no more than this for any one client.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The prefix announced more than the limit.
    TooLarge { announced: u64 },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge { announced } => {
                write!(f, "Message too large: {announced} (limit {MAX_REQUEST})")
            }
        }
    }
}

/// Accumulates one client's bytes into frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    failed: Option<FrameError>,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Takes bytes the socket gave. Ignored once the reader has failed.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next whole payload, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Some(prefix) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let announced = u32::from_be_bytes(*prefix) as usize;
        if announced > MAX_REQUEST {
            let e = FrameError::TooLarge {
                announced: announced as u64,
            };
            self.failed = Some(e);
            self.buf = Vec::new();
            return Err(e);
        }
        if self.buf.len() < 4 + announced {
            return Ok(None);
        }
        let payload = self.buf[4..4 + announced].to_vec();
        self.buf.drain(..4 + announced);
        Ok(Some(payload))
    }

    /// Bytes held that do not make a whole frame yet: a client that closes
    /// with some left sent a truncated message.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// `payload` with its length prefix, ready to write.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_come_out_whole_and_in_order() {
        let mut wire = encode(b"{\"a\":1}");
        wire.extend(encode(b""));
        wire.extend(encode(b"xyz"));
        let mut r = FrameReader::new();
        r.feed(&wire);
        assert_eq!(r.next_frame(), Ok(Some(b"{\"a\":1}".to_vec())));
        assert_eq!(r.next_frame(), Ok(Some(Vec::new())));
        assert_eq!(r.next_frame(), Ok(Some(b"xyz".to_vec())));
        assert_eq!(r.next_frame(), Ok(None));
        assert!(!r.has_partial());
    }

    #[test]
    fn an_oversized_announcement_fails_at_once_and_stays_failed() {
        let mut r = FrameReader::new();
        r.feed(&((MAX_REQUEST as u32) + 1).to_be_bytes());
        let e = FrameError::TooLarge {
            announced: MAX_REQUEST as u64 + 1,
        };
        assert_eq!(r.next_frame(), Err(e));
        r.feed(&encode(b"{}"));
        assert_eq!(r.next_frame(), Err(e));
        // The limit itself is allowed.
        let mut r = FrameReader::new();
        r.feed(&encode(&vec![b' '; MAX_REQUEST]));
        assert_eq!(
            r.next_frame().map(|f| f.map(|p| p.len())),
            Ok(Some(MAX_REQUEST))
        );
    }

    #[test]
    fn a_truncated_frame_is_partial() {
        let mut r = FrameReader::new();
        r.feed(&encode(b"hello")[..6]);
        assert_eq!(r.next_frame(), Ok(None));
        assert!(r.has_partial());
    }

    proptest! {
        #[test]
        fn the_split_does_not_matter(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
            cuts in proptest::collection::vec(1usize..16, 1..64),
        ) {
            let wire: Vec<u8> = payloads.iter().flat_map(|p| encode(p)).collect();
            let mut r = FrameReader::new();
            let mut got = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= wire.len() {
                    break;
                }
                let end = (at + cut).min(wire.len());
                r.feed(&wire[at..end]);
                at = end;
                while let Some(p) = r.next_frame().unwrap() {
                    got.push(p);
                }
            }
            prop_assert_eq!(got, payloads);
            prop_assert!(!r.has_partial());
        }
    }
}
