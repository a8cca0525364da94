//! docs/settings.md is generated from the settings table, so the page that
//! lists every setting cannot drift from what the CLI, the config file and
//! `--print-config` use. `RCORN_BLESS=1 cargo test -p rcorn-core --test
//! settings_doc` rewrites it after a change to the table.

use std::fmt::Write;

use rcorn_core::config::{Support, SETTINGS};

fn render() -> String {
    let mut out = String::from(
        "# Settings\n\n\
         Every gunicorn setting, by gunicorn's name, as rcorn takes it: on the command\n\
         line, in a config file (`-c FILE`, `rcorn.conf.py`, `gunicorn.conf.py`), in\n\
         `RCORN_CMD_ARGS` / `GUNICORN_CMD_ARGS`. A setting rcorn does not act on is\n\
         still accepted and validated, and a one-line warning at start-up says why it\n\
         has no effect.\n\n\
         This page is generated from the settings table (`core/src/config/table.rs`).\n",
    );
    let mut section = "";
    for s in SETTINGS.iter() {
        if s.section != section {
            section = s.section;
            let _ = write!(out, "\n## {section}\n\n| setting | flags | default | in rcorn | |\n|---|---|---|---|---|\n");
        }
        let flags = if s.flags.is_empty() {
            "config file".to_string()
        } else {
            s.flags
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let support = match s.support {
            Support::Implemented => "yes".to_string(),
            Support::NoEffect(why) => format!("no effect: {why}"),
        };
        let cell = |text: &str| text.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            s.name,
            flags,
            cell(&s.default_display()),
            cell(&support),
            cell(s.help)
        );
    }
    out
}

#[test]
fn docs_settings_page_matches_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/settings.md");
    let want = render();
    if std::env::var_os("RCORN_BLESS").is_some() {
        std::fs::write(path, &want).expect("write docs/settings.md");
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/settings.md is out of date with the settings table; \
         regenerate it with RCORN_BLESS=1 cargo test -p rcorn-core --test settings_doc"
    );
}
