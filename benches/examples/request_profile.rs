//! Serves the request bench's whole request (socket pair, Rust hello-world
//! app) in a plain loop, for profilers that count instructions rather than
//! time them: on a shared, noisy machine the count is the steadier measure
//! of the server's own work per request (the kernel's is not counted).
//!
//! `cargo build --profile bench -p rcorn-benches --example request_profile`,
//! then `valgrind --tool=callgrind target/release/examples/request_profile 20000`
//! and divide the instruction count by the iterations (the start-up is the
//! same for every build).

use rcorn_benches::{RustHello, SocketPairServer, BROWSER_GET};
use std::hint::black_box;

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut server = SocketPairServer::new();
    let mut app = RustHello;
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += server.serve_one(&mut app, black_box(BROWSER_GET));
    }
    println!("{iterations} requests, {bytes} response bytes");
}
