//! The codec against gunicorn's own bytes, and its properties.

use proptest::prelude::*;

use super::*;
use crate::dirty::tlv::{decode, decode_full, encode, MAX_DEPTH};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

/// `BinaryProtocol.encode_request(0x0102030405060708, "m:App", "go",
/// (1, "x", b"\0", None, True, 1.5, [2], {"k": -1}), {"n": 3})`, printed by
/// gunicorn 27 (the protocol is unchanged since 25).
const GUNICORN_REQUEST: &str = "474401010000009e0102030405060708210000000411000000086170705f7061746811000000056d3a4170701100000006616374696f6e1100000002676f1100000004617267732000000008050000000000000001110000000178100000000100000101063ff80000000000002000000001050000000000000002210000000111000000016b05ffffffffffffffff11000000066b7761726773210000000111000000016e050000000000000003";
/// `BinaryProtocol.encode_end(7)`.
const GUNICORN_END: &str = "47440105000000000000000000000007";

fn request_value() -> Value {
    let args = vec![
        Value::Int(1),
        s("x"),
        Value::Bytes(vec![0]),
        Value::None,
        Value::Bool(true),
        Value::Float(1.5),
        Value::List(vec![Value::Int(2)]),
        Value::Dict(vec![("k".into(), Value::Int(-1))]),
    ];
    Value::Dict(vec![
        ("app_path".into(), s("m:App")),
        ("action".into(), s("go")),
        ("args".into(), Value::List(args)),
        (
            "kwargs".into(),
            Value::Dict(vec![("n".into(), Value::Int(3))]),
        ),
    ])
}

#[test]
fn encodes_and_reads_gunicorns_bytes() {
    let mut out = Vec::new();
    encode_message(
        MessageType::Request,
        0x0102030405060708,
        Some(&request_value()),
        &mut out,
    )
    .expect("encodes");
    assert_eq!(out, hex(GUNICORN_REQUEST));
    let mut reader = FrameReader::new();
    reader.feed(&out);
    reader.feed(&hex(GUNICORN_END));
    let frame = reader.poll_frame().expect("valid").expect("whole");
    assert_eq!(frame.header.kind, MessageType::Request);
    assert_eq!(frame.value().expect("payload"), request_value());
    let end = reader.poll_frame().expect("valid").expect("whole");
    assert_eq!(
        (end.header.kind, end.header.request_id),
        (MessageType::End, 7)
    );
    assert_eq!(end.value(), Ok(Value::Dict(Vec::new())));
    assert_eq!(reader.poll_frame(), Ok(None));
}

#[test]
fn a_bad_header_is_a_sticky_error() {
    let mut reader = FrameReader::new();
    let mut bad = hex(GUNICORN_END);
    bad[3] = 0x42;
    reader.feed(&bad);
    assert_eq!(reader.poll_frame(), Err(FrameError::UnknownType(0x42)));
    reader.feed(&hex(GUNICORN_END));
    assert!(reader.poll_frame().is_err());
    let mut big = encode_header(MessageType::Chunk, 1, 0);
    big[4..8].copy_from_slice(&(MAX_MESSAGE_SIZE as u32 + 1).to_be_bytes());
    assert!(matches!(decode_header(&big), Err(FrameError::TooLarge(_))));
}

#[test]
fn request_ids_are_rewritten_in_place() {
    let mut msg = hex(GUNICORN_END);
    set_request_id(&mut msg, 0xfeed);
    assert_eq!(
        decode_header(msg.first_chunk().expect("header")).map(|h| h.request_id),
        Ok(0xfeed)
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep: Vec<u8> = std::iter::repeat_n([0x20, 0, 0, 0, 1], MAX_DEPTH + 2)
        .flatten()
        .collect();
    assert!(matches!(decode(&deep), Err(TlvError::TooDeep)));
    // A huge count in a few bytes allocates nothing large and fails.
    assert!(decode(&[0x20, 0, 0x10, 0, 0]).is_err());
    assert_eq!(decode_full(&[0, 0]), Err(TlvError::TrailingData(1)));
}

fn values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |x| !x.is_nan())
            .prop_map(Value::Float),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ".{0,8}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec(("[a-z]{0,4}", inner), 0..6).prop_map(Value::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn values_round_trip(value in values()) {
        let mut out = Vec::new();
        encode(&value, &mut out).expect("encodes");
        prop_assert_eq!(decode_full(&out), Ok(value));
    }

    #[test]
    fn messages_come_out_whole_however_the_bytes_are_split(
        payloads in proptest::collection::vec(values(), 1..5),
        cuts in proptest::collection::vec(1usize..40, 0..20),
    ) {
        let mut wire = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            encode_message(MessageType::Chunk, i as u64, Some(p), &mut wire).expect("encodes");
        }
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        for cut in cuts.into_iter().chain(std::iter::once(usize::MAX)) {
            let (now, later) = rest.split_at(cut.min(rest.len()));
            reader.feed(now);
            rest = later;
            while let Some(frame) = reader.poll_frame().expect("valid") {
                got.push(frame.value().expect("payload"));
            }
        }
        prop_assert_eq!(got, payloads);
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(&bytes);
        let mut reader = FrameReader::new();
        reader.feed(&bytes);
        while let Ok(Some(frame)) = reader.poll_frame() {
            let _ = frame.value();
        }
    }
}
