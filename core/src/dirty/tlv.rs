//! gunicorn's TLV value encoding, the payload of every dirty message.
//!
//! Rules (gunicorn's `dirty/tlv.py`, byte for byte):
//! - one type byte, then: `0x00` None (nothing), `0x01` bool (one byte,
//!   non-zero is true), `0x05` int (8 bytes, big-endian signed), `0x06`
//!   float (8 bytes, IEEE 754 big-endian), `0x10` bytes and `0x11` UTF-8
//!   string (4-byte big-endian length, then the bytes), `0x20` list and
//!   `0x21` dict (4-byte big-endian count, then the items; a dict's items
//!   are key then value, and a key must decode as a string);
//! - bytes and strings up to 64 MiB, lists and dicts up to 2^20 items,
//!   each checked when encoding and when decoding;
//! - nesting deeper than [`MAX_DEPTH`] is refused (gunicorn's recursive
//!   decoder would hit Python's recursion limit a little further on), so
//!   no input can exhaust the stack; a count is never trusted for an
//!   allocation beyond the bytes that remain.

use std::fmt;

pub const TYPE_NONE: u8 = 0x00;
pub const TYPE_BOOL: u8 = 0x01;
pub const TYPE_INT64: u8 = 0x05;
pub const TYPE_FLOAT64: u8 = 0x06;
pub const TYPE_BYTES: u8 = 0x10;
pub const TYPE_STRING: u8 = 0x11;
pub const TYPE_LIST: u8 = 0x20;
pub const TYPE_DICT: u8 = 0x21;

pub const MAX_STRING_SIZE: usize = 64 * 1024 * 1024;
pub const MAX_BYTES_SIZE: usize = 64 * 1024 * 1024;
pub const MAX_LIST_SIZE: usize = 1024 * 1024;
pub const MAX_DICT_SIZE: usize = 1024 * 1024;
pub const MAX_DEPTH: usize = 256;

/// A decoded value: what Python's `None`, `bool`, `int`, `float`, `bytes`,
/// `str`, `list` and `dict` (string keys, in order) carry.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Str(String),
    List(Vec<Value>),
    Dict(Vec<(String, Value)>),
}

impl Value {
    /// The value under `key` of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Why bytes are not a TLV value; `Display` is gunicorn's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlvError {
    Truncated(&'static str),
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    InvalidUtf8,
    DictKeyNotString,
    UnknownType(u8),
    TrailingData(usize),
    TooDeep,
}

impl fmt::Display for TlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvError::Truncated(what) => write!(f, "Truncated TLV data: {what}"),
            TlvError::TooLarge { what, len, max } => {
                let unit = if matches!(*what, "List" | "Dict") {
                    "items"
                } else {
                    "bytes"
                };
                write!(f, "{what} too large: {len} {unit} (max: {max})")
            }
            TlvError::InvalidUtf8 => f.write_str("Invalid UTF-8 in string"),
            TlvError::DictKeyNotString => f.write_str("Dict key must be string"),
            TlvError::UnknownType(t) => write!(f, "Unknown TLV type code: 0x{t:02x}"),
            TlvError::TrailingData(n) => write!(f, "Trailing data after TLV: {n} bytes"),
            TlvError::TooDeep => write!(f, "TLV nesting deeper than {MAX_DEPTH}"),
        }
    }
}

fn check(what: &'static str, len: usize, max: usize) -> Result<(), TlvError> {
    if len > max {
        return Err(TlvError::TooLarge { what, len, max });
    }
    Ok(())
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Every length is checked against a maximum below 2^32 first.
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

/// Appends `value`'s encoding to `out`.
pub fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), TlvError> {
    encode_at(value, out, 0)
}

fn encode_at(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), TlvError> {
    if depth > MAX_DEPTH {
        return Err(TlvError::TooDeep);
    }
    match value {
        Value::None => out.push(TYPE_NONE),
        Value::Bool(b) => out.extend_from_slice(&[TYPE_BOOL, u8::from(*b)]),
        Value::Int(i) => {
            out.push(TYPE_INT64);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Float(x) => {
            out.push(TYPE_FLOAT64);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Bytes(b) => {
            check("Bytes", b.len(), MAX_BYTES_SIZE)?;
            out.push(TYPE_BYTES);
            put_len(out, b.len());
            out.extend_from_slice(b);
        }
        Value::Str(s) => {
            check("String", s.len(), MAX_STRING_SIZE)?;
            out.push(TYPE_STRING);
            put_len(out, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::List(items) => {
            check("List", items.len(), MAX_LIST_SIZE)?;
            out.push(TYPE_LIST);
            put_len(out, items.len());
            for item in items {
                encode_at(item, out, depth + 1)?;
            }
        }
        Value::Dict(items) => {
            check("Dict", items.len(), MAX_DICT_SIZE)?;
            out.push(TYPE_DICT);
            put_len(out, items.len());
            for (k, v) in items {
                encode_at(&Value::Str(k.clone()), out, depth + 1)?;
                encode_at(v, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Decodes one value at the start of `data`: the value and the bytes used.
pub fn decode(data: &[u8]) -> Result<(Value, usize), TlvError> {
    let mut reader = Reader { data, at: 0 };
    let value = reader.value(0)?;
    Ok((value, reader.at))
}

/// Decodes `data` as exactly one value.
pub fn decode_full(data: &[u8]) -> Result<Value, TlvError> {
    let (value, used) = decode(data)?;
    if used != data.len() {
        return Err(TlvError::TrailingData(data.len() - used));
    }
    Ok(value)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], TlvError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(TlvError::Truncated(what))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn word8(&mut self, what: &'static str) -> Result<[u8; 8], TlvError> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.take(8, what)?);
        Ok(word)
    }

    fn len(&mut self, what: &'static str) -> Result<usize, TlvError> {
        let mut word = [0u8; 4];
        word.copy_from_slice(self.take(4, what)?);
        Ok(u32::from_be_bytes(word) as usize)
    }

    fn value(&mut self, depth: usize) -> Result<Value, TlvError> {
        if depth > MAX_DEPTH {
            return Err(TlvError::TooDeep);
        }
        let kind = self.take(1, "no type byte")?[0];
        Ok(match kind {
            TYPE_NONE => Value::None,
            TYPE_BOOL => Value::Bool(self.take(1, "missing bool value")?[0] != 0),
            TYPE_INT64 => Value::Int(i64::from_be_bytes(self.word8("incomplete int64")?)),
            TYPE_FLOAT64 => Value::Float(f64::from_be_bytes(self.word8("incomplete float64")?)),
            TYPE_BYTES => {
                let n = self.len("incomplete bytes length")?;
                check("Bytes", n, MAX_BYTES_SIZE)?;
                Value::Bytes(self.take(n, "bytes shorter than their length")?.to_vec())
            }
            TYPE_STRING => {
                let n = self.len("incomplete string length")?;
                check("String", n, MAX_STRING_SIZE)?;
                let bytes = self.take(n, "string shorter than its length")?;
                let s = std::str::from_utf8(bytes).map_err(|_| TlvError::InvalidUtf8)?;
                Value::Str(s.to_owned())
            }
            TYPE_LIST => {
                let n = self.len("incomplete list count")?;
                check("List", n, MAX_LIST_SIZE)?;
                let mut items = Vec::with_capacity(n.min(self.data.len() - self.at));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::List(items)
            }
            TYPE_DICT => {
                let n = self.len("incomplete dict count")?;
                check("Dict", n, MAX_DICT_SIZE)?;
                let mut items = Vec::with_capacity(n.min((self.data.len() - self.at) / 2));
                for _ in 0..n {
                    let Value::Str(key) = self.value(depth + 1)? else {
                        return Err(TlvError::DictKeyNotString);
                    };
                    items.push((key, self.value(depth + 1)?));
                }
                Value::Dict(items)
            }
            other => return Err(TlvError::UnknownType(other)),
        })
    }
}
