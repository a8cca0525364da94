//! Runs the codec bench's decode inputs in a plain loop, for profilers that
//! count instructions (`valgrind --tool=callgrind`) rather than time them,
//! or (`time`, or `stream` for 16 pipelined messages per read) alternates
//! batches of httparse (`Request::parse` as documented, the bare
//! uninitialised-array call, and that call on a just-filled buffer, as in
//! the bench) and rcorn (fed a copy, and on the bytes a read left in its
//! buffer), and reports each one's fastest batch: on a shared, noisy
//! machine the minimum is the steadier estimate.
//!
//! `cargo build --profile bench -p rcorn-benches --example codec_profile`,
//! then `valgrind --tool=callgrind target/release/examples/codec_profile get rcorn`
//! or `target/release/examples/codec_profile post time`.

use rcorn_benches::{
    decode_all, decode_buffered, decode_read, httparse_bare, httparse_fed, httparse_parse,
    httparse_parse_stream, httparse_stream, pipelined, BROWSER_GET, SMALL_POST,
};
use rcorn_core::http::{DecoderConfig, RequestDecoder};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = match args.get(1).map(String::as_str) {
        Some("post") => SMALL_POST,
        _ => BROWSER_GET,
    };
    let iterations: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    let mut seen = 0;
    match args.get(2).map(String::as_str) {
        Some("httparse") => {
            for _ in 0..iterations {
                seen += usize::from(httparse_bare(black_box(input)));
            }
        }
        Some("stream") => {
            // As the bench's decode_in_buffer group: 16 pipelined messages
            // per round, the fastest of many batches on each side.
            const ROUNDS: u32 = 1_000;
            const MESSAGES: usize = 16;
            let stream = pipelined(input, MESSAGES);
            let per_message =
                |t: Instant| t.elapsed().as_secs_f64() * 1e9 / f64::from(ROUNDS) / MESSAGES as f64;
            let (mut parse, mut bare, mut rcorn) = (f64::MAX, f64::MAX, f64::MAX);
            for _ in 0..iterations.div_ceil(ROUNDS as usize * MESSAGES) {
                let t = Instant::now();
                for _ in 0..ROUNDS {
                    seen += httparse_parse_stream(black_box(&stream), input.len());
                }
                parse = parse.min(per_message(t));
                let t = Instant::now();
                for _ in 0..ROUNDS {
                    seen += httparse_stream(black_box(&stream), input.len());
                }
                bare = bare.min(per_message(t));
                let t = Instant::now();
                for _ in 0..ROUNDS {
                    decoder.feed(black_box(&stream));
                    seen += decode_buffered(&mut decoder);
                }
                rcorn = rcorn.min(per_message(t));
            }
            println!(
                "pipelined: httparse parse {parse:.1} ns, bare {bare:.1} ns, rcorn {rcorn:.1} ns \
                 per message; rcorn/parse {:.2}, rcorn/bare {:.2}",
                rcorn / parse,
                rcorn / bare
            );
        }
        Some("time") => {
            const BATCH: u32 = 10_000;
            let (mut parse, mut bare, mut fed, mut rcorn, mut read) =
                (f64::MAX, f64::MAX, f64::MAX, f64::MAX, f64::MAX);
            let mut buf = vec![0u8; 4096];
            for _ in 0..iterations.div_ceil(BATCH as usize) {
                let t = Instant::now();
                for _ in 0..BATCH {
                    seen += usize::from(httparse_parse(black_box(input)));
                }
                parse = parse.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
                let t = Instant::now();
                for _ in 0..BATCH {
                    seen += usize::from(httparse_bare(black_box(input)));
                }
                bare = bare.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
                let t = Instant::now();
                for _ in 0..BATCH {
                    seen += usize::from(httparse_fed(&mut buf, black_box(input)));
                }
                fed = fed.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
                let t = Instant::now();
                for _ in 0..BATCH {
                    seen += decode_all(&mut decoder, black_box(input));
                }
                rcorn = rcorn.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
                let t = Instant::now();
                for _ in 0..BATCH {
                    seen += decode_read(&mut decoder, black_box(input.len()));
                }
                read = read.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
            }
            println!(
                "httparse parse {parse:.1} ns, bare {bare:.1} ns, fed {fed:.1} ns, \
                 rcorn fed {rcorn:.1} ns, read {read:.1} ns; rcorn fed/parse {:.2}, \
                 fed/bare {:.2}, fed/fed {:.2}; rcorn read/parse {:.2}, read/bare {:.2}",
                rcorn / parse,
                rcorn / bare,
                rcorn / fed,
                read / parse,
                read / bare
            );
        }
        _ => {
            for _ in 0..iterations {
                seen += decode_all(&mut decoder, black_box(input));
            }
        }
    }
    black_box(seen);
}
