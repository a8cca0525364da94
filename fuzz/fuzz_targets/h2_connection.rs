//! The HTTP/2 server machine on any client bytes, driven as a worker
//! would drive it (see `rcorn_fuzz::h2_connection`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::h2_connection::check_h2_connection(data));
