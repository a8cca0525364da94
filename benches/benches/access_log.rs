//! One access-log line per request: the cost of rendering gunicorn's
//! default format (with a Basic-auth user and a percent-encoded path, so
//! `%(u)s`, `%(t)s` and `%(U)s` all do their work) and of the error-log
//! prefix, both of which print a local date and time.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::access::REQUEST;
use rcorn_core::access_log::{error_log_prefix, AccessLogFormat};
use std::hint::black_box;

fn access_line(c: &mut Criterion) {
    let mut group = c.benchmark_group("access_log");
    group.throughput(Throughput::Elements(1));
    let default = AccessLogFormat::default();
    let path_and_time = AccessLogFormat::parse("%(t)s %(U)s %(L)s").expect("a valid format");
    let mut out = Vec::with_capacity(512);
    group.bench_function("default_format", |b| {
        b.iter(|| {
            out.clear();
            default.render(black_box(&REQUEST), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("time_path_duration", |b| {
        b.iter(|| {
            out.clear();
            path_and_time.render(black_box(&REQUEST), &mut out);
            black_box(out.len())
        })
    });
    // The whole way of a rendered line out of a worker: io's access log,
    // its level and sink checks, and the write (to /dev/null, so the disk
    // is not measured).
    if let Err(e) = rcorn_io::log::init(&rcorn_io::log::LogConfig {
        level: rcorn_io::log::Level::Info,
        errorlog: "-",
        accesslog: Some("/dev/null"),
        capture_output: false,
        syslog: None,
        format: rcorn_io::log::LogFormat::Text,
    }) {
        panic!("{e}");
    }
    group.bench_function("default_format_to_sink", |b| {
        b.iter(|| {
            out.clear();
            default.render(black_box(&REQUEST), &mut out);
            out.push(b'\n');
            rcorn_io::log::access_record(&REQUEST, &out);
            black_box(out.len())
        })
    });
    group.bench_function("error_log_prefix", |b| {
        b.iter(|| {
            out.clear();
            error_log_prefix(black_box(1_795_501_800), 3600, 4242, "INFO", &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, access_line);
criterion_main!(benches);
