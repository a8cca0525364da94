//! An `access_log_format`, parsed once at start-up into literal text and
//! atoms with their Python %-format specs.

use super::atom::Atom;
use super::render::{render_atom, render_with_spec};
use super::spec::Spec;
use super::AccessRecord;

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
        let mut i = 0;
        while i < fmt.len() {
            let Some(off) = fmt[i..].find('%') else {
                lit.push_str(&fmt[i..]);
                break;
            };
            lit.push_str(&fmt[i..i + off]);
            let start = i + off;
            match fmt.as_bytes().get(start + 1) {
                None => {
                    return Err(format!(
                        "'%' at the end of the format (position {start}): write %% for a literal percent sign"
                    ))
                }
                Some(b'%') => {
                    lit.push('%');
                    i = start + 2;
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
            let p = Placeholder::parse(fmt, start)?;
            if p.atom == Atom::Missing && !unknown.iter().any(|u| u == p.key) {
                unknown.push(p.key.to_owned());
            }
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(Part::Atom {
                atom: p.atom,
                name: p.name,
                spec: p.spec,
            });
            i = p.end;
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

/// One `%(key)…conv` placeholder of a format.
struct Placeholder<'a> {
    key: &'a str,
    atom: Atom,
    /// The header or environ name of a `{name}i/o/e` atom.
    name: String,
    spec: Spec,
    /// Where the format goes on after the conversion character.
    end: usize,
}

impl<'a> Placeholder<'a> {
    /// The placeholder whose `%(` starts at `start`.
    fn parse(fmt: &'a str, start: usize) -> Result<Self, String> {
        let bytes = fmt.as_bytes();
        let key_start = start + 2;
        let Some(key_end) = matching_paren(bytes, key_start) else {
            return Err(format!(
                "unterminated atom '{}' at position {start}: expected %(name)s",
                &fmt[start..]
            ));
        };
        let key = &fmt[key_start..key_end];
        let (mut spec, conv_at) = parse_spec(bytes, key_end + 1);
        let Some(conv) = fmt[conv_at..].chars().next() else {
            return Err(format!(
                "atom '{}' at position {start} has no conversion: expected %({key})s",
                &fmt[start..]
            ));
        };
        let end = conv_at + conv.len_utf8();
        let placeholder = &fmt[start..end];
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
        Ok(Placeholder {
            key,
            atom,
            name,
            spec,
            end,
        })
    }
}

/// The index of the `)` that closes the key starting at `key_start`,
/// counting nested parentheses as Python does.
fn matching_paren(bytes: &[u8], key_start: usize) -> Option<usize> {
    let mut depth = 1;
    for (j, &b) in bytes.iter().enumerate().skip(key_start) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Flags, width, precision and length modifiers from `j`; returns the spec
/// and where the conversion character should be.
fn parse_spec(bytes: &[u8], mut j: usize) -> (Spec, usize) {
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
    (spec, j)
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
