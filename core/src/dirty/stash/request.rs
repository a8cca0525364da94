//! A stash message's payload as an operation: gunicorn's `op` codes
//! (`STASH_OP_*`) and fields.
//!
//! Rules: `op` is an int and `table` a string (absent is `""`, as in
//! gunicorn); an absent `key` or `value` is `None` (gunicorn's client
//! leaves out a `None`, so `exists` with no key checks the table); a
//! `pattern` that is absent, `None` or empty matches every key.

use super::StashError;
use crate::dirty::tlv::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Put = 1,
    Get = 2,
    Delete = 3,
    Keys = 4,
    Clear = 5,
    Info = 6,
    Ensure = 7,
    DeleteTable = 8,
    Tables = 9,
    Exists = 10,
}

impl Op {
    pub fn from_code(code: i64) -> Option<Op> {
        Some(match code {
            1 => Op::Put,
            2 => Op::Get,
            3 => Op::Delete,
            4 => Op::Keys,
            5 => Op::Clear,
            6 => Op::Info,
            7 => Op::Ensure,
            8 => Op::DeleteTable,
            9 => Op::Tables,
            10 => Op::Exists,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub op: Op,
    pub table: String,
    pub key: Value,
    pub value: Value,
    pub pattern: Option<String>,
}

impl Request {
    pub fn parse(payload: &Value) -> Result<Request, StashError> {
        let code = match payload.get("op") {
            Some(Value::Int(code)) => *code,
            _ => return Err(StashError::BadRequest("op must be an int".into())),
        };
        let op = Op::from_code(code).ok_or(StashError::UnknownOp(code))?;
        let table = match payload.get("table") {
            None => String::new(),
            Some(Value::Str(table)) => table.clone(),
            Some(_) => return Err(StashError::BadRequest("table must be a string".into())),
        };
        let pattern = match payload.get("pattern") {
            None | Some(Value::None) => None,
            Some(Value::Str(p)) if p.is_empty() => None,
            Some(Value::Str(p)) => Some(p.clone()),
            Some(_) => return Err(StashError::BadRequest("pattern must be a string".into())),
        };
        let field = |name| payload.get(name).cloned().unwrap_or(Value::None);
        Ok(Request {
            op,
            table,
            key: field("key"),
            value: field("value"),
            pattern,
        })
    }
}
