//! The WebSocket machine on arbitrary client bytes, whole and in pieces
//! (see `rcorn_fuzz::ws_connection`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::ws_connection::check_ws_connection(data));
