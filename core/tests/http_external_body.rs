//! Bytes framed by `external_body` (sent from a file by the caller) reach
//! the wire exactly as the same bytes given to `body` would.

use proptest::prelude::*;
use rcorn_core::http::{RequestFacts, ResponseEncoder};

const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

#[derive(Debug)]
struct Case {
    facts: RequestFacts,
    status: u16,
    content_length: Option<u64>,
    hint: Option<u64>,
    before: Vec<u8>,
    file: Vec<u8>,
}

/// Encodes the case, giving the file's bytes to `body` or to
/// `external_body` (then appending what it says to send, and `after`).
fn encode(case: &Case, external: bool) -> (Vec<u8>, Result<bool, String>) {
    let mut enc = ResponseEncoder::new(b"rcorn");
    let mut out = Vec::new();
    enc.start(case.facts, case.status, b"X", &mut out).unwrap();
    if let Some(n) = case.content_length {
        enc.header(b"Content-Length", n.to_string().as_bytes(), &mut out)
            .unwrap();
    }
    enc.finish_head(DATE, case.hint, &mut out).unwrap();
    enc.body(&case.before, &mut out).unwrap();
    if external {
        let plan = enc.external_body(case.file.len() as u64, &mut out).unwrap();
        out.extend_from_slice(&case.file[..plan.send as usize]);
        out.extend_from_slice(plan.after);
    } else {
        enc.body(&case.file, &mut out).unwrap();
    }
    let end = enc.finish(&mut out).map_err(|e| e.to_string());
    (out, end)
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0u8..=1, any::<bool>(), any::<bool>()),
        prop::sample::select(vec![200u16, 204, 304, 404]),
        prop::option::of(0u64..64),
        prop::option::of(0u64..64),
        prop::collection::vec(any::<u8>(), 0..16),
        prop::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(
            |((minor, keep_alive, head), status, content_length, hint, before, file)| Case {
                facts: RequestFacts {
                    head_request: head,
                    http_minor: minor,
                    keep_alive,
                },
                status,
                content_length,
                hint,
                before,
                file,
            },
        )
}

proptest! {
    #[test]
    fn external_body_frames_like_body(case in case()) {
        prop_assert_eq!(encode(&case, true), encode(&case, false));
    }
}

#[test]
fn a_chunked_file_is_one_chunk_and_an_empty_one_is_no_chunk() {
    let mut enc = ResponseEncoder::new(b"rcorn");
    let mut out = Vec::new();
    let facts = RequestFacts {
        head_request: false,
        http_minor: 1,
        keep_alive: true,
    };
    enc.start(facts, 200, b"OK", &mut out).unwrap();
    enc.finish_head(DATE, None, &mut out).unwrap();
    out.clear();
    let empty = enc.external_body(0, &mut out).unwrap();
    assert_eq!((empty.send, empty.after, out.len()), (0, &b""[..], 0));
    let plan = enc.external_body(300, &mut out).unwrap();
    assert_eq!(out, b"12c\r\n");
    assert_eq!((plan.send, plan.after), (300, &b"\r\n"[..]));
}
