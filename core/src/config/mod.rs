//! The settings model: every gunicorn setting by its gunicorn name, with its
//! kind, default, validation and CLI spellings, in one table ([`SETTINGS`])
//! that the CLI, the Python config-file loader, `--print-config` and the docs
//! all read.
//!
//! rcorn accepts every gunicorn setting. Those it does not act on yet are
//! marked [`Support::NoEffect`] with the reason, and
//! [`Settings::unsupported_in_use`] lists the ones a user actually changed so
//! the server can warn once per setting instead of ignoring them silently.
//!
//! Pure: nothing here reads the environment, the filesystem or the clock.
//! What gunicorn takes from the environment for its defaults
//! (`WEB_CONCURRENCY`, `PORT`, the working directory, ...) is handed in
//! through [`HostDefaults`].

use std::fmt;
use std::time::Duration;

mod logging;
mod table;
mod values;

pub use logging::{LoggingChoice, LoggingConfig};

pub use values::parse_ip_network;

#[cfg(test)]
mod tests;

pub use table::SETTINGS;
pub use values::{parse_address, py_auto_int, py_bool, py_int_base0, py_int_decimal, BindAddress};

// ---------------------------------------------------------------- the table

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
    const fn new(
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

    const fn implemented(mut self) -> Self {
        self.support = Support::Implemented;
        self
    }

    const fn no_effect(mut self, why: &'static str) -> Self {
        self.support = Support::NoEffect(why);
        self
    }

    const fn checked(mut self, f: Validator) -> Self {
        self.validate = Some(f);
        self
    }

    const fn flag_value(mut self, v: &'static str) -> Self {
        self.flag_value = Some(v);
        self
    }

    const fn int_syntax(mut self, s: IntSyntax) -> Self {
        self.int_syntax = s;
        self
    }

    const fn doc_default(mut self, d: &'static str) -> Self {
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
        values::py_repr(&self.default_value(), &mut out);
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

fn index_of(name: &str) -> Option<usize> {
    SETTINGS.iter().position(|s| s.name == name)
}

// ---------------------------------------------------------------- values

/// A setting's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    /// Only ever passed in (from a config file), to be refused with a clear
    /// message: gunicorn settings take no floats.
    Float(f64),
    Str(String),
    None,
    List(Vec<String>),
    /// A dictionary from a config file; nested values allowed.
    Dict(Vec<(String, Value)>),
    /// A Python callable, by qualname; the config-file layer keeps the
    /// object itself.
    Callable(String),
    /// Any other Python object, by its `repr()` (e.g. a leaf of
    /// `logconfig_dict` that is neither a string, a number nor a list).
    Object(String),
}

impl fmt::Display for Value {
    /// Python's `str()` of the value, as `--print-config` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        values::py_str(self, &mut s);
        f.write_str(&s)
    }
}

/// Where a value came from. Later sources override earlier ones in
/// gunicorn's order: defaults < config file < env args < command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    /// A default gunicorn takes from a plain environment variable
    /// (`WEB_CONCURRENCY`, `PORT`, `FORWARDED_ALLOW_IPS`).
    Environment {
        var: String,
    },
    ConfigFile {
        path: String,
        line: Option<u32>,
    },
    /// `GUNICORN_CMD_ARGS` or `RCORN_CMD_ARGS`.
    EnvArgs {
        var: String,
    },
    CommandLine,
}

impl Source {
    /// Same place, for the purpose of list appends: repeated `-b` on one
    /// command line accumulate, but a command-line `-b` replaces the config
    /// file's `bind` (argparse collects the list, then gunicorn sets it).
    fn same_origin(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::ConfigFile { path: a, .. }, Source::ConfigFile { path: b, .. }) => a == b,
            (Source::EnvArgs { var: a }, Source::EnvArgs { var: b }) => a == b,
            (Source::CommandLine, Source::CommandLine) => true,
            _ => false,
        }
    }

    fn describe(&self, setting: &Setting) -> String {
        match self {
            Source::Default => "the defaults".to_owned(),
            Source::Environment { var } => format!("${var}"),
            Source::ConfigFile {
                path,
                line: Some(l),
            } => format!("{path} line {l}"),
            Source::ConfigFile { path, line: None } => path.clone(),
            Source::EnvArgs { var } => format!("{} in {var}", setting.display_flag()),
            Source::CommandLine => setting.display_flag().to_owned(),
        }
    }
}

/// A value that could not be set. Displays as one line naming the setting,
/// the value, where it came from and the accepted form:
/// `workers: invalid value 'abc' from --workers: expected a non-negative integer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    setting: String,
    value: String,
    source_desc: String,
    expected: String,
    unknown: bool,
}

impl ConfigError {
    /// The setting's name (or the unknown name given).
    pub fn setting(&self) -> &str {
        &self.setting
    }
    /// The value as given.
    pub fn value(&self) -> &str {
        &self.value
    }
    /// What would have been accepted.
    pub fn expected(&self) -> &str {
        &self.expected
    }
    /// The name is not a gunicorn setting at all.
    pub fn is_unknown_setting(&self) -> bool {
        self.unknown
    }

    fn invalid(s: &Setting, value: String, source: &Source, expected: String) -> Self {
        ConfigError {
            setting: s.name.to_owned(),
            value,
            source_desc: source.describe(s),
            expected,
            unknown: false,
        }
    }

    fn unknown(name: &str, source: &Source) -> Self {
        let source_desc = match source {
            Source::Default => "the defaults".to_owned(),
            Source::Environment { var } | Source::EnvArgs { var } => var.clone(),
            Source::ConfigFile {
                path,
                line: Some(l),
            } => format!("{path} line {l}"),
            Source::ConfigFile { path, line: None } => path.clone(),
            Source::CommandLine => "the command line".to_owned(),
        };
        ConfigError {
            setting: name.to_owned(),
            value: String::new(),
            source_desc,
            expected: "a gunicorn setting name".to_owned(),
            unknown: true,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unknown {
            write!(
                f,
                "{}: no such setting (from {})",
                self.setting, self.source_desc
            )
        } else {
            write!(
                f,
                "{}: invalid value '{}' from {}: {}",
                self.setting, self.value, self.source_desc, self.expected
            )
        }
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------- coercion

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
fn coerce_str(s: &Setting, raw: &str, source: &Source) -> Result<Value, String> {
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
        Kind::CommaList => Ok(Value::List(values::comma_list(raw))),
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
fn coerce_typed(s: &Setting, v: Value) -> Result<Value, String> {
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

fn validate(s: &Setting, v: Value) -> Result<Value, String> {
    match s.validate {
        Some(check) => check(v),
        None => Ok(v),
    }
}

// ---------------------------------------------------------------- host

/// What gunicorn reads from the host to build some defaults. The caller
/// (the CLI) fills it in; the core never looks at the environment.
#[derive(Clone, Debug, Default)]
pub struct HostDefaults {
    /// `$WEB_CONCURRENCY`: default for `workers`.
    pub web_concurrency: Option<String>,
    /// `$PORT`: makes the default `bind` `0.0.0.0:$PORT`.
    pub port: Option<String>,
    /// `$FORWARDED_ALLOW_IPS`: default for `forwarded_allow_ips`.
    pub forwarded_allow_ips: Option<String>,
    /// The working directory: default for `chdir`.
    pub cwd: Option<String>,
    /// Effective user and group ids: defaults for `user` and `group`.
    pub euid: Option<u32>,
    pub egid: Option<u32>,
    /// gunicorn's control socket default, computed as gunicorn does
    /// (`$XDG_RUNTIME_DIR/gunicorn.ctl` or `~/.gunicorn/gunicorn.ctl`).
    pub control_socket: Option<String>,
}

// ---------------------------------------------------------------- settings

/// Every setting's current value and where it came from.
#[derive(Clone, Debug)]
pub struct Settings {
    entries: Vec<(Value, Source)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::defaults()
    }
}

impl Settings {
    /// gunicorn's defaults for a host with no relevant environment.
    pub fn defaults() -> Self {
        Settings {
            entries: SETTINGS
                .iter()
                .map(|s| (s.default_value(), Source::Default))
                .collect(),
        }
    }

    /// gunicorn's defaults on this host. Fails only on a malformed
    /// `WEB_CONCURRENCY`, `PORT` or `FORWARDED_ALLOW_IPS`.
    pub fn with_host(host: &HostDefaults) -> Result<Self, ConfigError> {
        let mut s = Self::defaults();
        let env = |var: &str| Source::Environment {
            var: var.to_owned(),
        };
        if let Some(w) = &host.web_concurrency {
            s.set_from_str("workers", w, env("WEB_CONCURRENCY"))?;
        }
        if let Some(p) = &host.port {
            let bind = Value::List(vec![format!("0.0.0.0:{}", p)]);
            s.set("bind", bind, env("PORT"))?;
        }
        if let Some(f) = &host.forwarded_allow_ips {
            s.set_from_str("forwarded_allow_ips", f, env("FORWARDED_ALLOW_IPS"))?;
        }
        if let Some(cwd) = &host.cwd {
            s.set("chdir", Value::Str(cwd.clone()), Source::Default)?;
        }
        if let Some(uid) = host.euid {
            s.set("user", Value::Int(i64::from(uid)), Source::Default)?;
        }
        if let Some(gid) = host.egid {
            s.set("group", Value::Int(i64::from(gid)), Source::Default)?;
        }
        if let Some(path) = &host.control_socket {
            s.set("control_socket", Value::Str(path.clone()), Source::Default)?;
        }
        Ok(s)
    }

    fn lookup(name: &str, source: &Source) -> Result<(usize, &'static Setting), ConfigError> {
        match index_of(name) {
            Some(i) => Ok((i, &SETTINGS[i])),
            None => Err(ConfigError::unknown(name, source)),
        }
    }

    /// Sets a setting from text: a command-line or env-args value, or a
    /// string. Parses and validates per the setting's kind; a List setting
    /// appends when the previous value came from the same place and
    /// replaces it otherwise.
    pub fn set_from_str(
        &mut self,
        name: &str,
        raw: &str,
        source: Source,
    ) -> Result<(), ConfigError> {
        let (i, s) = Self::lookup(name, &source)?;
        let fail = |e: String| ConfigError::invalid(s, raw.to_owned(), &source, e);
        let v = coerce_str(s, raw, &source).map_err(fail)?;
        let v = validate(s, v).map_err(fail)?;
        let entry = &mut self.entries[i];
        match (&mut entry.0, v) {
            (Value::List(old), Value::List(new))
                if s.kind == Kind::List && entry.1.same_origin(&source) =>
            {
                old.extend(new);
            }
            (slot, v) => *slot = v,
        }
        entry.1 = source;
        Ok(())
    }

    /// Sets a setting whose flag was given without a value: a switch, or
    /// an optional-value flag such as a bare `--proxy-protocol`.
    pub fn set_flag(&mut self, name: &str, source: Source) -> Result<(), ConfigError> {
        let (_, s) = Self::lookup(name, &source)?;
        match s.flag_value {
            Some(v) => self.set_from_str(name, v, source),
            None => Err(ConfigError::invalid(
                s,
                String::new(),
                &source,
                format!("{} needs a value ({})", s.display_flag(), s.meta),
            )),
        }
    }

    /// Sets a setting from a typed value (the Python config file). Replaces
    /// the previous value, lists included.
    pub fn set(&mut self, name: &str, value: Value, source: Source) -> Result<(), ConfigError> {
        let (i, s) = Self::lookup(name, &source)?;
        let shown = value.to_string();
        let fail = |e: String| ConfigError::invalid(s, shown.clone(), &source, e);
        let v = coerce_typed(s, value).map_err(fail)?;
        let v = validate(s, v).map_err(fail)?;
        self.entries[i] = (v, source);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        index_of(name).map(|i| &self.entries[i].0)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        index_of(name).map(|i| &self.entries[i].1)
    }

    /// Every setting in table order with its value and source.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Setting, &Value, &Source)> {
        SETTINGS
            .iter()
            .zip(&self.entries)
            .map(|(s, (v, src))| (s, v, src))
    }

    /// Like `gunicorn --print-config`: one `name = value` line per setting,
    /// sorted by name, names padded to the longest, values as Python's
    /// `str()`. Ends with a newline.
    pub fn print_config(&self) -> String {
        let mut rows: Vec<(&str, &Value)> = SETTINGS
            .iter()
            .zip(&self.entries)
            .map(|(s, (v, _))| (s.name, v))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (name, v) in rows {
            out.push_str(name);
            out.extend(std::iter::repeat_n(' ', width - name.len()));
            out.push_str(" = ");
            values::py_str(v, &mut out);
            out.push('\n');
        }
        out
    }

    /// Settings rcorn does not act on that the user changed (set from
    /// somewhere other than the defaults, to something other than the
    /// default), with the reason, for one warning line each.
    pub fn unsupported_in_use(&self) -> Vec<(&'static Setting, &'static str)> {
        self.iter()
            .filter_map(|(s, v, src)| match s.support {
                Support::NoEffect(why) if *src != Source::Default && *v != s.default_value() => {
                    Some((s, why))
                }
                _ => None,
            })
            .collect()
    }

    // ------------------------------------------------------------ typed

    fn value(&self, name: &str) -> &Value {
        // Accessors only name settings that exist; a typo is caught by the
        // accessor tests, and `None` is a harmless answer in release.
        static NONE: Value = Value::None;
        self.get(name).unwrap_or(&NONE)
    }

    fn int(&self, name: &str) -> i64 {
        match self.value(name) {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    fn u32(&self, name: &str) -> u32 {
        u32::try_from(self.int(name)).unwrap_or(u32::MAX)
    }

    fn u64(&self, name: &str) -> u64 {
        u64::try_from(self.int(name)).unwrap_or(0)
    }

    fn secs(&self, name: &str) -> Duration {
        Duration::from_secs(self.u64(name))
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    fn str(&self, name: &str) -> &str {
        match self.value(name) {
            Value::Str(s) => s,
            _ => "",
        }
    }

    fn opt_str(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::List(l) => l,
            _ => &[],
        }
    }

    /// `bind`, as given (default `["127.0.0.1:8000"]`).
    pub fn bind(&self) -> &[String] {
        self.list("bind")
    }

    /// `bind`, parsed. Every entry was checked when it was set.
    pub fn bind_addresses(&self) -> Vec<BindAddress> {
        self.bind()
            .iter()
            .filter_map(|b| parse_address(b).ok())
            .collect()
    }

    pub fn backlog(&self) -> u32 {
        self.u32("backlog")
    }

    pub fn workers(&self) -> u32 {
        self.u32("workers")
    }

    /// `worker_class` as configured, normalised: "sync", "gthread",
    /// "asgi", or one of uvicorn's worker class names.
    pub fn worker_class(&self) -> &str {
        self.str("worker_class")
    }

    /// The worker type that will run: like gunicorn, `sync` with more than
    /// one thread means `gthread`; uvicorn's classes mean `asgi`.
    pub fn effective_worker_class(&self) -> &str {
        match self.worker_class() {
            "sync" if self.threads() > 1 => "gthread",
            alias if values::ASGI_ALIASES.contains(&alias) => "asgi",
            other => other,
        }
    }

    pub fn threads(&self) -> u32 {
        self.u32("threads")
    }

    pub fn worker_connections(&self) -> u32 {
        self.u32("worker_connections")
    }

    /// 0 means workers are never recycled.
    pub fn max_requests(&self) -> u64 {
        self.u64("max_requests")
    }

    pub fn max_requests_jitter(&self) -> u64 {
        self.u64("max_requests_jitter")
    }

    /// Zero means no timeout.
    pub fn timeout(&self) -> Duration {
        self.secs("timeout")
    }

    pub fn graceful_timeout(&self) -> Duration {
        self.secs("graceful_timeout")
    }

    pub fn keepalive(&self) -> Duration {
        self.secs("keepalive")
    }

    /// As configured. gunicorn's parser reads 0 as "no limit" (with a 1 MiB
    /// safety cap) and anything from 8190 up as 8190.
    pub fn limit_request_line(&self) -> u64 {
        self.u64("limit_request_line")
    }

    /// As configured. gunicorn reads 0 or more than 32768 as 32768.
    pub fn limit_request_fields(&self) -> u64 {
        self.u64("limit_request_fields")
    }

    /// As configured. gunicorn reads 0 as the default 8190.
    pub fn limit_request_field_size(&self) -> u64 {
        self.u64("limit_request_field_size")
    }

    pub fn reload(&self) -> bool {
        self.flag("reload")
    }

    pub fn reload_engine(&self) -> &str {
        self.str("reload_engine")
    }

    pub fn reload_extra_files(&self) -> &[String] {
        self.list("reload_extra_files")
    }

    pub fn preload_app(&self) -> bool {
        self.flag("preload_app")
    }

    /// `Some(false)` for `--no-sendfile`; `None` when unset, which leaves
    /// the choice to the `SENDFILE` environment variable, as in gunicorn.
    pub fn sendfile(&self) -> Option<bool> {
        match self.value("sendfile") {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn reuse_port(&self) -> bool {
        self.flag("reuse_port")
    }

    /// `user` / `group` as given: a number, or a name to look up.
    pub fn user(&self) -> &Value {
        self.value("user")
    }

    pub fn group(&self) -> &Value {
        self.value("group")
    }

    pub fn initgroups(&self) -> bool {
        self.flag("initgroups")
    }

    pub fn umask(&self) -> u32 {
        u32::try_from(self.int("umask")).unwrap_or(0)
    }

    pub fn daemon(&self) -> bool {
        self.flag("daemon")
    }

    pub fn check_config(&self) -> bool {
        self.flag("check_config")
    }

    pub fn print_config_requested(&self) -> bool {
        self.flag("print_config")
    }

    /// `config`: the config file to load (`PATH`, `file:PATH` or
    /// `python:MODULE`).
    pub fn config(&self) -> &str {
        self.str("config")
    }

    pub fn chdir(&self) -> &str {
        self.str("chdir")
    }

    /// `pythonpath` as given (comma-separated).
    pub fn pythonpath(&self) -> Option<&str> {
        self.opt_str("pythonpath")
    }

    /// `pythonpath` split on commas, in the order given (gunicorn inserts
    /// each at the front of `sys.path`).
    pub fn pythonpath_dirs(&self) -> Vec<&str> {
        self.pythonpath()
            .map(|p| p.split(',').collect())
            .unwrap_or_default()
    }

    pub fn proc_name(&self) -> Option<&str> {
        self.opt_str("proc_name")
    }

    pub fn default_proc_name(&self) -> &str {
        self.str("default_proc_name")
    }

    /// The name in process titles and syslog tags: `proc_name`, else the
    /// application (gunicorn makes it `default_proc_name`), else
    /// `default_proc_name`.
    pub fn effective_proc_name(&self) -> &str {
        self.proc_name()
            .or_else(|| self.wsgi_app())
            .unwrap_or_else(|| self.default_proc_name())
    }

    /// The error-log level, lower-cased: debug, info, warning, error or
    /// critical.
    pub fn loglevel(&self) -> &'static str {
        const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "critical"];
        let l = self.str("loglevel");
        LEVELS
            .iter()
            .copied()
            .find(|x| x.eq_ignore_ascii_case(l))
            .unwrap_or("info")
    }

    /// Access-log destination: `None` (off), `"-"` (stdout) or a path.
    pub fn accesslog(&self) -> Option<&str> {
        self.opt_str("accesslog")
    }

    pub fn access_log_format(&self) -> &str {
        self.str("access_log_format")
    }

    /// Error-log destination: `"-"` (stderr) or a path.
    pub fn errorlog(&self) -> &str {
        self.str("errorlog")
    }

    pub fn wsgi_app(&self) -> Option<&str> {
        self.opt_str("wsgi_app")
    }

    pub fn pidfile(&self) -> Option<&str> {
        self.opt_str("pidfile")
    }

    /// `proxy_protocol` as gunicorn spells it: off, v1, v2 or auto.
    pub fn proxy_protocol(&self) -> &str {
        self.str("proxy_protocol")
    }

    /// Peers allowed to send a PROXY protocol preamble.
    pub fn proxy_allow_ips(&self) -> &[String] {
        self.list("proxy_allow_ips")
    }

    /// Peers trusted for `secure_scheme_headers` (addresses, networks, `*`).
    pub fn forwarded_allow_ips(&self) -> &[String] {
        self.list("forwarded_allow_ips")
    }

    /// Header name and the value of it that means HTTPS.
    pub fn secure_scheme_headers(&self) -> Vec<(String, String)> {
        match self.value("secure_scheme_headers") {
            Value::Dict(entries) => entries
                .iter()
                .filter_map(|(name, value)| match value {
                    Value::Str(v) => Some((name.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `raw_env` as given (`KEY=VALUE` strings).
    pub fn raw_env(&self) -> &[String] {
        self.list("raw_env")
    }

    /// `raw_env` split at the first `=` (every entry was checked to have
    /// one when it was set).
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.raw_env()
            .iter()
            .filter_map(|e| e.split_once('='))
            .collect()
    }

    /// A server hook's value: the do-nothing default
    /// (`Value::Callable` with gunicorn's qualname), or what the config file
    /// set: an import path (`Value::Str`) or a callable's qualname
    /// (`Value::Callable`). `None` for names that are not hooks.
    pub fn hook(&self, name: &str) -> Option<&Value> {
        match setting(name) {
            Some(s) if s.kind == Kind::Callable => self.get(name),
            _ => None,
        }
    }
}
