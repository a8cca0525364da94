//! Which proxies are believed about the scheme, and what they say.

use std::net::IpAddr;

use rcorn_core::http::forwarded::{SchemePolicy, TrustedPeers};
use rcorn_core::http::{DecodeErrorKind, DecoderConfig, Event, RequestDecoder};

fn policy(trusted: &[&str]) -> SchemePolicy {
    SchemePolicy {
        trusted: TrustedPeers::parse(trusted).unwrap(),
        secure_headers: vec![
            ("X-FORWARDED-PROTOCOL".into(), "ssl".into()),
            ("X-FORWARDED-PROTO".into(), "https".into()),
            ("X-FORWARDED-SSL".into(), "on".into()),
        ],
    }
}

fn scheme(
    policy: &SchemePolicy,
    peer: Option<&str>,
    headers: &str,
) -> Result<Option<&'static str>, DecodeErrorKind> {
    let mut decoder = RequestDecoder::new(DecoderConfig::default());
    decoder.feed(format!("GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n").as_bytes());
    assert!(matches!(decoder.next_event(), Ok(Event::Head(_))));
    let peer = peer.map(|p| p.parse::<IpAddr>().unwrap());
    policy
        .scheme(peer, decoder.head().unwrap())
        .map_err(|e| e.kind())
}

#[test]
fn a_trusted_proxy_sets_the_scheme() {
    let p = policy(&["127.0.0.1", "10.0.0.0/8"]);
    assert_eq!(
        scheme(&p, Some("127.0.0.1"), "X-Forwarded-Proto: https\r\n"),
        Ok(Some("https"))
    );
    assert_eq!(
        scheme(&p, Some("10.1.2.3"), "x-forwarded-ssl: on\r\n"),
        Ok(Some("https"))
    );
    assert_eq!(
        scheme(&p, Some("10.1.2.3"), "X-Forwarded-Proto: http\r\n"),
        Ok(Some("http"))
    );
    // IPv4 seen through a dual-stack socket.
    assert_eq!(
        scheme(&p, Some("::ffff:127.0.0.1"), "X-Forwarded-Proto: https\r\n"),
        Ok(Some("https"))
    );
    // A unix-socket peer is local, hence trusted.
    assert_eq!(
        scheme(&p, None, "X-Forwarded-Proto: https\r\n"),
        Ok(Some("https"))
    );
    assert_eq!(scheme(&p, Some("127.0.0.1"), ""), Ok(None));
}

#[test]
fn an_untrusted_peer_is_not_believed() {
    let p = policy(&["127.0.0.1"]);
    assert_eq!(
        scheme(&p, Some("192.168.1.9"), "X-Forwarded-Proto: https\r\n"),
        Ok(None)
    );
    assert_eq!(
        scheme(
            &p,
            Some("11.0.0.1"),
            "X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n"
        ),
        Ok(None)
    );
    let any = policy(&["*"]);
    assert_eq!(
        scheme(&any, Some("192.168.1.9"), "X-Forwarded-Proto: https\r\n"),
        Ok(Some("https"))
    );
}

#[test]
fn contradictory_headers_are_rejected_with_400() {
    let p = policy(&["*"]);
    let got = scheme(
        &p,
        Some("127.0.0.1"),
        "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n",
    );
    assert_eq!(got, Err(DecodeErrorKind::InvalidSchemeHeaders));
    // Agreeing headers are fine.
    let got = scheme(
        &p,
        Some("127.0.0.1"),
        "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n",
    );
    assert_eq!(got, Ok(Some("https")));
}

#[test]
fn bad_entries_are_named() {
    let err = TrustedPeers::parse(&["127.0.0.1", "10.0.0.1/8"]).unwrap_err();
    assert!(err.contains("10.0.0.1/8"), "{err}");
}
