//! The access log: one line per request in gunicorn's format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcorn_core::access_log::{AccessLogFormat, AccessRecord};
use rcorn_core::http::RequestHead;

use crate::exchange::{Connection, ExchangeSummary, LogFields};
use crate::stream::PeerAddr;

#[derive(Clone)]
pub struct AccessLogger {
    format: AccessLogFormat,
    line: Vec<u8>,
    remote: String,
}

impl AccessLogger {
    pub fn new(format: AccessLogFormat) -> AccessLogger {
        AccessLogger {
            format,
            line: Vec::with_capacity(256),
            remote: String::new(),
        }
    }

    pub fn wants_response_headers(&self) -> bool {
        self.format.uses_response_headers()
    }

    /// The environ keys the format prints (`%({name}e)s`), lower case.
    pub fn environ_names(&self) -> Vec<String> {
        self.format.environ_names().map(str::to_owned).collect()
    }

    pub fn log(&mut self, conn: &Connection, summary: &ExchangeSummary) {
        let Some(head) = conn.http.request_head() else {
            return;
        };
        self.log_request(head, &conn.peer, &conn.log_fields, summary);
    }

    /// The line of one request, whatever connection carried it.
    pub fn log_request(
        &mut self,
        head: &RequestHead,
        peer: &PeerAddr,
        fields: &LogFields,
        summary: &ExchangeSummary,
    ) {
        self.remote.clear();
        if let Some(ip) = peer.ip() {
            use std::fmt::Write;
            let _ = write!(self.remote, "{ip}");
        }
        let started = SystemTime::now()
            .checked_sub(summary.duration)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        let record = Record {
            head,
            remote: &self.remote,
            summary,
            started,
            fields,
        };
        self.line.clear();
        self.format.render(&record, &mut self.line);
        self.line.push(b'\n');
        crate::log::access_record(&record, &self.line);
    }
}

struct Record<'a> {
    head: &'a RequestHead,
    remote: &'a str,
    summary: &'a ExchangeSummary,
    started: Duration,
    fields: &'a LogFields,
}

impl AccessRecord for Record<'_> {
    fn remote_addr(&self) -> &str {
        self.remote
    }
    fn method(&self) -> &str {
        self.head.method()
    }
    fn raw_uri(&self) -> &[u8] {
        self.head.target()
    }
    fn path(&self) -> &[u8] {
        self.head.path()
    }
    fn query(&self) -> &[u8] {
        self.head.query()
    }
    fn http_version(&self) -> (u8, u8) {
        self.head.version()
    }
    fn status(&self) -> u16 {
        self.summary.status
    }
    fn response_length(&self) -> Option<u64> {
        Some(self.summary.body_bytes)
    }
    fn request_header(&self, lower_name: &str) -> Option<&[u8]> {
        // gunicorn's environ keeps the last of repeated fields for `{h}i`.
        self.head
            .headers()
            .filter(|(name, _)| name.eq_ignore_ascii_case(lower_name.as_bytes()))
            .last()
            .map(|(_, value)| value)
    }
    fn response_header(&self, lower_name: &str) -> Option<&[u8]> {
        self.fields
            .response_headers
            .iter()
            .rev()
            .find(|(name, _)| name == lower_name)
            .map(|(_, value)| value.as_slice())
    }
    fn environ_var(&self, lower_name: &str) -> Option<String> {
        self.fields
            .environ
            .iter()
            .find(|(name, _)| name == lower_name)
            .map(|(_, value)| value.clone())
    }
    fn pid(&self) -> u32 {
        std::process::id()
    }
    fn duration(&self) -> Duration {
        self.summary.duration
    }
    fn start_unix(&self) -> (i64, u32) {
        (self.started.as_secs() as i64, self.started.subsec_nanos())
    }
    fn utc_offset_secs(&self) -> i32 {
        crate::clock::utc_offset_secs(self.started.as_secs() as i64)
    }
    fn remote_user(&self) -> Option<&str> {
        None
    }
}
