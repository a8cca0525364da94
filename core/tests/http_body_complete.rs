//! `body_complete`: whether a response's body can only end now, which
//! decides whether its bytes may wait to be written (batched) or must go
//! out before the application is asked for more (PEP 3333).

use rcorn_core::http::{RequestFacts, ResponseEncoder};

const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn started(head_request: bool, status: u16, length: Option<&[u8]>) -> (ResponseEncoder, Vec<u8>) {
    let mut enc = ResponseEncoder::new(b"rcorn");
    let mut out = Vec::new();
    let facts = RequestFacts {
        head_request,
        http_minor: 1,
        keep_alive: true,
    };
    enc.start(facts, status, b"X", &mut out).unwrap();
    if let Some(n) = length {
        enc.header(b"Content-Length", n, &mut out).unwrap();
    }
    enc.finish_head(DATE, None, &mut out).unwrap();
    (enc, out)
}

#[test]
fn a_content_length_body_is_complete_once_its_length_is_written() {
    let (mut enc, mut out) = started(false, 200, Some(b"5"));
    assert!(!enc.body_complete());
    enc.body(b"hel", &mut out).unwrap();
    assert!(!enc.body_complete());
    enc.body(b"lo", &mut out).unwrap();
    assert!(enc.body_complete());
}

#[test]
fn a_chunked_body_is_never_complete_before_it_ends() {
    let (mut enc, mut out) = started(false, 200, None);
    enc.body(b"an event\n", &mut out).unwrap();
    assert!(!enc.body_complete());
}

#[test]
fn a_body_that_may_not_exist_is_complete_at_once() {
    for (head, status) in [(true, 200), (false, 204), (false, 304)] {
        let (enc, _) = started(head, status, Some(b"5"));
        assert!(enc.body_complete(), "{head} {status}");
    }
}
