//! Runs the codec bench's decode inputs in a plain loop, for profilers that
//! count instructions (`valgrind --tool=callgrind`) rather than time them.
//!
//! `cargo build --release -p rcorn-benches --example codec_profile`, then
//! `valgrind --tool=callgrind target/release/examples/codec_profile get rcorn`.

use rcorn_core::http::{DecoderConfig, Event, RequestDecoder};
use std::hint::black_box;

use rcorn_benches::{BROWSER_GET, SMALL_POST};
use std::mem::MaybeUninit;

/// As in the codec bench.
fn httparse_bare(input: &[u8]) -> bool {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
    let mut req = httparse::Request::new(&mut []);
    req.parse_with_uninit_headers(input, &mut headers)
        .map(|s| s.is_complete())
        .unwrap_or(false)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = match args.get(1).map(String::as_str) {
        Some("post") => SMALL_POST,
        _ => BROWSER_GET,
    };
    let iterations: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let mut seen = 0;
    if args.get(2).map(String::as_str) == Some("httparse") {
        for _ in 0..iterations {
            seen += httparse_bare(black_box(input)) as usize;
        }
    } else {
        let mut decoder = RequestDecoder::new(DecoderConfig::default());
        for _ in 0..iterations {
            decoder.feed(black_box(input));
            loop {
                match decoder.next_event() {
                    Ok(Event::Head(h)) => seen += h.header_count(),
                    Ok(Event::Body(b)) => seen += b.len(),
                    Ok(Event::End) => {}
                    Ok(_) => break,
                    Err(e) => panic!("input rejected: {e}"),
                }
            }
        }
    }
    println!("{}", black_box(seen));
}
