//! One gunicorn setting's description: its kind, default, CLI spellings
//! and checks, and lookups in the table of them all.

use super::syntax;
use super::table::SETTINGS;
use super::Value;

/// How a setting's value is written and stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A switch: a value-less flag on the CLI (`store_true`, or the value in
    /// [`Setting::flag_value`]); `True`/`False` (or "true"/"false") in a file.
    Bool,
    /// A non-negative integer.
    Int,
    /// A string, surrounding whitespace stripped, never `None`.
    Str,
    /// A string that may be `None` (the setting is off when unset).
    OptStr,
    /// A numeric id or a name (`user`, `group`) or a loose legacy value
    /// (`ssl_version`): digit-only strings become integers.
    Scalar,
    /// A word from a fixed set, matched case-insensitively; a config file
    /// may also give `True`/`False`.
    Mode,
    /// A list of strings; each occurrence of the flag appends one.
    List,
    /// One comma-separated string, stored split into a list.
    CommaList,
    /// A dictionary: config file only.
    Dict,
    /// A Python callable (server hooks): config file only.
    Callable,
}

/// Which integer syntax a flag accepts on the command line, mirroring the
/// argparse `type` gunicorn declares. Config-file strings always use
/// Python's `int(value, 0)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IntSyntax {
    /// `type=int`: decimal only.
    Decimal,
    /// No type: `int(value, 0)`, so `0x10` works and `010` does not.
    Base0,
    /// gunicorn's `auto_int`: a leading zero means octal (`0022`).
    AutoOctal,
}

/// Whether rcorn acts on a setting.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Support {
    Implemented,
    /// Accepted and validated, but it changes nothing; the reason is shown
    /// in the one-line warning.
    NoEffect(&'static str),
}

/// A setting's default as written in the table. Defaults that gunicorn
/// computes from the host are patched in by [`Settings::with_host`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum DefaultValue {
    Bool(bool),
    Int(i64),
    Str(&'static str),
    None,
    List(&'static [&'static str]),
    Dict(&'static [(&'static str, &'static str)]),
    /// A do-nothing hook, by gunicorn's qualname (`OnStarting.on_starting`).
    Callable(&'static str),
}

/// Checks (and possibly normalises) a value already coerced to the
/// setting's kind; the error is the accepted form ("expected ...").
pub type Validator = fn(Value) -> Result<Value, String>;

/// One gunicorn setting.
#[derive(Debug)]
pub struct Setting {
    /// gunicorn's name, as used in config files.
    pub name: &'static str,
    /// gunicorn's section ("Server Socket", "Worker Processes", ...).
    pub section: &'static str,
    /// CLI spellings exactly as gunicorn's; empty means config file only.
    pub flags: &'static [&'static str],
    pub kind: Kind,
    /// The metavar shown in `--help` ("INT", "ADDRESS"); empty for switches.
    pub meta: &'static str,
    /// One line of help.
    pub help: &'static str,
    pub support: Support,
    pub default: DefaultValue,
    /// How the docs show a default that depends on the host (e.g. `'.'`).
    pub default_doc: Option<&'static str>,
    /// What a flag given without a value stores: `"true"` for switches,
    /// `"false"` for `--no-sendfile`, `"auto"` for a bare
    /// `--proxy-protocol`. `Some` on a non-Bool kind means the flag's value
    /// is optional (argparse `nargs='?'`).
    pub flag_value: Option<&'static str>,
    /// Integer syntax accepted on the command line (Int kinds).
    pub int_syntax: IntSyntax,
    pub validate: Option<Validator>,
}

impl Setting {
    pub(super) const fn new(
        name: &'static str,
        section: &'static str,
        flags: &'static [&'static str],
        kind: Kind,
        meta: &'static str,
        default: DefaultValue,
        help: &'static str,
    ) -> Setting {
        Setting {
            name,
            section,
            flags,
            kind,
            meta,
            help,
            support: Support::NoEffect("not implemented yet"),
            default,
            default_doc: None,
            flag_value: match kind {
                Kind::Bool => Some("true"),
                _ => None,
            },
            int_syntax: IntSyntax::Decimal,
            validate: None,
        }
    }

    pub(super) const fn implemented(mut self) -> Self {
        self.support = Support::Implemented;
        self
    }

    pub(super) const fn no_effect(mut self, why: &'static str) -> Self {
        self.support = Support::NoEffect(why);
        self
    }

    pub(super) const fn checked(mut self, f: Validator) -> Self {
        self.validate = Some(f);
        self
    }

    pub(super) const fn flag_value(mut self, v: &'static str) -> Self {
        self.flag_value = Some(v);
        self
    }

    pub(super) const fn int_syntax(mut self, s: IntSyntax) -> Self {
        self.int_syntax = s;
        self
    }

    pub(super) const fn doc_default(mut self, d: &'static str) -> Self {
        self.default_doc = Some(d);
        self
    }

    /// Whether the flag must be followed by a value on the command line.
    /// Switches never take one; settings with a [`Setting::flag_value`] and
    /// another kind take an optional one.
    pub fn flag_takes_value(&self) -> bool {
        self.kind != Kind::Bool
    }

    /// The flag's value is optional (`--proxy-protocol [MODE]`).
    pub fn flag_value_optional(&self) -> bool {
        self.kind != Kind::Bool && self.flag_value.is_some()
    }

    /// The spelling used in messages: the last (long) flag, or the name.
    pub fn display_flag(&self) -> &'static str {
        self.flags.last().copied().unwrap_or(self.name)
    }

    pub fn is_implemented(&self) -> bool {
        self.support == Support::Implemented
    }

    /// The table default as a [`Value`] (host-independent).
    pub fn default_value(&self) -> Value {
        match self.default {
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::Int(i) => Value::Int(i),
            DefaultValue::Str(s) => Value::Str(s.to_owned()),
            DefaultValue::None => Value::None,
            DefaultValue::List(l) => Value::List(l.iter().map(|s| (*s).to_owned()).collect()),
            DefaultValue::Dict(d) => Value::Dict(
                d.iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::Str((*v).to_owned())))
                    .collect(),
            ),
            DefaultValue::Callable(q) => Value::Callable(q.to_owned()),
        }
    }

    /// The default as the docs page shows it: the host-dependent
    /// description where there is one, else the Python repr.
    pub fn default_display(&self) -> String {
        if let Some(doc) = self.default_doc {
            return doc.to_owned();
        }
        let mut out = String::new();
        syntax::py_repr(&self.default_value(), &mut out);
        out
    }
}

/// The setting called `name`, if gunicorn has one.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The setting a CLI flag spells, matched exactly (`-w`, `--workers`).
pub fn by_flag(flag: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.flags.contains(&flag))
}

/// Every long flag starting with `prefix`, for argparse-style
/// abbreviations (`--work` for `--workers`): gunicorn's parser accepts a
/// prefix that matches exactly one long option.
pub fn long_flags_with_prefix(prefix: &str) -> Vec<(&'static str, &'static Setting)> {
    let mut out = Vec::new();
    if !prefix.starts_with("--") {
        return out;
    }
    for s in SETTINGS {
        for f in s.flags {
            if f.starts_with("--") && f.starts_with(prefix) {
                out.push((*f, s));
            }
        }
    }
    out
}

pub(super) fn index_of(name: &str) -> Option<usize> {
    SETTINGS.iter().position(|s| s.name == name)
}
