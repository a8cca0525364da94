//! Chunked bodies after a valid head: no panic, split-invariance, and a
//! completed body always means what a plain reading of the chunks says.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::check_chunked_body(data));
