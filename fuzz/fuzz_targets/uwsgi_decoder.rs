//! uwsgi packets, well-formed or not: no panic, the event protocol, the
//! same events however split, the head its variables say (see
//! `rcorn_fuzz::uwsgi`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::uwsgi::check_uwsgi_decoder(data));
