//! `--ciphers`: an OpenSSL cipher list, read for a TLS library (rustls)
//! that has no cipher-list language of its own.
//!
//! What rcorn does with each element of the list:
//! - a cipher suite's name (OpenSSL's, like `ECDHE-RSA-AES128-GCM-SHA256`,
//!   or the IANA one, like `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`; TLS 1.3
//!   suites have only the IANA name) selects that suite, in the order given;
//! - the same name after `!` or `-` removes that suite;
//! - OpenSSL's keywords (`HIGH`, `DEFAULT`, `ECDHE+AESGCM`, `!aNULL`, ...),
//!   `+` moves and `@` directives (`@STRENGTH`, `@SECLEVEL=2`) have no
//!   rustls equivalent: they are reported, and rustls's default (safe) set
//!   stands where they would have chosen;
//! - anything else is an error, so a typo never silently weakens nothing or
//!   everything.
//!
//! As in OpenSSL, where `set_ciphers` governs TLS 1.2 and below only, a TLS
//! version whose suites the list does not name keeps the library's default
//! suites for that version. Which suites the library offers is not known
//! here: [`CipherList::choose`] takes that as an argument.

/// One TLS cipher suite by its names and IANA code point.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    /// OpenSSL's name; for TLS 1.3 suites OpenSSL uses the IANA name.
    pub openssl: &'static str,
    pub iana: &'static str,
    pub code: u16,
    pub tls13: bool,
}

const fn tls12(openssl: &'static str, iana: &'static str, code: u16) -> Suite {
    Suite {
        openssl,
        iana,
        code,
        tls13: false,
    }
}

const fn tls13(iana: &'static str, code: u16) -> Suite {
    Suite {
        openssl: iana,
        iana,
        code,
        tls13: true,
    }
}

/// The suites a cipher list may name: every TLS 1.3 suite, and the TLS 1.2
/// suites found in common server configurations (Mozilla's, OWASP's),
/// whether or not the TLS library implements them. A known suite the
/// library lacks is skipped with a warning; an unknown name is an error.
pub const SUITES: &[Suite] = &[
    tls13("TLS_AES_128_GCM_SHA256", 0x1301),
    tls13("TLS_AES_256_GCM_SHA384", 0x1302),
    tls13("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
    tls13("TLS_AES_128_CCM_SHA256", 0x1304),
    tls13("TLS_AES_128_CCM_8_SHA256", 0x1305),
    tls12(
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02B,
    ),
    tls12(
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02C,
    ),
    tls12(
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC02F,
    ),
    tls12(
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xC030,
    ),
    tls12(
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA8,
    ),
    tls12(
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9,
    ),
    tls12(
        "DHE-RSA-CHACHA20-POLY1305",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAA,
    ),
    tls12(
        "DHE-RSA-AES128-GCM-SHA256",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009E,
    ),
    tls12(
        "DHE-RSA-AES256-GCM-SHA384",
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x009F,
    ),
    tls12(
        "DHE-DSS-AES128-GCM-SHA256",
        "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
        0x00A2,
    ),
    tls12(
        "DHE-DSS-AES256-GCM-SHA384",
        "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
        0x00A3,
    ),
    tls12(
        "ECDHE-ECDSA-AES128-CCM",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
        0xC0AC,
    ),
    tls12(
        "ECDHE-ECDSA-AES256-CCM",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
        0xC0AD,
    ),
    tls12(
        "ECDHE-ECDSA-AES128-CCM8",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        0xC0AE,
    ),
    tls12(
        "ECDHE-ECDSA-AES256-CCM8",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
        0xC0AF,
    ),
    tls12(
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xC023,
    ),
    tls12(
        "ECDHE-ECDSA-AES256-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xC024,
    ),
    tls12(
        "ECDHE-RSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xC027,
    ),
    tls12(
        "ECDHE-RSA-AES256-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xC028,
    ),
    tls12(
        "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC009,
    ),
    tls12(
        "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC00A,
    ),
    tls12(
        "ECDHE-RSA-AES128-SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC013,
    ),
    tls12(
        "ECDHE-RSA-AES256-SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xC014,
    ),
    tls12(
        "DHE-RSA-AES128-SHA256",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x0067,
    ),
    tls12(
        "DHE-RSA-AES256-SHA256",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0x006B,
    ),
    tls12(
        "DHE-RSA-AES128-SHA",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0033,
    ),
    tls12(
        "DHE-RSA-AES256-SHA",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x0039,
    ),
    tls12(
        "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009C,
    ),
    tls12(
        "AES256-GCM-SHA384",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009D,
    ),
    tls12("AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003C),
    tls12("AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256", 0x003D),
    tls12("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F),
    tls12("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
    tls12("DES-CBC3-SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000A),
];

/// OpenSSL's cipher-list keywords (groups of suites, not suites), as its
/// `ciphers(1)` page lists them. Case matters, as in OpenSSL.
const KEYWORDS: &[&str] = &[
    "ALL",
    "COMPLEMENTOFALL",
    "COMPLEMENTOFDEFAULT",
    "DEFAULT",
    "HIGH",
    "MEDIUM",
    "LOW",
    "EXP",
    "EXPORT",
    "NULL",
    "eNULL",
    "aNULL",
    "kRSA",
    "aRSA",
    "RSA",
    "kDHr",
    "kDHd",
    "kDH",
    "kDHE",
    "kEDH",
    "DH",
    "DHE",
    "EDH",
    "ADH",
    "kEECDH",
    "kECDHE",
    "ECDH",
    "ECDHE",
    "EECDH",
    "AECDH",
    "aDSS",
    "DSS",
    "aDH",
    "aECDSA",
    "ECDSA",
    "TLSv1.2",
    "TLSv1.0",
    "TLSv1",
    "SSLv3",
    "AES128",
    "AES256",
    "AES",
    "AESGCM",
    "AESCCM",
    "AESCCM8",
    "ARIA128",
    "ARIA256",
    "ARIA",
    "ARIAGCM",
    "CAMELLIA128",
    "CAMELLIA256",
    "CAMELLIA",
    "CHACHA20",
    "3DES",
    "DES",
    "RC4",
    "RC2",
    "IDEA",
    "SEED",
    "MD5",
    "SHA1",
    "SHA",
    "SHA256",
    "SHA384",
    "aGOST",
    "aGOST01",
    "kGOST",
    "GOST94",
    "GOST89MAC",
    "PSK",
    "kPSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "aPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "SUITEB128",
    "SUITEB128ONLY",
    "SUITEB192",
    "SUITEB128C2",
    "CBC",
    "SSLv2",
    "TLSv1.1",
    "kECDH",
    "kECDHr",
    "kECDHe",
    "aECDH",
    "ECDHEPSK",
    "DHEPSK",
    "RSAPSK",
];

/// A cipher list, read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CipherList {
    /// Suites named to be offered, in the order given, each once.
    pub selected: Vec<&'static Suite>,
    /// Suites named after `!` or `-`: never offered.
    pub removed: Vec<&'static Suite>,
    /// Keywords, `+` moves and `@` directives, as written: rustls's
    /// defaults stand in for them.
    pub keywords: Vec<String>,
}

/// The suites to offer, and what the list named that the library lacks.
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    /// Code points, TLS 1.3 suites first, each version in preference order.
    pub suites: Vec<u16>,
    /// Named suites the library does not implement (skipped).
    pub missing: Vec<&'static Suite>,
}

/// A suite by either of its names; case does not matter.
pub fn suite_named(name: &str) -> Option<&'static Suite> {
    SUITES
        .iter()
        .find(|s| s.openssl.eq_ignore_ascii_case(name) || s.iana.eq_ignore_ascii_case(name))
}

/// A keyword, or keywords joined with `+` (OpenSSL's "and").
fn is_keyword(name: &str) -> bool {
    !name.is_empty() && name.split('+').all(|part| KEYWORDS.contains(&part))
}

/// Reads a cipher list: elements separated by colons, commas or spaces.
/// An empty list changes nothing (gunicorn skips `set_ciphers` for one).
/// The error names the first element that is neither a suite rcorn knows
/// nor an OpenSSL keyword.
pub fn parse(list: &str) -> Result<CipherList, String> {
    let mut out = CipherList::default();
    let elements = list
        .split(|c: char| c == ':' || c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty());
    for element in elements {
        // A directive may follow an element directly: `DEFAULT@SECLEVEL=1`.
        let (element, directive) = match element.find('@') {
            Some(at) => (&element[..at], Some(&element[at..])),
            None => (element, None),
        };
        if !element.is_empty() {
            out.read_element(element)?;
        }
        if let Some(directive) = directive {
            out.keywords.push(directive.to_owned());
        }
    }
    Ok(out)
}

impl CipherList {
    /// One element: a suite name, maybe after `!`, `-` or `+`, or keywords.
    fn read_element(&mut self, element: &str) -> Result<(), String> {
        let (op, name) = match element.chars().next() {
            Some(op @ ('!' | '-' | '+')) => (Some(op), &element[1..]),
            _ => (None, element),
        };
        match (op, suite_named(name)) {
            (None, Some(suite)) => {
                if !self.selected.contains(&suite) {
                    self.selected.push(suite);
                }
            }
            (Some('!' | '-'), Some(suite)) => self.removed.push(suite),
            // `+NAME` moves a suite to the end of OpenSSL's list; the order
            // here is the order named, so it is reported like a keyword.
            (_, Some(_)) => self.keywords.push(element.to_owned()),
            (_, None) if is_keyword(name) => self.keywords.push(element.to_owned()),
            (_, None) => return Err(format!("'{element}' is no cipher suite or OpenSSL keyword")),
        }
        Ok(())
    }

    /// The suites to offer, given those the TLS library offers by default
    /// (`offered`: code points in its preference order, with whether each
    /// is a TLS 1.3 suite). A version whose suites the list does not name
    /// keeps the library's; named suites replace them, in the order named.
    /// An error when the named suites include none the library has, or
    /// nothing is left to offer.
    pub fn choose(&self, offered: &[(u16, bool)]) -> Result<Choice, String> {
        let has = |code: u16| offered.iter().any(|&(c, _)| c == code);
        let missing: Vec<&'static Suite> = self
            .selected
            .iter()
            .copied()
            .filter(|s| !has(s.code))
            .collect();
        if !self.selected.is_empty() && missing.len() == self.selected.len() {
            return Err("rustls implements none of the suites it names".into());
        }
        let mut suites = Vec::new();
        for tls13 in [true, false] {
            let named: Vec<u16> = self
                .selected
                .iter()
                .filter(|s| s.tls13 == tls13)
                .map(|s| s.code)
                .collect();
            if named.is_empty() {
                suites.extend(offered.iter().filter(|o| o.1 == tls13).map(|o| o.0));
            } else {
                suites.extend(named.into_iter().filter(|&c| has(c)));
            }
        }
        suites.retain(|c| !self.removed.iter().any(|s| s.code == *c));
        if suites.is_empty() {
            return Err("it leaves no cipher suite to offer".into());
        }
        Ok(Choice { suites, missing })
    }
}

#[cfg(test)]
mod tests;
