//! The `Date` header value, formatted once per second.

use std::time::{Duration, UNIX_EPOCH};

pub struct DateCache {
    secs: u64,
    value: [u8; 29],
}

impl DateCache {
    pub fn new() -> Self {
        let mut cache = DateCache {
            secs: u64::MAX,
            value: [b' '; 29],
        };
        cache.get(0);
        cache
    }

    /// The IMF-fixdate for `unix_secs` (time is injected, never read).
    pub fn get(&mut self, unix_secs: u64) -> &[u8] {
        if unix_secs != self.secs {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs));
            let bytes = text.as_bytes();
            let n = bytes.len().min(self.value.len());
            self.value[..n].copy_from_slice(&bytes[..n]);
            self.secs = unix_secs;
        }
        &self.value
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_imf_fixdate_and_caches_per_second() {
        let mut dates = DateCache::new();
        assert_eq!(dates.get(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(dates.get(784_111_778), b"Sun, 06 Nov 1994 08:49:38 GMT");
    }
}
