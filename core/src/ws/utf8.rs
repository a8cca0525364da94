//! Text messages validated as UTF-8 while they arrive, so that an invalid
//! byte fails the connection at once (RFC 6455 §8.1) instead of at the end
//! of a message that may be megabytes long.
//!
//! Rules: a validator follows one message's bytes, appended in any split;
//! `check` reports an error as soon as the bytes seen cannot be the start
//! of valid UTF-8; `finish` reports one if the message ends inside a code
//! point. The bytes are the caller's (the message buffer): the validator
//! only remembers how far they are known good.

/// Follows one message's bytes; see the rules above.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// `bytes[..good]` is valid UTF-8 ending on a code point boundary.
    good: usize,
}

impl Utf8Validator {
    pub fn new() -> Self {
        Utf8Validator { good: 0 }
    }

    /// Checks what was appended to `bytes` since the last call. `false`:
    /// not UTF-8, whatever follows.
    pub fn check(&mut self, bytes: &[u8]) -> bool {
        match std::str::from_utf8(&bytes[self.good..]) {
            Ok(_) => {
                self.good = bytes.len();
                true
            }
            Err(e) => {
                self.good += e.valid_up_to();
                // `None`: a code point cut at the end, which more bytes may
                // complete.
                e.error_len().is_none()
            }
        }
    }

    /// The message ended with `bytes`: `true` if it is all valid.
    pub fn finish(&mut self, bytes: &[u8]) -> bool {
        self.check(bytes) && self.good == bytes.len()
    }

    /// Ready for the next message.
    pub fn reset(&mut self) {
        self.good = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_point_split_anywhere_is_valid_and_a_bad_byte_fails_at_once() {
        let text = "κόσμε €𝄞".as_bytes();
        for cut in 0..=text.len() {
            let mut v = Utf8Validator::new();
            assert!(v.check(&text[..cut]));
            assert!(v.finish(text));
        }
        let mut v = Utf8Validator::new();
        assert!(!v.check(b"ok\xf4\x90"), "U+110000 and above can never be");
        let mut v = Utf8Validator::new();
        assert!(v.check(b"ok\xe2\x82"));
        assert!(
            !v.finish(b"ok\xe2\x82"),
            "a message cut inside a code point"
        );
    }
}
