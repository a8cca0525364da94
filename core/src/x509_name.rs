//! The subject of an X.509 certificate as an RFC 4514 string, for the ASGI
//! `tls` extension's `client_cert_name` (its spec asks for exactly that).
//!
//! Rules kept here:
//! - Only the DER path to the subject is walked (RFC 5280 §4.1): the
//!   certificate, its `tbsCertificate`, then past the optional version,
//!   the serial number, the signature algorithm, the issuer and the
//!   validity. Anything malformed on that path gives `None`, never a panic:
//!   the bytes are the client's.
//! - RDNs are written last first, joined by `,`; the attributes of one RDN
//!   by `+` (RFC 4514 §2.1–2.2).
//! - An attribute type with a short name RFC 4514 §3 lists is written by
//!   it, any other as its dotted OID (§2.3); the value of a dotted type, or
//!   one that is not a character string, as `#` and the hex of its DER
//!   (§2.4).
//! - String values are escaped as §2.4 says.

/// The short names RFC 4514 §3 requires implementations to recognise.
const SHORT_NAMES: [(&str, &str); 9] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;

/// The certificate's subject (`der`: one DER certificate) as RFC 4514.
pub fn subject_rfc4514(der: &[u8]) -> Option<String> {
    let (cert, _) = element(der, SEQUENCE)?;
    let (tbs, _) = element(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest, VERSION)?.1;
    }
    rest = element(rest, INTEGER)?.1; // serialNumber
    rest = element(rest, SEQUENCE)?.1; // signature
    rest = element(rest, SEQUENCE)?.1; // issuer
    rest = element(rest, SEQUENCE)?.1; // validity
    let (subject, _) = element(rest, SEQUENCE)?;
    name_rfc4514(subject)
}

/// A Name's RDN sequence (its content, without the outer SEQUENCE).
fn name_rfc4514(mut rdns: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (mut set, rest) = element(rdns, SET)?;
        rdns = rest;
        let mut attributes = Vec::new();
        while !set.is_empty() {
            let (pair, rest) = element(set, SEQUENCE)?;
            set = rest;
            attributes.push(attribute(pair)?);
        }
        parts.push(attributes.join("+"));
    }
    parts.reverse();
    Some(parts.join(","))
}

/// One `type=value` from an AttributeTypeAndValue's content.
fn attribute(pair: &[u8]) -> Option<String> {
    let (oid, value) = element(pair, OID)?;
    let oid = dotted(oid)?;
    let (tag, _, whole) = any_element(value)?;
    let short = SHORT_NAMES.iter().find(|(o, _)| *o == oid).map(|(_, s)| *s);
    let text = short.and_then(|_| string_value(tag, &whole[header_len(whole)?..]));
    Some(match (short, text) {
        (Some(name), Some(text)) => format!("{name}={}", escape(&text)),
        (Some(name), None) => format!("{name}=#{}", hex(whole)),
        (None, _) => format!("{oid}=#{}", hex(whole)),
    })
}

/// A character string's text by its ASN.1 type; `None` for other types.
fn string_value(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString
        0x0c | 0x13 | 0x16 | 0x12 | 0x1a => String::from_utf8(bytes.to_vec()).ok(),
        // TeletexString: in practice Latin-1.
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16BE.
        0x1e if bytes.len().is_multiple_of(2) => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32BE.
        0x1c if bytes.len().is_multiple_of(4) => bytes
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// RFC 4514 §2.4: the special characters, a leading `#` or space, a
/// trailing space and NUL are escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, ch) in value.chars().enumerate() {
        match ch {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(ch),
        }
    }
    out
}

/// An OBJECT IDENTIFIER's content in dotted decimal.
fn dotted(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, &byte) in content.iter().enumerate() {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 != 0 {
            if i + 1 == content.len() {
                return None;
            }
            continue;
        }
        if arcs.is_empty() {
            let first = (value / 40).min(2);
            arcs.push(first);
            arcs.push(value - first * 40);
        } else {
            arcs.push(value);
        }
        value = 0;
    }
    if arcs.is_empty() {
        return None;
    }
    let text: Vec<String> = arcs.iter().map(u64::to_string).collect();
    Some(text.join("."))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The element at the front of `input` if its tag is `tag`: its content
/// and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, content, whole) = any_element(input)?;
    (found == tag).then(|| (content, &input[whole.len()..]))
}

/// The element at the front of `input`: its tag, its content and its
/// whole encoding (tag and length included).
fn any_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let &tag = input.first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers never occur on the path walked
    }
    let header = header_len(input)?;
    let len = content_len(input)?;
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((tag, &whole[header..], whole))
}

/// The length of the tag and length octets.
fn header_len(input: &[u8]) -> Option<usize> {
    match *input.get(1)? {
        n if n < 0x80 => Some(2),
        n => Some(2 + usize::from(n & 0x7f)),
    }
}

/// The content length the length octets give (definite form, at most 4
/// octets: DER never needs more for a certificate).
fn content_len(input: &[u8]) -> Option<usize> {
    let first = *input.get(1)?;
    if first < 0x80 {
        return Some(usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return None;
    }
    let octets = input.get(2..2 + count)?;
    Some(
        octets
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One attribute: its OID's content, the value's tag and content.
    type Attribute<'a> = (&'a [u8], u8, &'a [u8]);

    /// `SEQUENCE { SET { SEQUENCE { OID, value } } ... }` content for tests.
    fn name(rdns: &[&[Attribute]]) -> Vec<u8> {
        let mut out = Vec::new();
        for rdn in rdns {
            let mut set = Vec::new();
            for (oid, tag, value) in *rdn {
                let mut pair = tlv(OID, oid);
                pair.extend(tlv(*tag, value));
                set.extend(tlv(SEQUENCE, &pair));
            }
            out.extend(tlv(SET, &set));
        }
        out
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, content.len() as u8];
        out.extend_from_slice(content);
        out
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const C: &[u8] = &[0x55, 0x04, 0x06];
    const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

    #[test]
    fn rdns_are_written_last_first_with_short_names() {
        let subject = name(&[
            &[(C, 0x13, b"FR")],
            &[(O, 0x0c, b"Example, Inc.")],
            &[(CN, 0x0c, b"client")],
        ]);
        assert_eq!(
            name_rfc4514(&subject).as_deref(),
            Some("CN=client,O=Example\\, Inc.,C=FR")
        );
    }

    #[test]
    fn multi_valued_rdns_and_unknown_types() {
        let subject = name(&[&[(CN, 0x0c, b"a"), (EMAIL, 0x16, b"a@b")]]);
        assert_eq!(
            name_rfc4514(&subject).as_deref(),
            Some("CN=a+1.2.840.113549.1.9.1=#1603614062")
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("#a b "), "\\#a b\\ ");
        assert_eq!(escape(" x+y;z<>\"\\"), "\\ x\\+y\\;z\\<\\>\\\"\\\\");
        assert_eq!(escape("nul\0"), "nul\\00");
    }

    #[test]
    fn bmp_strings_decode() {
        let subject = name(&[&[(CN, 0x1e, &[0x00, 0xe9, 0x00, 0x74, 0x00, 0xe9])]]);
        assert_eq!(name_rfc4514(&subject).as_deref(), Some("CN=été"));
    }

    #[test]
    fn malformed_input_gives_none() {
        assert_eq!(subject_rfc4514(b""), None);
        assert_eq!(subject_rfc4514(&[0x30, 0x82, 0xff]), None);
        assert_eq!(subject_rfc4514(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(dotted(&[0x86]), None);
        // Every truncation of a valid name fails cleanly.
        let subject = name(&[&[(CN, 0x0c, b"client")]]);
        for cut in 0..subject.len() {
            let _ = name_rfc4514(&subject[..cut]);
        }
    }

    #[test]
    fn a_whole_certificate() {
        // A certificate's skeleton: version, serial, algorithm, issuer,
        // validity, subject, then what a parser of the subject never reads.
        let mut tbs = tlv(VERSION, &tlv(INTEGER, &[2]));
        tbs.extend(tlv(INTEGER, &[1]));
        tbs.extend(tlv(SEQUENCE, &[]));
        tbs.extend(tlv(SEQUENCE, &name(&[&[(CN, 0x0c, b"ca")]])));
        tbs.extend(tlv(SEQUENCE, &[]));
        tbs.extend(tlv(SEQUENCE, &name(&[&[(CN, 0x0c, b"me")]])));
        tbs.extend(tlv(SEQUENCE, &[]));
        let cert = tlv(SEQUENCE, &tlv(SEQUENCE, &tbs));
        assert_eq!(subject_rfc4514(&cert).as_deref(), Some("CN=me"));
    }
}
