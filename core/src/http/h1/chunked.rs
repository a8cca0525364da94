//! The chunked transfer coding's line grammar (RFC 9112 §7.1).

use crate::http::error::{err, DecodeError, DecodeErrorKind as K};
use crate::http::head::{is_tchar, trim_ows};

/// Longest chunk-size line (size and extensions) accepted.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;
/// More hex digits than this cannot fit in a u64 (leading zeros aside).
const MAX_SIZE_DIGITS: usize = 16;

/// Parses `chunk-size [ chunk-ext ]` (without its CRLF).
pub(crate) fn parse_size_line(line: &[u8]) -> Result<u64, DecodeError> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    if digits_end == 0 {
        return err(K::InvalidChunkSize, "chunk size is not hexadecimal");
    }
    let significant = line[..digits_end]
        .iter()
        .skip_while(|&&b| b == b'0')
        .count();
    if significant > MAX_SIZE_DIGITS {
        return err(K::InvalidChunkSize, "chunk size too large");
    }
    let size = line[..digits_end]
        .iter()
        .fold(0u64, |acc, &b| (acc << 4) | u64::from(hex_value(b)));
    parse_extensions(&line[digits_end..])?;
    Ok(size)
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`, where ext-val is a
/// token or a quoted-string. Whitespace is allowed only around the
/// separators: a trailing space after the size alone is an error.
fn parse_extensions(mut rest: &[u8]) -> Result<(), DecodeError> {
    loop {
        let trimmed = skip_ws(rest);
        if trimmed.is_empty() {
            if !rest.is_empty() {
                return err(K::InvalidChunkSize, "whitespace after the chunk size");
            }
            return Ok(());
        }
        let Some(after_semi) = trimmed.strip_prefix(b";") else {
            return err(K::InvalidChunkSize, "junk after the chunk size");
        };
        let after_semi = skip_ws(after_semi);
        let name_len = after_semi.iter().take_while(|&&b| is_tchar(b)).count();
        if name_len == 0 {
            return err(K::InvalidChunkExtension, "chunk extension without a name");
        }
        rest = &after_semi[name_len..];
        let after_ws = skip_ws(rest);
        if let Some(value) = after_ws.strip_prefix(b"=") {
            let value = skip_ws(value);
            let used = if value.first() == Some(&b'"') {
                quoted_string_len(value)?
            } else {
                let n = value.iter().take_while(|&&b| is_tchar(b)).count();
                if n == 0 {
                    return err(
                        K::InvalidChunkExtension,
                        "chunk extension without a value after '='",
                    );
                }
                n
            };
            rest = &value[used..];
        }
        if let Some(&b) = rest.first() {
            if !matches!(b, b' ' | b'\t' | b';') {
                return err(
                    K::InvalidChunkExtension,
                    "invalid byte in a chunk extension",
                );
            }
        }
    }
}

fn skip_ws(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

/// Length of the quoted-string at the start of `s`, quotes included.
fn quoted_string_len(s: &[u8]) -> Result<usize, DecodeError> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Ok(i + 1),
            b'\\' if i + 1 < s.len() && is_qd_or_vchar(s[i + 1]) => i += 2,
            b if is_qd_or_vchar(b) => i += 1,
            _ => {
                return err(
                    K::InvalidChunkExtension,
                    "invalid byte in a quoted chunk extension",
                )
            }
        }
    }
    err(
        K::InvalidChunkExtension,
        "unterminated quoted chunk extension",
    )
}

fn is_qd_or_vchar(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// Field names a trailer may not carry (RFC 9110 §6.5.1): those that
/// frame or route the message, where a late value could be mistaken for the
/// head's. (Content-Type is tolerated, as gunicorn does.)
pub(crate) const FORBIDDEN_TRAILERS: [&[u8]; 6] = [
    b"content-length",
    b"transfer-encoding",
    b"host",
    b"connection",
    b"expect",
    b"trailer",
];

/// Validates one trailer field line (without CRLF). Returns where the name
/// ends and where the trimmed value lies.
pub(crate) fn parse_trailer_line(line: &[u8]) -> Result<(usize, usize, usize), DecodeError> {
    let name_len = line.iter().take_while(|&&b| is_tchar(b)).count();
    if name_len == 0 || line.get(name_len) != Some(&b':') {
        return err(K::InvalidHeaderName, "invalid trailer field name");
    }
    let name = &line[..name_len];
    if FORBIDDEN_TRAILERS
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f))
    {
        return err(K::InvalidHeaderName, "field not allowed in a trailer");
    }
    let raw = &line[name_len + 1..];
    if raw.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return err(K::InvalidHeader, "control character in a trailer value");
    }
    let value = trim_ows(raw);
    let start = name_len + 1 + (value.as_ptr() as usize - raw.as_ptr() as usize);
    Ok((name_len, start, start + value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_extensions() {
        assert_eq!(parse_size_line(b"5").unwrap(), 5);
        assert_eq!(parse_size_line(b"000").unwrap(), 0);
        assert_eq!(parse_size_line(b"1aF").unwrap(), 0x1af);
        assert_eq!(parse_size_line(b"5; some; parameters=stuff").unwrap(), 5);
        assert_eq!(parse_size_line(b"5;foo=\"bar baz\"").unwrap(), 5);
        assert_eq!(parse_size_line(b"00000000000000000000001").unwrap(), 1);
    }

    #[test]
    fn malformed_sizes_and_extensions_are_refused() {
        for bad in [
            &b""[..],
            b" 5",
            b"5 ",
            b"-5",
            b"+5",
            b"0x5",
            b"5_0",
            b" ;foo=bar",
            b"5;",
            b"5;=x",
            b"5;a=",
            b"5;a=\"open",
            b"5;a=b c",
            b"11111111111111111",
        ] {
            assert!(
                parse_size_line(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn trailers_are_checked() {
        assert_eq!(parse_trailer_line(b"Vary: *").unwrap(), (4, 6, 7));
        assert!(parse_trailer_line(b"Content-Length: 3").is_err());
        assert!(parse_trailer_line(b"Bad Name: x").is_err());
        assert!(parse_trailer_line(b"X: a\x00b").is_err());
    }
}
