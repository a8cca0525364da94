//! Replays the fuzz corpus through the fuzz targets' own property checks,
//! on stable Rust and in every `cargo test`: the seed corpus always, and
//! whatever a local `cargo fuzz run` has added under `fuzz/corpus/<target>`.
//!
//! Memory is checked here too: a counting allocator bounds what decoding
//! one input may hold at once (libFuzzer's `-malloc_limit_mb` does the same
//! when fuzzing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_properties;

struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The counters are process-wide: one test at a time, so another test's
/// allocations (a panic's backtrace, say) are not counted against a replay.
static SERIAL: Mutex<()> = Mutex::new(());

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut files = Vec::new();
    for dir in [fuzz.join("seed").join(target), fuzz.join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
    }
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) -> usize {
    replay_within(target, check, 256 << 10)
}

/// `allowance`: bytes an input may hold beyond a few copies of itself.
fn replay_within(target: &str, check: fn(&[u8]), allowance: usize) -> usize {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let files = corpus_files(target);
    for path in &files {
        let input = std::fs::read(path).expect("readable corpus file");
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let outcome = std::panic::catch_unwind(|| check(&input));
        // Three decodes hold their steps at once, each at most a few
        // copies of the input (buffer, head storage, body steps).
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let bound = 64 * input.len() + allowance;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(Box::new(format!(
                "{}: {}",
                path.display(),
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("panic")
            )));
        }
        assert!(
            peak <= bound,
            "{}: {peak} bytes live at once for a {}-byte input",
            path.display(),
            input.len()
        );
    }
    files.len()
}

#[test]
fn request_decoder_corpus_holds_the_fuzz_properties() {
    let n = replay("request_decoder", fuzz_properties::check_request_decoder);
    assert!(n >= 100, "seed corpus missing: {n} files");
}

#[test]
fn chunked_body_corpus_holds_the_fuzz_properties() {
    let n = replay("chunked_body", fuzz_properties::check_chunked_body);
    assert!(n >= 10, "seed corpus missing: {n} files");
}

#[test]
fn h1_connection_corpus_holds_the_fuzz_properties() {
    let n = replay(
        "h1_connection",
        fuzz_properties::h1_connection::check_h1_connection,
    );
    assert!(n >= 10, "seed corpus missing: {n} files");
}

#[test]
fn uwsgi_decoder_corpus_holds_the_fuzz_properties() {
    let n = replay("uwsgi_decoder", fuzz_properties::uwsgi::check_uwsgi_decoder);
    assert!(n >= 9, "seed corpus missing: {n} files");
}

#[test]
fn h2_connection_corpus_holds_the_fuzz_properties() {
    // The connection may hold up to `max_pending_output` (256 KiB) of
    // output, which the check copies once more as it parses it.
    let n = replay_within(
        "h2_connection",
        fuzz_properties::h2_connection::check_h2_connection,
        1 << 20,
    );
    assert!(n >= 10, "seed corpus missing: {n} files");
}

/// The lenient reference reading itself, so a fuzz verdict against it
/// means something.
#[test]
fn lenient_dechunk_reads_plain_bodies() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(
        fuzz_properties::lenient_dechunk(b"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nrest"),
        Some((b"abc".to_vec(), 23))
    );
    assert_eq!(fuzz_properties::lenient_dechunk(b"3\r\nabc"), None);
    assert_eq!(fuzz_properties::lenient_dechunk(b"x\r\n"), None);
}

#[test]
fn dirty_frames_corpus_holds_the_fuzz_properties() {
    let n = replay(
        "dirty_frames",
        fuzz_properties::dirty_frames::check_dirty_frames,
    );
    assert!(n >= 5, "seed corpus missing: {n} files");
}

#[test]
fn ws_connection_corpus_holds_the_fuzz_properties() {
    // Two runs, each with a compressor and an inflater (zlib's own state).
    let n = replay_within(
        "ws_connection",
        fuzz_properties::ws_connection::check_ws_connection,
        (256 << 10) + (2 << 20),
    );
    assert!(n >= 9, "seed corpus missing: {n} files");
}
