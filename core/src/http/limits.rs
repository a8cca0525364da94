//! The three request-size settings as the decoder applies them.
//!
//! The settings say what the operator asked for; these rules, gunicorn
//! 26's (`Message.__init__` and `Request.__init__` in
//! `gunicorn/http/message.py`), say what that means. Negative values never
//! get here: the settings refuse them, as gunicorn's validator does.
//!
//! - `limit_request_line`: above 8190 is 8190. 0 means no limit of
//!   gunicorn's own in its Python parser (its C parser takes it as 1 MiB);
//!   rcorn takes it as 1 MiB too, so that one line cannot grow a worker's
//!   buffer without end.
//! - `limit_request_fields`: 0, or above 32768, is 32768.
//! - `limit_request_field_size`: 0 is 8190 (gunicorn's settings page says
//!   "unlimited", its parser and its tests say 8190). Larger values are
//!   taken as given.

use super::DecoderConfig;

/// The longest request line any setting allows.
pub const MAX_REQUEST_LINE: usize = 8190;
/// What `limit_request_line = 0` allows.
pub const UNLIMITED_REQUEST_LINE: usize = 1 << 20;
/// The most header fields any setting allows.
pub const MAX_HEADERS: usize = 32768;
/// What `limit_request_field_size = 0` allows.
pub const DEFAULT_MAX_HEADERFIELD_SIZE: usize = 8190;

impl DecoderConfig {
    /// Sets the three limits from the settings' values, by the rules above.
    pub fn with_limits(mut self, line: u64, fields: u64, field_size: u64) -> Self {
        self.limit_request_line = match line {
            0 => UNLIMITED_REQUEST_LINE,
            n => clamp(n, MAX_REQUEST_LINE),
        };
        self.limit_request_fields = match fields {
            0 => MAX_HEADERS,
            n => clamp(n, MAX_HEADERS),
        };
        self.limit_request_field_size = match field_size {
            0 => DEFAULT_MAX_HEADERFIELD_SIZE,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        self
    }
}

fn clamp(n: u64, max: usize) -> usize {
    usize::try_from(n).map_or(max, |n| n.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(line: u64, fields: u64, size: u64) -> (usize, usize, usize) {
        let c = DecoderConfig::default().with_limits(line, fields, size);
        (
            c.limit_request_line,
            c.limit_request_fields,
            c.limit_request_field_size,
        )
    }

    #[test]
    fn in_range_values_are_taken_as_given() {
        assert_eq!(limits(4094, 100, 8190), (4094, 100, 8190));
        assert_eq!(limits(1, 1, 1), (1, 1, 1));
        assert_eq!(limits(8190, 32768, 8190), (8190, 32768, 8190));
    }

    #[test]
    fn zero_means_the_documented_maximum_or_default() {
        assert_eq!(limits(0, 0, 0), (1 << 20, 32768, 8190));
    }

    #[test]
    fn above_the_maximum_is_the_maximum_except_field_size() {
        assert_eq!(limits(8191, 32769, 8191), (8190, 32768, 8191));
        assert_eq!(limits(u64::MAX, u64::MAX, 100_000), (8190, 32768, 100_000));
    }
}
