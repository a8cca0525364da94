//! The encoder's exact bytes, and every error response, as snapshots.

use rcorn_core::http::{error_response, RequestFacts, ResponseEncoder};

const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn facts(minor: u8, keep_alive: bool, head: bool) -> RequestFacts {
    RequestFacts {
        head_request: head,
        http_minor: minor,
        keep_alive,
    }
}

fn respond(
    req: RequestFacts,
    status: u16,
    headers: &[(&str, &str)],
    hint: Option<u64>,
    body: &[&[u8]],
) -> String {
    let mut enc = ResponseEncoder::new(b"rcorn");
    let mut out = Vec::new();
    enc.start(
        req,
        status,
        rcorn_core::http::reason_phrase(status).as_bytes(),
        &mut out,
    )
    .unwrap();
    for (n, v) in headers {
        enc.header(n.as_bytes(), v.as_bytes(), &mut out).unwrap();
    }
    enc.finish_head(DATE, hint, &mut out).unwrap();
    for chunk in body {
        enc.body(chunk, &mut out).unwrap();
    }
    let keep_alive = enc.finish(&mut out);
    format!(
        "{}\n--- keep-alive: {keep_alive:?}",
        String::from_utf8_lossy(&out)
    )
}

#[test]
fn content_length_from_the_app() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[("Content-Type", "text/plain"), ("Content-Length", "5")],
        None,
        &[b"hel", b"lo"]
    ));
}

#[test]
fn length_hint_for_a_single_item_body() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[("Content-Type", "text/plain")],
        Some(5),
        &[b"hello"]
    ));
}

#[test]
fn chunked_when_streaming_on_http11() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[],
        None,
        &[b"hello", b"", b" world"]
    ));
}

#[test]
fn close_delimited_on_http10() {
    insta::assert_snapshot!(respond(facts(0, true, false), 200, &[], None, &[b"hello"]));
}

#[test]
fn http10_keep_alive_is_announced() {
    insta::assert_snapshot!(respond(
        facts(0, true, false),
        200,
        &[("Content-Length", "2")],
        None,
        &[b"ok"]
    ));
}

#[test]
fn head_has_no_body_and_no_chunking() {
    insta::assert_snapshot!(respond(
        facts(1, true, true),
        200,
        &[("Content-Length", "5")],
        None,
        &[b"hello"]
    ));
    insta::assert_snapshot!(respond(facts(1, true, true), 200, &[], None, &[b"hello"]));
}

#[test]
fn no_body_for_204_and_304() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        204,
        &[],
        None,
        &[b"ignored"]
    ));
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        304,
        &[("ETag", "\"x\"")],
        None,
        &[]
    ));
}

#[test]
fn hop_by_hop_fields_are_dropped_and_connection_close_honoured() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[
            ("Connection", "close"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("X-Kept", "yes")
        ],
        Some(2),
        &[b"ok"]
    ));
}

#[test]
fn app_date_and_server_are_kept() {
    insta::assert_snapshot!(respond(
        facts(1, false, false),
        200,
        &[("Date", "yesterday"), ("Server", "custom")],
        Some(0),
        &[]
    ));
}

#[test]
fn body_past_content_length_is_truncated_and_the_connection_kept() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[("Content-Length", "3")],
        None,
        &[b"abcdef"]
    ));
}

#[test]
fn short_body_is_an_error() {
    insta::assert_snapshot!(respond(
        facts(1, true, false),
        200,
        &[("Content-Length", "10")],
        None,
        &[b"abc"]
    ));
}

#[test]
fn response_splitting_is_refused() {
    let mut enc = ResponseEncoder::new(b"rcorn");
    let mut out = Vec::new();
    enc.start(facts(1, true, false), 200, b"OK", &mut out)
        .unwrap();
    let errors: Vec<String> = [
        (&b"X-A"[..], &b"a\r\nInjected: 1"[..]),
        (b"X-A", b"a\nb"),
        (b"X-A", b"a\0b"),
        (b"Bad Name", b"v"),
        (b"X:Y", b"v"),
        (b"", b"v"),
        (b"Content-Length", b"-1"),
    ]
    .iter()
    .map(|(n, v)| enc.header(n, v, &mut out).unwrap_err().to_string())
    .collect();
    assert!(!String::from_utf8_lossy(&out).contains("Injected"));
    let mut bad_reason = ResponseEncoder::new(b"rcorn");
    let reason_error = bad_reason
        .start(facts(1, true, false), 200, b"OK\r\nX: y", &mut Vec::new())
        .unwrap_err();
    let status_error = bad_reason
        .start(facts(1, true, false), 42, b"OK", &mut Vec::new())
        .unwrap_err();
    insta::assert_snapshot!(format!(
        "{}\n{reason_error}\n{status_error}",
        errors.join("\n")
    ));
}

#[test]
fn every_error_response() {
    let mut all = String::new();
    for status in [400, 414, 417, 431, 500, 501] {
        let mut out = Vec::new();
        error_response(status, &mut out);
        all.push_str(&String::from_utf8_lossy(&out));
        all.push_str("\n=====\n");
    }
    insta::assert_snapshot!(all);
}

/// The body bytes the access log reports are those on the wire.
#[test]
fn body_written_counts_only_what_is_sent() {
    let sent = |req: RequestFacts, status: u16, headers: &[(&str, &str)], body: &[&[u8]]| {
        let mut enc = ResponseEncoder::new(b"rcorn");
        let mut out = Vec::new();
        enc.start(req, status, b"X", &mut out).unwrap();
        for (n, v) in headers {
            enc.header(n.as_bytes(), v.as_bytes(), &mut out).unwrap();
        }
        enc.finish_head(DATE, None, &mut out).unwrap();
        for chunk in body {
            enc.body(chunk, &mut out).unwrap();
        }
        enc.body_written()
    };
    assert_eq!(sent(facts(1, true, false), 200, &[], &[b"abc", b"de"]), 5);
    assert_eq!(sent(facts(1, true, true), 200, &[], &[b"abc"]), 0, "HEAD");
    assert_eq!(sent(facts(1, true, false), 304, &[], &[b"abc"]), 0, "304");
    let declared = [("Content-Length", "2")];
    assert_eq!(
        sent(facts(1, true, false), 200, &declared, &[b"abc"]),
        2,
        "truncated"
    );
}
