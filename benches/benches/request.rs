//! One whole request through rcorn's Rust path: bytes into a connected
//! socket pair, read and decoded by the `Connection`, answered by a Rust
//! hello-world `App` through an `Exchange` (status, headers, body, Date,
//! framing), flushed, and read back by the client side. No Python: this
//! is the server's own cost per request, syscalls included, which the load
//! comparison can only show mixed with the application's and wrk's.
//!
//! `hello/browser_get+metrics` is the same request with a metrics slot
//! installed, counting as a worker does (`io::request`: the method, the
//! in-flight gauge, status, duration bucket, and the bytes each read and
//! write moved); it runs second, since a slot cannot be uninstalled.
//! `metrics/one_request` is those calls alone, without the request.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::{RustHello, SocketPairServer, BROWSER_GET};
use rcorn_core::metrics::WorkerMetricsSlot;

static SLOT: WorkerMetricsSlot = WorkerMetricsSlot::new();

fn request(c: &mut Criterion) {
    let mut server = SocketPairServer::new();
    let mut app = RustHello;
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hello/browser_get", |b| {
        b.iter(|| std::hint::black_box(server.serve_one(&mut app, BROWSER_GET)))
    });
    group.bench_function("hello/browser_get+metrics", |b| {
        rcorn_io::metrics::install(&SLOT);
        b.iter(|| {
            let method = rcorn_io::metrics::method("GET");
            rcorn_io::metrics::request_started();
            let n = server.serve_one(&mut app, BROWSER_GET);
            rcorn_io::metrics::request_finished(method, 200, Duration::from_micros(n as u64));
            std::hint::black_box(n)
        })
    });
    group.finish();
    assert!(SLOT.requests() > 0, "the second run counted into the slot");
}

/// Only what the metrics add to a request: the calls `io::request` makes,
/// and one read and one write counted, with the slot installed.
fn metrics_alone(c: &mut Criterion) {
    rcorn_io::metrics::install(&SLOT);
    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_request", |b| {
        b.iter(|| {
            let method = rcorn_io::metrics::method(std::hint::black_box("GET"));
            rcorn_io::metrics::request_started();
            rcorn_io::metrics::received(std::hint::black_box(80));
            rcorn_io::metrics::sent(std::hint::black_box(130));
            rcorn_io::metrics::request_finished(method, 200, Duration::from_micros(40));
        })
    });
    group.finish();
}

criterion_group!(benches, request, metrics_alone);
criterion_main!(benches);
