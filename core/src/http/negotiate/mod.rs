//! Which HTTP version a new connection speaks: HTTP/1.1 or HTTP/2. A pure
//! decision, the same for every worker class; io only reports what TLS
//! negotiated, the first bytes and the time.
//!
//! The rules it keeps (gunicorn's `http2/negotiation.py`):
//!
//! 1. **h2 only where offered and served.** `http_protocols` must name
//!    `h2` and the worker class must serve it; otherwise every connection
//!    is HTTP/1.1 (a worker that cannot serve it says so once, at boot).
//! 2. **TLS: ALPN decides.** The protocols are offered in the order of
//!    `http_protocols` (`h1` as `http/1.1`, `h3` never: it is not TCP);
//!    `http/1.1` is always offered, since anything else falls back to it.
//!    The client's pick is the answer; no ALPN is HTTP/1.1.
//! 3. **Cleartext h2 only from a trusted peer.** Prior knowledge (the
//!    preface sniffed from the first bytes) and `Upgrade: h2c` each need
//!    their own `http2_cleartext` mode, a peer in `forwarded_allow_ips`
//!    (unix-socket peers are trusted), a plain listener and the `http`
//!    protocol. Enabling one mechanism never enables the other.
//! 4. **The preface within one budget.** A sniffed connection must show
//!    the whole 24-byte preface, or a byte that differs, within
//!    [`PREFACE_TIMEOUT`] of the first byte, however it is trickled; past
//!    it the bytes go to HTTP/1.1.
//! 5. **A mismatch is HTTP/1.1**, except when prior knowledge is the only
//!    mechanism: a trusted peer is then expected to speak HTTP/2, and it
//!    is answered 400 rather than silently downgraded.
//! 6. **An upgrade request is well formed or ignored** (RFC 7540 §3.2):
//!    HTTP/1.1, `Upgrade: h2c`, exactly one `HTTP2-Settings` whose
//!    base64url payload holds valid settings, both named in `Connection`,
//!    a body of at most [`UPGRADE_BODY_LIMIT`] bytes. Anything else is
//!    served as if the header were absent.

use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::h2::frame::PREFACE;
use super::head::{BodyKind, RequestHead};
use crate::time::Instant;

/// The whole preface must arrive within this long of its first byte.
pub const PREFACE_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest HTTP/1.1 body accepted on an `Upgrade: h2c` request: it is held
/// until the HTTP/2 stream that carries it is built.
pub const UPGRADE_BODY_LIMIT: u64 = 65_536;

pub use super::h2::UPGRADE_101;
pub use upgrade::PendingUpgrade;

mod upgrade;

/// The protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// `http2_cleartext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cleartext {
    Off,
    PriorKnowledge,
    Upgrade,
    Both,
}

impl Cleartext {
    /// The setting's checked value; anything else is `Off`.
    pub fn from_setting(mode: &str) -> Self {
        match mode {
            "prior-knowledge" => Cleartext::PriorKnowledge,
            "upgrade" => Cleartext::Upgrade,
            "both" => Cleartext::Both,
            _ => Cleartext::Off,
        }
    }
}

/// How a worker negotiates: fixed at boot from the settings and what the
/// worker class serves.
#[derive(Clone, Debug)]
pub struct Negotiation {
    /// `http_protocols` names h2 and this worker serves it.
    h2: bool,
    /// ALPN identifiers, in the server's order of preference.
    alpn: Vec<Vec<u8>>,
    cleartext: Cleartext,
}

/// How a new cleartext connection starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// HTTP/1.1 from the first byte.
    Http1,
    /// Sniff the first bytes for the preface ([`PrefaceSniff`]).
    Sniff,
}

impl Negotiation {
    /// From `http_protocols`, `http2_cleartext`, and whether the worker
    /// class serves HTTP/2.
    pub fn new(http_protocols: &[String], cleartext: &str, worker_serves_h2: bool) -> Self {
        let h2 = worker_serves_h2 && http_protocols.iter().any(|p| p == "h2");
        let mut alpn: Vec<Vec<u8>> = Vec::new();
        for p in http_protocols {
            match p.as_str() {
                "h1" => alpn.push(b"http/1.1".to_vec()),
                "h2" if h2 => alpn.push(b"h2".to_vec()),
                _ => {}
            }
        }
        if !alpn.iter().any(|p| p == b"http/1.1") {
            alpn.push(b"http/1.1".to_vec());
        }
        Negotiation {
            h2,
            alpn,
            cleartext: Cleartext::from_setting(cleartext),
        }
    }

    /// From the server's settings.
    pub fn from_settings(settings: &crate::config::Settings, worker_serves_h2: bool) -> Self {
        Negotiation::new(
            settings.http_protocols(),
            settings.http2_cleartext(),
            worker_serves_h2,
        )
    }

    /// Whether any connection may speak HTTP/2.
    pub fn offers_h2(&self) -> bool {
        self.h2
    }

    /// The ALPN protocols for the TLS configuration, preferred first.
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// After the TLS handshake: the protocol the client picked.
    pub fn after_alpn(&self, alpn: Option<&[u8]>) -> Protocol {
        match alpn {
            Some(b"h2") if self.h2 => Protocol::Http2,
            _ => Protocol::Http1,
        }
    }

    /// Whether cleartext h2 could apply to this connection at all.
    fn cleartext_possible(&self, tls: bool, uwsgi: bool, trusted: bool) -> bool {
        self.h2 && !tls && !uwsgi && trusted
    }

    /// How a new connection starts. `trusted`: its peer is in
    /// `forwarded_allow_ips` (or on a unix socket).
    pub fn start(&self, tls: bool, uwsgi: bool, trusted: bool) -> Start {
        let sniff = matches!(self.cleartext, Cleartext::PriorKnowledge | Cleartext::Both);
        if sniff && self.cleartext_possible(tls, uwsgi, trusted) {
            Start::Sniff
        } else {
            Start::Http1
        }
    }

    /// Whether an `Upgrade: h2c` request from this connection is honoured.
    pub fn upgrade_allowed(&self, tls: bool, uwsgi: bool, trusted: bool) -> bool {
        matches!(self.cleartext, Cleartext::Upgrade | Cleartext::Both)
            && self.cleartext_possible(tls, uwsgi, trusted)
    }

    /// The upgrade `head` asks for, if this connection may have it and the
    /// request is well formed (rules 3 and 6); `None`: serve it as
    /// HTTP/1.1, as if it had no `Upgrade` header.
    pub fn upgrade(
        &self,
        head: &RequestHead,
        tls: bool,
        uwsgi: bool,
        trusted: bool,
    ) -> Option<Box<PendingUpgrade>> {
        if !self.upgrade_allowed(tls, uwsgi, trusted) {
            return None;
        }
        PendingUpgrade::from_head(head)
    }

    /// A [`PrefaceSniff`] for a connection that [`Start::Sniff`]s.
    pub fn sniff(&self) -> PrefaceSniff {
        PrefaceSniff {
            seen: 0,
            since: None,
            refuse_h1: self.cleartext == Cleartext::PriorKnowledge,
        }
    }
}

/// What the first bytes of a sniffed connection amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// Not enough bytes yet: wait for more, until `next_deadline`.
    NeedMore,
    /// The whole preface: the connection speaks HTTP/2 (the bytes, preface
    /// included, go to the HTTP/2 machine).
    Http2,
    /// Not the preface (or not in time): HTTP/1.1 reads the same bytes.
    Http1,
    /// Not the preface, where only prior knowledge is enabled: answer 400.
    Refuse,
}

/// The preface sniff of one connection: how much of it has matched, and
/// since when. The caller keeps the bytes; the sniff never consumes them.
#[derive(Clone, Debug)]
pub struct PrefaceSniff {
    seen: usize,
    since: Option<Instant>,
    refuse_h1: bool,
}

impl PrefaceSniff {
    /// Looks at all the bytes the connection has so far (`buffered`, from
    /// its first byte), received by `now`.
    pub fn feed(&mut self, buffered: &[u8], now: Instant) -> Sniffed {
        if buffered.is_empty() {
            return Sniffed::NeedMore;
        }
        let since = *self.since.get_or_insert(now);
        let n = buffered.len().min(PREFACE.len());
        if buffered[..n] != PREFACE[..n] {
            return self.mismatch();
        }
        self.seen = n;
        if n == PREFACE.len() {
            Sniffed::Http2
        } else if now.saturating_since(since) >= PREFACE_TIMEOUT {
            self.mismatch()
        } else {
            Sniffed::NeedMore
        }
    }

    /// The bytes stopped coming (EOF) or the deadline passed at `now`.
    pub fn timed_out(&mut self, now: Instant) -> Option<Sniffed> {
        let since = self.since?;
        (now.saturating_since(since) >= PREFACE_TIMEOUT).then(|| self.mismatch())
    }

    /// When the preface's budget runs out, once its first byte came.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.since.map(|s| s + PREFACE_TIMEOUT)
    }

    /// How many bytes of the preface have matched.
    pub fn matched(&self) -> usize {
        self.seen
    }

    fn mismatch(&self) -> Sniffed {
        if self.refuse_h1 {
            Sniffed::Refuse
        } else {
            Sniffed::Http1
        }
    }
}

/// base64url as RFC 7540 §3.2.1 writes `HTTP2-Settings`: no padding, but
/// padding tolerated (gunicorn pads before decoding).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The decoded SETTINGS payload of a well-formed `Upgrade: h2c` request,
/// `None` for any other request (rule 6).
pub fn upgrade_settings(head: &RequestHead) -> Option<Vec<u8>> {
    if head.version() != (1, 1) {
        return None;
    }
    let mut upgrade = None;
    let mut settings = None;
    let mut settings_count = 0;
    let mut connection_upgrade = false;
    let mut connection_settings = false;
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade = Some(value.trim_ascii());
        } else if name.eq_ignore_ascii_case(b"http2-settings") {
            settings = Some(value.trim_ascii());
            settings_count += 1;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                connection_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
                connection_settings |= token.eq_ignore_ascii_case(b"http2-settings");
            }
        }
    }
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case(b"h2c"))
        || settings_count != 1
        || !(connection_upgrade && connection_settings)
    {
        return None;
    }
    match head.body() {
        BodyKind::Length(n) if n > UPGRADE_BODY_LIMIT => return None,
        BodyKind::Chunked => return None,
        _ => {}
    }
    let payload = BASE64URL.decode(settings?).ok()?;
    settings_valid(&payload).then_some(payload)
}

/// A SETTINGS payload whose values RFC 9113 §6.5.2 allows.
fn settings_valid(payload: &[u8]) -> bool {
    if !payload.len().is_multiple_of(6) {
        return false;
    }
    payload.chunks_exact(6).all(|entry| {
        let id = u16::from_be_bytes([entry[0], entry[1]]);
        let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
        match id {
            0x2 => value <= 1,
            0x4 => value <= 0x7fff_ffff,
            0x5 => (16_384..=16_777_215).contains(&value),
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests;
