use super::*;

/// What rustls with ring offers, in its order.
const RING: &[(u16, bool)] = &[
    (0x1302, true),
    (0x1301, true),
    (0x1303, true),
    (0xC02C, false),
    (0xC02B, false),
    (0xCCA9, false),
    (0xC030, false),
    (0xC02F, false),
    (0xCCA8, false),
];
const RING_TLS13: &[u16] = &[0x1302, 0x1301, 0x1303];

fn codes(list: &CipherList) -> Vec<u16> {
    list.selected.iter().map(|s| s.code).collect()
}

fn chosen(list: &str) -> Result<Vec<u16>, String> {
    Ok(parse(list)?.choose(RING)?.suites)
}

#[test]
fn openssl_and_iana_names_name_the_same_suites() {
    assert_eq!(
        suite_named("ECDHE-RSA-AES128-GCM-SHA256"),
        suite_named("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(
        suite_named("ECDHE-ECDSA-CHACHA20-POLY1305").map(|s| s.code),
        Some(0xCCA9)
    );
    assert_eq!(
        suite_named("ecdhe-rsa-aes256-gcm-sha384").map(|s| s.code),
        Some(0xC030)
    );
    assert_eq!(
        suite_named("TLS_AES_128_GCM_SHA256").map(|s| s.tls13),
        Some(true)
    );
    assert_eq!(suite_named("ECDHE-RSA-AES999-GCM-SHA256"), None);
}

#[test]
fn every_suite_has_distinct_names_and_code() {
    for (i, a) in SUITES.iter().enumerate() {
        for b in &SUITES[i + 1..] {
            assert_ne!(a.code, b.code, "{} and {}", a.iana, b.iana);
            assert_ne!(a.openssl, b.openssl);
            assert_ne!(a.iana, b.iana);
        }
        assert_eq!(a.tls13, (0x1301..=0x1305).contains(&a.code), "{}", a.iana);
    }
}

#[test]
fn colons_commas_and_spaces_separate_and_order_is_kept_without_repeats() {
    let list =
        parse("ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256  ECDHE-ECDSA-AES256-GCM-SHA384")
            .unwrap();
    assert_eq!(codes(&list), [0xCCA8, 0xC02F, 0xC02C]);
    assert!(list.removed.is_empty() && list.keywords.is_empty());
}

#[test]
fn keywords_operators_and_directives_are_kept_as_written() {
    let list = parse("HIGH:!aNULL:-MD5:+RC4:ECDHE+AESGCM:@STRENGTH:@SECLEVEL=2:DEFAULT").unwrap();
    assert!(list.selected.is_empty() && list.removed.is_empty());
    assert_eq!(
        list.keywords,
        [
            "HIGH",
            "!aNULL",
            "-MD5",
            "+RC4",
            "ECDHE+AESGCM",
            "@STRENGTH",
            "@SECLEVEL=2",
            "DEFAULT"
        ]
    );
    let list = parse("DEFAULT@SECLEVEL=1:ECDHE-RSA-AES128-GCM-SHA256@STRENGTH").unwrap();
    assert_eq!(list.keywords, ["DEFAULT", "@SECLEVEL=1", "@STRENGTH"]);
    assert_eq!(codes(&list), [0xC02F]);
    // Mozilla's and OWASP's lists read without an error.
    assert!(parse(
        "EECDH+AESGCM:EDH+AESGCM:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA"
    )
    .is_ok());
    // A suite moved with `+` is reported, not selected.
    let list = parse("+ECDHE-RSA-AES128-GCM-SHA256").unwrap();
    assert_eq!(list.keywords, ["+ECDHE-RSA-AES128-GCM-SHA256"]);
}

#[test]
fn an_unknown_name_is_an_error_naming_it() {
    let e = parse("ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER").unwrap_err();
    assert!(e.contains("'NOT-A-CIPHER'"), "{e}");
    // Keywords are case-sensitive in OpenSSL, and so here.
    assert!(parse("high").unwrap_err().contains("'high'"));
    assert!(parse("!").is_err());
    assert!(parse("HIGH+NOPE").is_err());
    assert_eq!(parse(" : ,").unwrap(), CipherList::default());
}

#[test]
fn only_tls12_suites_named_keeps_the_tls13_defaults() {
    assert_eq!(
        chosen("ECDHE-RSA-AES128-GCM-SHA256").unwrap(),
        [RING_TLS13, &[0xC02F]].concat()
    );
    assert_eq!(
        chosen("ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384").unwrap(),
        [RING_TLS13, &[0xCCA8, 0xC030]].concat()
    );
}

#[test]
fn only_tls13_suites_named_keeps_the_tls12_defaults() {
    assert_eq!(
        chosen("TLS_CHACHA20_POLY1305_SHA256").unwrap(),
        [0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xC02F, 0xCCA8]
    );
}

#[test]
fn keywords_alone_keep_every_default() {
    let all: Vec<u16> = RING.iter().map(|o| o.0).collect();
    assert_eq!(chosen("HIGH:!aNULL:@STRENGTH").unwrap(), all);
    assert_eq!(chosen("").unwrap(), all);
}

#[test]
fn removals_apply_to_the_defaults_and_to_what_was_named() {
    assert_eq!(
        chosen("DEFAULT:!ECDHE-RSA-CHACHA20-POLY1305:-TLS_AES_256_GCM_SHA384").unwrap(),
        [0x1301, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xC02F]
    );
    assert_eq!(
        chosen(
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:!ECDHE-RSA-AES128-GCM-SHA256"
        )
        .unwrap(),
        [RING_TLS13, &[0xC030]].concat()
    );
}

#[test]
fn suites_rustls_lacks_are_skipped_and_reported() {
    let choice = parse("DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA")
        .unwrap()
        .choose(RING)
        .unwrap();
    assert_eq!(choice.suites, [RING_TLS13, &[0xC02F]].concat());
    let missing: Vec<&str> = choice.missing.iter().map(|s| s.openssl).collect();
    assert_eq!(missing, ["DHE-RSA-AES128-GCM-SHA256", "AES128-SHA"]);
}

#[test]
fn a_list_that_selects_nothing_usable_is_an_error() {
    let e = chosen("DHE-RSA-AES128-GCM-SHA256:AES128-SHA:HIGH").unwrap_err();
    assert!(e.contains("none"), "{e}");
    let every_default = RING
        .iter()
        .map(|o| format!("!{}", SUITES.iter().find(|s| s.code == o.0).unwrap().iana))
        .collect::<Vec<_>>()
        .join(":");
    assert!(chosen(&every_default)
        .unwrap_err()
        .contains("no cipher suite"));
}
