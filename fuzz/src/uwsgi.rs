//! `uwsgi_decoder`: the uwsgi packet decoder behind `--protocol uwsgi`.
//!
//! Byte 0 holds flags: bit 0, the bytes are raw (any packet, any
//! garbage); otherwise the rest is a list of `KEY=VALUE` lines built into
//! a well-formed packet, then the bytes after a line `--` as what follows
//! it (the body, more packets). Byte 1 is a split point, byte 2 a piece
//! size. Whatever the bytes: no panic, the event protocol holds, the
//! events do not depend on the split; a well-formed packet gives the head
//! its variables say.

use rcorn_core::http::{DecodeErrorKind, DecoderConfig, RequestDecoder};
use rcorn_core::uwsgi::MAX_VARS;

use super::{decode_from, Split, Step};

/// A packet with `vars` (keys and values at most 65,535 bytes), as nginx
/// sends it; `None` when the block would not fit its 16-bit size.
pub fn packet(vars: &[(&[u8], &[u8])]) -> Option<Vec<u8>> {
    let mut block = Vec::new();
    for (k, v) in vars {
        for s in [k, v] {
            block.extend_from_slice(&u16::try_from(s.len()).ok()?.to_le_bytes());
            block.extend_from_slice(s);
        }
    }
    let size = u16::try_from(block.len()).ok()?;
    let mut out = vec![0];
    out.extend_from_slice(&size.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&block);
    Some(out)
}

fn decode_uwsgi(input: &[u8], split: Split) -> Vec<Step> {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.expect_uwsgi(true);
    decode_from(decoder, true, input, split)
}

pub fn check_uwsgi_decoder(data: &[u8]) {
    let [flags, at, piece, rest @ ..] = data else {
        return;
    };
    let built = flags & 1 == 0;
    let (input, vars) = if built {
        let (lines, after) = match rest.windows(3).position(|w| w == b"\n--") {
            Some(i) => (&rest[..i], &rest[(i + 3).min(rest.len())..]),
            None => (rest, &[][..]),
        };
        let vars: Vec<(&[u8], &[u8])> = lines
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| match l.iter().position(|&b| b == b'=') {
                Some(i) => (&l[..i], &l[i + 1..]),
                None => (l, &[][..]),
            })
            .collect();
        let Some(mut input) = packet(&vars) else {
            return;
        };
        input.extend_from_slice(after);
        (input, vars)
    } else {
        (rest.to_vec(), Vec::new())
    };
    let whole = decode_uwsgi(&input, Split::Whole);
    let cut = decode_uwsgi(&input, Split::At(usize::from(*at)));
    assert_eq!(whole, cut, "split at {at} changed the events");
    let pieces = decode_uwsgi(&input, Split::Every(usize::from(piece % 16) + 1));
    assert_eq!(whole, pieces, "pieces of {piece} changed the events");
    for step in &whole {
        if let Step::Error { kind, status } = step {
            assert!(kind.is_uwsgi() || *kind == DecodeErrorKind::IncompleteMessage);
            assert_eq!(*status, if kind.is_uwsgi() { 500 } else { 400 });
        }
    }
    if built {
        check_head(&vars, &whole);
    }
}

/// What a well-formed packet's variables must make of the first head.
fn check_head(vars: &[(&[u8], &[u8])], steps: &[Step]) {
    let last = |key: &[u8]| vars.iter().rev().find(|(k, _)| *k == key).map(|kv| kv.1);
    let method = last(b"REQUEST_METHOD").unwrap_or(b"GET");
    let token = |s: &[u8]| {
        !s.is_empty()
            && s.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let first = steps.first();
    if vars.len() > MAX_VARS || !token(method) {
        assert!(
            matches!(
                first,
                Some(Step::Error {
                    kind: DecodeErrorKind::InvalidUWSGIHeader,
                    ..
                })
            ),
            "{first:?}"
        );
        return;
    }
    let Some(Step::Head {
        method: got,
        path,
        query,
        headers,
        keep_alive,
        version,
        ..
    }) = first
    else {
        panic!("no head for a well-formed packet: {first:?}");
    };
    assert_eq!(got.as_bytes(), method);
    let path_info = last(b"PATH_INFO").unwrap_or(b"/");
    assert_eq!(&*rcorn_core::percent::decode(path), path_info, "PATH_INFO");
    assert_eq!(
        &query[..],
        last(b"QUERY_STRING").unwrap_or(b""),
        "QUERY_STRING"
    );
    let fields = vars
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(b"HTTP_")
                .is_some_and(|n| token(n) && n != b"CONTENT_TYPE" && n != b"CONTENT_LENGTH")
                || *k == b"CONTENT_TYPE"
                || *k == b"CONTENT_LENGTH"
        })
        .count();
    assert_eq!(headers.len(), fields, "fields");
    assert!(!keep_alive, "a uwsgi request kept alive");
    assert_eq!(*version, (1, 1));
}
