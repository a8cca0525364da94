//! A whole server connection: valid pipelined requests cut at any points,
//! answered by a model application; the output parsed back must be one
//! response per request, in order, framed exactly, nothing after a close
//! (see `rcorn_fuzz::h1_connection`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::h1_connection::check_h1_connection(data));
