//! statsd metric lines as gunicorn sends them (`--statsd-host`).
//!
//! gunicorn's names: `gunicorn.requests` and `gunicorn.request.status.NNN`
//! (counters), `gunicorn.request.duration` (a timer in milliseconds),
//! `gunicorn.workers` (a gauge) and `gunicorn.log.{critical,error,warning,
//! exception}` (counters). Each line is `PREFIX NAME:VALUE|TYPE`, counters
//! with gunicorn's sample rate `|@1.0`, then `|#TAGS` when dogstatsd tags
//! are set. The adapter owns the socket; this only writes the bytes.

use std::fmt::Write;

/// Where metrics go, parsed from `statsd_host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsdAddress {
    /// `HOST:PORT`, or `HOST` with the statsd port 8125.
    Udp { host: String, port: u16 },
    /// `unix:PATH` or `unix://PATH`: a unix datagram socket.
    Unix(String),
}

const DEFAULT_PORT: u16 = 8125;

impl StatsdAddress {
    /// Parses the setting as gunicorn does; the error says which forms work.
    pub fn parse(text: &str) -> Result<StatsdAddress, String> {
        let bad = || format!("{text:?} is not an address: use HOST:PORT or unix://PATH");
        if let Some(path) = text
            .strip_prefix("unix://")
            .or_else(|| text.strip_prefix("unix:"))
        {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(StatsdAddress::Unix(path.to_owned()));
        }
        let (host, port) = match text.rsplit_once(':') {
            // `[::1]:8125`, `host:8125`; a bare IPv6 address has more colons.
            Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
                (host, port.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (text, DEFAULT_PORT),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(StatsdAddress::Udp {
            host: host.to_owned(),
            port,
        })
    }
}

/// The prefix and tags every line carries.
#[derive(Clone, Debug, Default)]
pub struct StatsdFormat {
    prefix: String,
    tags: String,
}

impl StatsdFormat {
    /// gunicorn ends a prefix of two characters or more with exactly one
    /// dot (`app.web..` and `app.web` both become `app.web.`).
    pub fn new(prefix: &str, dogstatsd_tags: &str) -> StatsdFormat {
        let trimmed = prefix.trim_end_matches('.');
        let prefix = if trimmed.chars().count() >= 2 {
            format!("{trimmed}.")
        } else {
            prefix.to_owned()
        };
        StatsdFormat {
            prefix,
            tags: dogstatsd_tags.to_owned(),
        }
    }

    fn line(&self, name: &str, value: &dyn std::fmt::Display, kind: &str, out: &mut String) {
        out.clear();
        let _ = write!(out, "{}{name}:{value}|{kind}", self.prefix);
        if !self.tags.is_empty() {
            out.push_str("|#");
            out.push_str(&self.tags);
        }
    }

    pub fn counter(&self, name: &str, value: u64, out: &mut String) {
        self.line(name, &value, "c|@1.0", out);
    }

    pub fn gauge(&self, name: &str, value: u64, out: &mut String) {
        self.line(name, &value, "g", out);
    }

    /// A histogram of whole numbers (gunicorn sends its timers this way).
    pub fn histogram(&self, name: &str, value: u64, out: &mut String) {
        self.line(name, &value, "ms", out);
    }

    /// A timer in milliseconds, written as Python writes a float
    /// (`12.345`, `3.0`).
    pub fn timer_ms(&self, name: &str, millis: f64, out: &mut String) {
        struct PyFloat(f64);
        impl std::fmt::Display for PyFloat {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if self.0.fract() == 0.0 && self.0.is_finite() {
                    write!(f, "{:.1}", self.0)
                } else {
                    write!(f, "{}", self.0)
                }
            }
        }
        self.line(name, &PyFloat(millis), "ms", out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_gunicorn_reads_them() {
        let udp = |h: &str, p| StatsdAddress::Udp {
            host: h.into(),
            port: p,
        };
        assert_eq!(
            StatsdAddress::parse("localhost:9125"),
            Ok(udp("localhost", 9125))
        );
        assert_eq!(StatsdAddress::parse("10.0.0.1"), Ok(udp("10.0.0.1", 8125)));
        assert_eq!(StatsdAddress::parse("[::1]:9000"), Ok(udp("::1", 9000)));
        assert_eq!(StatsdAddress::parse("::1"), Ok(udp("::1", 8125)));
        assert_eq!(
            StatsdAddress::parse("unix:///run/statsd.sock"),
            Ok(StatsdAddress::Unix("/run/statsd.sock".into()))
        );
        assert_eq!(
            StatsdAddress::parse("unix:/run/s.sock"),
            Ok(StatsdAddress::Unix("/run/s.sock".into()))
        );
        for bad in ["host:port", "host:99999", "", "unix://", ":8125", "a b:1"] {
            let err = StatsdAddress::parse(bad).unwrap_err();
            assert!(err.contains("HOST:PORT or unix://PATH"), "{bad}: {err}");
        }
    }

    #[test]
    fn lines_carry_the_prefix_type_rate_and_tags() {
        let mut out = String::new();
        let f = StatsdFormat::new("app.web..", "env:prod,team:a");
        f.counter("gunicorn.requests", 1, &mut out);
        assert_eq!(out, "app.web.gunicorn.requests:1|c|@1.0|#env:prod,team:a");
        f.gauge("gunicorn.workers", 3, &mut out);
        assert_eq!(out, "app.web.gunicorn.workers:3|g|#env:prod,team:a");
        let plain = StatsdFormat::new("", "");
        plain.timer_ms("gunicorn.request.duration", 12.5, &mut out);
        assert_eq!(out, "gunicorn.request.duration:12.5|ms");
        plain.timer_ms("gunicorn.request.duration", 3.0, &mut out);
        assert_eq!(out, "gunicorn.request.duration:3.0|ms");
        plain.histogram("gunicorn.backlog", 4, &mut out);
        assert_eq!(out, "gunicorn.backlog:4|ms");
        // gunicorn's rule leaves a one-character prefix as it is.
        StatsdFormat::new("a", "").counter("x", 2, &mut out);
        assert_eq!(out, "ax:2|c|@1.0");
        StatsdFormat::new("ab", "").counter("x", 2, &mut out);
        assert_eq!(out, "ab.x:2|c|@1.0");
    }
}
