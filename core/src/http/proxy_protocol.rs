//! The PROXY protocol preamble (HAProxy's v1 text line and v2 binary
//! header) that a load balancer sends before the first request, to tell the
//! server who the client really is.
//!
//! A pure parser: given the bytes at the start of a connection it says
//! whether more are needed, whether there is no preamble, or how long the
//! preamble is and what it carries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::{DecodeError, DecodeErrorKind};

/// Which preambles a connection may start with (gunicorn's
/// `proxy_protocol`: off, v1, v2, auto).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    Off,
    V1,
    V2,
    /// Either version, or none at all.
    Auto,
}

impl ProxyMode {
    /// gunicorn's spelling; `true` (an old config file's boolean) is auto.
    pub fn from_setting(value: &str) -> Option<ProxyMode> {
        match value.to_ascii_lowercase().as_str() {
            "off" | "false" | "none" => Some(ProxyMode::Off),
            "v1" => Some(ProxyMode::V1),
            "v2" => Some(ProxyMode::V2),
            "auto" | "true" => Some(ProxyMode::Auto),
            _ => None,
        }
    }
}

/// What a preamble says. Addresses are `None` for a v1 `UNKNOWN` line or a
/// v2 `LOCAL` command or non-IP family: the connection's own addresses stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyInfo {
    pub source: Option<SocketAddr>,
    pub destination: Option<SocketAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preamble {
    /// Not enough bytes yet to decide.
    Incomplete,
    /// The connection starts with something else (only in `Auto` mode).
    Absent,
    /// A preamble of `len` bytes.
    Found { info: ProxyInfo, len: usize },
}

const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest v1 line the specification allows, CRLF included.
const V1_MAX: usize = 107;
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
const V2_FIXED: usize = 16;
/// Room for the addresses and a reasonable amount of TLVs.
const V2_MAX_PAYLOAD: usize = 2048;

fn invalid(detail: &'static str) -> DecodeError {
    DecodeError::new(DecodeErrorKind::InvalidProxyLine, detail)
}

/// Whether `buf` is a (possibly partial) start of `prefix`.
fn starts_like(buf: &[u8], prefix: &[u8]) -> bool {
    let n = buf.len().min(prefix.len());
    buf[..n] == prefix[..n]
}

/// Parses the preamble at the start of `buf` under `mode`.
pub fn parse(mode: ProxyMode, buf: &[u8]) -> Result<Preamble, DecodeError> {
    let v1 = matches!(mode, ProxyMode::V1 | ProxyMode::Auto) && starts_like(buf, V1_PREFIX);
    let v2 = matches!(mode, ProxyMode::V2 | ProxyMode::Auto) && starts_like(buf, V2_SIGNATURE);
    if buf.is_empty() || (v1 && buf.len() < V1_PREFIX.len()) || (v2 && buf.len() < V2_FIXED) {
        if mode == ProxyMode::Off {
            return Ok(Preamble::Absent);
        }
        return Ok(Preamble::Incomplete);
    }
    if v1 {
        parse_v1(buf)
    } else if v2 {
        parse_v2(buf)
    } else {
        match mode {
            ProxyMode::Off | ProxyMode::Auto => Ok(Preamble::Absent),
            ProxyMode::V1 | ProxyMode::V2 => Err(invalid("expected a PROXY protocol header")),
        }
    }
}

fn parse_v1(buf: &[u8]) -> Result<Preamble, DecodeError> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        if window.len() == V1_MAX || window.contains(&b'\n') {
            return Err(invalid("PROXY line too long or not ended by CRLF"));
        }
        return Ok(Preamble::Incomplete);
    };
    let line = std::str::from_utf8(&window[V1_PREFIX.len()..end])
        .map_err(|_| invalid("PROXY line is not ASCII"))?;
    let fields: Vec<&str> = line.split(' ').collect();
    let info = match fields.as_slice() {
        ["UNKNOWN", ..] => ProxyInfo {
            source: None,
            destination: None,
        },
        [family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let v6 = *family == "TCP6";
            ProxyInfo {
                source: Some(SocketAddr::new(v1_ip(src, v6)?, v1_port(sport)?)),
                destination: Some(SocketAddr::new(v1_ip(dst, v6)?, v1_port(dport)?)),
            }
        }
        _ => return Err(invalid("malformed PROXY line")),
    };
    Ok(Preamble::Found { info, len: end + 2 })
}

fn v1_ip(text: &str, v6: bool) -> Result<IpAddr, DecodeError> {
    let ip = if v6 {
        text.parse::<Ipv6Addr>().map(IpAddr::V6)
    } else {
        text.parse::<Ipv4Addr>().map(IpAddr::V4)
    };
    ip.map_err(|_| invalid("invalid address in PROXY line"))
}

fn v1_port(text: &str) -> Result<u16, DecodeError> {
    let digits = !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits || leading_zero {
        return Err(invalid("invalid port in PROXY line"));
    }
    text.parse()
        .map_err(|_| invalid("invalid port in PROXY line"))
}

fn parse_v2(buf: &[u8]) -> Result<Preamble, DecodeError> {
    let version_command = buf[12];
    if version_command >> 4 != 2 {
        return Err(invalid("unsupported PROXY protocol version"));
    }
    let local = match version_command & 0x0f {
        0 => true,
        1 => false,
        _ => return Err(invalid("unknown PROXY v2 command")),
    };
    let family = buf[13];
    let payload = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if payload > V2_MAX_PAYLOAD {
        return Err(invalid("PROXY v2 header too long"));
    }
    let Some(body) = buf.get(V2_FIXED..V2_FIXED + payload) else {
        return Ok(Preamble::Incomplete);
    };
    let none = ProxyInfo {
        source: None,
        destination: None,
    };
    let info = match family {
        _ if local => none,
        // TCP over IPv4: two addresses then two ports.
        0x11 => {
            let a = body
                .get(..12)
                .ok_or(invalid("short PROXY v2 IPv4 addresses"))?;
            let ip = |i: usize| IpAddr::V4(Ipv4Addr::new(a[i], a[i + 1], a[i + 2], a[i + 3]));
            let port = |i: usize| u16::from_be_bytes([a[i], a[i + 1]]);
            ProxyInfo {
                source: Some(SocketAddr::new(ip(0), port(8))),
                destination: Some(SocketAddr::new(ip(4), port(10))),
            }
        }
        // TCP over IPv6.
        0x21 => {
            let a = body
                .get(..36)
                .ok_or(invalid("short PROXY v2 IPv6 addresses"))?;
            let ip = |i: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&a[i..i + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            let port = |i: usize| u16::from_be_bytes([a[i], a[i + 1]]);
            ProxyInfo {
                source: Some(SocketAddr::new(ip(0), port(32))),
                destination: Some(SocketAddr::new(ip(16), port(34))),
            }
        }
        // UNSPEC, UDP and unix sockets: nothing an HTTP server can use.
        _ => none,
    };
    Ok(Preamble::Found {
        info,
        len: V2_FIXED + payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(mode: ProxyMode, buf: &[u8]) -> (ProxyInfo, usize) {
        match parse(mode, buf) {
            Ok(Preamble::Found { info, len }) => (info, len),
            other => panic!("expected a preamble, got {other:?}"),
        }
    }

    #[test]
    fn v1_tcp4_line_gives_both_addresses_and_its_length() {
        let buf = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
        let (info, len) = found(ProxyMode::Auto, buf);
        assert_eq!(info.source, Some("192.168.0.1:56324".parse().unwrap()));
        assert_eq!(info.destination, Some("192.168.0.11:443".parse().unwrap()));
        assert_eq!(&buf[len..len + 3], b"GET");
    }

    #[test]
    fn v1_tcp6_and_unknown() {
        let (info, _) = found(ProxyMode::V1, b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
        assert_eq!(info.source, Some("[2001:db8::1]:1".parse().unwrap()));
        let (info, len) = found(ProxyMode::V1, b"PROXY UNKNOWN whatever\r\nGET");
        assert_eq!((info.source, len), (None, 24));
    }

    #[test]
    fn v1_errors() {
        for bad in [
            &b"PROXY TCP4 not-an-ip 192.168.0.11 56324 443\r\n"[..],
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 65536\r\n",
            b"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",
            b"PROXY TCP6 192.168.0.1 192.168.0.11 1 2\r\n",
            b"PROXY TCP4 192.168.0.1 192.168.0.11 1 2\n",
            b"PROXY TCP4 192.16...\r\n",
            &[b'X'; 200][..],
        ] {
            let mut buf = b"PROXY ".to_vec();
            if !bad.starts_with(b"PROXY ") {
                buf.extend_from_slice(bad);
            } else {
                buf = bad.to_vec();
            }
            let err = parse(ProxyMode::Auto, &buf).unwrap_err();
            assert_eq!(err.kind(), DecodeErrorKind::InvalidProxyLine, "{bad:?}");
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn v2_ipv4_and_ipv6() {
        let mut v4 = V2_SIGNATURE.to_vec();
        v4.extend_from_slice(&[
            0x21, 0x11, 0, 12, 192, 168, 1, 10, 192, 168, 1, 1, 0x30, 0x39, 0x01, 0xbb,
        ]);
        v4.extend_from_slice(b"GET");
        let (info, len) = found(ProxyMode::V2, &v4);
        assert_eq!(info.source, Some("192.168.1.10:12345".parse().unwrap()));
        assert_eq!(info.destination, Some("192.168.1.1:443".parse().unwrap()));
        assert_eq!(len, 28);

        let mut v6 = V2_SIGNATURE.to_vec();
        v6.extend_from_slice(&[0x21, 0x21, 0, 36]);
        v6.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        v6.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        v6.extend_from_slice(&[0xd4, 0x31, 0x00, 0x50]);
        let (info, _) = found(ProxyMode::Auto, &v6);
        assert_eq!(info.source, Some("[2001:db8::1]:54321".parse().unwrap()));
    }

    #[test]
    fn v2_local_command_and_errors() {
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(found(ProxyMode::Auto, &local).0.source, None);
        for (byte, value) in [(12, 0x31u8), (12, 0x22), (14, 0xff)] {
            let mut bad = local.clone();
            bad[byte] = value;
            assert!(
                parse(ProxyMode::Auto, &bad).is_err(),
                "byte {byte} = {value:#x}"
            );
        }
    }

    #[test]
    fn partial_input_waits_and_other_input_is_absent_or_refused() {
        let line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
        for cut in 0..line.len() {
            assert_eq!(
                parse(ProxyMode::Auto, &line[..cut]),
                Ok(Preamble::Incomplete),
                "cut {cut}"
            );
        }
        for cut in 1..V2_FIXED {
            assert_eq!(
                parse(ProxyMode::Auto, &V2_SIGNATURE[..cut.min(12)]),
                Ok(Preamble::Incomplete)
            );
        }
        assert_eq!(
            parse(ProxyMode::Auto, b"GET / HTTP/1.1\r\n"),
            Ok(Preamble::Absent)
        );
        assert_eq!(parse(ProxyMode::Off, line), Ok(Preamble::Absent));
        assert!(parse(ProxyMode::V2, line).is_err());
        assert!(parse(ProxyMode::V1, b"GET / HTTP/1.1\r\n").is_err());
    }
}
