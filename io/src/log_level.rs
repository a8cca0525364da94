//! The severity of an error-log line, with gunicorn's (Python's logging)
//! names and numbers. Its own module because both the log and the statsd
//! client (which counts lines by level) need it.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    pub fn parse(name: &str) -> Option<Level> {
        Some(match name.to_ascii_lowercase().as_str() {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The level's number in gunicorn's (Python's) logging: DEBUG is 10,
    /// each level above it 10 more.
    pub fn number(self) -> i64 {
        match self {
            Level::Debug => 10,
            Level::Info => 20,
            Level::Warning => 30,
            Level::Error => 40,
            Level::Critical => 50,
        }
    }

    /// The level a logging number falls in: a custom level between two
    /// named ones counts as the lower, anything below DEBUG as DEBUG.
    pub fn from_number(number: i64) -> Level {
        match number {
            n if n >= 50 => Level::Critical,
            n if n >= 40 => Level::Error,
            n if n >= 30 => Level::Warning,
            n if n >= 20 => Level::Info,
            _ => Level::Debug,
        }
    }
}
