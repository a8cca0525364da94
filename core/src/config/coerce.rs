//! Text and config-file values to a setting's kind, with gunicorn's
//! leniencies, then through the setting's own check.

use super::syntax::{self, py_auto_int, py_bool, py_int_base0, py_int_decimal};
use super::{IntSyntax, Kind, Setting, Source, Value};

const EXPECT_INT: &str = "expected a non-negative integer";
const EXPECT_BOOL: &str = "expected true or false";
const EXPECT_STR: &str = "expected a string";
const EXPECT_LIST: &str = "expected a string or a list of strings";
const EXPECT_DICT: &str = "expected a dictionary (config file only)";
const EXPECT_CALLABLE: &str = "expected a callable, or an import path module.object";

fn non_negative(v: Option<i64>) -> Result<Value, String> {
    match v {
        Some(i) if i >= 0 => Ok(Value::Int(i)),
        _ => Err(EXPECT_INT.into()),
    }
}

fn scalar(s: &str) -> Value {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = t.parse::<i64>() {
            return Value::Int(i);
        }
    }
    Value::Str(t.to_owned())
}

fn is_import_path(s: &str) -> bool {
    match s.rsplit_once('.') {
        Some((module, obj)) => !module.is_empty() && !obj.is_empty(),
        None => false,
    }
}

/// A raw string (command line, env args, a string in a config file) to the
/// setting's kind. For List kinds this yields the one new element.
pub(super) fn coerce_str(s: &Setting, raw: &str, source: &Source) -> Result<Value, String> {
    match s.kind {
        Kind::Bool => py_bool(raw)
            .map(Value::Bool)
            .ok_or_else(|| EXPECT_BOOL.into()),
        Kind::Int => non_negative(match source {
            Source::CommandLine | Source::EnvArgs { .. } => match s.int_syntax {
                IntSyntax::Decimal => py_int_decimal(raw),
                IntSyntax::Base0 => py_int_base0(raw),
                IntSyntax::AutoOctal => py_auto_int(raw),
            },
            // gunicorn reads WEB_CONCURRENCY with a plain int().
            Source::Environment { .. } => py_int_decimal(raw),
            Source::ConfigFile { .. } | Source::Default => py_int_base0(raw),
        }),
        Kind::Str | Kind::OptStr => Ok(Value::Str(raw.trim().to_owned())),
        Kind::Scalar => Ok(scalar(raw)),
        Kind::Mode => Ok(Value::Str(raw.trim().to_lowercase())),
        Kind::List => Ok(Value::List(vec![raw.trim().to_owned()])),
        Kind::CommaList => Ok(Value::List(syntax::comma_list(raw))),
        Kind::Dict => Err(EXPECT_DICT.into()),
        Kind::Callable => {
            let t = raw.trim();
            if is_import_path(t) {
                Ok(Value::Str(t.to_owned()))
            } else {
                Err(EXPECT_CALLABLE.into())
            }
        }
    }
}

/// A typed value (from the Python config file) to the setting's kind, with
/// gunicorn's validators' leniencies: a bool is an int, a lone string is a
/// one-element list, `None` clears optional settings.
pub(super) fn coerce_typed(s: &Setting, v: Value) -> Result<Value, String> {
    if let Value::Str(raw) = &v {
        // Strings go through the same path as a config-file string.
        if !matches!(s.kind, Kind::List | Kind::Callable) {
            let file = Source::ConfigFile {
                path: String::new(),
                line: None,
            };
            return coerce_str(s, raw, &file);
        }
    }
    match (s.kind, v) {
        (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Bool, Value::None) => Ok(Value::None),
        (Kind::Bool, _) => Err(EXPECT_BOOL.into()),
        (Kind::Int, Value::Int(i)) => non_negative(Some(i)),
        (Kind::Int, Value::Bool(b)) => Ok(Value::Int(i64::from(b))),
        (Kind::Int, _) => Err(EXPECT_INT.into()),
        (Kind::Str, _) => Err(EXPECT_STR.into()),
        (Kind::OptStr, Value::None) => Ok(Value::None),
        (Kind::OptStr, _) => Err(EXPECT_STR.into()),
        (Kind::Scalar, v @ (Value::Int(_) | Value::None)) => Ok(v),
        (Kind::Scalar, Value::Str(text)) => Ok(scalar(&text)),
        (Kind::Scalar, _) => Err("expected a name or a number".into()),
        (Kind::Mode, Value::Bool(b)) => Ok(Value::Str(if b { "true" } else { "false" }.into())),
        (Kind::Mode, Value::None) => Ok(s.default_value()),
        (Kind::Mode, _) => Err(EXPECT_STR.into()),
        (Kind::List, Value::Str(one)) => {
            let one = one.trim();
            Ok(Value::List(if one.is_empty() {
                vec![]
            } else {
                vec![one.to_owned()]
            }))
        }
        (Kind::List | Kind::CommaList, Value::List(items)) => {
            let keep_empty = s.kind == Kind::List;
            Ok(Value::List(
                items
                    .iter()
                    .map(|i| i.trim())
                    .filter(|i| keep_empty || !i.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ))
        }
        (Kind::List | Kind::CommaList, Value::None) => Ok(Value::List(vec![])),
        (Kind::List, _) => Err(EXPECT_LIST.into()),
        (Kind::CommaList, _) => Err("expected a comma-separated string".into()),
        (Kind::Dict, v @ (Value::Dict(_) | Value::Object(_))) => Ok(v),
        (Kind::Dict, _) => Err(EXPECT_DICT.into()),
        (Kind::Callable, v @ Value::Callable(_)) => Ok(v),
        (Kind::Callable, Value::Str(p)) if is_import_path(p.trim()) => {
            Ok(Value::Str(p.trim().to_owned()))
        }
        (Kind::Callable, _) => Err(EXPECT_CALLABLE.into()),
    }
}

pub(super) fn validate(s: &Setting, v: Value) -> Result<Value, String> {
    match s.validate {
        Some(check) => check(v),
        None => Ok(v),
    }
}
