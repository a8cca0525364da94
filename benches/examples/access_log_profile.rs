//! Logs the access-log bench's request in a plain loop: rendered in
//! gunicorn's default format and sent through io's log (the `tracing`
//! event, the level check, the text layer) to `/dev/null`, for profilers
//! that count instructions (`valgrind --tool=callgrind`) rather than time
//! them; on a shared, noisy machine the count is the steadier measure.
//! `json` as the second argument logs JSON lines instead.
//!
//! `cargo build --profile bench -p rcorn-benches --example access_log_profile`,
//! then `valgrind --tool=callgrind target/release/examples/access_log_profile 20000`
//! and divide the instruction count by the iterations.

use rcorn_benches::access::REQUEST;
use rcorn_core::access_log::AccessLogFormat;
use rcorn_io::log::{self, Level, LogConfig, LogFormat};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let format = match args.next().as_deref() {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Text,
    };
    if let Err(e) = log::init(&LogConfig {
        level: Level::Info,
        errorlog: "-",
        accesslog: Some("/dev/null"),
        capture_output: false,
        syslog: None,
        format,
    }) {
        panic!("{e}");
    }
    let default = AccessLogFormat::default();
    let mut line = Vec::with_capacity(512);
    for _ in 0..iterations {
        line.clear();
        default.render(black_box(&REQUEST), &mut line);
        line.push(b'\n');
        log::access_record(&REQUEST, &line);
    }
    println!("{iterations} lines of {} bytes", line.len());
}
