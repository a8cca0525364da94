//! The request target: which of RFC 9112's four forms it has, and the
//! path, query and fragment the application sees.
//!
//! Rules, in the order they are applied (gunicorn 26's
//! `Request.parse_request_line`, then `urllib.parse.urlsplit`, where the
//! two agree with RFC 9112 §3.2):
//!
//! 1. A target is ASCII (RFC 9112 §3.2; gunicorn's own server also
//!    answers raw UTF-8 in a target with 400).
//! 2. `CONNECT` takes the **authority-form** only: `host:port`, with no
//!    `/`, `?` or `#`. Its path is what `urlsplit` makes of it, as
//!    gunicorn hands it to the application: when the text before the
//!    first `:` is a valid URI scheme (a letter, then letters, digits,
//!    `+`, `-`, `.`), the path is what follows the colon
//!    (`example.com:443` → `443`); otherwise (an IP literal such as
//!    `[::1]:443` or `127.0.0.1:8080`) the whole target.
//! 3. The **asterisk-form** `*` goes with `OPTIONS` only; its path is `*`.
//! 4. The **origin-form** starts with `/` (a leading `//` is a path, not
//!    an authority).
//! 5. The **absolute-form** is `scheme "://" authority [path]`; the path
//!    starts at the first `/`, `?` or `#` after the authority and may be
//!    empty. An authority with a `[` and no `]` (or the reverse), or whose
//!    bracketed host is neither an IPv6 address nor an IPvFuture literal
//!    (`v1.x`), is refused: `urlsplit` raises for it and gunicorn answers
//!    400.
//! 6. Anything else is refused. gunicorn lets through any other target
//!    that merely contains `://` (such as `x?u=http://h`), and a `CONNECT`
//!    with any target; RFC 9112 has neither, so rcorn refuses both.
//!
//! Query and fragment follow the path in every accepted form but the
//! authority-form: `?` starts the query, the first `#` the fragment.

use std::ops::Range;

use super::error::{err, DecodeError, DecodeErrorKind as K};

/// Where, in the target, the application's path, query and fragment are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TargetParts {
    pub path: Range<usize>,
    pub query: Range<usize>,
    pub fragment: Range<usize>,
}

/// Splits `target` (the request line's second word) for `method`, or
/// refuses it with `InvalidRequestLine`.
pub(crate) fn split(method: &str, target: &[u8]) -> Result<TargetParts, DecodeError> {
    if !target.is_ascii() {
        return err(K::InvalidRequestLine, "non-ASCII request target");
    }
    if method == "CONNECT" {
        return authority_form(target);
    }
    if target == b"*" {
        if method != "OPTIONS" {
            return err(
                K::InvalidRequestLine,
                "asterisk-form target outside OPTIONS",
            );
        }
        return Ok(TargetParts {
            path: 0..1,
            ..TargetParts::default()
        });
    }
    let path_start = if target.first() == Some(&b'/') {
        0
    } else if let Some(authority_start) = absolute_form_authority_start(target) {
        let rest = &target[authority_start..];
        let authority_len = rest
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        check_brackets(&rest[..authority_len])?;
        authority_start + authority_len
    } else {
        return err(
            K::InvalidRequestLine,
            "request target is not origin- or absolute-form",
        );
    };
    Ok(split_path_query_fragment(target, path_start))
}

/// Rule 2: `host:port` for CONNECT, and the path `urlsplit` gives it.
fn authority_form(target: &[u8]) -> Result<TargetParts, DecodeError> {
    let ok = !target.is_empty()
        && target.contains(&b':')
        && !target.iter().any(|&b| matches!(b, b'/' | b'?' | b'#'));
    if !ok {
        return err(
            K::InvalidRequestLine,
            "CONNECT needs an authority-form target",
        );
    }
    let path_start = match scheme_end(target) {
        Some(colon) => colon + 1,
        None => 0,
    };
    Ok(TargetParts {
        path: path_start..target.len(),
        query: target.len()..target.len(),
        fragment: target.len()..target.len(),
    })
}

/// The index of the `:` ending a valid URI scheme at the start of
/// `target` (RFC 3986 §3.1, as `urlsplit` recognises one).
fn scheme_end(target: &[u8]) -> Option<usize> {
    let colon = memchr::memchr(b':', target)?;
    let scheme = &target[..colon];
    let valid = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some(colon)
}

/// `scheme "://"` at the start of `target`: where the authority begins.
fn absolute_form_authority_start(target: &[u8]) -> Option<usize> {
    let colon = scheme_end(target)?;
    target[colon..].starts_with(b"://").then_some(colon + 3)
}

/// Rule 5: an authority's brackets pair up around an IPv6 address or an
/// IPvFuture literal.
fn check_brackets(authority: &[u8]) -> Result<(), DecodeError> {
    let open = memchr::memchr(b'[', authority);
    let close = memchr::memchr(b']', authority);
    let (Some(open), Some(_)) = (open, close) else {
        if open.is_some() || close.is_some() {
            return err(K::InvalidRequestLine, "unmatched bracket in the authority");
        }
        return Ok(());
    };
    // As urlsplit: the host runs from the first '[' to the next ']'.
    let inside = &authority[open + 1..];
    let host = match memchr::memchr(b']', inside) {
        Some(end) => &inside[..end],
        None => inside,
    };
    if is_ipv6_literal(host) || is_ipvfuture(host) {
        Ok(())
    } else {
        err(
            K::InvalidRequestLine,
            "bracketed host is not an IPv6 address",
        )
    }
}

/// An IPv6 address, with an optional non-empty zone (`fe80::1%eth0`), as
/// Python's `ipaddress.ip_address` takes one (an IPv4 address in brackets
/// is refused).
fn is_ipv6_literal(host: &[u8]) -> bool {
    let (addr, zone) = match memchr::memchr(b'%', host) {
        Some(at) => (&host[..at], Some(&host[at + 1..])),
        None => (host, None),
    };
    if zone.is_some_and(|z| z.is_empty() || z.contains(&b'%')) {
        return false;
    }
    std::str::from_utf8(addr).is_ok_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
}

/// `v` HEXDIG+ `.` one or more characters (RFC 3986 §3.2.2).
fn is_ipvfuture(host: &[u8]) -> bool {
    let Some(rest) = host.strip_prefix(b"v") else {
        return false;
    };
    let hex = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    hex > 0 && rest.len() > hex + 1 && rest[hex] == b'.'
}

/// The path from `path_start` to the first `?` or `#`, then the query and
/// the fragment.
fn split_path_query_fragment(target: &[u8], path_start: usize) -> TargetParts {
    let end = target.len();
    let rest = &target[path_start..];
    let path_end = path_start + find_either(rest, b'?', b'#');
    let mut parts = TargetParts {
        path: path_start..path_end,
        query: path_end..path_end,
        fragment: path_end..path_end,
    };
    match target.get(path_end) {
        Some(b'?') => {
            let q_end = path_end + 1 + find_either(&target[path_end + 1..], b'#', b'#');
            parts.query = path_end + 1..q_end;
            parts.fragment = if q_end < end {
                q_end + 1..end
            } else {
                end..end
            };
        }
        Some(b'#') => parts.fragment = path_end + 1..end,
        _ => {}
    }
    parts
}

/// Index of the first `a` or `b` in `s`, or its length; eight bytes at a
/// time, as request targets are mostly too short for memchr's setup to pay.
fn find_either(s: &[u8], a: u8, b: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest byte flagged is the first zero byte of `x` (a borrow can
    // only flag bytes above a true zero).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut at = 0;
    while let Some(chunk) = s.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero_bytes(w ^ (ONES * u64::from(a))) | zero_bytes(w ^ (ONES * u64::from(b)));
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    s[at..]
        .iter()
        .position(|&c| c == a || c == b)
        .map_or(s.len(), |i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, target: &str) -> Option<(String, String, String)> {
        let p = split(method, target.as_bytes()).ok()?;
        let s = |r: Range<usize>| target[r].to_owned();
        Some((s(p.path), s(p.query), s(p.fragment)))
    }

    fn path(method: &str, target: &str) -> Option<String> {
        parts(method, target).map(|p| p.0)
    }

    #[test]
    fn origin_form() {
        let p = |a: &str, b: &str, c: &str| Some((a.into(), b.into(), c.into()));
        assert_eq!(parts("GET", "/a/b?x=1#f"), p("/a/b", "x=1", "f"));
        assert_eq!(parts("GET", "//a/b?c"), p("//a/b", "c", ""));
        assert_eq!(parts("GET", "/p#f?g"), p("/p", "", "f?g"));
        assert_eq!(parts("GET", "/p?q?r#s#t"), p("/p", "q?r", "s#t"));
        assert_eq!(parts("GET", "/x?u=http://h"), p("/x", "u=http://h", ""));
    }

    #[test]
    fn absolute_form() {
        assert_eq!(path("GET", "http://h:80/p?q").as_deref(), Some("/p"));
        assert_eq!(path("GET", "http://h").as_deref(), Some(""));
        assert_eq!(path("GET", "HTTP://h?q").as_deref(), Some(""));
        assert_eq!(path("GET", "http://[::1]:80/p").as_deref(), Some("/p"));
        assert_eq!(
            path("GET", "http://[fe80::1%25eth0]/").as_deref(),
            Some("/")
        );
        assert_eq!(
            path("GET", "http://[v1.fe80::a+en1]/").as_deref(),
            Some("/")
        );
        assert_eq!(path("GET", "http://u:p@h/").as_deref(), Some("/"));
        assert_eq!(path("GET", "http:///p").as_deref(), Some("/p"));
    }

    #[test]
    fn absolute_form_with_a_malformed_authority_is_refused() {
        for t in [
            "http://[::1/",
            "http://::1]/",
            "http://[::1",
            "http://[example.com]/",
            "http://[127.0.0.1]/",
            "http://[]/",
            "http://[fe80::1%]/",
            "http://[v1]/",
            "http://[vx.y]/",
        ] {
            assert!(split("GET", t.as_bytes()).is_err(), "{t}");
        }
        // Brackets after the authority are the path's business.
        assert_eq!(path("GET", "http://h/[x").as_deref(), Some("/[x"));
    }

    #[test]
    fn authority_form_path_is_what_urlsplit_gives() {
        assert_eq!(path("CONNECT", "example.com:443").as_deref(), Some("443"));
        assert_eq!(path("CONNECT", "[::1]:443").as_deref(), Some("[::1]:443"));
        assert_eq!(
            path("CONNECT", "127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(path("CONNECT", "h_x:1").as_deref(), Some("h_x:1"));
        for t in ["example.com", "/x", "h:1/x", "h:1?q", "h:1#f", "*", ""] {
            assert_eq!(path("CONNECT", t), None, "{t}");
        }
        assert_eq!(path("GET", "example.com:443"), None);
        assert_eq!(path("GET", "[::1]:443"), None);
    }

    #[test]
    fn asterisk_form_only_with_options() {
        assert_eq!(path("OPTIONS", "*").as_deref(), Some("*"));
        assert_eq!(path("GET", "*"), None);
        assert_eq!(path("OPTIONS", "*x"), None);
    }

    #[test]
    fn other_targets_are_refused() {
        for t in ["x", "x?u=http://h", "1http://h/", "mailto:a@b", "-://h/"] {
            assert_eq!(path("GET", t), None, "{t}");
        }
    }
}
