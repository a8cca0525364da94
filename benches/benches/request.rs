//! One whole request through rcorn's Rust path: bytes into a connected
//! socket pair, read and decoded by the `Connection`, answered by a Rust
//! hello-world `App` through an `Exchange` (status, headers, body, Date,
//! framing), flushed, and read back by the client side. No Python: this
//! is the server's own cost per request, syscalls included, which the load
//! comparison can only show mixed with the application's and wrk's.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::{serve_one, socket_pair_connection, RustHello, BROWSER_GET};
use rcorn_core::http::DateCache;

fn request(c: &mut Criterion) {
    let (mut conn, mut client) = socket_pair_connection();
    let mut dates = DateCache::new();
    let mut app = RustHello;
    let mut response = vec![0u8; 4096];
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hello/browser_get", |b| {
        b.iter(|| {
            let n = serve_one(
                &mut conn,
                &mut client,
                &mut dates,
                &mut app,
                BROWSER_GET,
                &mut response,
            );
            std::hint::black_box(&response[..n]);
        })
    });
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
