//! The atoms of gunicorn's access log: `%(h)s`, `%(t)s`, `%({name}i)s` ...

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Atom {
    RemoteAddr,     // h
    Dash,           // l
    User,           // u
    Time,           // t
    RequestLine,    // r
    Method,         // m
    PathInfo,       // U
    Query,          // q
    Protocol,       // H
    Status,         // s
    BytesNumber,    // B
    BytesClf,       // b
    Referer,        // f
    UserAgent,      // a
    Seconds,        // T
    Micros,         // D
    Millis,         // M
    DecimalSecs,    // L
    Pid,            // p
    RequestHeader,  // {name}i
    ResponseHeader, // {name}o
    Environ,        // {name}e
    Missing,        // anything else: gunicorn prints '-'
}

impl Atom {
    pub(super) fn from_key(key: &str) -> (Atom, String) {
        if key.starts_with('{') {
            // gunicorn lower-cases the whole key before the lookup, so the
            // suffix letter is case-insensitive too.
            let lower = key.to_lowercase();
            if let Some(close) = lower.rfind('}') {
                let (inner, suffix) = (&lower[1..close], &lower[close + 1..]);
                let atom = match suffix {
                    "i" => Some(Atom::RequestHeader),
                    "o" => Some(Atom::ResponseHeader),
                    "e" => Some(Atom::Environ),
                    _ => None,
                };
                if let Some(atom) = atom {
                    return (atom, inner.to_owned());
                }
            }
            return (Atom::Missing, String::new());
        }
        let atom = match key {
            "h" => Atom::RemoteAddr,
            "l" => Atom::Dash,
            "u" => Atom::User,
            "t" => Atom::Time,
            "r" => Atom::RequestLine,
            "m" => Atom::Method,
            "U" => Atom::PathInfo,
            "q" => Atom::Query,
            "H" => Atom::Protocol,
            "s" => Atom::Status,
            "B" => Atom::BytesNumber,
            "b" => Atom::BytesClf,
            "f" => Atom::Referer,
            "a" => Atom::UserAgent,
            "T" => Atom::Seconds,
            "D" => Atom::Micros,
            "M" => Atom::Millis,
            "L" => Atom::DecimalSecs,
            "p" => Atom::Pid,
            _ => Atom::Missing,
        };
        (atom, String::new())
    }

    /// Atoms whose gunicorn value is an int rather than a str.
    pub(super) fn is_number(self) -> bool {
        matches!(
            self,
            Atom::BytesNumber | Atom::Seconds | Atom::Micros | Atom::Millis
        )
    }
}
