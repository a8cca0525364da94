//! Properties of the decoder over generated input: any valid pipeline of
//! requests decodes to the same messages however its bytes are split, and
//! malformed variants are refused, never taken for something else.

use proptest::prelude::*;
use rcorn_core::http::{DecoderConfig, Event, RequestDecoder};

#[derive(Clone, Debug, PartialEq)]
struct Message {
    method: String,
    target: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    complete: bool,
}

/// What decoding produced: messages, then how it ended.
#[derive(Debug, PartialEq)]
struct Decoded {
    messages: Vec<Message>,
    error: Option<u16>,
}

fn decode(raw: &[u8], splits: &[usize]) -> Decoded {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    let mut messages: Vec<Message> = Vec::new();
    let mut fed = 0;
    let mut split = splits.iter().cycle();
    loop {
        match decoder.next_event() {
            Ok(Event::Head(h)) => messages.push(Message {
                method: h.method().to_owned(),
                target: h.target().to_vec(),
                headers: h.headers().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
                body: Vec::new(),
                complete: false,
            }),
            Ok(Event::Body(b)) => messages
                .last_mut()
                .expect("body after a head")
                .body
                .extend_from_slice(b),
            Ok(Event::End) => messages.last_mut().expect("end after a head").complete = true,
            Ok(Event::NeedData) => {
                if fed == raw.len() {
                    decoder.feed_eof();
                } else {
                    let n = (*split.next().unwrap_or(&1)).clamp(1, raw.len() - fed);
                    decoder.feed(&raw[fed..fed + n]);
                    fed += n;
                }
            }
            Ok(Event::Closed) => {
                return Decoded {
                    messages,
                    error: None,
                }
            }
            Err(e) => {
                return Decoded {
                    messages,
                    error: Some(e.status()),
                }
            }
        }
    }
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        token().prop_filter("framing fields are generated separately", |n| {
            let l = n.to_ascii_lowercase();
            ![
                "content-length",
                "transfer-encoding",
                "host",
                "content-type",
                "expect",
                "connection",
            ]
            .contains(&l.as_str())
        }),
        "[ -~]{0,30}".prop_map(|v| v.trim().to_owned()),
    )
}

#[derive(Clone, Debug)]
enum Framing {
    None,
    Length,
    Chunked(Vec<usize>),
}

fn message() -> impl Strategy<Value = (Message, Framing)> {
    (
        prop::sample::select(vec![
            "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "M-SEARCH",
        ]),
        "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,10}){1,3}(\\?[a-z0-9=&]{0,10})?",
        prop::collection::vec(header(), 0..6),
        prop::collection::vec(any::<u8>(), 0..200),
        prop_oneof![
            Just(Framing::None),
            Just(Framing::Length),
            prop::collection::vec(1usize..50, 1..4).prop_map(Framing::Chunked)
        ],
    )
        .prop_map(|(method, target, headers, body, framing)| {
            let body = if matches!(framing, Framing::None) {
                Vec::new()
            } else {
                body
            };
            let message = Message {
                method: method.to_owned(),
                target: target.into_bytes(),
                headers: headers
                    .into_iter()
                    .map(|(n, v)| (n.into_bytes(), v.into_bytes()))
                    .collect(),
                body,
                complete: true,
            };
            (message, framing)
        })
}

/// Serialises a message; returns the bytes and the headers as the decoder
/// will report them (with the framing field added).
fn encode(m: &Message, framing: &Framing) -> (Vec<u8>, Message) {
    let mut out = Vec::new();
    let mut reported = m.clone();
    out.extend_from_slice(m.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&m.target);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (n, v) in &m.headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length => {
            let v = m.body.len().to_string().into_bytes();
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(&v);
            out.extend_from_slice(b"\r\n");
            reported.headers.push((b"Content-Length".to_vec(), v));
        }
        Framing::Chunked(_) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            reported
                .headers
                .push((b"Transfer-Encoding".to_vec(), b"chunked".to_vec()));
        }
    }
    out.extend_from_slice(b"\r\n");
    match framing {
        Framing::Chunked(sizes) => {
            let mut rest = &m.body[..];
            let mut sizes = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap_or(&1)).min(rest.len());
                out.extend_from_slice(format!("{n:x};ext=\"v\"\r\n").as_bytes());
                out.extend_from_slice(&rest[..n]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            out.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        }
        _ => out.extend_from_slice(&m.body),
    }
    (out, reported)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn pipelines_decode_the_same_under_any_split(
        pipeline in prop::collection::vec(message(), 1..4),
        splits in prop::collection::vec(1usize..64, 1..8),
    ) {
        let mut raw = Vec::new();
        let mut expected = Vec::new();
        for (m, framing) in &pipeline {
            let (bytes, reported) = encode(m, framing);
            raw.extend_from_slice(&bytes);
            expected.push(reported);
        }
        let whole = decode(&raw, &[usize::MAX]);
        prop_assert_eq!(&whole, &Decoded { messages: expected, error: None });
        prop_assert_eq!(&decode(&raw, &[1]), &whole);
        prop_assert_eq!(&decode(&raw, &splits), &whole);
    }

    #[test]
    fn smuggling_mutations_are_refused(
        (m, _) in message(),
        mutation in 0usize..9,
        splits in prop::collection::vec(1usize..32, 1..4),
    ) {
        let head = format!("{} {} HTTP/1.1\r\nHost: a\r\n", m.method, String::from_utf8_lossy(&m.target));
        let tail: &[u8] = match mutation {
            0 => b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            1 => b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            2 => b"Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            3 => b"Transfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n0\r\n\r\n",
            4 => b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            5 => b"X-A: b\nContent-Length: 3\r\n\r\nabc",
            6 => b"Content-Length : 3\r\n\r\nabc",
            7 => b"X-A: a\x00b\r\n\r\n",
            _ => b"X-Long: a\r\n folded\r\n\r\n",
        };
        let mut raw = head.into_bytes();
        raw.extend_from_slice(tail);
        let decoded = decode(&raw, &splits);
        prop_assert!(decoded.error.is_some(), "accepted: {:?}", decoded);
        // Body bytes may stream out before a framing error shows, but the
        // message never completes: the application cannot take it for a
        // whole request.
        prop_assert!(decoded.messages.iter().all(|msg| !msg.complete), "a message completed: {:?}", decoded);
        prop_assert_eq!(decode(&raw, &[usize::MAX]).error, decoded.error);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_are_final(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut decoder = RequestDecoder::new(DecoderConfig::default());
        decoder.feed(&raw);
        decoder.feed_eof();
        for _ in 0..(raw.len() + 8) {
            match decoder.next_event() {
                Err(first) => {
                    // A failed decoder never recovers.
                    prop_assert_eq!(decoder.next_event().err(), Some(first));
                    break;
                }
                Ok(Event::Closed) => break,
                Ok(_) => {}
            }
        }
    }
}
