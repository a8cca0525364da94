//! Runs the codec bench's decode inputs in a plain loop, for profilers that
//! count instructions (`valgrind --tool=callgrind`) rather than time them,
//! or (`time`) alternates batches of bare httparse (on the constant input
//! and on a just-filled buffer, as in the bench) and rcorn, and reports
//! each one's fastest batch: on a shared, noisy machine the minimum is the
//! steadier estimate.
//!
//! `cargo build --profile bench -p rcorn-benches --example codec_profile`,
//! then `valgrind --tool=callgrind target/release/examples/codec_profile get rcorn`
//! or `target/release/examples/codec_profile post time`.

use rcorn_benches::{decode_all, httparse_bare, httparse_fed, BROWSER_GET, SMALL_POST};
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
        Some("time") => {
            const BATCH: u32 = 10_000;
            let (mut bare, mut fed, mut rcorn) = (f64::MAX, f64::MAX, f64::MAX);
            let mut buf = vec![0u8; 4096];
            for _ in 0..iterations.div_ceil(BATCH as usize) {
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
            }
            println!(
                "httparse {bare:.1} ns, httparse fed {fed:.1} ns, rcorn {rcorn:.1} ns; \
                 rcorn/httparse {:.2}, rcorn/fed {:.2}",
                rcorn / bare,
                rcorn / fed
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
