//! One whole request through rcorn's Rust path: bytes into a connected
//! socket pair, read and decoded by the `Connection`, answered by a Rust
//! hello-world `App` through an `Exchange` (status, headers, body, Date,
//! framing), flushed, and read back by the client side. No Python: this
//! is the server's own cost per request, syscalls included, which the load
//! comparison can only show mixed with the application's and wrk's.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::{RustHello, SocketPairServer, BROWSER_GET};

fn request(c: &mut Criterion) {
    let mut server = SocketPairServer::new();
    let mut app = RustHello;
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hello/browser_get", |b| {
        b.iter(|| std::hint::black_box(server.serve_one(&mut app, BROWSER_GET)))
    });
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
