//! Python's `fnmatch.fnmatch` on POSIX (case-sensitive), which gunicorn's
//! stash applies to `keys(table, pattern)`.
//!
//! Rules (`fnmatch.translate`): `*` is any run of characters, `?` one
//! character, `[seq]` one of seq (ranges `a-z`, a reversed range matches
//! nothing), `[!seq]` one not in it, a `]` first in a set is a member, a
//! `[` with no closing `]` is itself; anything else is literal. Matching
//! backtracks only to the last `*`, so it is O(pattern × text).

/// One element of a pattern.
enum Atom {
    Any,
    One,
    Char(char),
    Set {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

fn parse(pattern: &str) -> Vec<Atom> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut atoms = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if !matches!(atoms.last(), Some(Atom::Any)) {
                    atoms.push(Atom::Any);
                }
            }
            '?' => atoms.push(Atom::One),
            '[' => match parse_set(&chars, i) {
                Some((set, next)) => {
                    atoms.push(set);
                    i = next;
                }
                None => atoms.push(Atom::Char('[')),
            },
            c => atoms.push(Atom::Char(c)),
        }
    }
    atoms
}

/// The set starting after a `[` at `start`, and the index after its `]`.
fn parse_set(chars: &[char], start: usize) -> Option<(Atom, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    let close = i + chars[i.min(chars.len())..].iter().position(|&c| c == ']')?;
    let body = &chars[if negated { start + 1 } else { start }..close];
    let mut items = Vec::new();
    let mut j = 0;
    while j < body.len() {
        if j + 2 < body.len() && body[j + 1] == '-' {
            items.push((body[j], body[j + 2]));
            j += 3;
        } else {
            items.push((body[j], body[j]));
            j += 1;
        }
    }
    Some((Atom::Set { negated, items }, close + 1))
}

fn matches_one(atom: &Atom, c: char) -> bool {
    match atom {
        Atom::One => true,
        Atom::Char(p) => *p == c,
        Atom::Set { negated, items } => {
            items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Atom::Any => false,
    }
}

pub fn matches(pattern: &str, text: &str) -> bool {
    let atoms = parse(pattern);
    let text: Vec<char> = text.chars().collect();
    let (mut a, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match atoms.get(a) {
            Some(Atom::Any) => {
                star = Some((a, t));
                a += 1;
            }
            Some(atom) if matches_one(atom, text[t]) => {
                a += 1;
                t += 1;
            }
            _ => match star {
                Some((sa, st)) => {
                    a = sa + 1;
                    t = st + 1;
                    star = Some((sa, st + 1));
                }
                None => return false,
            },
        }
    }
    atoms[a..].iter().all(|atom| matches!(atom, Atom::Any))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn agrees_with_fnmatch() {
        // (pattern, text, fnmatch.fnmatch(text, pattern)) from CPython.
        let cases = [
            ("user:*", "user:1", true),
            ("user:*", "session:1", false),
            ("*", "", true),
            ("?", "", false),
            ("a?c", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*a*b", "xaxxb", true),
            ("[abc]x", "bx", true),
            ("[!abc]x", "bx", false),
            ("[!abc]x", "dx", true),
            ("[a-c]", "b", true),
            ("[c-a]", "b", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a", "[a", true),
            ("é*", "été", true),
            ("USER:*", "user:1", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), expected, "{pattern} {text}");
        }
    }
}
