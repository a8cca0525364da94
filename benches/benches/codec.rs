//! The codec's hot path, beside bare httparse on the same input, so the
//! cost of rcorn's validation policy is measured rather than assumed.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_benches::{BROWSER_GET, SMALL_POST};
use rcorn_core::http::{
    DateCache, DecoderConfig, Event, RequestDecoder, RequestFacts, ResponseEncoder,
};
use std::hint::black_box;
use std::mem::MaybeUninit;

/// Bare httparse, called as rcorn's decoder calls it: a header array of the
/// same capacity, left uninitialised (httparse writes only what it finds).
fn httparse_bare(input: &[u8]) -> bool {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
    let mut req = httparse::Request::new(&mut []);
    req.parse_with_uninit_headers(input, &mut headers)
        .map(|s| s.is_complete())
        .unwrap_or(false)
}

/// Bare httparse over bytes just copied into a reused buffer, the way
/// rcorn's `feed` (or a socket read) delivers them before it decodes. Copy
/// and parse together cost well over the copy alone (about 45 ns more than
/// `httparse_bare` on the GET, 20 ns on the POST, when measured), so this
/// is the baseline that receives its input as rcorn does.
fn httparse_fed(buf: &mut [u8], input: &[u8]) -> bool {
    buf[..input.len()].copy_from_slice(input);
    httparse_bare(&buf[..input.len()])
}

fn decode_all(decoder: &mut RequestDecoder, input: &[u8]) -> usize {
    decoder.feed(input);
    let mut seen = 0;
    loop {
        match decoder.next_event() {
            Ok(Event::Head(h)) => seen += h.header_count(),
            Ok(Event::Body(b)) => seen += b.len(),
            Ok(Event::End) => {}
            Ok(_) => return seen,
            Err(e) => panic!("benchmark input rejected: {e}"),
        }
    }
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
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

criterion_group!(benches, decode, encode);
criterion_main!(benches);
