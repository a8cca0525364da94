//! One whole request through rcorn's Rust path: bytes into a connected
//! socket pair, read and decoded by the `Connection`, answered by a Rust
//! hello-world `App` through an `Exchange` (status, headers, body, Date,
//! framing), flushed, and read back by the client side. No Python: this
//! is the server's own cost per request, syscalls included, which the load
//! comparison can only show mixed with the application's and wrk's.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::BROWSER_GET;
use rcorn_core::http::{DateCache, DecoderConfig, Event, RequestDecoder, ResponseEncoder};
use rcorn_io::exchange::{Connection, Exchange, ExchangeContext, ServerAddr};
use rcorn_io::stream::{PeerAddr, Stream};
use rcorn_io::App;
use std::io::{Read, Write};
use std::time::Duration;

struct Hello;

impl App for Hello {
    fn call(&mut self, ex: &mut Exchange<'_>) {
        let body = b"Hello, World!\n";
        let _ = ex.start_response(200, b"OK");
        let _ = ex.header(b"Content-Type", b"text/plain");
        let _ = ex.end_head(Some(body.len() as u64));
        let _ = ex.write_body(body);
    }
}

fn request(c: &mut Criterion) {
    let (server, mut client) = match std::os::unix::net::UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => panic!("socketpair: {e}"),
    };
    server
        .set_nonblocking(true)
        .expect("non-blocking server end");
    let mut conn = Connection {
        stream: Stream::Unix(mio::net::UnixStream::from_std(server)),
        decoder: RequestDecoder::new(DecoderConfig::default()),
        encoder: ResponseEncoder::new(b"rcorn"),
        out: Vec::with_capacity(4096),
        peer: PeerAddr::Unix,
        via: None,
        log_fields: Default::default(),
        server: ServerAddr {
            name: "bench".into(),
            port: String::new(),
            unix: true,
        },
    };
    let mut dates = DateCache::new();
    let mut app = Hello;
    let mut response = vec![0u8; 4096];
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hello/browser_get", |b| {
        b.iter(|| {
            client.write_all(BROWSER_GET).expect("client write");
            // The server side, as the worker loop runs it.
            loop {
                match conn.fill() {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("server read: {e}"),
                }
                match conn.decoder.next_event() {
                    Ok(Event::Head(_)) => break,
                    Ok(Event::End) | Ok(Event::NeedData) => continue,
                    other => panic!("unexpected {other:?}"),
                }
            }
            let ctx = ExchangeContext {
                dates: &mut dates,
                io_timeout: Duration::from_secs(5),
                forwarded_scheme: None,
                keep_alive: true,
                draining: None,
                keep_response_headers: false,
            };
            let mut ex = Exchange::new(&mut conn, ctx).expect("a head");
            app.call(&mut ex);
            let (keep_alive, _) = ex.finish();
            assert!(keep_alive);
            let n = client.read(&mut response).expect("client read");
            std::hint::black_box(&response[..n]);
        })
    });
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
