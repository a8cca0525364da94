//! A setting's value and where it came from.

use std::fmt;

use super::syntax;
use super::Setting;

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
        syntax::py_str(self, &mut s);
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
    pub(super) fn same_origin(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::ConfigFile { path: a, .. }, Source::ConfigFile { path: b, .. }) => a == b,
            (Source::EnvArgs { var: a }, Source::EnvArgs { var: b }) => a == b,
            (Source::CommandLine, Source::CommandLine) => true,
            _ => false,
        }
    }

    pub(super) fn describe(&self, setting: &Setting) -> String {
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
