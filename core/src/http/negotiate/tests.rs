use std::time::Duration;

use super::*;
use crate::http::{DecoderConfig, Event, RequestDecoder};

fn protocols(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// The upgrade verdict on a request given as HTTP/1 bytes.
fn upgrade(request: &str) -> Option<Vec<u8>> {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.feed(request.as_bytes());
    match decoder.next_event() {
        Ok(Event::Head(head)) => upgrade_settings(head),
        other => panic!("not a head: {other:?}"),
    }
}

const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n\
    Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";

#[test]
fn alpn_follows_http_protocols_and_always_ends_in_http11() {
    let n = Negotiation::new(&protocols(&["h2", "h1"]), "off", true);
    assert_eq!(n.alpn_protocols(), [b"h2".to_vec(), b"http/1.1".to_vec()]);
    let n = Negotiation::new(&protocols(&["h1", "h2"]), "off", true);
    assert_eq!(n.alpn_protocols(), [b"http/1.1".to_vec(), b"h2".to_vec()]);
    let n = Negotiation::new(&protocols(&["h2"]), "off", true);
    assert_eq!(n.alpn_protocols(), [b"h2".to_vec(), b"http/1.1".to_vec()]);
    let n = Negotiation::new(&protocols(&["h3", "h1"]), "off", true);
    assert_eq!(n.alpn_protocols(), [b"http/1.1".to_vec()]);
}

#[test]
fn a_worker_that_cannot_serve_h2_never_offers_it() {
    let n = Negotiation::new(&protocols(&["h2", "h1"]), "both", false);
    assert!(!n.offers_h2());
    assert_eq!(n.alpn_protocols(), [b"http/1.1".to_vec()]);
    assert_eq!(n.after_alpn(Some(b"h2")), Protocol::Http1);
    assert_eq!(n.start(false, false, true), Start::Http1);
    assert!(!n.upgrade_allowed(false, false, true));
}

#[test]
fn alpn_result_decides_over_tls() {
    let n = Negotiation::new(&protocols(&["h2", "h1"]), "off", true);
    assert_eq!(n.after_alpn(Some(b"h2")), Protocol::Http2);
    assert_eq!(n.after_alpn(Some(b"http/1.1")), Protocol::Http1);
    assert_eq!(n.after_alpn(None), Protocol::Http1);
    let h1_only = Negotiation::new(&protocols(&["h1"]), "off", true);
    assert_eq!(h1_only.after_alpn(Some(b"h2")), Protocol::Http1);
}

#[test]
fn cleartext_needs_its_mode_a_trusted_peer_a_plain_http_listener() {
    let p = protocols(&["h2", "h1"]);
    let prior = Negotiation::new(&p, "prior-knowledge", true);
    assert_eq!(prior.start(false, false, true), Start::Sniff);
    assert_eq!(prior.start(false, false, false), Start::Http1, "untrusted");
    assert_eq!(prior.start(true, false, true), Start::Http1, "TLS");
    assert_eq!(prior.start(false, true, true), Start::Http1, "uwsgi");
    assert!(
        !prior.upgrade_allowed(false, false, true),
        "one mechanism only"
    );
    let up = Negotiation::new(&p, "upgrade", true);
    assert_eq!(up.start(false, false, true), Start::Http1);
    assert!(up.upgrade_allowed(false, false, true));
    assert!(!up.upgrade_allowed(false, false, false));
    let both = Negotiation::new(&p, "both", true);
    assert_eq!(both.start(false, false, true), Start::Sniff);
    assert!(both.upgrade_allowed(false, false, true));
    let off = Negotiation::new(&p, "off", true);
    assert_eq!(off.start(false, false, true), Start::Http1);
    assert!(!off.upgrade_allowed(false, false, true));
    let no_h2 = Negotiation::new(&protocols(&["h1"]), "both", true);
    assert_eq!(no_h2.start(false, false, true), Start::Http1);
}

#[test]
fn the_preface_matches_however_it_is_split() {
    let n = Negotiation::new(&protocols(&["h2", "h1"]), "both", true);
    for cut in 0..PREFACE.len() {
        let mut sniff = n.sniff();
        let first = sniff.feed(&PREFACE[..cut], at(0));
        assert_eq!(first, Sniffed::NeedMore, "cut at {cut}");
        assert_eq!(sniff.feed(PREFACE, at(10)), Sniffed::Http2);
    }
    let mut with_frames = n.sniff();
    let mut bytes = PREFACE.to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    assert_eq!(with_frames.feed(&bytes, at(0)), Sniffed::Http2);
    assert_eq!(with_frames.matched(), PREFACE.len());
}

#[test]
fn a_differing_byte_is_http1_at_once_or_refused_for_prior_knowledge_only() {
    let p = protocols(&["h2", "h1"]);
    let mut both = Negotiation::new(&p, "both", true).sniff();
    assert_eq!(both.feed(b"PRI * HTTP/1.1\r\n", at(0)), Sniffed::Http1);
    let mut get = Negotiation::new(&p, "both", true).sniff();
    assert_eq!(get.feed(b"G", at(0)), Sniffed::Http1);
    let mut prior = Negotiation::new(&p, "prior-knowledge", true).sniff();
    assert_eq!(prior.feed(b"GET / HTTP/1.1\r\n", at(0)), Sniffed::Refuse);
}

#[test]
fn the_preface_has_one_budget_from_its_first_byte() {
    let n = Negotiation::new(&protocols(&["h2", "h1"]), "both", true);
    let mut sniff = n.sniff();
    assert_eq!(sniff.next_deadline(), None, "no deadline before a byte");
    assert_eq!(sniff.timed_out(at(5_000)), None);
    assert_eq!(sniff.feed(b"P", at(100)), Sniffed::NeedMore);
    assert_eq!(sniff.next_deadline(), Some(at(100) + PREFACE_TIMEOUT));
    // Trickled bytes do not extend the budget.
    assert_eq!(sniff.feed(b"PR", at(900)), Sniffed::NeedMore);
    assert_eq!(sniff.timed_out(at(1_099)), None);
    assert_eq!(sniff.timed_out(at(1_100)), Some(Sniffed::Http1));
    assert_eq!(sniff.feed(b"PRI", at(1_100)), Sniffed::Http1);
    let mut prior = Negotiation::new(&protocols(&["h2"]), "prior-knowledge", true).sniff();
    prior.feed(b"PRI", at(0));
    assert_eq!(
        prior.timed_out(at(0) + PREFACE_TIMEOUT + Duration::from_millis(1)),
        Some(Sniffed::Refuse)
    );
}

#[test]
fn a_well_formed_upgrade_gives_its_settings() {
    assert_eq!(
        upgrade(UPGRADE),
        Some(vec![0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 255, 255])
    );
    let empty = UPGRADE.replace("AAMAAABkAAQAAP__", "");
    assert_eq!(
        upgrade(&empty),
        Some(Vec::new()),
        "no settings at all is valid"
    );
}

#[test]
fn a_malformed_upgrade_is_ignored() {
    let cases = [
        UPGRADE.replace("Upgrade: h2c", "Upgrade: websocket"),
        UPGRADE.replace("Upgrade, HTTP2-Settings", "Upgrade"),
        UPGRADE.replace("Upgrade, HTTP2-Settings", "HTTP2-Settings"),
        UPGRADE.replace("HTTP/1.1", "HTTP/1.0"),
        UPGRADE.replace("\r\n\r\n", "\r\nHTTP2-Settings: AAMAAABk\r\n\r\n"),
        UPGRADE.replace("HTTP2-Settings: AAMAAABkAAQAAP__\r\n", ""),
        // Not base64url, a partial entry, ENABLE_PUSH 2, a tiny frame size.
        UPGRADE.replace("AAMAAABkAAQAAP__", "AAMAAABkAAQAAP//"),
        UPGRADE.replace("AAMAAABkAAQAAP__", "AAMAAABk_w"),
        UPGRADE.replace("AAMAAABkAAQAAP__", "AAIAAAAC"),
        UPGRADE.replace("AAMAAABkAAQAAP__", "AAUAAAAB"),
        UPGRADE.replace("\r\n\r\n", "\r\nContent-Length: 65537\r\n\r\n"),
        UPGRADE.replace("\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ];
    for case in &cases {
        assert_eq!(upgrade(case), None, "{case:?}");
    }
    let small_body = UPGRADE.replace("\r\n\r\n", "\r\nContent-Length: 65536\r\n\r\n");
    assert!(upgrade(&small_body).is_some());
}

#[test]
fn cleartext_mode_reads_the_checked_setting() {
    assert_eq!(Cleartext::from_setting("off"), Cleartext::Off);
    assert_eq!(
        Cleartext::from_setting("prior-knowledge"),
        Cleartext::PriorKnowledge
    );
    assert_eq!(Cleartext::from_setting("upgrade"), Cleartext::Upgrade);
    assert_eq!(Cleartext::from_setting("both"), Cleartext::Both);
}
