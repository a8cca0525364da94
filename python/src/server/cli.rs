//! The command line, built from the settings table.
//!
//! Every flag comes from `rcorn_core::config::SETTINGS`, so the CLI, the
//! config file and `--print-config` can never disagree about a setting's
//! name, type or default. Precedence is gunicorn's: command line over
//! `GUNICORN_CMD_ARGS` / `RCORN_CMD_ARGS` over the defaults.

use clap::{Arg, ArgAction, ArgMatches, Command};
use pyo3::Python;
use rcorn_core::config::{HostDefaults, Kind, Settings, Source, SETTINGS};

use crate::server::build_info;
use crate::server::config_file::{self, Hooks};

pub enum CliOutcome {
    Run(Settings, Hooks),
    Exit(i32),
}

/// gunicorn's usage error code (argparse's).
const USAGE_ERROR: i32 = 2;

/// `version` is what `--version` prints after "rcorn ".
fn command(version: &'static str) -> Command {
    let mut cmd = Command::new("rcorn")
        .version(version)
        .about("A pre-fork WSGI HTTP server, run like gunicorn")
        .override_usage("rcorn [OPTIONS] [APP_MODULE]")
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .action(ArgAction::Version)
                .help("Show the version and exit"),
        )
        .arg(
            Arg::new("APP_MODULE")
                .help("The WSGI application, as MODULE:VARIABLE or MODULE:factory(...)")
                .required(false),
        );
    for setting in SETTINGS.iter().filter(|s| !s.flags.is_empty()) {
        let mut arg = Arg::new(setting.name).help(setting.help);
        let mut longs = setting.flags.iter().filter_map(|f| f.strip_prefix("--"));
        if let Some(first) = longs.next() {
            arg = arg.long(first);
        }
        for alias in longs {
            arg = arg.visible_alias(alias);
        }
        if let Some(short) = setting
            .flags
            .iter()
            .find(|f| f.len() == 2 && f.starts_with('-') && !f.starts_with("--"))
        {
            arg = arg.short(short.as_bytes()[1] as char);
        }
        arg = match setting.kind {
            Kind::Bool => arg.action(ArgAction::SetTrue),
            Kind::List => arg.action(ArgAction::Append).value_name(setting.meta),
            // A negative number is a value, as argparse takes it, so that
            // the setting's own check names it ("expected a non-negative
            // integer") rather than clap calling it an unknown flag.
            Kind::Int => arg
                .action(ArgAction::Set)
                .value_name(setting.meta)
                .allow_negative_numbers(true),
            _ => arg.action(ArgAction::Set).value_name(setting.meta),
        };
        if setting.flag_value_optional() {
            arg = arg.num_args(0..=1);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Parses `argv` (without the program name) with gunicorn's precedence:
/// command line over env args over the config file over the defaults.
pub fn parse(
    py: Python<'_>,
    argv: &[String],
    gunicorn_env: Option<String>,
    rcorn_env: Option<String>,
) -> CliOutcome {
    let host = HostDefaults {
        web_concurrency: std::env::var("WEB_CONCURRENCY").ok(),
        port: std::env::var("PORT").ok(),
        forwarded_allow_ips: std::env::var("FORWARDED_ALLOW_IPS").ok(),
        cwd: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
        euid: Some(nix::unistd::geteuid().as_raw()),
        egid: Some(nix::unistd::getegid().as_raw()),
        control_socket: None,
    };
    let defaults = match Settings::with_host(&host) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return CliOutcome::Exit(USAGE_ERROR);
        }
    };
    let mut layers = Vec::new();
    for (var, text) in [
        ("GUNICORN_CMD_ARGS", gunicorn_env),
        ("RCORN_CMD_ARGS", rcorn_env),
    ] {
        let Some(text) = text else { continue };
        let Some(words) = split_words(&text) else {
            eprintln!("error: {var}: unbalanced quotes in '{text}'");
            return CliOutcome::Exit(USAGE_ERROR);
        };
        layers.push((
            words,
            Source::EnvArgs {
                var: var.to_owned(),
            },
            var,
        ));
    }
    layers.push((argv.to_vec(), Source::CommandLine, "rcorn"));
    let version = build_info::version_text(py);

    // First pass: only to learn which config file to read.
    let mut probe = defaults.clone();
    for (words, source, origin) in &layers {
        if let Err(code) = apply(&mut probe, words, source.clone(), origin, version) {
            return CliOutcome::Exit(code);
        }
    }
    let config_given = probe.source("config") != Some(&Source::Default);
    let mut settings = defaults;
    let mut hooks = Hooks::default();
    if let Some(path) = config_file::path_to_load(&probe, config_given) {
        if let Err(e) = config_file::apply(py, &path, &mut settings, &mut hooks) {
            eprintln!("Error: {e}");
            return CliOutcome::Exit(1);
        }
    }
    for (words, source, origin) in &layers {
        if let Err(code) = apply(&mut settings, words, source.clone(), origin, version) {
            return CliOutcome::Exit(code);
        }
    }
    CliOutcome::Run(settings, hooks)
}

fn apply(
    settings: &mut Settings,
    words: &[String],
    source: Source,
    origin: &'static str,
    version: &'static str,
) -> Result<(), i32> {
    let matches = command(version)
        .name(origin)
        .try_get_matches_from(std::iter::once(origin.to_owned()).chain(words.iter().cloned()));
    let matches = match matches {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { USAGE_ERROR } else { 0 };
            let _ = e.print();
            return Err(code);
        }
    };
    if let Some(app) = matches.get_one::<String>("APP_MODULE") {
        set(settings, "wsgi_app", app, &source)?;
    }
    for setting in SETTINGS.iter().filter(|s| !s.flags.is_empty()) {
        if !was_given(&matches, setting.name) {
            continue;
        }
        let values: Vec<&String> = match setting.kind {
            Kind::Bool => Vec::new(),
            _ => matches
                .get_many::<String>(setting.name)
                .into_iter()
                .flatten()
                .collect(),
        };
        if values.is_empty() {
            // A switch, or an optional-value flag given bare.
            settings
                .set_flag(setting.name, source.clone())
                .map_err(report)?;
        }
        for value in values {
            set(settings, setting.name, value, &source)?;
        }
    }
    Ok(())
}

fn was_given(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
}

fn set(settings: &mut Settings, name: &str, value: &str, source: &Source) -> Result<(), i32> {
    settings
        .set_from_str(name, value, source.clone())
        .map_err(report)
}

fn report(e: rcorn_core::config::ConfigError) -> i32 {
    eprintln!("error: {e}");
    USAGE_ERROR
}

/// Splits a command line the way a POSIX shell would for plain words,
/// single and double quotes and backslashes (enough for
/// GUNICORN_CMD_ARGS, which gunicorn splits with `shlex.split`).
fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"-w 3 --name 'my app' -e "A=b c" x\ y"#).unwrap(),
            vec!["-w", "3", "--name", "my app", "-e", "A=b c", "x y"]
        );
        assert_eq!(split_words("'open"), None);
    }
}
