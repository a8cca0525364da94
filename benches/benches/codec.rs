//! The codec's hot path, beside httparse on the same input, so the cost of
//! rcorn's validation policy is measured rather than assumed. Two
//! baselines: `httparse_parse`, `Request::parse` as httparse documents it
//! (64 `EMPTY_HEADER`s), and `httparse_bare`, the uninitialised-array call
//! rcorn's decoder itself makes, the cheapest way to run httparse.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::{
    decode_all, decode_buffered, decode_read, httparse_bare, httparse_fed, httparse_parse,
    httparse_parse_stream, httparse_stream, pipelined, BROWSER_GET, SMALL_POST,
};
use rcorn_core::http::{DateCache, DecoderConfig, RequestDecoder, RequestFacts, ResponseEncoder};
use std::hint::black_box;

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("httparse_parse/browser_get", |b| {
        b.iter(|| black_box(httparse_parse(black_box(BROWSER_GET))))
    });
    group.bench_function("httparse_bare/browser_get", |b| {
        b.iter(|| black_box(httparse_bare(black_box(BROWSER_GET))))
    });
    let mut buf = vec![0u8; 4096];
    group.bench_function("httparse_fed/browser_get", |b| {
        b.iter(|| black_box(httparse_fed(&mut buf, black_box(BROWSER_GET))))
    });
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    group.bench_function("rcorn/browser_get", |b| {
        b.iter(|| black_box(decode_all(&mut decoder, black_box(BROWSER_GET))))
    });
    decode_all(&mut decoder, BROWSER_GET);
    group.bench_function("rcorn_read/browser_get", |b| {
        b.iter(|| black_box(decode_read(&mut decoder, black_box(BROWSER_GET.len()))))
    });
    group.bench_function("httparse_parse/small_post", |b| {
        b.iter(|| black_box(httparse_parse(black_box(SMALL_POST))))
    });
    group.bench_function("httparse_bare/small_post", |b| {
        b.iter(|| black_box(httparse_bare(black_box(SMALL_POST))))
    });
    let mut buf = vec![0u8; 4096];
    group.bench_function("httparse_fed/small_post", |b| {
        b.iter(|| black_box(httparse_fed(&mut buf, black_box(SMALL_POST))))
    });
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    group.bench_function("rcorn/small_post", |b| {
        b.iter(|| black_box(decode_all(&mut decoder, black_box(SMALL_POST))))
    });
    decode_all(&mut decoder, SMALL_POST);
    group.bench_function("rcorn_read/small_post", |b| {
        b.iter(|| black_box(decode_read(&mut decoder, black_box(SMALL_POST.len()))))
    });
    group.finish();
}

/// Messages per measured batch in `decode_in_buffer`: enough that the
/// per-batch overhead vanishes, few enough (8 KB of GETs) to stay in L1.
const BATCH: usize = 16;

/// The decode as the worker runs it on a busy connection: one read brings
/// several messages into the decoder's buffer (here a copy of 8 KB, which
/// rcorn is charged for and httparse is not), then they are decoded one
/// after another. Both sides parse the same 16 pipelined messages.
fn decode_in_buffer(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_in_buffer");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, message) in [("browser_get", BROWSER_GET), ("small_post", SMALL_POST)] {
        let stream = pipelined(message, BATCH);
        group.bench_function(format!("httparse_parse/{name}"), |b| {
            b.iter(|| black_box(httparse_parse_stream(black_box(&stream), message.len())))
        });
        group.bench_function(format!("httparse_bare/{name}"), |b| {
            b.iter(|| black_box(httparse_stream(black_box(&stream), message.len())))
        });
        let mut decoder = RequestDecoder::new(DecoderConfig::default());
        group.bench_function(format!("rcorn/{name}"), |b| {
            b.iter(|| {
                decoder.feed(black_box(&stream));
                black_box(decode_buffered(&mut decoder))
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut encoder = ResponseEncoder::new(b"rcorn");
    let mut dates = DateCache::new();
    let mut out = Vec::with_capacity(1024);
    let facts = RequestFacts {
        head_request: false,
        http_minor: 1,
        keep_alive: true,
    };
    c.bench_function("encode/typical_response", |b| {
        b.iter(|| {
            out.clear();
            encoder.start(facts, 200, b"OK", &mut out).unwrap();
            encoder
                .header(b"Content-Type", b"text/html; charset=utf-8", &mut out)
                .unwrap();
            encoder
                .header(b"Cache-Control", b"no-cache", &mut out)
                .unwrap();
            encoder
                .header(b"X-Request-Id", b"5f2b7c1e", &mut out)
                .unwrap();
            encoder
                .finish_head(dates.get(1_700_000_000), Some(13), &mut out)
                .unwrap();
            encoder.body(b"Hello, World!", &mut out).unwrap();
            black_box(encoder.finish(&mut out).unwrap());
            black_box(out.len())
        })
    });
}

criterion_group!(benches, decode, decode_in_buffer, encode);
criterion_main!(benches);
