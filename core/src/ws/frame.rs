//! One WebSocket frame's head (RFC 6455 §5.2), decoded and encoded.
//!
//! Rules: a head is decoded only when all of it has arrived (2 to 14
//! bytes); what is wrong with it is found here, before any payload byte is
//! read: an unknown opcode, RSV2 or RSV3 set, RSV1 set where no extension
//! gave it a meaning (the caller says), an unmasked client frame, a
//! control frame fragmented or longer than 125 bytes, a 64-bit length with
//! its top bit set. Server frames are never masked.

/// A frame's opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0,
            Opcode::Text => 1,
            Opcode::Binary => 2,
            Opcode::Close => 8,
            Opcode::Ping => 9,
            Opcode::Pong => 10,
        }
    }

    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A decoded frame head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    pub fin: bool,
    /// RSV1: with permessage-deflate, "this message is compressed".
    pub rsv1: bool,
    pub opcode: Opcode,
    pub mask: [u8; 4],
    pub len: u64,
}

/// Why a frame head is refused: all are protocol errors (1002).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    ReservedBits,
    UnknownOpcode,
    Unmasked,
    BadControlFrame,
    BadLength,
}

impl FrameHead {
    /// Decodes a client frame's head from the start of `bytes`:
    /// `Ok(None)` until all of it is there, else the head and its length.
    /// `rsv1_allowed`: an extension gives RSV1 a meaning.
    pub fn decode(
        bytes: &[u8],
        rsv1_allowed: bool,
    ) -> Result<Option<(FrameHead, usize)>, HeadError> {
        let [b0, b1, ..] = *bytes else {
            return Ok(None);
        };
        let rsv1 = b0 & 0x40 != 0;
        if b0 & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
            return Err(HeadError::ReservedBits);
        }
        let opcode = Opcode::from_bits(b0 & 0x0f).ok_or(HeadError::UnknownOpcode)?;
        let fin = b0 & 0x80 != 0;
        if b1 & 0x80 == 0 {
            return Err(HeadError::Unmasked);
        }
        let short = u64::from(b1 & 0x7f);
        if opcode.is_control() && (!fin || short > 125 || rsv1) {
            return Err(HeadError::BadControlFrame);
        }
        let (len, at) = match short {
            126 => match bytes.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10) {
                Some(b) => {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(b);
                    (u64::from_be_bytes(be), 10)
                }
                None => return Ok(None),
            },
            n => (n, 2),
        };
        if len >> 63 != 0 {
            return Err(HeadError::BadLength);
        }
        let Some(key) = bytes.get(at..at + 4) else {
            return Ok(None);
        };
        let mask = [key[0], key[1], key[2], key[3]];
        let head = FrameHead {
            fin,
            rsv1,
            opcode,
            mask,
            len,
        };
        Ok(Some((head, at + 4)))
    }
}

/// Appends the head of an unmasked (server) frame to `out`.
pub fn encode_frame_head(out: &mut Vec<u8>, opcode: Opcode, rsv1: bool, len: usize) {
    let b0 = 0x80 | if rsv1 { 0x40 } else { 0 } | opcode.bits();
    out.push(b0);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Unmasks `payload` in place; `offset` is how many bytes of the frame's
/// payload came before it.
pub fn unmask(payload: &mut [u8], mask: [u8; 4], offset: u64) {
    let shift = (offset % 4) as usize;
    let key = [
        mask[shift],
        mask[(shift + 1) % 4],
        mask[(shift + 2) % 4],
        mask[(shift + 3) % 4],
    ];
    let word = u32::from_ne_bytes(key);
    let mut chunks = payload.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(b) ^ word).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_decode_only_when_whole_and_refuse_what_the_rfc_forbids() {
        let head = [0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4];
        for cut in 0..head.len() {
            assert_eq!(FrameHead::decode(&head[..cut], false), Ok(None));
        }
        let (h, n) = FrameHead::decode(&head, false).unwrap().unwrap();
        assert_eq!((h.opcode, h.len, h.fin, n), (Opcode::Text, 256, true, 8));
        assert_eq!(
            FrameHead::decode(&[0x81, 0x05], false),
            Err(HeadError::Unmasked)
        );
        assert_eq!(
            FrameHead::decode(&[0xa1, 0x80], false),
            Err(HeadError::ReservedBits)
        );
        assert_eq!(
            FrameHead::decode(&[0xc1, 0x80], false),
            Err(HeadError::ReservedBits)
        );
        assert!(FrameHead::decode(&[0xc1, 0x80, 0, 0, 0, 0], true).is_ok());
        assert_eq!(
            FrameHead::decode(&[0x83, 0x80], false),
            Err(HeadError::UnknownOpcode)
        );
        assert_eq!(
            FrameHead::decode(&[0x09, 0x80], false),
            Err(HeadError::BadControlFrame)
        );
        assert_eq!(
            FrameHead::decode(&[0x89, 0xfe], false),
            Err(HeadError::BadControlFrame)
        );
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_whole() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..37u8).collect();
        let mut whole = data.clone();
        unmask(&mut whole, mask, 0);
        for (i, b) in whole.iter().enumerate() {
            assert_eq!(*b, data[i] ^ mask[i % 4]);
        }
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(5);
        unmask(a, mask, 0);
        let (b, c) = rest.split_at_mut(11);
        unmask(b, mask, 5);
        unmask(c, mask, 16);
        assert_eq!(pieces, whole);
    }

    #[test]
    fn encoded_lengths_use_the_shortest_form() {
        let mut out = Vec::new();
        encode_frame_head(&mut out, Opcode::Binary, false, 125);
        encode_frame_head(&mut out, Opcode::Binary, true, 126);
        encode_frame_head(&mut out, Opcode::Text, false, 70_000);
        assert_eq!(
            out,
            [0x82, 125, 0xc2, 126, 0, 126, 0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }
}
