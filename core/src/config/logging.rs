//! Which of gunicorn's three ways to configure Python logging applies.
//!
//! `logconfig_dict` (config file only), `logconfig_json` and `logconfig`
//! may all be set; gunicorn applies one, in that order of precedence. An
//! empty value counts as unset, as gunicorn tests each for truth.

use super::{Settings, Value};

/// The logging configuration the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoggingConfig<'a> {
    /// `logconfig_dict`: the dictionary itself stays with the config-file
    /// layer, which holds the Python object.
    Dict,
    /// `--log-config-json FILE`.
    Json(&'a str),
    /// `--log-config FILE`, in `logging.config.fileConfig` form.
    File(&'a str),
}

impl LoggingConfig<'_> {
    /// The setting that names it.
    pub fn setting(&self) -> &'static str {
        match self {
            LoggingConfig::Dict => "logconfig_dict",
            LoggingConfig::Json(_) => "logconfig_json",
            LoggingConfig::File(_) => "logconfig",
        }
    }
}

/// The configuration that applies, and the other logging settings that are
/// set but give way to it (for a warning: gunicorn ignores them silently).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingChoice<'a> {
    pub config: LoggingConfig<'a>,
    pub shadowed: Vec<&'static str>,
}

impl Settings {
    /// `None` when none of the three is set: rcorn then logs on its own.
    pub fn logging_config(&self) -> Option<LoggingChoice<'_>> {
        let dict_set = match self.value("logconfig_dict") {
            Value::Dict(entries) => !entries.is_empty(),
            // Not a dictionary: still set, to be refused when applied.
            Value::Object(_) => true,
            _ => false,
        };
        let path = |name| self.opt_str(name).filter(|p| !p.is_empty());
        let mut set = Vec::new();
        if dict_set {
            set.push(LoggingConfig::Dict);
        }
        if let Some(p) = path("logconfig_json") {
            set.push(LoggingConfig::Json(p));
        }
        if let Some(p) = path("logconfig") {
            set.push(LoggingConfig::File(p));
        }
        let mut set = set.into_iter();
        let config = set.next()?;
        Some(LoggingChoice {
            config,
            shadowed: set.map(|c| c.setting()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn file() -> Source {
        Source::ConfigFile {
            path: "conf.py".into(),
            line: Some(1),
        }
    }

    fn with(pairs: &[(&str, Value)]) -> Settings {
        let mut s = Settings::defaults();
        for (name, value) in pairs {
            s.set(name, value.clone(), file()).unwrap();
        }
        s
    }

    fn version_dict() -> Value {
        Value::Dict(vec![("version".into(), Value::Int(1))])
    }

    #[test]
    fn nothing_set_means_rcorn_logs_on_its_own() {
        assert_eq!(Settings::defaults().logging_config(), None);
        // Empty values are unset, as gunicorn tests them for truth.
        let s = with(&[
            ("logconfig_dict", Value::Dict(vec![])),
            ("logconfig_json", Value::Str(String::new())),
            ("logconfig", Value::Str(String::new())),
        ]);
        assert_eq!(s.logging_config(), None);
    }

    #[test]
    fn each_alone_applies() {
        let s = with(&[("logconfig", Value::Str("log.ini".into()))]);
        let choice = s.logging_config().unwrap();
        assert_eq!(choice.config, LoggingConfig::File("log.ini"));
        assert_eq!(choice.config.setting(), "logconfig");
        assert!(choice.shadowed.is_empty());

        let s = with(&[("logconfig_json", Value::Str("log.json".into()))]);
        assert_eq!(
            s.logging_config().unwrap().config,
            LoggingConfig::Json("log.json")
        );

        let s = with(&[("logconfig_dict", version_dict())]);
        assert_eq!(s.logging_config().unwrap().config, LoggingConfig::Dict);
    }

    #[test]
    fn dict_beats_json_beats_file() {
        let s = with(&[
            ("logconfig", Value::Str("log.ini".into())),
            ("logconfig_json", Value::Str("log.json".into())),
            ("logconfig_dict", version_dict()),
        ]);
        let choice = s.logging_config().unwrap();
        assert_eq!(choice.config, LoggingConfig::Dict);
        assert_eq!(choice.shadowed, ["logconfig_json", "logconfig"]);

        let s = with(&[
            ("logconfig", Value::Str("log.ini".into())),
            ("logconfig_json", Value::Str("log.json".into())),
        ]);
        let choice = s.logging_config().unwrap();
        assert_eq!(choice.config, LoggingConfig::Json("log.json"));
        assert_eq!(choice.shadowed, ["logconfig"]);
    }

    #[test]
    fn a_dict_setting_that_is_no_dictionary_is_still_set() {
        // Refused later, with the value, when logging is configured.
        let s = with(&[("logconfig_dict", Value::Object("<object>".into()))]);
        assert_eq!(s.logging_config().unwrap().config, LoggingConfig::Dict);
    }
}
