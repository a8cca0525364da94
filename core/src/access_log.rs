//! gunicorn's access-log format, parsed once and rendered per request
//! without allocating, plus gunicorn's error-log line prefix.
//!
//! gunicorn renders `access_log_format % atoms` with Python's %-formatting,
//! where `atoms` is a dict whose missing keys read as `-` and whose string
//! values have `"` escaped as `\"`. The renderer here reproduces that byte
//! for byte for the formats people write: `%(name)s` with optional flags,
//! width and precision, `%(name)d` on numeric atoms, and `%%`. Formats that
//! gunicorn could never render (a positional `%s`, `%d` on a text atom, a
//! truncated `%(`) are refused at start-up, naming the bad atom, instead of
//! failing on every request as they do in gunicorn.
//!
//! Text coming from the request (URI, headers) is bytes that gunicorn
//! decodes as Latin-1 and the log stream writes as UTF-8, so each byte from
//! 0x80 up becomes two bytes here too.

use std::time::Duration;

/// What the server knows about a finished request. Implemented over the
/// server's own request/response state; every method is a cheap borrow.
pub trait AccessRecord {
    /// `REMOTE_ADDR`: the peer's IP as text; empty for a unix socket.
    fn remote_addr(&self) -> &str;
    fn method(&self) -> &str;
    /// The request target exactly as received (`RAW_URI`).
    fn raw_uri(&self) -> &[u8];
    /// The path part of the target, still percent-encoded; `%(U)s` decodes
    /// it as gunicorn's `PATH_INFO` does.
    fn path(&self) -> &[u8];
    /// The query string, without the `?`, as received.
    fn query(&self) -> &[u8];
    /// (major, minor), e.g. (1, 1).
    fn http_version(&self) -> (u8, u8);
    fn status(&self) -> u16;
    /// Body bytes sent, if known.
    fn response_length(&self) -> Option<u64>;
    /// A request header by lower-case name. gunicorn keeps the last of
    /// repeated headers for `%({name}i)s`.
    fn request_header(&self, lower_name: &str) -> Option<&[u8]>;
    /// A response header by lower-case name (last one wins, as above).
    fn response_header(&self, lower_name: &str) -> Option<&[u8]>;
    /// A WSGI environ value as Python's `str()` shows it, looked up by
    /// lower-case name and matched case-insensitively (gunicorn lower-cases
    /// environ keys for `%({name}e)s`). Only called for `{name}e` atoms.
    fn environ_var(&self, lower_name: &str) -> Option<String>;
    fn pid(&self) -> u32;
    /// Time from the start of the request to the end of the response.
    fn duration(&self) -> Duration;
    /// When the request started, as Unix time (seconds, nanoseconds).
    fn start_unix(&self) -> (i64, u32);
    /// The local UTC offset, in seconds east of UTC, for `%(t)s`.
    fn utc_offset_secs(&self) -> i32;
    /// A user name that overrides the one gunicorn derives from an
    /// `Authorization: Basic` header for `%(u)s`; `None` to derive it.
    fn remote_user(&self) -> Option<&str>;
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Atom {
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
    fn from_key(key: &str) -> (Atom, String) {
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
    fn is_number(self) -> bool {
        matches!(
            self,
            Atom::BytesNumber | Atom::Seconds | Atom::Micros | Atom::Millis
        )
    }
}

/// Python %-format flags, width and precision of one placeholder.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
    precision: Option<usize>,
    /// `d`/`i`/`u` rather than `s`.
    integer: bool,
}

impl Spec {
    fn is_plain(&self) -> bool {
        *self == Spec::default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Atom {
        atom: Atom,
        name: String,
        spec: Spec,
    },
}

/// A parsed gunicorn `access_log_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogFormat {
    parts: Vec<Part>,
    unknown: Vec<String>,
}

/// gunicorn's default `access_log_format`.
pub const DEFAULT_FORMAT: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

impl Default for AccessLogFormat {
    fn default() -> Self {
        // The default format is known to parse; fall back to an empty
        // format rather than panic if that ever changed.
        Self::parse(DEFAULT_FORMAT).unwrap_or(AccessLogFormat {
            parts: vec![],
            unknown: vec![],
        })
    }
}

impl AccessLogFormat {
    /// Parses a format; the error is one line naming the bad placeholder.
    pub fn parse(fmt: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut unknown = Vec::new();
        let mut lit = String::new();
        let bytes = fmt.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let Some(off) = fmt[i..].find('%') else {
                lit.push_str(&fmt[i..]);
                break;
            };
            lit.push_str(&fmt[i..i + off]);
            let start = i + off;
            let mut j = start + 1;
            match bytes.get(j) {
                None => {
                    return Err(format!(
                        "'%' at the end of the format (position {start}): write %% for a literal percent sign"
                    ))
                }
                Some(b'%') => {
                    lit.push('%');
                    i = j + 1;
                    continue;
                }
                Some(b'(') => {}
                Some(_) => {
                    let shown: String = fmt[start..].chars().take(2).collect();
                    return Err(format!(
                        "'{shown}' at position {start} has no atom name: write %(name)s, e.g. %(h)s"
                    ));
                }
            }
            // The key runs to the matching ')', counting nested parentheses
            // as Python does.
            j += 1;
            let key_start = j;
            let mut depth = 1;
            while j < bytes.len() {
                match bytes[j] {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if j >= bytes.len() {
                return Err(format!(
                    "unterminated atom '{}' at position {start}: expected %(name)s",
                    &fmt[start..]
                ));
            }
            let key = &fmt[key_start..j];
            j += 1;
            let mut spec = Spec::default();
            while let Some(&c) = bytes.get(j) {
                match c {
                    b'-' => spec.left = true,
                    b'0' => spec.zero = true,
                    b'+' => spec.plus = true,
                    b' ' => spec.space = true,
                    b'#' => {}
                    _ => break,
                }
                j += 1;
            }
            let (width, next) = read_number(bytes, j);
            spec.width = width.unwrap_or(0);
            j = next;
            if bytes.get(j) == Some(&b'.') {
                let (p, next) = read_number(bytes, j + 1);
                spec.precision = Some(p.unwrap_or(0));
                j = next;
            }
            // Python skips C length modifiers.
            while matches!(bytes.get(j), Some(b'h' | b'l' | b'L')) {
                j += 1;
            }
            let conv_at = j;
            let Some(conv) = fmt[conv_at..].chars().next() else {
                return Err(format!(
                    "atom '{}' at position {start} has no conversion: expected %({key})s",
                    &fmt[start..]
                ));
            };
            let placeholder = &fmt[start..conv_at + conv.len_utf8()];
            let (atom, name) = Atom::from_key(key);
            match conv {
                's' => {}
                'd' | 'i' | 'u' => {
                    if !atom.is_number() {
                        return Err(format!(
                            "atom {placeholder}: '{key}' is text and %{conv} needs a number; use %({key})s"
                        ));
                    }
                    spec.integer = true;
                }
                '*' => {
                    return Err(format!("atom {placeholder}: '*' widths are not supported"));
                }
                other => {
                    return Err(format!(
                        "atom {placeholder}: unsupported conversion '{other}'; use %({key})s"
                    ));
                }
            }
            if atom == Atom::Missing && !unknown.iter().any(|u| u == key) {
                unknown.push(key.to_owned());
            }
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(Part::Atom { atom, name, spec });
            i = conv_at + conv.len_utf8();
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(AccessLogFormat { parts, unknown })
    }

    /// Whether a `%({name}o)s` atom needs the response headers kept.
    pub fn uses_response_headers(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Atom {
                    atom: Atom::ResponseHeader,
                    ..
                }
            )
        })
    }

    /// The environ keys `%({name}e)s` atoms ask for (lower case, as gunicorn
    /// looks them up).
    pub fn environ_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Atom {
                atom: Atom::Environ,
                name,
                ..
            } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Atom names gunicorn does not know: they render as `-`, as in
    /// gunicorn, but are most likely typos worth a warning at start-up.
    pub fn unknown_atoms(&self) -> &[String] {
        &self.unknown
    }

    /// Appends one log line (without the newline) to `out`.
    pub fn render(&self, rec: &dyn AccessRecord, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.extend_from_slice(s.as_bytes()),
                Part::Atom { atom, name, spec } => {
                    if spec.is_plain() {
                        render_atom(*atom, name, rec, out);
                    } else {
                        render_with_spec(*atom, name, spec, rec, out);
                    }
                }
            }
        }
    }
}

fn read_number(bytes: &[u8], mut j: usize) -> (Option<usize>, usize) {
    let start = j;
    let mut n: usize = 0;
    while let Some(d) = bytes.get(j).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        j += 1;
    }
    ((j > start).then_some(n), j)
}

fn render_with_spec(
    atom: Atom,
    name: &str,
    spec: &Spec,
    rec: &dyn AccessRecord,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    if spec.integer {
        // Only numeric atoms get here (checked at parse time).
        let n = number(atom, rec);
        let sign = if spec.plus {
            "+"
        } else if spec.space {
            " "
        } else {
            ""
        };
        let mut digits = n.to_string();
        if let Some(p) = spec.precision.filter(|&p| p > digits.len()) {
            digits.insert_str(0, &"0".repeat(p - digits.len()));
        }
        let len = sign.len() + digits.len();
        let pad = spec.width.saturating_sub(len);
        if spec.left {
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b' ', pad));
        } else if spec.zero {
            out.extend_from_slice(sign.as_bytes());
            out.extend(std::iter::repeat_n(b'0', pad));
            out.extend_from_slice(digits.as_bytes());
        } else {
            out.extend(std::iter::repeat_n(b' ', pad));
            out.extend_from_slice(sign.as_bytes());
            out.extend_from_slice(digits.as_bytes());
        }
        return;
    }
    render_atom(atom, name, rec, out);
    // Python counts characters, not bytes; what we wrote is UTF-8.
    if let Some(p) = spec.precision {
        let cut = char_boundary_after(&out[start..], p);
        out.truncate(start + cut);
    }
    let chars = count_chars(&out[start..]);
    if chars < spec.width {
        let pad = spec.width - chars;
        if spec.left {
            out.extend(std::iter::repeat_n(b' ', pad));
        } else {
            out.splice(start..start, std::iter::repeat_n(b' ', pad));
        }
    }
}

fn count_chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

fn char_boundary_after(b: &[u8], n: usize) -> usize {
    let mut seen = 0;
    for (i, &c) in b.iter().enumerate() {
        if (c & 0xC0) != 0x80 {
            if seen == n {
                return i;
            }
            seen += 1;
        }
    }
    b.len()
}

fn number(atom: Atom, rec: &dyn AccessRecord) -> u64 {
    let d = rec.duration();
    // gunicorn's request_time is a timedelta: microsecond resolution,
    // truncated.
    let secs = d.as_secs();
    let micros = u64::from(d.subsec_micros());
    match atom {
        Atom::BytesNumber => rec.response_length().unwrap_or(0),
        Atom::Seconds => secs,
        Atom::Micros => secs.saturating_mul(1_000_000).saturating_add(micros),
        Atom::Millis => secs.saturating_mul(1000).saturating_add(micros / 1000),
        _ => 0,
    }
}

fn render_atom(atom: Atom, name: &str, rec: &dyn AccessRecord, out: &mut Vec<u8>) {
    match atom {
        Atom::RemoteAddr => push_str(out, rec.remote_addr()),
        Atom::Dash | Atom::Missing => out.push(b'-'),
        Atom::User => push_user(rec, out),
        Atom::Time => {
            // gunicorn stamps the line when it writes it, at the end of the
            // response, not when the request arrived.
            let (secs, nanos) = rec.start_unix();
            let end_nanos = u64::from(nanos) + u64::from(rec.duration().subsec_nanos());
            let end = secs
                .saturating_add(i64::try_from(rec.duration().as_secs()).unwrap_or(i64::MAX))
                .saturating_add(i64::try_from(end_nanos / 1_000_000_000).unwrap_or(0));
            push_clf_time(end, rec.utc_offset_secs(), out);
        }
        Atom::RequestLine => {
            push_str(out, rec.method());
            out.push(b' ');
            push_latin1(out, rec.raw_uri());
            out.push(b' ');
            push_protocol(rec.http_version(), out);
        }
        Atom::Method => push_str(out, rec.method()),
        Atom::PathInfo => push_percent_decoded(out, rec.path()),
        Atom::Query => push_latin1(out, rec.query()),
        Atom::Protocol => push_protocol(rec.http_version(), out),
        Atom::Status => push_u64(out, u64::from(rec.status())),
        Atom::BytesClf => match rec.response_length() {
            Some(n) => push_u64(out, n),
            None => out.push(b'-'),
        },
        Atom::BytesNumber | Atom::Seconds | Atom::Micros | Atom::Millis => {
            push_u64(out, number(atom, rec))
        }
        Atom::Referer => push_header_or_dash(out, rec.request_header("referer")),
        Atom::UserAgent => push_header_or_dash(out, rec.request_header("user-agent")),
        Atom::DecimalSecs => {
            let d = rec.duration();
            push_u64(out, d.as_secs());
            out.push(b'.');
            let micros = d.subsec_micros();
            let mut buf = itoa::Buffer::new();
            let s = buf.format(micros);
            out.extend(std::iter::repeat_n(b'0', 6 - s.len()));
            out.extend_from_slice(s.as_bytes());
        }
        Atom::Pid => {
            out.push(b'<');
            push_u64(out, u64::from(rec.pid()));
            out.push(b'>');
        }
        Atom::RequestHeader => push_header_or_dash(out, rec.request_header(name)),
        Atom::ResponseHeader => push_header_or_dash(out, rec.response_header(name)),
        Atom::Environ => match rec.environ_var(name) {
            Some(v) => push_str(out, &v),
            None => out.push(b'-'),
        },
    }
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

fn push_protocol((major, minor): (u8, u8), out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/");
    push_u64(out, u64::from(major));
    out.push(b'.');
    push_u64(out, u64::from(minor));
}

/// A str atom: `"` escaped as gunicorn's SafeAtoms does.
fn push_str(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == b'"' {
            out.extend_from_slice(b"\\\"");
        } else {
            out.push(b);
        }
    }
}

/// Bytes from the wire: Latin-1 to UTF-8, `"` escaped.
fn push_latin1(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        push_latin1_byte(out, b);
    }
}

fn push_latin1_byte(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        0..=0x7f => out.push(b),
        _ => {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
}

fn push_header_or_dash(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => push_latin1(out, v),
        None => out.push(b'-'),
    }
}

/// `PATH_INFO`: percent-decoded to bytes (malformed escapes kept as they
/// are), then read as Latin-1, as gunicorn's `unquote_to_wsgi_str`.
fn push_percent_decoded(out: &mut Vec<u8>, path: &[u8]) {
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' && i + 2 < path.len() {
            if let (Some(h), Some(l)) = (hex(path[i + 1]), hex(path[i + 2])) {
                push_latin1_byte(out, h << 4 | l);
                i += 3;
                continue;
            }
        }
        push_latin1_byte(out, b);
        i += 1;
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%(u)s`: the override if any, else the user of an `Authorization: Basic`
/// header decoded as gunicorn does, else `-`.
fn push_user(rec: &dyn AccessRecord, out: &mut Vec<u8>) {
    if let Some(u) = rec.remote_user().filter(|u| !u.is_empty()) {
        push_str(out, u);
        return;
    }
    match rec
        .request_header("authorization")
        .and_then(basic_auth_user)
    {
        Some(user) if !user.is_empty() => push_str(out, &user),
        _ => out.push(b'-'),
    }
}

/// The user name of a Basic credential: gunicorn checks the value starts
/// with "basic" (any case), base64-decodes what follows the first space
/// (skipping characters outside the alphabet, as Python's lenient decoder
/// does) and keeps the UTF-8 text before the first ':'.
fn basic_auth_user(value: &[u8]) -> Option<String> {
    if value.len() < 5 || !value[..5].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let space = value.iter().position(|&b| b == b' ')?;
    // Python strips the credential first; whitespace is skipped anyway.
    let encoded = &value[space + 1..];
    // CPython's non-strict a2b_base64: skip bytes outside the alphabet,
    // stop at padding that completes a quantum, fail on a partial quantum.
    let mut decoded = Vec::with_capacity(encoded.len() * 3 / 4);
    let (mut quad_pos, mut pads, mut left) = (0u8, 0u8, 0u8);
    let mut complete = false;
    for &c in encoded {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    complete = true;
                    break;
                }
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        pads = 0;
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                decoded.push(left << 2 | v >> 4);
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                decoded.push(left << 4 | v >> 2);
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                decoded.push(left << 6 | v);
                quad_pos = 0;
            }
        }
    }
    if !complete && quad_pos != 0 {
        return None; // binascii.Error: incorrect padding
    }
    let user = decoded.split(|&b| b == b':').next().unwrap_or(&[]);
    String::from_utf8(user.to_vec()).ok()
}

// ---------------------------------------------------------------- time

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (year, month 1-12, day 1-31) of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn civil(unix_secs: i64, utc_offset_secs: i32) -> Civil {
    let local = unix_secs.saturating_add(i64::from(utc_offset_secs));
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let tod = local.rem_euclid(86_400) as u32;
    Civil {
        year,
        month,
        day,
        hour: tod / 3600,
        minute: tod / 60 % 60,
        second: tod % 60,
    }
}

fn push2(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

fn push_year(out: &mut Vec<u8>, y: i64) {
    if (0..10_000).contains(&y) {
        let y = y as u32;
        push2(out, y / 100);
        push2(out, y % 100);
    } else {
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(y).as_bytes());
    }
}

/// strftime's `%z`: `+hhmm` / `-hhmm`.
fn push_offset(out: &mut Vec<u8>, offset: i32) {
    out.push(if offset < 0 { b'-' } else { b'+' });
    let abs = offset.unsigned_abs();
    push2(out, abs / 3600);
    push2(out, abs / 60 % 60);
}

/// `[10/Oct/2000:13:55:36 -0700]`, gunicorn's `%(t)s`.
fn push_clf_time(unix_secs: i64, utc_offset_secs: i32, out: &mut Vec<u8>) {
    let c = civil(unix_secs, utc_offset_secs);
    out.push(b'[');
    push2(out, c.day);
    out.push(b'/');
    out.extend_from_slice(MONTHS[(c.month as usize).saturating_sub(1) % 12].as_bytes());
    out.push(b'/');
    push_year(out, c.year);
    out.push(b':');
    push2(out, c.hour);
    out.push(b':');
    push2(out, c.minute);
    out.push(b':');
    push2(out, c.second);
    out.push(b' ');
    push_offset(out, utc_offset_secs);
    out.push(b']');
}

/// gunicorn's error-log line prefix, `[2026-11-24 06:30:00 +0000] [1234] [INFO] `
/// (its `%(asctime)s [%(process)d] [%(levelname)s] ` with datefmt
/// `[%Y-%m-%d %H:%M:%S %z]`). `level` is written as given: INFO, WARNING,
/// ERROR, CRITICAL, DEBUG.
pub fn error_log_prefix(
    unix_secs: i64,
    utc_offset_secs: i32,
    pid: u32,
    level: &str,
    out: &mut Vec<u8>,
) {
    let c = civil(unix_secs, utc_offset_secs);
    out.push(b'[');
    push_year(out, c.year);
    out.push(b'-');
    push2(out, c.month);
    out.push(b'-');
    push2(out, c.day);
    out.push(b' ');
    push2(out, c.hour);
    out.push(b':');
    push2(out, c.minute);
    out.push(b':');
    push2(out, c.second);
    out.push(b' ');
    push_offset(out, utc_offset_secs);
    out.extend_from_slice(b"] [");
    push_u64(out, u64::from(pid));
    out.extend_from_slice(b"] [");
    out.extend_from_slice(level.as_bytes());
    out.extend_from_slice(b"] ");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One request, rich enough to exercise every atom: a quote and a
    /// non-ASCII byte in the URI, escapes in the path, Basic auth, a quoted
    /// user agent.
    struct Rec {
        remote: &'static str,
        method: &'static str,
        raw_uri: &'static [u8],
        path: &'static [u8],
        query: &'static [u8],
        version: (u8, u8),
        status: u16,
        length: Option<u64>,
        req: Vec<(&'static str, &'static [u8])>,
        resp: Vec<(&'static str, &'static [u8])>,
        environ: Vec<(&'static str, &'static str)>,
        duration: Duration,
        start: (i64, u32),
        offset: i32,
        user: Option<&'static str>,
    }

    impl AccessRecord for Rec {
        fn remote_addr(&self) -> &str {
            self.remote
        }
        fn method(&self) -> &str {
            self.method
        }
        fn raw_uri(&self) -> &[u8] {
            self.raw_uri
        }
        fn path(&self) -> &[u8] {
            self.path
        }
        fn query(&self) -> &[u8] {
            self.query
        }
        fn http_version(&self) -> (u8, u8) {
            self.version
        }
        fn status(&self) -> u16 {
            self.status
        }
        fn response_length(&self) -> Option<u64> {
            self.length
        }
        fn request_header(&self, lower_name: &str) -> Option<&[u8]> {
            self.req
                .iter()
                .rev()
                .find(|(n, _)| *n == lower_name)
                .map(|(_, v)| *v)
        }
        fn response_header(&self, lower_name: &str) -> Option<&[u8]> {
            self.resp
                .iter()
                .rev()
                .find(|(n, _)| *n == lower_name)
                .map(|(_, v)| *v)
        }
        fn environ_var(&self, lower_name: &str) -> Option<String> {
            self.environ
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(lower_name))
                .map(|(_, v)| (*v).to_owned())
        }
        fn pid(&self) -> u32 {
            4242
        }
        fn duration(&self) -> Duration {
            self.duration
        }
        fn start_unix(&self) -> (i64, u32) {
            self.start
        }
        fn utc_offset_secs(&self) -> i32 {
            self.offset
        }
        fn remote_user(&self) -> Option<&str> {
            self.user
        }
    }

    fn sample() -> Rec {
        Rec {
            remote: "192.168.1.7",
            method: "GET",
            raw_uri: b"/a%20b/\xe9?q=\"x\"",
            path: b"/a%20b/\xe9",
            query: b"q=\"x\"",
            version: (1, 1),
            status: 200,
            length: Some(1234),
            req: vec![
                ("host", b"example.com"),
                ("referer", b"http://example.com/start"),
                ("user-agent", b"curl/8.0 \"quoted\""),
                ("authorization", b"Basic dXNlcjpwYXNz"),
                ("x-forwarded-for", b"10.0.0.1"),
                ("x-forwarded-for", b"10.0.0.2"),
            ],
            resp: vec![("content-type", b"text/plain"), ("x-request-id", b"abc")],
            environ: vec![("wsgi.url_scheme", "http"), ("SERVER_NAME", "example.com")],
            // 10 Oct 2000 20:55:36 UTC, i.e. 13:55:36 -0700; the response
            // ends 1.234567891 s later.
            duration: Duration::new(1, 234_567_891),
            start: (971_211_336, 0),
            offset: -7 * 3600,
            user: None,
        }
    }

    fn render(fmt: &str, rec: &Rec) -> String {
        let f = AccessLogFormat::parse(fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
        let mut out = Vec::new();
        f.render(rec, &mut out);
        String::from_utf8(out).expect("rendered lines are UTF-8")
    }

    #[test]
    fn default_format() {
        insta::assert_snapshot!(render(DEFAULT_FORMAT, &sample()));
        let d = AccessLogFormat::default();
        assert_eq!(d, AccessLogFormat::parse(DEFAULT_FORMAT).unwrap());
        assert!(d.unknown_atoms().is_empty());
    }

    #[test]
    fn every_atom() {
        let atoms = [
            "h",
            "l",
            "u",
            "t",
            "r",
            "m",
            "U",
            "q",
            "H",
            "s",
            "B",
            "b",
            "f",
            "a",
            "T",
            "D",
            "M",
            "L",
            "p",
            "{x-forwarded-for}i",
            "{X-Forwarded-For}I",
            "{content-type}o",
            "{missing}o",
            "{wsgi.url_scheme}e",
            "{server_name}e",
            "{nope}e",
            "{host}x",
            "zz",
        ];
        let rec = sample();
        let mut lines = String::new();
        for a in atoms {
            let fmt = format!("%({a})s");
            lines.push_str(&format!("{fmt:<24} {}\n", render(&fmt, &rec)));
        }
        insta::assert_snapshot!(lines);
    }

    #[test]
    fn missing_values() {
        let mut rec = sample();
        rec.req.clear();
        rec.length = None;
        rec.remote = "";
        assert_eq!(
            render(DEFAULT_FORMAT, &rec),
            r#" - - [10/Oct/2000:13:55:37 -0700] "GET /a%20b/é?q=\"x\" HTTP/1.1" 200 - "-" "-""#
        );
        assert_eq!(render("%(B)s %(b)s %({x}i)s %({x}o)s", &rec), "0 - - -");
    }

    #[test]
    fn remote_user() {
        let mut rec = sample();
        rec.user = Some("alice\"");
        assert_eq!(render("%(u)s", &rec), "alice\\\"");
        let cases: [(&[u8], &str); 9] = [
            (b"Basic dXNlcjpwYXNz", "user"),
            (b"basic   dXNlcjpwYXNz  ", "user"),
            (b"BASIC dXNl cjpw YXNz", "user"),
            (b"Basic dXNlcg==", "user"),
            (b"Basic dXNlcg", "-"),          // incorrect padding
            (b"Basic dXNlcg==junk", "user"), // padding completes: the rest is ignored
            (b"Basic OnBhc3M=", "-"),        // empty user name
            (b"Basic /w==", "-"),            // not UTF-8
            (b"Bearer dXNlcjpwYXNz", "-"),
        ];
        for (auth, want) in cases {
            let mut rec = sample();
            rec.req.retain(|(n, _)| *n != "authorization");
            rec.req.push(("authorization", auth));
            assert_eq!(
                render("%(u)s", &rec),
                want,
                "{}",
                String::from_utf8_lossy(auth)
            );
        }
    }

    #[test]
    fn durations() {
        let mut rec = sample();
        rec.duration = Duration::from_micros(123);
        assert_eq!(render("%(T)s %(D)s %(M)s %(L)s", &rec), "0 123 0 0.000123");
        rec.duration = Duration::new(62, 5_999_999);
        assert_eq!(
            render("%(T)s %(D)s %(M)s %(L)s", &rec),
            "62 62005999 62005 62.005999"
        );
    }

    #[test]
    fn python_format_specs() {
        let rec = sample();
        assert_eq!(render("%(h)20s|", &rec), "         192.168.1.7|");
        assert_eq!(render("%(h)-15s|", &rec), "192.168.1.7    |");
        assert_eq!(render("%(h).3s|", &rec), "192|");
        assert_eq!(render("%(U)-10.4s|", &rec), "/a b      |");
        assert_eq!(render("%(U)8s|", &rec), "  /a b/é|");
        assert_eq!(
            render("%(B)08d %(B)-6d| %(B)+d %(T) d %(B).6d", &rec),
            "00001234 1234  | +1234  1 001234"
        );
        assert_eq!(render("%(M)ld", &rec), "1234");
        assert_eq!(render("100%% %(s)s", &rec), "100% 200");
        assert_eq!(render("no atoms", &rec), "no atoms");
        assert_eq!(render("", &rec), "");
        assert_eq!(render("é %(s)s ü", &rec), "é 200 ü");
    }

    #[test]
    fn unknown_atoms_render_as_dash() {
        let f = AccessLogFormat::parse("%(h)s %(hh)s %({x}z)s %(hh)s").unwrap();
        assert_eq!(f.unknown_atoms(), ["hh", "{x}z"]);
        let mut out = Vec::new();
        f.render(&sample(), &mut out);
        assert_eq!(out, b"192.168.1.7 - - -");
    }

    #[test]
    fn parse_errors_name_the_atom() {
        let cases = [
            (
                "100%",
                "'%' at the end of the format (position 3): write %% for a literal percent sign",
            ),
            (
                "%s %(h)s",
                "'%s' at position 0 has no atom name: write %(name)s, e.g. %(h)s",
            ),
            (
                "x %(h",
                "unterminated atom '%(h' at position 2: expected %(name)s",
            ),
            (
                "%(h)",
                "atom '%(h)' at position 0 has no conversion: expected %(h)s",
            ),
            (
                "%(s)d",
                "atom %(s)d: 's' is text and %d needs a number; use %(s)s",
            ),
            ("%(T)x", "atom %(T)x: unsupported conversion 'x'; use %(T)s"),
            ("%(h)*s", "atom %(h)*: '*' widths are not supported"),
        ];
        for (fmt, want) in cases {
            assert_eq!(AccessLogFormat::parse(fmt).unwrap_err(), want, "{fmt}");
        }
        // Nested parentheses belong to the key, as in Python.
        let f = AccessLogFormat::parse("%(a(b)c)s").unwrap();
        assert_eq!(f.unknown_atoms(), ["a(b)c"]);
    }

    #[test]
    fn clf_time() {
        let mut out = Vec::new();
        push_clf_time(0, 0, &mut out);
        push_clf_time(951_782_400, 3600 * 5 + 1800, &mut out); // 2000-02-29 05:30 +0530
        push_clf_time(-1, 0, &mut out);
        push_clf_time(253_402_300_799, 0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[01/Jan/1970:00:00:00 +0000][29/Feb/2000:05:30:00 +0530]\
             [31/Dec/1969:23:59:59 +0000][31/Dec/9999:23:59:59 +0000]"
        );
    }

    #[test]
    fn error_prefix() {
        let mut out = Vec::new();
        error_log_prefix(1_795_501_800, 0, 1234, "INFO", &mut out);
        assert_eq!(out, b"[2026-11-24 06:30:00 +0000] [1234] [INFO] ");
        out.clear();
        error_log_prefix(1_795_501_800, -(3 * 3600 + 30 * 60), 7, "WARNING", &mut out);
        assert_eq!(out, b"[2026-11-24 03:00:00 -0330] [7] [WARNING] ");
    }

    #[test]
    fn civil_dates_round_trip() {
        // Every day from 1900 to 2100 against a day-by-day walk.
        let mut days = -25_567; // 1900-01-01
        let (mut y, mut m, mut d) = (1900i64, 1u32, 1u32);
        while y < 2100 {
            assert_eq!(civil_from_days(days), (y, m, d));
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d += 1;
            if d > len[m as usize - 1] {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
            days += 1;
        }
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let mut rec = sample();
        rec.start = (i64::MAX, 999_999_999);
        rec.duration = Duration::MAX;
        rec.offset = i32::MIN;
        let all = "%(h)s %(t)s %(T)s %(D)s %(M)s %(L)s %(B)d %(U)s";
        let _ = render(all, &rec);
        rec.path = b"%";
        rec.raw_uri = b"%%%";
        assert_eq!(render("%(U)s", &rec), "%");
        let mut out = Vec::new();
        error_log_prefix(i64::MIN, i32::MIN, u32::MAX, "", &mut out);
    }

    proptest::proptest! {
        #[test]
        fn parse_and_render_never_panic(fmt in "(%|\\(|\\)|[a-zA-Z{}.\\-0-9 *]|é){0,24}") {
            if let Ok(f) = AccessLogFormat::parse(&fmt) {
                let mut out = Vec::new();
                f.render(&sample(), &mut out);
                proptest::prop_assert!(std::str::from_utf8(&out).is_ok());
            }
        }
    }
}
