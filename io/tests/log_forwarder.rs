//! The log's forwarder hook, without Python: once one is installed, every
//! error and access line goes to it (and nothing to the sinks), USR1 reaches
//! it, and the sinks stay reachable through `sink_error_line` and
//! `sink_access_line`, whatever `loglevel` says. Its own test binary, since
//! a forwarder is for the life of the process.

use std::sync::Mutex;

use rcorn_io::log::{self, Forwarder, Level, LogConfig};

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen(entry: String) {
    SEEN.lock().unwrap().push(entry);
}

fn forward_error(level: Level, message: &str) {
    seen(format!("error {} {message}", level.number()));
}

fn forward_access(line: &[u8]) {
    seen(format!("access {}", String::from_utf8_lossy(line)));
}

fn forward_reopen() {
    seen("reopen".into());
}

#[test]
fn a_forwarder_takes_every_line_and_the_sinks_stay_reachable() {
    let dir = std::env::temp_dir().join(format!("rcorn-log-forwarder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let error_path = dir.join("error.log");
    let access_path = dir.join("access.log");
    log::init(&LogConfig {
        level: Level::Warning,
        errorlog: error_path.to_str().unwrap(),
        accesslog: Some(access_path.to_str().unwrap()),
        capture_output: false,
        syslog: None,
        format: log::LogFormat::Text,
    })
    .unwrap();
    assert!(!log::forwarded());
    log::log(Level::Error, format_args!("before the forwarder"));

    log::set_forwarder(Forwarder {
        error: forward_error,
        access: forward_access,
        reopen: forward_reopen,
    });
    assert!(log::forwarded());
    // Below loglevel too: the forwarded logging's levels decide.
    assert!(log::enabled(Level::Debug));
    log::log(Level::Debug, format_args!("to {}", "python"));
    log::exception(format_args!("boom\ntraceback"));
    log::access(b"127.0.0.1 - - \"GET / HTTP/1.1\" 200\n");
    assert!(log::access_enabled());
    log::reopen();
    assert_eq!(
        *SEEN.lock().unwrap(),
        [
            "error 10 to python",
            "error 40 boom\ntraceback",
            "access 127.0.0.1 - - \"GET / HTTP/1.1\" 200",
            "reopen",
        ]
    );

    // What the forwarded logging hands back reaches the files, below
    // loglevel as well, each line ending in one newline.
    log::sink_error_line(Level::Info, "from a handler");
    log::sink_access_line(b"an access line");
    log::sink_access_line(b"another\n");
    let errors = std::fs::read_to_string(&error_path).unwrap();
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 2, "{errors}");
    assert!(
        lines[0].ends_with("[ERROR] before the forwarder"),
        "{errors}"
    );
    assert!(lines[1].ends_with("[INFO] from a handler"), "{errors}");
    assert_eq!(
        std::fs::read_to_string(&access_path).unwrap(),
        "an access line\nanother\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
