//! The properties the fuzz targets check, as plain functions: the targets
//! call them on libFuzzer's inputs, and `core/tests/http_fuzz_corpus.rs`
//! includes this file to replay the seed corpus on stable Rust, so a
//! property broken on CI is broken in `cargo test` too.
//!
//! Every check panics on a violation; a panic is what libFuzzer reports.

use rcorn_core::http::{BodyKind, DecodeErrorKind, DecoderConfig, Event, RequestDecoder};

// By path: `core/tests` includes this file as a module of its own.
#[path = "h1_connection.rs"]
pub mod h1_connection;
#[path = "h2_connection.rs"]
pub mod h2_connection;
#[path = "uwsgi.rs"]
pub mod uwsgi;

#[path = "dirty_frames.rs"]
pub mod dirty_frames;

#[path = "ws_connection.rs"]
pub mod ws_connection;

/// One observable step of decoding, owned, with consecutive body bytes
/// merged: how the body is cut into `Body` events depends on how the input
/// was split, the bytes themselves must not.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Head {
        method: String,
        target: Vec<u8>,
        path: Vec<u8>,
        query: Vec<u8>,
        fragment: Vec<u8>,
        version: (u8, u8),
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: BodyKind,
        keep_alive: bool,
        expect_continue: bool,
    },
    Body(Vec<u8>),
    End {
        trailers: Vec<(Vec<u8>, Vec<u8>)>,
    },
    Closed,
    Error {
        kind: DecodeErrorKind,
        status: u16,
    },
}

/// How the input reaches the decoder.
#[derive(Clone, Copy, Debug)]
pub enum Split {
    /// Everything in one `feed`.
    Whole,
    /// Two pieces, cut at this offset (clamped to the input).
    At(usize),
    /// Pieces of this many bytes (at least one), alternating between
    /// `feed` and the zero-copy `read_buf` + `filled` path.
    Every(usize),
}

/// The decoder configuration a fuzz input selects with its first byte, so
/// the leniencies and the limits are explored too.
pub fn config_from_flags(flags: u8) -> DecoderConfig {
    let mut cfg = DecoderConfig {
        permit_obsolete_folding: flags & 1 != 0,
        strip_header_spaces: flags & 2 != 0,
        permit_unconventional_http_method: flags & 4 != 0,
        refuse_underscore_headers: flags & 8 != 0,
        ..DecoderConfig::default()
    };
    if flags & 16 != 0 {
        // Small limits, so inputs of fuzzing size reach them.
        cfg.limit_request_line = 64;
        cfg.limit_request_fields = 4;
        cfg.limit_request_field_size = 48;
    } else if flags & 32 != 0 {
        // The settings at 0: their largest values.
        cfg = cfg.with_limits(0, 0, 0);
    }
    cfg
}

/// Decodes `input` delivered as `split` says, checking the event protocol
/// as it goes, and returns the steps.
pub fn decode(cfg: &DecoderConfig, input: &[u8], split: Split) -> Vec<Step> {
    decode_from(RequestDecoder::new(cfg.clone()), false, input, split)
}

/// [`decode`] with a decoder already set up (for uwsgi: `uwsgi` is set,
/// and the fields are the front end's variables, whose values are not
/// HTTP field values: any bytes).
pub fn decode_from(
    mut decoder: RequestDecoder,
    uwsgi: bool,
    input: &[u8],
    split: Split,
) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut fed = 0usize;
    let mut pieces = 0usize;
    let mut eof = false;
    // Declared body length of the message in progress, and bytes seen.
    let mut in_message: Option<(BodyKind, u64)> = None;
    // Every call either consumes input or changes state; a decoder that
    // returns more events than this without progress is stuck.
    let budget = 4 * input.len() + 64;
    for _ in 0..budget {
        let event = decoder.next_event();
        match event {
            Err(e) => {
                let (kind, status) = (e.kind(), e.status());
                assert!(
                    !(200..300).contains(&status) && (400..600).contains(&status),
                    "an error with status {status}"
                );
                assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
                // Failed for good: the connection is never reused.
                for _ in 0..2 {
                    let again = decoder.next_event().err();
                    assert_eq!(again.map(|e| e.kind()), Some(kind), "error not final");
                }
                assert!(!decoder.is_idle(), "idle after an error");
                steps.push(Step::Error { kind, status });
                return steps;
            }
            Ok(Event::Head(head)) => {
                assert!(in_message.is_none(), "a head inside a message");
                let method = head.method().to_owned();
                assert!(!method.is_empty(), "empty method");
                assert!(
                    matches!(head.version(), (1, 0) | (1, 1)),
                    "version {:?}",
                    head.version()
                );
                let headers: Vec<(Vec<u8>, Vec<u8>)> = head
                    .headers()
                    .map(|(n, v)| (n.to_vec(), v.to_vec()))
                    .collect();
                assert_eq!(headers.len(), head.header_count());
                for (name, value) in &headers {
                    assert!(!name.is_empty(), "empty field name");
                    assert!(
                        name.iter().all(|&b| b > 0x20 && b < 0x7f && b != b':'),
                        "field name {name:?}"
                    );
                    if uwsgi {
                        continue;
                    }
                    assert!(
                        value
                            .iter()
                            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
                        "control byte in the value {value:?}"
                    );
                    assert!(
                        !value.starts_with(b" ") && !value.ends_with(b" "),
                        "untrimmed value {value:?}"
                    );
                }
                if head.expect_continue() {
                    assert_eq!(head.version(), (1, 1));
                    assert_ne!(head.body(), BodyKind::None);
                }
                in_message = Some((head.body(), 0));
                steps.push(Step::Head {
                    method,
                    target: head.target().to_vec(),
                    path: head.path().to_vec(),
                    query: head.query().to_vec(),
                    fragment: head.fragment().to_vec(),
                    version: head.version(),
                    headers,
                    body: head.body(),
                    keep_alive: head.keep_alive(),
                    expect_continue: head.expect_continue(),
                });
            }
            Ok(Event::Body(bytes)) => {
                assert!(!bytes.is_empty(), "an empty Body event");
                let Some((kind, seen)) = in_message.as_mut() else {
                    panic!("body outside a message");
                };
                assert_ne!(*kind, BodyKind::None, "body for a bodiless message");
                *seen += bytes.len() as u64;
                if let BodyKind::Length(n) = *kind {
                    assert!(*seen <= n, "more body than its Content-Length");
                }
                match steps.last_mut() {
                    Some(Step::Body(body)) => body.extend_from_slice(bytes),
                    _ => steps.push(Step::Body(bytes.to_vec())),
                }
            }
            Ok(Event::End) => {
                let Some((kind, seen)) = in_message.take() else {
                    panic!("end outside a message");
                };
                match kind {
                    BodyKind::None => assert_eq!(seen, 0),
                    BodyKind::Length(n) => assert_eq!(seen, n, "short body completed"),
                    BodyKind::Chunked => {}
                }
                let trailers = decoder
                    .trailers()
                    .map(|(n, v)| (n.to_vec(), v.to_vec()))
                    .collect();
                steps.push(Step::End { trailers });
            }
            Ok(Event::Closed) => {
                assert!(eof, "closed before the peer closed");
                assert!(in_message.is_none(), "closed inside a message");
                assert!(!decoder.has_buffered(), "closed with bytes buffered");
                assert!(matches!(decoder.next_event(), Ok(Event::Closed)));
                steps.push(Step::Closed);
                return steps;
            }
            Ok(Event::NeedData) => {
                if fed == input.len() {
                    assert!(!eof, "needs data after the end of input");
                    decoder.feed_eof();
                    eof = true;
                    continue;
                }
                let n = match split {
                    Split::Whole => input.len() - fed,
                    Split::At(at) if fed < at => at.min(input.len()) - fed,
                    Split::At(_) => input.len() - fed,
                    Split::Every(k) => k.clamp(1, input.len() - fed),
                };
                let piece = &input[fed..fed + n];
                if pieces % 2 == 1 {
                    let room = decoder.read_buf(n);
                    assert!(room.len() >= n, "read_buf gave less than asked");
                    room[..n].copy_from_slice(piece);
                    decoder.filled(n);
                } else {
                    decoder.feed(piece);
                }
                assert!(decoder.has_buffered(), "fed bytes not buffered");
                assert!(!decoder.is_idle(), "idle with bytes buffered");
                fed += n;
                pieces += 1;
            }
        }
    }
    panic!("no progress after {budget} events: {steps:?}");
}

/// Reads a little-endian u16 from the front of `data`, if there.
fn take_u16(data: &[u8]) -> (usize, &[u8]) {
    match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, &[]),
    }
}

/// `request_decoder`: byte 0 picks the configuration, bytes 1-2 a split
/// point, byte 3 a piece size; the rest is what a client sent. Whatever the
/// bytes, decoding must not panic, must follow the event protocol, and
/// must give the same steps however the bytes arrive.
pub fn check_request_decoder(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (at, rest) = take_u16(rest);
    let Some((&piece, input)) = rest.split_first() else {
        return;
    };
    let cfg = config_from_flags(flags);
    let whole = decode(&cfg, input, Split::Whole);
    let cut = decode(&cfg, input, Split::At(at));
    assert_eq!(whole, cut, "split at {at} changed the events");
    let pieces = decode(&cfg, input, Split::Every(usize::from(piece % 32) + 1));
    assert_eq!(whole, pieces, "pieces of {piece} changed the events");
}

/// The head every `chunked_body` input follows.
pub const CHUNKED_HEAD: &[u8] =
    b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n";

/// A lenient, independent de-chunker: sizes are the leading hex digits, the
/// rest of a size line (extensions) is skipped, trailers are any lines up
/// to the empty one. Returns the body and the bytes consumed, or `None`
/// when even this reading fails. The decoder may refuse more than this
/// accepts, never less: whatever it accepts must mean the same here.
pub fn lenient_dechunk(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0usize;
    let line_end = |from: usize| -> Option<usize> {
        let lf = memchr_lf(input.get(from..)?)?;
        Some(from + lf)
    };
    loop {
        let end = line_end(at)?;
        let line = input.get(at..end)?;
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 {
            return None;
        }
        let mut size: u64 = 0;
        for &d in line.get(..digits)? {
            let v = u64::from(char::from(d).to_digit(16)?);
            size = size.checked_mul(16)?.checked_add(v)?;
        }
        at = end + 1;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).ok()?;
        let data_end = at.checked_add(size)?;
        body.extend_from_slice(input.get(at..data_end)?);
        if input.get(data_end..data_end + 2)? != b"\r\n" {
            return None;
        }
        at = data_end + 2;
    }
    loop {
        let end = line_end(at)?;
        let line = input.get(at..end)?;
        at = end + 1;
        if line == b"\r" {
            return Some((body, at));
        }
    }
}

fn memchr_lf(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// `chunked_body`: byte 0 picks a split point inside the body; the rest is
/// a chunked body after a fixed valid head. Beyond the protocol and split
/// checks, a body the decoder completes must be the body the lenient
/// de-chunker reads, ending at the same byte.
pub fn check_chunked_body(data: &[u8]) {
    let Some((&at, body)) = data.split_first() else {
        return;
    };
    let mut input = CHUNKED_HEAD.to_vec();
    input.extend_from_slice(body);
    let cfg = DecoderConfig::default();
    let whole = decode(&cfg, &input, Split::Whole);
    let cut = decode(
        &cfg,
        &input,
        Split::At(CHUNKED_HEAD.len() + usize::from(at)),
    );
    assert_eq!(whole, cut, "split at {at} changed the events");
    let bytewise = decode(&cfg, &input, Split::Every(1));
    assert_eq!(whole, bytewise, "byte-at-a-time changed the events");

    assert!(
        matches!(whole.first(), Some(Step::Head { .. })),
        "{whole:?}"
    );
    let completed = whole.iter().position(|s| matches!(s, Step::End { .. }));
    let Some(end_at) = completed else {
        return;
    };
    let decoded: Vec<u8> = match whole.get(1) {
        Some(Step::Body(b)) => b.clone(),
        _ => Vec::new(),
    };
    let Some((expected, consumed)) = lenient_dechunk(body) else {
        panic!("decoder completed a body the lenient reading refuses: {whole:?}");
    };
    assert_eq!(decoded, expected, "decoded body differs");
    // What follows the body is decoded as the next message: it must start
    // where the lenient reading says the body ends.
    let next = whole.get(end_at + 1);
    if consumed == body.len() {
        assert!(matches!(next, Some(Step::Closed)), "{next:?}");
    } else {
        assert!(
            !matches!(next, Some(Step::Closed)),
            "bytes after the body lost"
        );
        let after = decode(&cfg, &body[consumed..], Split::Whole);
        assert_eq!(
            whole.get(end_at + 1..),
            Some(&after[..]),
            "next message differs"
        );
    }
}
