//! The error of a value that could not be set.

use std::fmt;

use super::{Setting, Source};

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

    pub(super) fn invalid(s: &Setting, value: String, source: &Source, expected: String) -> Self {
        ConfigError {
            setting: s.name.to_owned(),
            value,
            source_desc: source.describe(s),
            expected,
            unknown: false,
        }
    }

    pub(super) fn unknown(name: &str, source: &Source) -> Self {
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
