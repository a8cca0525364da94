//! The codec's hot path, beside bare httparse on the same input, so the
//! cost of rcorn's validation policy is measured rather than assumed.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rcorn_core::http::{
    DateCache, DecoderConfig, Event, RequestDecoder, RequestFacts, ResponseEncoder,
};
use std::hint::black_box;

/// A typical browser GET (about 500 bytes of head).
const BROWSER_GET: &[u8] = b"GET /articles/2024/rust-http-servers?page=2&sort=recent HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/articles/2024\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\r\n";

const SMALL_POST: &[u8] = b"POST /api/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\":\"widget\",\"qty\":12}\n";

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
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            black_box(
                req.parse(black_box(BROWSER_GET))
                    .map(|s| s.is_complete())
                    .unwrap_or(false),
            )
        })
    });
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    group.bench_function("rcorn/browser_get", |b| {
        b.iter(|| black_box(decode_all(&mut decoder, black_box(BROWSER_GET))))
    });
    group.bench_function("httparse_bare/small_post", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            black_box(
                req.parse(black_box(SMALL_POST))
                    .map(|s| s.is_complete())
                    .unwrap_or(false),
            )
        })
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
