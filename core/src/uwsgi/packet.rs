//! The uwsgi packet: its 4-byte header and its variables block (rules 1
//! and 2 of the module).

use crate::http::{DecodeError, DecodeErrorKind as K};

/// The packet header's size.
pub const HEADER_LEN: usize = 4;

/// The most variables one packet may carry (gunicorn's `MAX_UWSGI_VARS`).
pub const MAX_VARS: usize = 1000;

/// A whole packet header and variables block, borrowed from the buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub modifier1: u8,
    pub modifier2: u8,
    /// The variables block.
    pub vars: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Header and block: where the body starts.
    pub fn size(&self) -> usize {
        HEADER_LEN + self.vars.len()
    }

    /// The variables in order; `Err` once for a malformed block.
    pub fn vars(&self) -> Vars<'a> {
        Vars {
            rest: self.vars,
            count: 0,
            failed: false,
        }
    }
}

/// The packet at the front of `buf`: `Ok(None)` until all of its header
/// and block are there. The block's pairs are checked by [`Packet::vars`].
pub fn parse_packet(buf: &[u8]) -> Result<Option<Packet<'_>>, DecodeError> {
    match buf.first() {
        None => return Ok(None),
        Some(0) => {}
        Some(_) => {
            return Err(DecodeError::new(
                K::UnsupportedModifier,
                "modifier1 is not 0 (a WSGI request)",
            ))
        }
    }
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let size = usize::from(u16::from_le_bytes([buf[1], buf[2]]));
    let Some(vars) = buf.get(HEADER_LEN..HEADER_LEN + size) else {
        return Ok(None);
    };
    Ok(Some(Packet {
        modifier1: buf[0],
        modifier2: buf[3],
        vars,
    }))
}

/// The variables of a block, in order.
pub struct Vars<'a> {
    rest: &'a [u8],
    count: usize,
    failed: bool,
}

impl<'a> Vars<'a> {
    /// One size-prefixed string off the front.
    fn take(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let bad = || DecodeError::new(K::InvalidUWSGIHeader, what);
        let [lo, hi, rest @ ..] = self.rest else {
            return Err(bad());
        };
        let size = usize::from(u16::from_le_bytes([*lo, *hi]));
        if rest.len() < size {
            return Err(bad());
        }
        let (item, rest) = rest.split_at(size);
        self.rest = rest;
        Ok(item)
    }
}

impl<'a> Iterator for Vars<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let pair = if self.count >= MAX_VARS {
            Err(DecodeError::new(
                K::InvalidUWSGIHeader,
                "too many variables",
            ))
        } else {
            self.take("truncated key")
                .and_then(|key| Ok((key, self.take("truncated value")?)))
        };
        self.count += 1;
        self.failed = pair.is_err();
        Some(pair)
    }
}
