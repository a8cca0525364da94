//! gunicorn 27's dirty *stash*: key/value tables the dirty arbiter holds
//! for every HTTP and dirty worker, reached with `Stash` messages (0x10).
//!
//! Rules (gunicorn's `DirtyArbiter.handle_stash_request`, and its
//! client's `StashClient`):
//! - a request is a dict `{op, table, key?, value?, pattern?}`; the reply
//!   carries the request's id and is `{"result": ...}` or
//!   `{"error": {error_type, message, details}}`;
//! - `put` and `ensure` create the table; no other operation does; `get`
//!   of a missing table or key is `StashKeyNotFoundError`, `info` of a
//!   missing table `StashTableNotFoundError`; the rest answer `False`, `[]`
//!   or `True` as gunicorn's do;
//! - keys are Python dict keys: `1`, `1.0` and `True` are one key (the
//!   first one stored is the one `keys` returns), lists and dicts are
//!   refused as unhashable; tables and keys list in insertion order;
//!   `keys(pattern)` matches `fnmatch` against the key's `str()`;
//! - bounded, where gunicorn is not: at most [`StashLimits`] tables, keys
//!   per table and bytes (keys and values as encoded, plus table names);
//!   a write past a limit changes nothing and is a `StashError` naming the
//!   limit; a reply too large for one message is a `StashError` too.

mod glob;
mod ordered;
mod request;

#[cfg(test)]
mod tests;

use super::frame::{self, MessageType};
use super::tlv::{self, Value};
pub use request::{Op, Request};

use ordered::Ordered;

/// How much the stash may hold. The key limit keeps every `keys` reply a
/// list TLV can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StashLimits {
    pub max_tables: usize,
    pub max_keys: usize,
    pub max_bytes: usize,
}

impl Default for StashLimits {
    fn default() -> Self {
        StashLimits {
            max_tables: 4096,
            max_keys: tlv::MAX_LIST_SIZE,
            max_bytes: 1 << 30,
        }
    }
}

/// Why an operation failed; `error_type` is the exception the client
/// raises, `Display` its message.
#[derive(Clone, Debug, PartialEq)]
pub enum StashError {
    KeyNotFound { key: String },
    TableNotFound { table: String },
    Unhashable(&'static str),
    TooManyTables { max: usize },
    TooManyKeys { table: String, max: usize },
    TooManyBytes { needed: usize, max: usize },
    ReplyTooLarge(String),
    BadRequest(String),
    UnknownOp(i64),
}

impl StashError {
    pub fn error_type(&self) -> &'static str {
        match self {
            StashError::KeyNotFound { .. } => "StashKeyNotFoundError",
            StashError::TableNotFound { .. } => "StashTableNotFoundError",
            StashError::UnknownOp(_) | StashError::BadRequest(_) => "DirtyError",
            _ => "StashError",
        }
    }
}

impl std::fmt::Display for StashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StashError::KeyNotFound { key } => write!(f, "Key not found: {key}"),
            StashError::TableNotFound { table } => write!(f, "Table not found: {table}"),
            StashError::Unhashable(kind) => write!(f, "unhashable type: '{kind}'"),
            StashError::TooManyTables { max } => {
                write!(f, "Stash is full: it holds the most tables allowed ({max})")
            }
            StashError::TooManyKeys { table, max } => write!(
                f,
                "Stash table {table} is full: it holds the most keys allowed ({max})"
            ),
            StashError::TooManyBytes { needed, max } => write!(
                f,
                "Stash is full: this write needs {needed} bytes (max: {max})"
            ),
            StashError::ReplyTooLarge(why) => write!(f, "Stash reply too large: {why}"),
            StashError::BadRequest(why) => write!(f, "Bad stash request: {why}"),
            StashError::UnknownOp(op) => write!(f, "Unknown stash operation: {op}"),
        }
    }
}

/// A key as Python's dict compares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    None,
    Int(i64),
    Float(u64),
    Bytes(Vec<u8>),
    Str(String),
}

impl Key {
    fn of(value: &Value) -> Result<Key, StashError> {
        Ok(match value {
            Value::None => Key::None,
            Value::Bool(b) => Key::Int(i64::from(*b)),
            Value::Int(i) => Key::Int(*i),
            Value::Float(x) => float_key(*x),
            Value::Bytes(b) => Key::Bytes(b.clone()),
            Value::Str(s) => Key::Str(s.clone()),
            Value::List(_) => return Err(StashError::Unhashable("list")),
            Value::Dict(_) => return Err(StashError::Unhashable("dict")),
        })
    }
}

/// `2.0 == 2` in Python: an integral float is the int's key.
fn float_key(x: f64) -> Key {
    // i64's range is [-2^63, 2^63): both bounds are exact in f64.
    let in_range = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x);
    if x.fract() == 0.0 && in_range {
        Key::Int(x as i64)
    } else {
        Key::Float(x.to_bits())
    }
}

struct Entry {
    key: Value,
    value: Value,
    bytes: usize,
}

type Table = Ordered<Key, Entry>;

/// The tables, held by the dirty arbiter for its whole life.
pub struct Stash {
    limits: StashLimits,
    tables: Ordered<String, Table>,
    bytes: usize,
}

impl Stash {
    pub fn new(limits: StashLimits) -> Self {
        Stash {
            limits,
            tables: Ordered::new(),
            bytes: 0,
        }
    }

    /// Bytes held: keys and values as encoded, and table names.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// One `Stash` message (header and payload) in, its whole reply out.
    pub fn reply(&mut self, message: &frame::Frame) -> Vec<u8> {
        let id = message.header.request_id;
        let result = message
            .value()
            .map_err(|e| StashError::BadRequest(e.to_string()))
            .and_then(|payload| Request::parse(&payload))
            .and_then(|request| self.apply(request));
        let mut out = Vec::new();
        let encoded = match result {
            Ok(value) => {
                let payload = Value::Dict(vec![("result".into(), value)]);
                frame::encode_message(MessageType::Response, id, Some(&payload), &mut out)
            }
            Err(error) => return error_reply(id, &error),
        };
        match encoded {
            Ok(()) => out,
            Err(e) => error_reply(id, &StashError::ReplyTooLarge(e.to_string())),
        }
    }

    /// Carries out one operation: its result, or why it failed.
    pub fn apply(&mut self, request: Request) -> Result<Value, StashError> {
        let Request {
            op,
            table,
            key,
            value,
            pattern,
        } = request;
        match op {
            Op::Put => self.put(table, key, value).map(|()| Value::Bool(true)),
            Op::Get => self.get(&table, &key),
            Op::Delete => self.delete(&table, &key).map(Value::Bool),
            Op::Keys => Ok(self.keys(&table, pattern.as_deref())),
            Op::Clear => {
                self.clear(&table);
                Ok(Value::Bool(true))
            }
            Op::Info => self.info(&table),
            Op::Ensure => self.ensure(table).map(|()| Value::Bool(true)),
            Op::DeleteTable => Ok(Value::Bool(self.delete_table(&table))),
            Op::Tables => Ok(Value::List(
                self.tables.keys().map(|t| Value::Str(t.clone())).collect(),
            )),
            Op::Exists => self.exists(&table, &key).map(Value::Bool),
        }
    }

    /// Creates the table if missing (gunicorn's `ensure`, and a
    /// `DirtyApp`'s declared `stashes`).
    pub fn ensure(&mut self, table: String) -> Result<(), StashError> {
        if self.tables.get(&table).is_none() {
            self.bytes = self.check_bytes(self.bytes + self.room_for_table(&table)?)?;
            self.tables.insert(table, Ordered::new());
        }
        Ok(())
    }

    /// The bytes a new table's name takes, if one more table is allowed.
    fn room_for_table(&self, table: &str) -> Result<usize, StashError> {
        if self.tables.len() >= self.limits.max_tables {
            return Err(StashError::TooManyTables {
                max: self.limits.max_tables,
            });
        }
        Ok(table.len())
    }

    fn check_bytes(&self, needed: usize) -> Result<usize, StashError> {
        if needed > self.limits.max_bytes {
            return Err(StashError::TooManyBytes {
                needed,
                max: self.limits.max_bytes,
            });
        }
        Ok(needed)
    }

    /// Every limit is checked before anything changes.
    fn put(&mut self, table: String, key: Value, value: Value) -> Result<(), StashError> {
        let k = Key::of(&key)?;
        let bytes = encoded_len(&key) + encoded_len(&value);
        let (name_bytes, old, len) = match self.tables.get(&table) {
            Some(t) => (0, t.get(&k).map(|e| e.bytes), t.len()),
            None => (self.room_for_table(&table)?, None, 0),
        };
        if old.is_none() && len >= self.limits.max_keys {
            return Err(StashError::TooManyKeys {
                table: shown(&table),
                max: self.limits.max_keys,
            });
        }
        self.bytes = self.check_bytes(self.bytes - old.unwrap_or(0) + name_bytes + bytes)?;
        if self.tables.get(&table).is_none() {
            self.tables.insert(table.clone(), Ordered::new());
        }
        let Some(t) = self.tables.get_mut(&table) else {
            return Ok(()); // inserted just above
        };
        match t.get_mut(&k) {
            // Python keeps the first key object stored: `keys` shows it.
            Some(entry) => {
                entry.value = value;
                entry.bytes = bytes;
            }
            None => t.insert(k, Entry { key, value, bytes }),
        }
        Ok(())
    }

    fn get(&self, table: &str, key: &Value) -> Result<Value, StashError> {
        let k = Key::of(key)?;
        let entry = self.tables.get(table).and_then(|t| t.get(&k));
        entry
            .map(|e| e.value.clone())
            .ok_or_else(|| StashError::KeyNotFound {
                key: shown(&py_str(key)),
            })
    }

    fn delete(&mut self, table: &str, key: &Value) -> Result<bool, StashError> {
        let k = Key::of(key)?;
        let removed = self.tables.get_mut(table).and_then(|t| t.remove(&k));
        if let Some(entry) = &removed {
            self.bytes -= entry.bytes;
        }
        Ok(removed.is_some())
    }

    fn keys(&self, table: &str, pattern: Option<&str>) -> Value {
        let Some(t) = self.tables.get(table) else {
            return Value::List(Vec::new());
        };
        // gunicorn tests `if pattern:`: an empty one matches every key.
        let pattern = pattern.filter(|p| !p.is_empty());
        let keys = t.values().map(|e| &e.key);
        let keys = keys.filter(|k| pattern.is_none_or(|p| glob::matches(p, &py_str(k))));
        Value::List(keys.cloned().collect())
    }

    fn clear(&mut self, table: &str) {
        if let Some(t) = self.tables.get_mut(table) {
            let freed: usize = t.values().map(|e| e.bytes).sum();
            t.clear();
            self.bytes -= freed;
        }
    }

    fn info(&self, table: &str) -> Result<Value, StashError> {
        let t = self
            .tables
            .get(table)
            .ok_or_else(|| StashError::TableNotFound {
                table: shown(table),
            })?;
        Ok(Value::Dict(vec![
            ("size".into(), Value::Int(t.len() as i64)),
            ("table".into(), Value::Str(table.to_owned())),
        ]))
    }

    fn delete_table(&mut self, table: &str) -> bool {
        let Some(t) = self.tables.remove(table) else {
            return false;
        };
        let freed: usize = t.values().map(|e| e.bytes).sum();
        self.bytes -= freed + table.len();
        true
    }

    /// With no key (`None`), whether the table exists.
    fn exists(&self, table: &str, key: &Value) -> Result<bool, StashError> {
        let Some(t) = self.tables.get(table) else {
            return Ok(false);
        };
        match key {
            Value::None => Ok(true),
            key => Ok(t.get(&Key::of(key)?).is_some()),
        }
    }
}

fn error_reply(id: u64, error: &StashError) -> Vec<u8> {
    let payload = Value::Dict(vec![(
        "error".into(),
        Value::Dict(vec![
            ("error_type".into(), Value::Str(error.error_type().into())),
            ("message".into(), Value::Str(error.to_string())),
            ("details".into(), Value::Dict(Vec::new())),
        ]),
    )]);
    let mut out = Vec::new();
    // A short dict of short strings always encodes: messages name a key
    // by at most `KEY_SHOWN` bytes of it.
    let _ = frame::encode_message(MessageType::Error, id, Some(&payload), &mut out);
    out
}

/// The bytes `value` takes encoded, without encoding it.
fn encoded_len(value: &Value) -> usize {
    1 + match value {
        Value::None => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 8,
        Value::Bytes(b) => 4 + b.len(),
        Value::Str(s) => 4 + s.len(),
        Value::List(items) => 4 + items.iter().map(encoded_len).sum::<usize>(),
        Value::Dict(items) => {
            let pairs = items.iter().map(|(k, v)| 5 + k.len() + encoded_len(v));
            4 + pairs.sum::<usize>()
        }
    }
}

/// Most of a key an error message shows.
const KEY_SHOWN: usize = 200;

/// Python's `str()` of a key, which `fnmatch` and messages see.
fn py_str(value: &Value) -> String {
    match value {
        Value::None => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => py_float(*x),
        Value::Bytes(b) => format!("b'{}'", b.escape_ascii()),
        Value::Str(s) => s.clone(),
        Value::List(_) => "[...]".to_owned(),
        Value::Dict(_) => "{...}".to_owned(),
    }
}

fn py_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A key as an error message names it: at most `KEY_SHOWN` bytes.
fn shown(text: &str) -> String {
    if text.len() <= KEY_SHOWN {
        return text.to_owned();
    }
    let mut end = KEY_SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
