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
    out.push_str(NOTES);
    out
}

/// What the table's one-line descriptions cannot say.
const NOTES: &str = "
## Notes

### Request limits

`limit_request_line`, `limit_request_fields` and `limit_request_field_size`
mean what they mean in gunicorn 26's parser (`gunicorn/http/message.py`),
which is not always what gunicorn's settings page says:

| setting | 0 | above its maximum | negative |
|---|---|---|---|
| `limit_request_line` | 1 MiB | 8190 | refused at start-up |
| `limit_request_fields` | 32768 | 32768 | refused at start-up |
| `limit_request_field_size` | 8190 (gunicorn's page says \"unlimited\"; its parser and tests say 8190) | no maximum: taken as given | refused at start-up |

gunicorn's own parser takes `limit_request_line = 0` as no limit at all
(its optional C parser as 1 MiB); rcorn takes 1 MiB, so that one request
line cannot grow a worker's buffer without end. An over-long request line
is answered 414 URI Too Long (RFC 9110 §15.5.15) where gunicorn answers
400; too many or too large header fields, 431.

### Request targets

The four forms of RFC 9112 §3.2 are served as gunicorn 26 serves them:
origin-form (`/path?query`), absolute-form (`http://host/path`: `PATH_INFO`
is the path after the authority; an authority with unmatched brackets, or
whose bracketed host is not an IPv6 address, is 400), asterisk-form (`*`,
with `OPTIONS` only) and authority-form (`host:port`, with `CONNECT` only;
`PATH_INFO` is what Python's `urlsplit` makes of it, as in gunicorn:
`443` for `example.com:443`, the whole target for `[::1]:443`). Where
gunicorn is laxer, rcorn keeps to the RFC and answers 400: a `CONNECT`
whose target is not `host:port` (gunicorn serves `CONNECT /x`, or a target
with a query), and a target in none of the four forms that merely contains
`://` (gunicorn serves `x?u=http://h` with `PATH_INFO` `x`). Neither has a
use but to reach an application with a request no client means.
";

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
