//! Syslog output (`--log-syslog`) as gunicorn's logging sends it: the
//! address forms of `--log-syslog-to`, the facility names of
//! `--log-syslog-facility`, and the message bytes, which are what Python's
//! `SysLogHandler` writes with gunicorn's format:
//! `<PRI>gunicorn.PREFIX.error: [PID] MESSAGE\0`.

/// Where syslog messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogAddress {
    Udp {
        host: String,
        port: u16,
    },
    Tcp {
        host: String,
        port: u16,
    },
    /// `unix://PATH`, optionally `#dgram` or `#stream`; without it both
    /// are tried, datagram first, as Python does.
    Unix {
        path: String,
        stream: Option<bool>,
    },
}

const DEFAULT_PORT: u16 = 514;

impl SyslogAddress {
    pub fn parse(text: &str) -> Result<SyslogAddress, String> {
        if let Some(rest) = text.strip_prefix("unix://") {
            let (path, kind) = match rest.split_once('#') {
                Some((path, "dgram")) => (path, Some(false)),
                Some((path, "stream")) => (path, Some(true)),
                Some((_, other)) => {
                    return Err(format!(
                        "{text:?}: unknown socket type {other:?} (use #dgram or #stream)"
                    ))
                }
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(format!("{text:?}: no socket path"));
            }
            return Ok(SyslogAddress::Unix {
                path: path.to_owned(),
                stream: kind,
            });
        }
        let (rest, tcp) = if let Some(rest) = text.strip_prefix("udp://") {
            (rest, false)
        } else if let Some(rest) = text.strip_prefix("tcp://") {
            (rest, true)
        } else {
            return Err(format!(
                "{text:?} is not a syslog address: use unix://PATH, udp://HOST:PORT or tcp://HOST:PORT"
            ));
        };
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{text:?}: unclosed '['"))?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{text:?}: {p:?} is not a valid port number"))?,
        };
        let host = if host.is_empty() {
            "localhost".to_owned()
        } else {
            host.to_ascii_lowercase()
        };
        Ok(if tcp {
            SyslogAddress::Tcp { host, port }
        } else {
            SyslogAddress::Udp { host, port }
        })
    }
}

/// The facility number of a name `--log-syslog-facility` accepts.
pub fn facility(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" | "security" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}

/// Syslog severities of the log levels (Python's mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Critical = 2,
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}

/// The tag of one of gunicorn's two logs: `gunicorn.PREFIX.error` or
/// `gunicorn.PREFIX.access`, where PREFIX is `--log-syslog-prefix` or the
/// process name with `:` made `.`.
pub fn tag(prefix: &str, log: &str) -> String {
    format!("gunicorn.{}.{log}", prefix.replace(':', "."))
}

/// One message, as sent.
pub fn message(
    facility: u8,
    severity: Severity,
    tag: &str,
    pid: u32,
    text: &[u8],
    out: &mut Vec<u8>,
) {
    use std::io::Write;
    out.clear();
    let priority = u32::from(facility) * 8 + severity as u32;
    let _ = write!(out, "<{priority}>{tag}: [{pid}] ");
    out.extend_from_slice(text);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_gunicorn_reads_them() {
        let udp = |h: &str, p| SyslogAddress::Udp {
            host: h.into(),
            port: p,
        };
        assert_eq!(
            SyslogAddress::parse("udp://localhost:514"),
            Ok(udp("localhost", 514))
        );
        assert_eq!(
            SyslogAddress::parse("udp://LogHost"),
            Ok(udp("loghost", 514))
        );
        assert_eq!(SyslogAddress::parse("udp://"), Ok(udp("localhost", 514)));
        assert_eq!(
            SyslogAddress::parse("udp://[::1]:5140"),
            Ok(udp("::1", 5140))
        );
        assert_eq!(
            SyslogAddress::parse("tcp://10.0.0.1:601"),
            Ok(SyslogAddress::Tcp {
                host: "10.0.0.1".into(),
                port: 601
            })
        );
        assert_eq!(
            SyslogAddress::parse("unix:///dev/log#dgram"),
            Ok(SyslogAddress::Unix {
                path: "/dev/log".into(),
                stream: Some(false)
            })
        );
        assert_eq!(
            SyslogAddress::parse("unix:///dev/log"),
            Ok(SyslogAddress::Unix {
                path: "/dev/log".into(),
                stream: None
            })
        );
        for bad in [
            "localhost:514",
            "udp://host:port",
            "unix://",
            "unix:///x#raw",
            "http://x",
        ] {
            assert!(SyslogAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_are_what_pythons_syslog_handler_sends() {
        let mut out = Vec::new();
        message(
            1,
            Severity::Error,
            &tag("basic:app", "error"),
            42,
            b"boom",
            &mut out,
        );
        assert_eq!(out, b"<11>gunicorn.basic.app.error: [42] boom\0");
        message(
            facility("local7").unwrap(),
            Severity::Info,
            "t",
            1,
            b"x",
            &mut out,
        );
        assert_eq!(out, b"<190>t: [1] x\0");
        assert_eq!(facility("LOCAL0"), Some(16));
        assert_eq!(facility("nope"), None);
    }
}
