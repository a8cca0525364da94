//! Any bytes a client may send: no panic, the event protocol holds, and the
//! events do not depend on how the bytes are split (see `rcorn_fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::check_request_decoder(data));
