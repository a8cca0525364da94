//! `--ciphers` for rustls: the crypto provider offering the suites the
//! cipher list chose (read by `rcorn_core::cipher_list`), in its order.

use rustls::crypto::CryptoProvider;
use rustls::{SignatureAlgorithm, SupportedCipherSuite};

use rcorn_core::cipher_list::{self, CipherList};

/// Narrows `provider` to the suites `list` chooses, in its order (which
/// the server prefers over the client's, see `tls::server_config`). `key` is the
/// certificate key's algorithm: TLS 1.2 suites named for another key type
/// alone would fail every TLS 1.2 handshake, so that is an error. Errors
/// and warnings are one line naming `--ciphers` and the list.
pub fn choose(
    mut provider: CryptoProvider,
    list: &str,
    key: SignatureAlgorithm,
) -> Result<CryptoProvider, String> {
    let fail = |why: String| format!("--ciphers '{list}': {why}");
    let parsed = cipher_list::parse(list).map_err(fail)?;
    let offered: Vec<(u16, bool)> = provider
        .cipher_suites
        .iter()
        .map(|s| (u16::from(s.suite()), s.tls13().is_some()))
        .collect();
    let choice = parsed.choose(&offered).map_err(fail)?;
    warn_about_the_rest(list, &parsed, &choice.missing);

    let by_code = |code: u16| {
        provider
            .cipher_suites
            .iter()
            .copied()
            .find(|s| u16::from(s.suite()) == code)
    };
    let suites: Vec<SupportedCipherSuite> =
        choice.suites.iter().filter_map(|&c| by_code(c)).collect();
    let named_tls12 = parsed.selected.iter().any(|s| !s.tls13);
    let tls12_usable = suites
        .iter()
        .any(|s| s.tls13().is_none() && s.usable_for_signature_algorithm(key));
    if named_tls12 && !tls12_usable {
        return Err(fail(format!(
            "none of its TLS 1.2 suites works with the certificate's {key:?} key"
        )));
    }
    provider.cipher_suites = suites;
    Ok(provider)
}

fn warn_about_the_rest(list: &str, parsed: &CipherList, missing: &[&cipher_list::Suite]) {
    if !parsed.keywords.is_empty() {
        crate::warning!(
            "--ciphers '{list}': ignored {} (rustls has no equivalent; suite names select, else rustls's safe defaults stand)",
            parsed.keywords.join(", ")
        );
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.openssl).collect();
        crate::warning!(
            "--ciphers '{list}': rustls does not implement {}: skipped",
            names.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    fn names(chosen: &CryptoProvider) -> Vec<String> {
        chosen
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect()
    }

    #[test]
    fn named_tls12_suites_in_order_after_rustls_tls13_ones() {
        let chosen = choose(
            ring(),
            "ECDHE-RSA-CHACHA20-POLY1305:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            SignatureAlgorithm::RSA,
        )
        .unwrap();
        assert_eq!(
            names(&chosen),
            [
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ]
        );
    }

    #[test]
    fn keywords_alone_leave_the_provider_as_it_was() {
        let chosen = choose(ring(), "HIGH:!aNULL", SignatureAlgorithm::ECDSA).unwrap();
        assert_eq!(chosen.cipher_suites, ring().cipher_suites);
    }

    #[test]
    fn errors_name_the_setting_and_the_list() {
        let e = choose(ring(), "DHE-RSA-AES128-GCM-SHA256", SignatureAlgorithm::RSA)
            .err()
            .unwrap();
        assert!(
            e.starts_with("--ciphers 'DHE-RSA-AES128-GCM-SHA256': "),
            "{e}"
        );
        let e = choose(
            ring(),
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            SignatureAlgorithm::RSA,
        )
        .err()
        .unwrap();
        assert!(e.contains("RSA key"), "{e}");
        assert!(choose(ring(), "BOGUS", SignatureAlgorithm::RSA).is_err());
    }
}
