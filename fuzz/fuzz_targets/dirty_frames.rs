//! gunicorn's dirty protocol (frames and TLV payloads): no panic,
//! split-invariance, decoded values re-encode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rcorn_fuzz::dirty_frames::check_dirty_frames(data));
