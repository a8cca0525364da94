use std::collections::HashSet;
use std::time::Duration;

use super::syntax::{is_ip_network, py_repr_str};
use super::*;

fn cli() -> Source {
    Source::CommandLine
}

fn file(line: u32) -> Source {
    Source::ConfigFile {
        path: "gunicorn.conf.py".into(),
        line: Some(line),
    }
}

fn env_args() -> Source {
    Source::EnvArgs {
        var: "GUNICORN_CMD_ARGS".into(),
    }
}

fn err(s: &mut Settings, name: &str, raw: &str, src: Source) -> String {
    match s.set_from_str(name, raw, src) {
        Ok(()) => panic!("{name}={raw:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| (*s).to_owned()).collect())
}

// ---------------------------------------------------------------- table

#[test]
fn table_has_every_gunicorn_26_setting_in_order() {
    // gunicorn 26's 119, then rcorn's own.
    assert_eq!(SETTINGS.len(), 125);
    let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    assert_eq!(
        &names[..5],
        ["config", "wsgi_app", "bind", "backlog", "workers"]
    );
    assert_eq!(names[60], "on_starting");
    assert_eq!(names[75], "ssl_context");
    assert_eq!(names[106], "root_path");
    assert_eq!(names[118], "control_socket_disable");
    // rcorn's own settings follow gunicorn's.
    assert_eq!(names[119], "metrics_bind");
    assert_eq!(names[120], "ws_max_size");
    assert_eq!(names[124], "log_format");
}

#[test]
fn every_name_is_unique() {
    let mut seen = HashSet::new();
    for s in SETTINGS {
        assert!(seen.insert(s.name), "duplicate setting {}", s.name);
    }
}

#[test]
fn every_flag_is_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for s in SETTINGS {
        for f in s.flags {
            assert!(seen.insert(*f), "duplicate flag {f}");
            assert!(f.starts_with('-') && !f.contains(' '), "odd flag {f}");
            assert!(
                !["-v", "--version", "-h", "--help"].contains(f),
                "{f} belongs to the CLI"
            );
        }
    }
}

#[test]
fn every_help_is_one_line_and_every_value_flag_has_a_metavar() {
    for s in SETTINGS {
        assert!(!s.help.is_empty() && !s.help.contains('\n'), "{}", s.name);
        if !s.flags.is_empty() && s.kind != Kind::Bool {
            assert!(!s.meta.is_empty(), "{} has no metavar", s.name);
        }
    }
}

#[test]
fn hooks_and_dicts_are_config_file_only() {
    for s in SETTINGS {
        if matches!(s.kind, Kind::Callable | Kind::Dict) {
            assert!(s.flags.is_empty(), "{}", s.name);
        }
    }
}

#[test]
fn every_default_survives_its_own_validation() {
    // gunicorn runs each default through the validator at start-up; ours
    // are written pre-normalised, so they must come out unchanged.
    let mut s = Settings::defaults();
    for st in SETTINGS {
        let d = st.default_value();
        s.set(st.name, d.clone(), Source::Default)
            .unwrap_or_else(|e| panic!("default of {} rejected: {e}", st.name));
        assert_eq!(s.get(st.name), Some(&d), "{}", st.name);
    }
}

#[test]
fn implemented_settings_are_exactly_the_served_ones() {
    let implemented: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.is_implemented())
        .map(|s| s.name)
        .collect();
    insta::assert_snapshot!(implemented.join("\n"));
}

#[test]
fn lookups() {
    assert_eq!(
        setting("workers").map(|s| s.flags),
        Some(&["-w", "--workers"][..])
    );
    assert!(setting("nope").is_none());
    assert_eq!(by_flag("-w").map(|s| s.name), Some("workers"));
    assert_eq!(by_flag("--log-file").map(|s| s.name), Some("errorlog"));
    assert_eq!(
        by_flag("--limit-request-field_size").map(|s| s.name),
        Some("limit_request_field_size")
    );
    assert_eq!(by_flag("--paster").map(|s| s.name), Some("paste"));
    assert!(by_flag("--limit-request-field-size").is_none());
    let m: Vec<&str> = long_flags_with_prefix("--work")
        .iter()
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(
        m,
        [
            "--workers",
            "--worker-class",
            "--worker-connections",
            "--worker-tmp-dir"
        ]
    );
    assert_eq!(long_flags_with_prefix("--keep").len(), 1);
    assert!(long_flags_with_prefix("-w").is_empty());
}

#[test]
fn flag_arity() {
    let pp = setting("proxy_protocol").unwrap();
    assert!(pp.flag_takes_value() && pp.flag_value_optional());
    let preload = setting("preload_app").unwrap();
    assert!(!preload.flag_takes_value());
    let w = setting("workers").unwrap();
    assert!(w.flag_takes_value() && !w.flag_value_optional());
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_match_gunicorn() {
    let s = Settings::defaults();
    assert_eq!(s.bind(), ["127.0.0.1:8000"]);
    assert_eq!(s.backlog(), 2048);
    assert_eq!(s.workers(), 1);
    assert_eq!(s.worker_class(), "sync");
    assert_eq!(s.threads(), 1);
    assert_eq!(s.worker_connections(), 1000);
    assert_eq!(s.max_requests(), 0);
    assert_eq!(s.max_requests_jitter(), 0);
    assert_eq!(s.timeout(), Duration::from_secs(30));
    assert_eq!(s.graceful_timeout(), Duration::from_secs(30));
    assert_eq!(s.keepalive(), Duration::from_secs(2));
    assert_eq!(s.limit_request_line(), 4094);
    assert_eq!(s.limit_request_fields(), 100);
    assert_eq!(s.limit_request_field_size(), 8190);
    assert!(!s.preload_app() && !s.reuse_port() && !s.daemon());
    assert_eq!(s.loglevel(), "info");
    assert_eq!(s.accesslog(), None);
    assert_eq!(s.errorlog(), "-");
    assert_eq!(
        s.access_log_format(),
        r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#
    );
    assert_eq!(s.wsgi_app(), None);
    assert_eq!(s.pidfile(), None);
    assert_eq!(s.proc_name(), None);
    assert_eq!(s.effective_proc_name(), "gunicorn");
    assert_eq!(s.config(), "./gunicorn.conf.py");
    assert!(s.raw_env().is_empty());
    assert_eq!(s.get("sendfile"), Some(&Value::None));
    assert_eq!(s.get("suppress_ragged_eofs"), Some(&Value::Bool(true)));
    assert_eq!(
        s.get("forwarded_allow_ips"),
        Some(&list(&["127.0.0.1", "::1"]))
    );
    assert_eq!(s.get("control_socket_mode"), Some(&Value::Int(384)));
    assert_eq!(s.get("proxy_protocol"), Some(&Value::Str("off".into())));
    assert_eq!(
        s.get("on_starting"),
        Some(&Value::Callable("OnStarting.on_starting".into()))
    );
    assert!(s.iter().all(|(_, _, src)| *src == Source::Default));
    assert!(s.unsupported_in_use().is_empty());
}

#[test]
fn host_defaults() {
    let host = HostDefaults {
        web_concurrency: Some("4".into()),
        port: Some("5000".into()),
        forwarded_allow_ips: Some("10.0.0.0/8, *".into()),
        cwd: Some("/srv/app".into()),
        euid: Some(1000),
        egid: Some(1001),
        control_socket: Some("/run/user/1000/gunicorn.ctl".into()),
    };
    let s = Settings::with_host(&host).unwrap();
    assert_eq!(s.workers(), 4);
    assert_eq!(
        s.source("workers"),
        Some(&Source::Environment {
            var: "WEB_CONCURRENCY".into()
        })
    );
    assert_eq!(s.bind(), ["0.0.0.0:5000"]);
    assert_eq!(s.chdir(), "/srv/app");
    assert_eq!(s.source("chdir"), Some(&Source::Default));
    assert_eq!(s.get("user"), Some(&Value::Int(1000)));
    assert_eq!(s.get("group"), Some(&Value::Int(1001)));
    assert_eq!(
        s.get("forwarded_allow_ips"),
        Some(&list(&["10.0.0.0/8", "*"]))
    );

    let bad = HostDefaults {
        web_concurrency: Some("many".into()),
        ..Default::default()
    };
    assert_eq!(
        Settings::with_host(&bad).unwrap_err().to_string(),
        "workers: invalid value 'many' from $WEB_CONCURRENCY: expected a non-negative integer"
    );
    let bad = HostDefaults {
        port: Some("http".into()),
        ..Default::default()
    };
    assert!(Settings::with_host(&bad)
        .unwrap_err()
        .to_string()
        .starts_with("bind: "));
}

// ---------------------------------------------------------------- kinds

#[test]
fn int_from_the_command_line_is_decimal() {
    let mut s = Settings::defaults();
    s.set_from_str("workers", " 3 ", cli()).unwrap();
    assert_eq!(s.workers(), 3);
    s.set_from_str("backlog", "1_024", cli()).unwrap();
    assert_eq!(s.backlog(), 1024);
    assert_eq!(
        err(&mut s, "workers", "abc", cli()),
        "workers: invalid value 'abc' from --workers: expected a non-negative integer"
    );
    assert_eq!(
        err(&mut s, "workers", "-1", cli()),
        "workers: invalid value '-1' from --workers: expected a non-negative integer"
    );
    // argparse's type=int refuses base prefixes ...
    err(&mut s, "timeout", "0x10", cli());
    err(&mut s, "timeout", "2.5", cli());
    err(&mut s, "timeout", "", cli());
    err(&mut s, "timeout", "99999999999999999999999", cli());
    // ... but a string in a config file goes through int(x, 0).
    s.set_from_str("timeout", "0x10", file(3)).unwrap();
    assert_eq!(s.timeout(), Duration::from_secs(16));
    assert_eq!(
        err(&mut s, "timeout", "010", file(4)),
        "timeout: invalid value '010' from gunicorn.conf.py line 4: expected a non-negative integer"
    );
}

#[test]
fn int_syntaxes() {
    assert_eq!(py_int_decimal("+7"), Some(7));
    assert_eq!(py_int_decimal("1__0"), None);
    assert_eq!(py_int_decimal("_1"), None);
    assert_eq!(py_int_base0("0o17"), Some(15));
    assert_eq!(py_int_base0("0B101"), Some(5));
    assert_eq!(py_int_base0("0x_ff"), Some(255));
    assert_eq!(py_int_base0("000"), Some(0));
    assert_eq!(py_int_base0("09"), None);
    assert_eq!(py_auto_int("0022"), Some(18));
    assert_eq!(py_auto_int("022"), Some(18));
    assert_eq!(py_auto_int("0"), Some(0));
    assert_eq!(py_auto_int("18"), Some(18));
    assert_eq!(py_auto_int("0x12"), Some(18));
    assert_eq!(py_auto_int("09"), None);

    let mut s = Settings::defaults();
    s.set_from_str("umask", "0022", cli()).unwrap();
    assert_eq!(s.get("umask"), Some(&Value::Int(0o22)));
    s.set_from_str("control_socket_mode", "0660", cli())
        .unwrap();
    assert_eq!(s.get("control_socket_mode"), Some(&Value::Int(0o660)));
    s.set_from_str("cert_reqs", "0x2", cli()).unwrap();
    assert_eq!(s.get("cert_reqs"), Some(&Value::Int(2)));
}

#[test]
fn typed_ints() {
    let mut s = Settings::defaults();
    s.set("workers", Value::Int(8), file(1)).unwrap();
    assert_eq!(s.workers(), 8);
    // Python booleans are ints.
    s.set("workers", Value::Bool(true), file(1)).unwrap();
    assert_eq!(s.workers(), 1);
    s.set("workers", Value::Str("0x4".into()), file(1)).unwrap();
    assert_eq!(s.workers(), 4);
    let e = s.set("timeout", Value::Float(30.5), file(7)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "timeout: invalid value '30.5' from gunicorn.conf.py line 7: expected a non-negative integer"
    );
    assert!(s.set("timeout", Value::None, file(7)).is_err());
    assert!(s.set("timeout", Value::Int(-5), file(7)).is_err());
}

#[test]
fn bools() {
    let mut s = Settings::defaults();
    s.set_flag("preload_app", cli()).unwrap();
    assert!(s.preload_app());
    s.set_from_str("daemon", " TRUE ", file(1)).unwrap();
    assert!(s.daemon());
    s.set_from_str("daemon", "false", file(1)).unwrap();
    assert!(!s.daemon());
    assert_eq!(
        err(&mut s, "daemon", "yes", file(2)),
        "daemon: invalid value 'yes' from gunicorn.conf.py line 2: expected true or false"
    );
    assert!(s.set("reuse_port", Value::Int(1), file(1)).is_err());
    s.set("reuse_port", Value::Bool(true), file(1)).unwrap();
    assert!(s.reuse_port());
    s.set("reuse_port", Value::None, file(1)).unwrap();
    assert!(!s.reuse_port());
    // --no-sendfile stores False, not True.
    s.set_flag("sendfile", cli()).unwrap();
    assert_eq!(s.get("sendfile"), Some(&Value::Bool(false)));
    // A value flag given bare is an error naming the flag.
    let e = s.set_flag("workers", cli()).unwrap_err().to_string();
    assert_eq!(
        e,
        "workers: invalid value '' from --workers: --workers needs a value (INT)"
    );
}

#[test]
fn strings_are_stripped_and_optional_ones_clear() {
    let mut s = Settings::defaults();
    s.set_from_str("proc_name", "  site  ", cli()).unwrap();
    assert_eq!(s.proc_name(), Some("site"));
    assert_eq!(s.effective_proc_name(), "site");
    s.set("proc_name", Value::None, file(1)).unwrap();
    assert_eq!(s.proc_name(), None);
    s.set("accesslog", Value::Str("-".into()), file(1)).unwrap();
    assert_eq!(s.accesslog(), Some("-"));
    // A setting that always has a string refuses None and non-strings.
    assert!(s.set("errorlog", Value::None, file(1)).is_err());
    assert!(s.set("errorlog", Value::Int(3), file(1)).is_err());
    s.set_from_str("pythonpath", "/a,/b", cli()).unwrap();
    assert_eq!(s.pythonpath_dirs(), ["/a", "/b"]);
}

#[test]
fn lists_append_within_a_source_and_replace_across_sources() {
    let mut s = Settings::defaults();
    // The first -b replaces the default, the next ones append.
    s.set_from_str("bind", "0.0.0.0:80", cli()).unwrap();
    s.set_from_str("bind", "unix:/tmp/a.sock", cli()).unwrap();
    assert_eq!(s.bind(), ["0.0.0.0:80", "unix:/tmp/a.sock"]);

    let mut s = Settings::defaults();
    s.set("bind", list(&["127.0.0.1:1", "127.0.0.1:2"]), file(1))
        .unwrap();
    s.set_from_str("bind", "[::1]:3", env_args()).unwrap();
    assert_eq!(s.bind(), ["[::1]:3"]);
    s.set_from_str("bind", "fd://3", env_args()).unwrap();
    s.set_from_str("bind", "tcp://localhost:9", cli()).unwrap();
    assert_eq!(s.bind(), ["tcp://localhost:9"]);
    assert_eq!(s.source("bind"), Some(&cli()));

    // gunicorn's legacy syntax: one string means a one-element list.
    s.set("raw_env", Value::Str("A=1".into()), file(2)).unwrap();
    assert_eq!(s.env(), [("A", "1")]);
    s.set("raw_env", Value::None, file(2)).unwrap();
    assert!(s.raw_env().is_empty());
    s.set_from_str("raw_env", "B=x=y", cli()).unwrap();
    assert_eq!(s.env(), [("B", "x=y")]);
    assert_eq!(
        err(&mut s, "raw_env", "NOEQUALS", cli()),
        "raw_env: invalid value 'NOEQUALS' from --env: expected KEY=VALUE"
    );
    assert!(s.set("bind", Value::Int(1), file(1)).is_err());
}

#[test]
fn bind_addresses_are_checked() {
    let mut s = Settings::defaults();
    let e = err(&mut s, "bind", "localhost:http", cli());
    assert_eq!(
        e,
        "bind: invalid value 'localhost:http' from --bind: expected HOST, HOST:PORT, \
         [IPV6]:PORT, unix:PATH or fd://FD ('http' is not a valid port number)"
    );
    err(&mut s, "bind", "fd://x", cli());
    err(&mut s, "bind", "unix:", cli());
    err(&mut s, "bind", "1.2.3.4:70000", cli());
    s.set_from_str("bind", "Example.COM", cli()).unwrap();
    s.set_from_str("bind", "[::1]", cli()).unwrap();
    s.set_from_str("bind", "unix:///run/app.sock", cli())
        .unwrap();
    s.set_from_str("bind", "fd://3", cli()).unwrap();
    assert_eq!(
        s.bind_addresses(),
        [
            BindAddress::Tcp {
                host: "example.com".into(),
                port: 8000
            },
            BindAddress::Tcp {
                host: "::1".into(),
                port: 8000
            },
            BindAddress::Unix("/run/app.sock".into()),
            BindAddress::Fd(3),
        ]
    );
    assert_eq!(
        parse_address("[2001:db8::1]:8080"),
        Ok(BindAddress::Tcp {
            host: "2001:db8::1".into(),
            port: 8080
        })
    );
    assert_eq!(
        parse_address(""),
        Ok(BindAddress::Tcp {
            host: "0.0.0.0".into(),
            port: 8000
        })
    );
    assert_eq!(
        parse_address("unix:app.sock"),
        Ok(BindAddress::Unix("app.sock".into()))
    );
}

#[test]
fn comma_lists() {
    let mut s = Settings::defaults();
    s.set_from_str(
        "forwarded_allow_ips",
        "10.0.0.1, 192.168.0.0/16,,::1",
        cli(),
    )
    .unwrap();
    assert_eq!(
        s.get("forwarded_allow_ips"),
        Some(&list(&["10.0.0.1", "192.168.0.0/16", "::1"]))
    );
    s.set_from_str("forwarded_allow_ips", "*", cli()).unwrap();
    assert_eq!(s.get("forwarded_allow_ips"), Some(&list(&["*"])));
    assert!(
        err(&mut s, "forwarded_allow_ips", "192.168.1.1/24", cli()).ends_with(
            "expected comma-separated IP addresses or CIDR networks (no host bits set), or *"
        )
    );
    err(&mut s, "proxy_allow_ips", "example.com", cli());
    // A list in a config file is accepted too.
    s.set("forwarded_allow_ips", list(&[" 10.0.0.2 "]), file(1))
        .unwrap();
    assert_eq!(s.get("forwarded_allow_ips"), Some(&list(&["10.0.0.2"])));
    s.set_from_str("http_protocols", "H2, h1", cli()).unwrap();
    assert_eq!(s.get("http_protocols"), Some(&list(&["h2", "h1"])));
    err(&mut s, "http_protocols", "h1,h1", cli());
    err(&mut s, "http_protocols", "spdy", cli());
    s.set_from_str("http_protocols", "", cli()).unwrap();
    assert_eq!(s.get("http_protocols"), Some(&list(&["h1"])));
}

#[test]
fn ip_networks() {
    for ok in [
        "1.2.3.4",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "::1",
        "2001:db8::/32",
        "::/0",
        "1.2.3.4/32",
    ] {
        assert!(is_ip_network(ok), "{ok}");
    }
    for bad in [
        "1.2.3.4/24",
        "10.0.0.0/33",
        "1.2.3",
        "::1/129",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "x",
    ] {
        assert!(!is_ip_network(bad), "{bad}");
    }
}

#[test]
fn modes_and_choices() {
    let mut s = Settings::defaults();
    s.set_flag("proxy_protocol", cli()).unwrap();
    assert_eq!(s.get("proxy_protocol"), Some(&Value::Str("auto".into())));
    s.set_from_str("proxy_protocol", "V1", cli()).unwrap();
    assert_eq!(s.get("proxy_protocol"), Some(&Value::Str("v1".into())));
    s.set("proxy_protocol", Value::Bool(false), file(1))
        .unwrap();
    assert_eq!(s.get("proxy_protocol"), Some(&Value::Str("off".into())));
    s.set("proxy_protocol", Value::Bool(true), file(1)).unwrap();
    assert_eq!(s.get("proxy_protocol"), Some(&Value::Str("auto".into())));
    assert_eq!(
        err(&mut s, "proxy_protocol", "v3", cli()),
        "proxy_protocol: invalid value 'v3' from --proxy-protocol: expected one of: off, v1, v2, auto"
    );
    s.set("http2_cleartext", Value::Bool(true), file(1))
        .unwrap();
    assert_eq!(
        s.get("http2_cleartext"),
        Some(&Value::Str("prior-knowledge".into()))
    );
    s.set_from_str("header_map", "Refuse", cli()).unwrap();
    assert_eq!(s.get("header_map"), Some(&Value::Str("refuse".into())));
    err(&mut s, "header_map", "keep", cli());
    err(&mut s, "reload_engine", "fsevents", cli());
    err(&mut s, "cert_reqs", "3", cli());
    err(&mut s, "http2_max_frame_size", "100", cli());
    s.set_from_str("http2_max_frame_size", "16384", cli())
        .unwrap();
    s.set_from_str("loglevel", "DEBUG", cli()).unwrap();
    assert_eq!(s.loglevel(), "debug");
    assert_eq!(
        err(&mut s, "loglevel", "verbose", cli()),
        "loglevel: invalid value 'verbose' from --log-level: \
         expected one of: debug, info, warning, error, critical"
    );
}

#[test]
fn worker_classes() {
    let mut s = Settings::defaults();
    s.set_from_str("worker_class", "gunicorn.workers.sync.SyncWorker", cli())
        .unwrap();
    assert_eq!(s.worker_class(), "sync");
    s.set_from_str("threads", "4", cli()).unwrap();
    assert_eq!(s.effective_worker_class(), "gthread");
    s.set_from_str("worker_class", "gthread", cli()).unwrap();
    assert_eq!(s.worker_class(), "gthread");
    for alias in [
        "asgi",
        "uvicorn.workers.UvicornWorker",
        "uvicorn.workers.UvicornH11Worker",
        "uvicorn_worker.UvicornWorker",
        "uvicorn_worker.UvicornH11Worker",
    ] {
        s.set_from_str("worker_class", alias, cli()).unwrap();
        assert_eq!(s.effective_worker_class(), "asgi");
    }
    for alias in ["gevent", "gunicorn.workers.ggevent.GeventWorker"] {
        s.set_from_str("worker_class", alias, cli()).unwrap();
        assert_eq!(s.worker_class(), "gevent");
        assert_eq!(s.effective_worker_class(), "gevent");
    }
    for alias in [
        "gevent_pywsgi",
        "gevent_wsgi",
        "gunicorn.workers.ggevent.GeventPyWSGIWorker",
    ] {
        s.set_from_str("worker_class", alias, cli()).unwrap();
        assert_eq!(s.worker_class(), alias);
        assert_eq!(s.effective_worker_class(), "gevent");
    }
    for bad in ["gevent_pywsgi2", "uvicorn.workers.UvicornWorker2"] {
        assert_eq!(
            err(&mut s, "worker_class", bad, Source::CommandLine),
            format!(
                "worker_class: invalid value '{bad}' from --worker-class: \
                 worker class {bad} is not supported by rcorn (use sync, gthread, gevent or asgi)"
            )
        );
    }
    // One line naming what to use instead.
    for (bad, instead) in [
        ("eventlet", "use gevent"),
        ("gunicorn.workers.geventlet.EventletWorker", "use gevent"),
        ("tornado", "use asgi"),
    ] {
        let message = err(&mut s, "worker_class", bad, Source::CommandLine);
        assert!(message.contains(instead), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn scalars() {
    let mut s = Settings::defaults();
    s.set_from_str("user", "1000", cli()).unwrap();
    assert_eq!(s.get("user"), Some(&Value::Int(1000)));
    s.set_from_str("user", "www-data", cli()).unwrap();
    assert_eq!(s.get("user"), Some(&Value::Str("www-data".into())));
    s.set("group", Value::None, file(1)).unwrap();
    assert_eq!(s.get("group"), Some(&Value::None));
    assert!(s.set("group", list(&["a"]), file(1)).is_err());
}

#[test]
fn dicts_and_callables() {
    let mut s = Settings::defaults();
    assert_eq!(
        err(&mut s, "secure_scheme_headers", "x", cli()),
        "secure_scheme_headers: invalid value 'x' from secure_scheme_headers: \
         expected a dictionary (config file only)"
    );
    let d = Value::Dict(vec![("X-SCHEME".into(), Value::Str("https".into()))]);
    s.set("secure_scheme_headers", d.clone(), file(1)).unwrap();
    assert_eq!(s.get("secure_scheme_headers"), Some(&d));
    s.set(
        "logconfig_dict",
        Value::Object("{'version': 1}".into()),
        file(1),
    )
    .unwrap();
    assert!(s.set("logconfig_dict", list(&[]), file(1)).is_err());

    s.set("when_ready", Value::Callable("when_ready".into()), file(9))
        .unwrap();
    assert_eq!(
        s.hook("when_ready"),
        Some(&Value::Callable("when_ready".into()))
    );
    s.set("post_fork", Value::Str("hooks.post_fork".into()), file(9))
        .unwrap();
    assert_eq!(
        s.hook("post_fork"),
        Some(&Value::Str("hooks.post_fork".into()))
    );
    assert!(s
        .set("post_fork", Value::Str("post_fork".into()), file(9))
        .is_err());
    assert!(s.set("post_fork", Value::Int(1), file(9)).is_err());
    assert_eq!(s.hook("workers"), None);
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_name_their_source() {
    let mut s = Settings::defaults();
    assert_eq!(
        err(&mut s, "workers", "x", env_args()),
        "workers: invalid value 'x' from --workers in GUNICORN_CMD_ARGS: expected a non-negative integer"
    );
    let no_line = Source::ConfigFile {
        path: "python:conf".into(),
        line: None,
    };
    assert_eq!(
        err(&mut s, "workers", "x", no_line),
        "workers: invalid value 'x' from python:conf: expected a non-negative integer"
    );
    let e = s.set_from_str("wokers", "2", cli()).unwrap_err();
    assert!(e.is_unknown_setting());
    assert_eq!(e.setting(), "wokers");
    assert_eq!(
        e.to_string(),
        "wokers: no such setting (from the command line)"
    );
    let e = s.set("wokers", Value::Int(2), file(5)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "wokers: no such setting (from gunicorn.conf.py line 5)"
    );
    // A failed set leaves the old value and source alone.
    assert_eq!(s.workers(), 1);
    assert_eq!(s.source("workers"), Some(&Source::Default));
}

#[test]
fn sources_are_recorded() {
    let mut s = Settings::defaults();
    s.set("workers", Value::Int(2), file(1)).unwrap();
    s.set_from_str("timeout", "5", env_args()).unwrap();
    s.set_from_str("keepalive", "5", cli()).unwrap();
    assert_eq!(s.source("workers"), Some(&file(1)));
    assert_eq!(s.source("timeout"), Some(&env_args()));
    assert_eq!(s.source("keepalive"), Some(&cli()));
    assert_eq!(s.source("backlog"), Some(&Source::Default));
    assert_eq!(s.source("nope"), None);
}

#[test]
fn unsupported_in_use_lists_changed_no_effect_settings() {
    let mut s = Settings::defaults();
    s.set_flag("spew", cli()).unwrap();
    s.set_from_str("worker_tmp_dir", "/dev/shm", file(1))
        .unwrap();
    // Set explicitly, but to the default: nothing to warn about.
    s.set_from_str("statsd_prefix", "", cli()).unwrap();
    // Implemented: never listed.
    s.set_from_str("workers", "3", cli()).unwrap();
    let used: Vec<(&str, &str)> = s
        .unsupported_in_use()
        .into_iter()
        .map(|(st, why)| (st.name, why))
        .collect();
    assert_eq!(
        used,
        [
            ("spew", "not implemented yet"),
            (
                "worker_tmp_dir",
                "rcorn's heartbeats live in shared memory, not in files"
            ),
        ]
    );
}

// ---------------------------------------------------------------- output

fn sample_host() -> HostDefaults {
    HostDefaults {
        cwd: Some("/srv/app".into()),
        euid: Some(1000),
        egid: Some(1000),
        control_socket: Some("/home/app/.gunicorn/gunicorn.ctl".into()),
        ..Default::default()
    }
}

#[test]
fn print_config_defaults() {
    let s = Settings::with_host(&sample_host()).unwrap();
    insta::assert_snapshot!(s.print_config());
}

#[test]
fn print_config_after_changes() {
    let mut s = Settings::with_host(&sample_host()).unwrap();
    s.set_from_str("bind", "0.0.0.0:80", cli()).unwrap();
    s.set_from_str("bind", "unix:/run/it's.sock", cli())
        .unwrap();
    s.set_flag("preload_app", cli()).unwrap();
    s.set(
        "on_starting",
        Value::Callable("on_starting".into()),
        file(3),
    )
    .unwrap();
    s.set("workers", Value::Int(4), file(2)).unwrap();
    let out = s.print_config();
    assert!(out.contains(
        "\nbind                               = ['0.0.0.0:80', \"unix:/run/it's.sock\"]\n"
    ));
    assert!(out.contains("\non_starting                        = <on_starting()>\n"));
    assert!(out.contains("\npreload_app                        = True\n"));
    assert!(out.contains("\nworkers                            = 4\n"));
}

#[test]
fn python_reprs() {
    let r = |s: &str| {
        let mut o = String::new();
        py_repr_str(s, &mut o);
        o
    };
    assert_eq!(r("abc"), "'abc'");
    assert_eq!(r("it's"), "\"it's\"");
    assert_eq!(r("'\""), "'\\'\"'");
    assert_eq!(r("a\\b\n\t\x01é"), "'a\\\\b\\n\\t\\x01é'");
    assert_eq!(Value::Float(30.0).to_string(), "30.0");
    assert_eq!(Value::Float(0.5).to_string(), "0.5");
    assert_eq!(
        Value::Dict(vec![
            ("a".into(), list(&["x"])),
            ("b".into(), Value::Bool(true))
        ])
        .to_string(),
        "{'a': ['x'], 'b': True}"
    );
}

#[test]
fn docs_defaults() {
    assert_eq!(setting("chdir").unwrap().default_display(), "'.'");
    assert_eq!(
        setting("bind").unwrap().default_display(),
        "['127.0.0.1:8000']"
    );
    assert_eq!(setting("workers").unwrap().default_display(), "1");
    assert_eq!(setting("accesslog").unwrap().default_display(), "None");
    assert_eq!(setting("errorlog").unwrap().default_display(), "'-'");
}
