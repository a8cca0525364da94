//! `metrics_bind`'s value: `HOST:PORT`, the host a name, an IPv4 address
//! or a bracketed IPv6 one (`[::1]:9100`). Port 0 takes a free port, which
//! the start-up log names.

/// The host (brackets removed) and port of `text`, or what was expected.
pub fn parse(text: &str) -> Result<(String, u16), String> {
    let expected = || format!("expected HOST:PORT (e.g. 127.0.0.1:9100), got {text:?}");
    let (host, port) = text.trim().rsplit_once(':').ok_or_else(expected)?;
    let port: u16 = port.parse().map_err(|_| expected())?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').ok_or_else(expected)?,
        None if host.contains(':') => return Err(expected()),
        None => host,
    };
    let name_like = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() || !host.chars().all(name_like) {
        return Err(expected());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(parse("127.0.0.1:9100"), Ok(("127.0.0.1".into(), 9100)));
        assert_eq!(parse("[::1]:0"), Ok(("::1".into(), 0)));
        assert_eq!(parse("localhost:9100"), Ok(("localhost".into(), 9100)));
        for bad in [
            "9100",
            ":9100",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "::1:9100",
            "unix:/tmp/m.sock",
            "[::1:9100",
            "a b:1",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.starts_with("expected HOST:PORT"), "{err}");
        }
    }
}
