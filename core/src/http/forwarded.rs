//! Headers a trusted proxy sets to say the client spoke HTTPS
//! (gunicorn's `secure_scheme_headers`, honoured only from
//! `forwarded_allow_ips`).

use std::net::IpAddr;

use super::error::{DecodeError, DecodeErrorKind};
use super::head::RequestHead;
use crate::config::parse_ip_network;

/// Peers given as addresses, CIDR networks or `*` (any).
#[derive(Clone, Debug, Default)]
pub struct TrustedPeers {
    any: bool,
    networks: Vec<(IpAddr, u32)>,
}

impl TrustedPeers {
    /// From the setting's list; an entry that is not an address or network
    /// is named in the error.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<TrustedPeers, String> {
        let mut peers = TrustedPeers::default();
        for entry in list {
            let entry = entry.as_ref().trim();
            if entry == "*" {
                peers.any = true;
            } else {
                let network = parse_ip_network(entry)
                    .ok_or_else(|| format!("{entry:?} is not an IP address or CIDR network"))?;
                peers.networks.push(network);
            }
        }
        Ok(peers)
    }

    /// Whether `peer` may be believed. `None` is a unix-socket peer, which
    /// only local processes can be: gunicorn trusts it.
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        let Some(peer) = peer else {
            return true;
        };
        self.any
            || self
                .networks
                .iter()
                .any(|&(net, prefix)| in_network(peer.to_canonical(), net, prefix))
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u32) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let host_bits = width - prefix.min(width);
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    ip & mask == net & mask
}

/// `wsgi.url_scheme` from the secure-scheme headers of trusted peers.
#[derive(Clone, Debug, Default)]
pub struct SchemePolicy {
    pub trusted: TrustedPeers,
    /// Header name (any case) and the value that means HTTPS.
    pub secure_headers: Vec<(String, String)>,
}

impl SchemePolicy {
    /// `Ok(Some("https"))` or `Ok(Some("http"))` when a trusted peer sent
    /// one of the headers, `Ok(None)` otherwise; headers that disagree are
    /// an error (400), as in gunicorn.
    pub fn scheme(
        &self,
        peer: Option<IpAddr>,
        head: &RequestHead,
    ) -> Result<Option<&'static str>, DecodeError> {
        // A uwsgi front end states the scheme in the packet itself (its
        // peer was allowed by `uwsgi_allow_ips`); the fields it passes on
        // are the client's, never the proxy's word, as in gunicorn.
        if head.from_uwsgi() {
            return Ok(head.declared_scheme());
        }
        if self.secure_headers.is_empty() || !self.trusted.trusts(peer) {
            return Ok(None);
        }
        let mut scheme = None;
        for (name, value) in head.headers() {
            let Some((_, secure)) = self
                .secure_headers
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            else {
                continue;
            };
            let this = if value == secure.as_bytes() {
                "https"
            } else {
                "http"
            };
            match scheme {
                Some(seen) if seen != this => {
                    return Err(DecodeError::new(
                        DecodeErrorKind::InvalidSchemeHeaders,
                        "contradictory scheme headers",
                    ))
                }
                _ => scheme = Some(this),
            }
        }
        Ok(scheme)
    }
}
