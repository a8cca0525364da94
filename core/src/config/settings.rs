//! Every setting's current value and source: setting, reading, listing.

use super::coerce::{coerce_str, coerce_typed, validate};
use super::setting::index_of;
use super::syntax;
use super::table::SETTINGS;
use super::{ConfigError, Kind, Setting, Source, Support, Value};

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
            syntax::py_str(v, &mut out);
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
}
