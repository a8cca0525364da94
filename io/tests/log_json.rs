//! `LogFormat::Json`: each error and access line is one JSON object with
//! the time, level, logger, pid and message, an access line also the
//! request's named fields; lines below `loglevel` are not written. Its
//! own test binary, since the log's subscriber is for the life of the
//! process.

use std::time::Duration;

use rcorn_core::access_log::AccessRecord;
use rcorn_io::log::{self, Level, LogConfig, LogFormat};
use serde_json::Value;

/// A GET with a referer and no user agent.
struct Request;

impl AccessRecord for Request {
    fn remote_addr(&self) -> &str {
        "192.0.2.7"
    }
    fn method(&self) -> &str {
        "GET"
    }
    fn raw_uri(&self) -> &[u8] {
        b"/caf\xc3\xa9?q=\"1\""
    }
    fn path(&self) -> &[u8] {
        b"/caf\xc3\xa9"
    }
    fn query(&self) -> &[u8] {
        b"q=\"1\""
    }
    fn http_version(&self) -> (u8, u8) {
        (1, 0)
    }
    fn status(&self) -> u16 {
        404
    }
    fn response_length(&self) -> Option<u64> {
        Some(9)
    }
    fn request_header(&self, lower_name: &str) -> Option<&[u8]> {
        (lower_name == "referer").then_some(b"http://example.com/".as_slice())
    }
    fn response_header(&self, _: &str) -> Option<&[u8]> {
        None
    }
    fn environ_var(&self, _: &str) -> Option<String> {
        None
    }
    fn pid(&self) -> u32 {
        std::process::id()
    }
    fn duration(&self) -> Duration {
        Duration::from_micros(1500)
    }
    fn start_unix(&self) -> (i64, u32) {
        (1_795_501_800, 0)
    }
    fn utc_offset_secs(&self) -> i32 {
        0
    }
    fn remote_user(&self) -> Option<&str> {
        None
    }
}

fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn error_and_access_lines_are_json_objects() {
    let dir = std::env::temp_dir().join(format!("rcorn-log-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let error_path = dir.join("error.log");
    let access_path = dir.join("access.log");
    log::init(&LogConfig {
        level: Level::Info,
        errorlog: error_path.to_str().unwrap(),
        accesslog: Some(access_path.to_str().unwrap()),
        capture_output: false,
        syslog: None,
        format: LogFormat::Json,
    })
    .unwrap();
    log::log(Level::Debug, format_args!("below loglevel"));
    log::log(Level::Info, format_args!("Booting worker with pid: {}", 42));
    log::log(Level::Critical, format_args!("a \"quoted\"\nsecond line"));
    log::access_record(
        &Request,
        b"192.0.2.7 - - \"GET /caf\xc3\xa9 HTTP/1.0\" 404 9\n",
    );

    let errors = json_lines(&error_path);
    assert_eq!(errors.len(), 2, "{errors:?}");
    let pid = u64::from(std::process::id());
    assert_eq!(errors[0]["level"], "INFO");
    assert_eq!(errors[0]["logger"], "gunicorn.error");
    assert_eq!(errors[0]["pid"], pid);
    assert_eq!(errors[0]["message"], "Booting worker with pid: 42");
    assert_eq!(errors[1]["level"], "CRITICAL");
    assert_eq!(errors[1]["message"], "a \"quoted\"\nsecond line");
    let time = errors[0]["time"].as_str().unwrap();
    assert_eq!(time.len(), "2026-11-24T06:30:00.250+00:00".len(), "{time}");
    assert_eq!(&time[10..11], "T");

    let access = json_lines(&access_path);
    assert_eq!(access.len(), 1, "{access:?}");
    let a = &access[0];
    assert_eq!(a["level"], "INFO");
    assert_eq!(a["logger"], "gunicorn.access");
    assert_eq!(a["message"], "192.0.2.7 - - \"GET /café HTTP/1.0\" 404 9");
    assert_eq!(a["remote_addr"], "192.0.2.7");
    assert_eq!(a["method"], "GET");
    // Request bytes as gunicorn's environ shows them, one character each.
    assert_eq!(a["uri"], "/caf\u{c3}\u{a9}?q=\"1\"");
    assert_eq!(a["protocol"], "HTTP/1.0");
    assert_eq!(a["status"], 404);
    assert_eq!(a["response_length"], 9);
    assert_eq!(a["request_time_us"], 1500);
    assert_eq!(a["referer"], "http://example.com/");
    assert_eq!(a["user_agent"], "-");
    std::fs::remove_dir_all(&dir).unwrap();
}
