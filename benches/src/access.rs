//! The request the access-log bench and its profiling driver log.

use rcorn_core::access_log::AccessRecord;
use std::time::Duration;

/// A browser's GET with Basic auth, as the server would describe it.
pub struct Request {
    headers: [(&'static str, &'static [u8]); 4],
}

impl AccessRecord for Request {
    fn remote_addr(&self) -> &str {
        "192.168.1.7"
    }
    fn method(&self) -> &str {
        "GET"
    }
    fn raw_uri(&self) -> &[u8] {
        b"/static/caf%C3%A9/logo.png?size=large"
    }
    fn path(&self) -> &[u8] {
        b"/static/caf%C3%A9/logo.png"
    }
    fn query(&self) -> &[u8] {
        b"size=large"
    }
    fn http_version(&self) -> (u8, u8) {
        (1, 1)
    }
    fn status(&self) -> u16 {
        200
    }
    fn response_length(&self) -> Option<u64> {
        Some(5123)
    }
    fn request_header(&self, lower_name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| *n == lower_name)
            .map(|(_, v)| *v)
    }
    fn response_header(&self, _lower_name: &str) -> Option<&[u8]> {
        None
    }
    fn environ_var(&self, _lower_name: &str) -> Option<String> {
        None
    }
    fn pid(&self) -> u32 {
        4242
    }
    fn duration(&self) -> Duration {
        Duration::from_micros(1234)
    }
    fn start_unix(&self) -> (i64, u32) {
        (1_795_501_800, 250_000_000)
    }
    fn utc_offset_secs(&self) -> i32 {
        3600
    }
    fn remote_user(&self) -> Option<&str> {
        None
    }
}

pub const REQUEST: Request = Request {
    headers: [
        ("host", b"example.com"),
        (
            "user-agent",
            b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
        ),
        ("referer", b"https://example.com/index.html"),
        ("authorization", b"Basic YWxpY2U6c2VjcmV0"),
    ],
};
