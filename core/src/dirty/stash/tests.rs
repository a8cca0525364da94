use super::*;
use crate::dirty::frame::{FrameReader, MessageType};

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

fn req(op: Op, table: &str, key: Value, value: Value) -> Request {
    Request {
        op,
        table: table.into(),
        key,
        value,
        pattern: None,
    }
}

fn run(
    stash: &mut Stash,
    op: Op,
    table: &str,
    key: Value,
    value: Value,
) -> Result<Value, StashError> {
    stash.apply(req(op, table, key, value))
}

fn keys(stash: &mut Stash, table: &str, pattern: Option<&str>) -> Value {
    let mut r = req(Op::Keys, table, Value::None, Value::None);
    r.pattern = pattern.map(str::to_owned);
    stash.apply(r).unwrap()
}

#[test]
fn put_creates_the_table_and_get_reads_it_back() {
    let mut st = Stash::new(StashLimits::default());
    let user = Value::Dict(vec![("name".into(), s("Alice"))]);
    assert_eq!(
        run(&mut st, Op::Put, "sessions", s("user:1"), user.clone()),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        run(&mut st, Op::Get, "sessions", s("user:1"), Value::None),
        Ok(user)
    );
    assert_eq!(
        run(&mut st, Op::Tables, "", Value::None, Value::None),
        Ok(Value::List(vec![s("sessions")]))
    );
    let info = run(&mut st, Op::Info, "sessions", Value::None, Value::None).unwrap();
    assert_eq!(info.get("size"), Some(&Value::Int(1)));
}

#[test]
fn missing_tables_and_keys_are_gunicorns_errors() {
    let mut st = Stash::new(StashLimits::default());
    let get = run(&mut st, Op::Get, "t", s("k"), Value::None).unwrap_err();
    assert_eq!(get.error_type(), "StashKeyNotFoundError");
    assert_eq!(get.to_string(), "Key not found: k");
    let info = run(&mut st, Op::Info, "t", Value::None, Value::None).unwrap_err();
    assert_eq!(info.error_type(), "StashTableNotFoundError");
    assert_eq!(info.to_string(), "Table not found: t");
    // Only put and ensure create a table.
    assert_eq!(
        run(&mut st, Op::Delete, "t", s("k"), Value::None),
        Ok(Value::Bool(false))
    );
    assert_eq!(
        run(&mut st, Op::Clear, "t", Value::None, Value::None),
        Ok(Value::Bool(true))
    );
    assert_eq!(keys(&mut st, "t", None), Value::List(vec![]));
    assert_eq!(
        run(&mut st, Op::Exists, "t", Value::None, Value::None),
        Ok(Value::Bool(false))
    );
    assert_eq!(
        run(&mut st, Op::DeleteTable, "t", Value::None, Value::None),
        Ok(Value::Bool(false))
    );
    assert_eq!(
        run(&mut st, Op::Ensure, "t", Value::None, Value::None),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        run(&mut st, Op::Exists, "t", Value::None, Value::None),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        run(&mut st, Op::Exists, "t", s("k"), Value::None),
        Ok(Value::Bool(false))
    );
}

#[test]
fn keys_compare_as_python_dict_keys_and_keep_their_first_form() {
    let mut st = Stash::new(StashLimits::default());
    run(&mut st, Op::Put, "t", Value::Int(1), s("one")).unwrap();
    run(&mut st, Op::Put, "t", Value::Bool(true), s("true")).unwrap();
    run(&mut st, Op::Put, "t", Value::Float(1.0), s("float")).unwrap();
    run(
        &mut st,
        Op::Put,
        "t",
        Value::Bytes(b"1".to_vec()),
        s("bytes"),
    )
    .unwrap();
    run(&mut st, Op::Put, "t", s("1"), s("str")).unwrap();
    let all = keys(&mut st, "t", None);
    assert_eq!(
        all,
        Value::List(vec![Value::Int(1), Value::Bytes(b"1".to_vec()), s("1")])
    );
    assert_eq!(
        run(&mut st, Op::Get, "t", Value::Int(1), Value::None),
        Ok(s("float"))
    );
    let list = run(&mut st, Op::Put, "t", Value::List(vec![]), Value::None).unwrap_err();
    assert_eq!(list.to_string(), "unhashable type: 'list'");
}

#[test]
fn keys_and_tables_list_in_insertion_order_and_filter_by_fnmatch() {
    let mut st = Stash::new(StashLimits::default());
    for k in ["user:2", "session:1", "user:1"] {
        run(&mut st, Op::Put, "t", s(k), Value::None).unwrap();
    }
    run(&mut st, Op::Put, "t", s("user:2"), Value::Int(9)).unwrap();
    assert_eq!(
        keys(&mut st, "t", Some("user:*")),
        Value::List(vec![s("user:2"), s("user:1")])
    );
    assert_eq!(
        keys(&mut st, "t", Some("")),
        Value::List(vec![s("user:2"), s("session:1"), s("user:1")])
    );
    run(&mut st, Op::Put, "t", Value::Int(10), Value::None).unwrap();
    assert_eq!(
        keys(&mut st, "t", Some("1?")),
        Value::List(vec![Value::Int(10)])
    );
    for t in ["b", "a", "c"] {
        run(&mut st, Op::Ensure, t, Value::None, Value::None).unwrap();
    }
    run(&mut st, Op::DeleteTable, "a", Value::None, Value::None).unwrap();
    let tables = run(&mut st, Op::Tables, "", Value::None, Value::None).unwrap();
    assert_eq!(tables, Value::List(vec![s("t"), s("b"), s("c")]));
}

#[test]
fn each_limit_refuses_a_write_and_changes_nothing() {
    let limits = StashLimits {
        max_tables: 2,
        max_keys: 2,
        max_bytes: 100,
    };
    let mut st = Stash::new(limits);
    run(&mut st, Op::Put, "a", s("k1"), Value::None).unwrap();
    run(&mut st, Op::Put, "a", s("k2"), Value::None).unwrap();
    let keys_full = run(&mut st, Op::Put, "a", s("k3"), Value::None).unwrap_err();
    assert_eq!(
        keys_full.to_string(),
        "Stash table a is full: it holds the most keys allowed (2)"
    );
    assert_eq!(keys_full.error_type(), "StashError");
    // Replacing a key is not a new key.
    run(&mut st, Op::Put, "a", s("k2"), Value::Int(2)).unwrap();
    run(&mut st, Op::Ensure, "b", Value::None, Value::None).unwrap();
    let tables_full = run(&mut st, Op::Put, "c", s("k"), Value::None).unwrap_err();
    assert_eq!(tables_full, StashError::TooManyTables { max: 2 });
    assert_eq!(
        run(&mut st, Op::Exists, "c", Value::None, Value::None),
        Ok(Value::Bool(false))
    );
    let before = st.bytes();
    let big = run(&mut st, Op::Put, "b", s("k"), s(&"x".repeat(100))).unwrap_err();
    assert!(
        matches!(big, StashError::TooManyBytes { max: 100, .. }),
        "{big:?}"
    );
    assert_eq!(st.bytes(), before);
    assert_eq!(
        run(&mut st, Op::Exists, "b", s("k"), Value::None),
        Ok(Value::Bool(false))
    );
}

#[test]
fn bytes_held_come_back_when_entries_and_tables_go() {
    let mut st = Stash::new(StashLimits::default());
    run(&mut st, Op::Put, "t", s("a"), s("xyz")).unwrap();
    run(&mut st, Op::Put, "t", s("b"), s("xyz")).unwrap();
    run(&mut st, Op::Put, "t", s("a"), s("longer value")).unwrap();
    run(&mut st, Op::Delete, "t", s("b"), Value::None).unwrap();
    run(&mut st, Op::Clear, "t", Value::None, Value::None).unwrap();
    assert_eq!(st.bytes(), 1);
    run(&mut st, Op::Put, "u", s("a"), s("x")).unwrap();
    run(&mut st, Op::DeleteTable, "u", Value::None, Value::None).unwrap();
    run(&mut st, Op::DeleteTable, "t", Value::None, Value::None).unwrap();
    assert_eq!(st.bytes(), 0);
}

fn message(kind: MessageType, id: u64, payload: &Value) -> frame::Frame {
    let mut bytes = Vec::new();
    frame::encode_message(kind, id, Some(payload), &mut bytes).unwrap();
    let mut reader = FrameReader::new();
    reader.feed(&bytes);
    reader.poll_frame().unwrap().unwrap()
}

fn answer(stash: &mut Stash, id: u64, payload: Value) -> (MessageType, u64, Value) {
    let reply = stash.reply(&message(MessageType::Stash, id, &payload));
    let mut reader = FrameReader::new();
    reader.feed(&reply);
    let frame = reader.poll_frame().unwrap().unwrap();
    (
        frame.header.kind,
        frame.header.request_id,
        frame.value().unwrap(),
    )
}

#[test]
fn replies_carry_the_request_id_and_gunicorns_payloads() {
    let mut st = Stash::new(StashLimits::default());
    let put = Value::Dict(vec![
        ("op".into(), Value::Int(1)),
        ("table".into(), s("t")),
        ("key".into(), s("k")),
        ("value".into(), Value::Int(5)),
    ]);
    let (kind, id, payload) = answer(&mut st, 77, put);
    assert_eq!((kind, id), (MessageType::Response, 77));
    assert_eq!(payload.get("result"), Some(&Value::Bool(true)));
    let get = Value::Dict(vec![
        ("op".into(), Value::Int(2)),
        ("table".into(), s("t")),
        ("key".into(), s("nope")),
    ]);
    let (kind, id, payload) = answer(&mut st, u64::MAX, get);
    assert_eq!((kind, id), (MessageType::Error, u64::MAX));
    let error = payload.get("error").unwrap();
    assert_eq!(error.get("error_type"), Some(&s("StashKeyNotFoundError")));
    assert_eq!(error.get("message"), Some(&s("Key not found: nope")));
    let (_, _, payload) = answer(&mut st, 1, Value::Dict(vec![("op".into(), Value::Int(99))]));
    let error = payload.get("error").unwrap();
    assert_eq!(
        error.get("message"),
        Some(&s("Unknown stash operation: 99"))
    );
    assert_eq!(error.get("error_type"), Some(&s("DirtyError")));
}

#[test]
fn a_reply_too_large_for_a_message_is_an_error() {
    let mut st = Stash::new(StashLimits::default());
    let chunk = s(&"x".repeat(8 << 20));
    for i in 0..9 {
        run(&mut st, Op::Put, "t", Value::Int(i), chunk.clone()).unwrap();
    }
    let big = Value::List((0..9).map(|_| chunk.clone()).collect());
    run(&mut st, Op::Put, "t", s("all"), big).unwrap();
    let get = Value::Dict(vec![
        ("op".into(), Value::Int(2)),
        ("table".into(), s("t")),
        ("key".into(), s("all")),
    ]);
    let (kind, _, payload) = answer(&mut st, 3, get);
    assert_eq!(kind, MessageType::Error);
    let message = payload
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str);
    assert!(
        message
            .unwrap()
            .starts_with("Stash reply too large: Message too large"),
        "{message:?}"
    );
}

#[test]
fn error_messages_show_at_most_part_of_a_huge_key() {
    let mut st = Stash::new(StashLimits::default());
    let huge = "k".repeat(10_000);
    let error = run(&mut st, Op::Get, "t", s(&huge), Value::None).unwrap_err();
    assert!(error.to_string().len() < 300);
    assert_eq!(py_str(&Value::Float(2.5)), "2.5");
    assert_eq!(py_str(&Value::Float(3.0)), "3.0");
    assert_eq!(py_str(&Value::Bytes(b"a\n".to_vec())), "b'a\\n'");
}
