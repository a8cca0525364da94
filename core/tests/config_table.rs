//! The settings table as the CLI and the config-file loader use it: through
//! the public API only.

use proptest::prelude::*;
use rcorn_core::config::{
    by_flag, setting, ConfigError, Kind, Settings, Source, Support, Value, SETTINGS,
};

/// A value each kind must accept from the command line.
fn sample(kind: Kind, name: &str) -> &'static str {
    match (kind, name) {
        (_, "bind") => "127.0.0.1:9000",
        (_, "raw_env") => "A=1",
        (_, "worker_class") => "gthread",
        (_, "loglevel") => "warning",
        (_, "reload_engine") => "poll",
        (_, "cert_reqs") => "2",
        (_, "ciphers") => "ECDHE-RSA-AES128-GCM-SHA256:HIGH",
        (_, "http2_max_frame_size") => "32768",
        (_, "proxy_protocol") => "v2",
        (_, "http2_cleartext") => "upgrade",
        (_, "header_map") => "refuse",
        (_, "asgi_loop") => "uvloop",
        (_, "asgi_lifespan") => "on",
        (_, "ws_per_message_deflate") => "false",
        (_, "log_format") => "json",
        (_, "http_parser") => "python",
        (_, "http_protocols") => "h2,h1",
        (_, "syslog_addr") => "udp://127.0.0.1:514",
        (_, "syslog_facility") => "local0",
        (_, "statsd_host") => "127.0.0.1:8125",
        (_, "protocol") => "uwsgi",
        (_, "metrics_bind") => "127.0.0.1:9100",
        (_, "dirty_apps") => "myapp.ml:Model",
        (Kind::Int, _) => "7",
        (Kind::CommaList, _) => "10.0.0.0/8,::1",
        (Kind::Bool, _) => "true",
        _ => "x",
    }
}

#[test]
fn every_flag_accepts_a_sample_value_and_records_the_source() {
    let mut s = Settings::defaults();
    for st in SETTINGS.iter().filter(|st| !st.flags.is_empty()) {
        for flag in st.flags {
            assert_eq!(by_flag(flag).map(|x| x.name), Some(st.name));
        }
        if st.flag_takes_value() {
            s.set_from_str(st.name, sample(st.kind, st.name), Source::CommandLine)
                .unwrap_or_else(|e| panic!("{}: {e}", st.name));
        } else {
            s.set_flag(st.name, Source::CommandLine)
                .unwrap_or_else(|e| panic!("{}: {e}", st.name));
        }
        assert_eq!(s.source(st.name), Some(&Source::CommandLine), "{}", st.name);
    }
    // Everything changed that rcorn does not act on is reported, once each,
    // in table order, and nothing implemented is.
    let warned = s.unsupported_in_use();
    assert!(!warned.is_empty());
    assert!(warned
        .iter()
        .all(|(st, why)| st.support == Support::NoEffect(why)));
    assert!(warned.iter().all(|(st, _)| !st.is_implemented()));
}

#[test]
fn config_file_values_replace_and_command_line_wins() {
    // gunicorn's precedence: the loader applies the file, then env args,
    // then the command line, each replacing what came before.
    let mut s = Settings::defaults();
    let file = Source::ConfigFile {
        path: "gunicorn.conf.py".into(),
        line: Some(1),
    };
    s.set(
        "bind",
        Value::List(vec!["unix:/run/a.sock".into()]),
        file.clone(),
    )
    .unwrap();
    s.set("workers", Value::Int(3), file.clone()).unwrap();
    s.set_from_str(
        "workers",
        "5",
        Source::EnvArgs {
            var: "RCORN_CMD_ARGS".into(),
        },
    )
    .unwrap();
    s.set_from_str("workers", "9", Source::CommandLine).unwrap();
    assert_eq!(s.workers(), 9);
    assert_eq!(s.bind(), ["unix:/run/a.sock"]);
    assert_eq!(s.source("bind"), Some(&file));
}

#[test]
fn the_table_describes_itself_for_help_and_docs() {
    let w = setting("workers").unwrap();
    assert_eq!(
        (w.section, w.meta, w.kind),
        ("Worker Processes", "INT", Kind::Int)
    );
    assert_eq!(w.default_display(), "1");
    let hooks: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.section == "Server Hooks")
        .map(|s| s.name)
        .collect();
    assert_eq!(hooks.len(), 16);
    let sections: std::collections::BTreeSet<&str> = SETTINGS.iter().map(|s| s.section).collect();
    // gunicorn 26's 14, then rcorn's Metrics, WebSockets and Extensions.
    assert_eq!(sections.len(), 17);
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
        Just(Value::None),
        prop::collection::vec(".{0,8}", 0..3).prop_map(Value::List),
        ".{0,8}".prop_map(Value::Callable),
        ".{0,8}".prop_map(Value::Object),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec((".{0,6}", inner), 0..3).prop_map(Value::Dict)
    })
}

proptest! {
    #[test]
    fn no_input_panics_and_errors_are_one_line(
        idx in 0..SETTINGS.len(),
        raw in ".{0,40}",
        value in any_value(),
        src in 0..4u8,
    ) {
        let name = SETTINGS[idx].name;
        let source = match src {
            0 => Source::CommandLine,
            1 => Source::EnvArgs { var: "GUNICORN_CMD_ARGS".into() },
            2 => Source::ConfigFile { path: "c.py".into(), line: Some(3) },
            _ => Source::Environment { var: "WEB_CONCURRENCY".into() },
        };
        let mut s = Settings::defaults();
        let check = |r: Result<(), ConfigError>| {
            if let Err(e) = r {
                let line = e.to_string();
                prop_assert!(line.starts_with(&format!("{name}: ")), "{}", line);
                prop_assert!(!line.contains('\n') || e.value().contains('\n'), "{}", line);
            }
            Ok(())
        };
        check(s.set_from_str(name, &raw, source.clone()))?;
        check(s.set(name, value, source.clone()))?;
        check(s.set_flag(name, source))?;
        let _ = s.print_config();
        let _ = s.unsupported_in_use();
        let _ = (s.bind_addresses(), s.env(), s.timeout(), s.loglevel(), s.workers());
    }
}
