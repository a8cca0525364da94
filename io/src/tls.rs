//! TLS (`--certfile`, `--keyfile`, `--ca-certs`, `--cert-reqs`,
//! `--ciphers`) with rustls, over the same non-blocking sockets as plain connections.
//!
//! A [`TlsStream`] reads and writes plaintext like a socket does and keeps
//! its non-blocking contract: `WouldBlock` means "wait for the socket and
//! call again". Records rustls could not write yet stay in rustls and are
//! pushed out before any new plaintext is taken, so a client that does not
//! read never makes the server buffer more than one write's worth.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

/// A server configuration, shared by every connection of every worker.
pub type TlsConfig = Arc<ServerConfig>;

/// The TLS settings, as gunicorn names them.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    pub certfile: String,
    /// `None`: the key is in the certificate file.
    pub keyfile: Option<String>,
    pub ca_certs: Option<String>,
    /// 0: no client certificate asked, 1: optional, 2: required.
    pub cert_reqs: i64,
    /// An OpenSSL cipher list (`--ciphers`); `None`: rustls's defaults.
    pub ciphers: Option<String>,
    /// ALPN protocols offered, preferred first (core's
    /// `Negotiation::alpn_protocols`); empty: `http/1.1` alone.
    pub alpn: Vec<Vec<u8>>,
}

/// Builds the server configuration. Errors name the setting and file.
pub fn server_config(settings: &TlsSettings) -> Result<TlsConfig, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&settings.certfile)
        .and_then(|certs| certs.collect())
        .map_err(|e| {
            format!(
                "certfile: cannot read certificates from '{}': {e}",
                settings.certfile
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "certfile: no certificate in '{}'",
            settings.certfile
        ));
    }
    let (key_setting, key_path) = match &settings.keyfile {
        Some(path) => ("keyfile", path.as_str()),
        None => ("certfile", settings.certfile.as_str()),
    };
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| format!("{key_setting}: cannot read a private key from '{key_path}': {e}"))?;
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(list) = &settings.ciphers {
        let algorithm = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| format!("{key_setting}: '{key_path}': {e}"))?
            .algorithm();
        provider = crate::tls_ciphers::choose(provider, list, algorithm)?;
    }
    // Only the versions some chosen suite can serve.
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS13, &rustls::version::TLS12]
            .into_iter()
            .filter(|v| provider.cipher_suites.iter().any(|s| s.version() == *v))
            .collect();
    let provider = Arc::new(provider);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match (settings.cert_reqs, &settings.ca_certs) {
        (0, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err("cert_reqs: client certificates need --ca-certs to verify them".into())
        }
        (reqs, Some(ca_path)) => {
            let mut roots = RootCertStore::empty();
            let file = File::open(ca_path)
                .map_err(|e| format!("ca_certs: cannot open '{ca_path}': {e}"))?;
            for cert in CertificateDer::pem_reader_iter(BufReader::new(file)) {
                let cert = cert.map_err(|e| format!("ca_certs: '{ca_path}': {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_certs: '{ca_path}': {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if reqs == 1 {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| format!("ca_certs: '{ca_path}': {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("certfile/keyfile: {e}"))?;
    // rustls picks the first of these the client also offers: the
    // server's order, which is `http_protocols`'.
    config.alpn_protocols = if settings.alpn.is_empty() {
        vec![b"http/1.1".to_vec()]
    } else {
        settings.alpn.clone()
    };
    // The server's order of suites wins, with or without --ciphers:
    // Python's ssl.SSLContext, which gunicorn serves through, sets
    // OP_CIPHER_SERVER_PREFERENCE by default (since Python 3.6).
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// The first certificate of `certfile` (DER): the server's own, which the
/// ASGI `tls` extension shows the application.
pub fn server_certificate(certfile: &str) -> Result<Vec<u8>, String> {
    let first = CertificateDer::pem_file_iter(certfile)
        .map_err(|e| e.to_string())
        .and_then(|mut certs| certs.next().transpose().map_err(|e| e.to_string()));
    match first {
        Ok(Some(cert)) => Ok(cert.as_ref().to_vec()),
        Ok(None) => Err(format!("certfile: no certificate in '{certfile}'")),
        Err(e) => Err(format!(
            "certfile: cannot read certificates from '{certfile}': {e}"
        )),
    }
}

/// A connection's negotiated TLS parameters.
#[derive(Clone, Debug, Default)]
pub struct TlsSession {
    /// The protocol's code point (`0x0304` for TLS 1.3).
    pub version: Option<u16>,
    /// The cipher suite's IANA code point.
    pub cipher_suite: Option<u16>,
    /// The client's certificates (DER), its own first; empty without one.
    pub client_chain: Vec<Vec<u8>>,
}

/// A TLS connection over a plain one: any non-blocking byte stream (the
/// server's is `stream::Stream`, which holds this in turn).
pub struct TlsStream<S> {
    tls: ServerConnection,
    inner: S,
}

impl<S: Read + Write> TlsStream<S> {
    pub fn new(config: Arc<ServerConfig>, inner: S) -> io::Result<TlsStream<S>> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream { tls, inner })
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// What was negotiated, for the ASGI `tls` scope extension.
    pub fn session(&self) -> TlsSession {
        TlsSession {
            version: self.tls.protocol_version().map(u16::from),
            cipher_suite: self
                .tls
                .negotiated_cipher_suite()
                .map(|s| u16::from(s.suite())),
            client_chain: self
                .tls
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
                .unwrap_or_default(),
        }
    }

    /// The protocol the client chose by ALPN, once the handshake has
    /// got that far.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls.alpn_protocol()
    }

    /// Whether the handshake is still going on.
    pub fn handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// Writes out the records rustls holds, as far as the socket takes them.
    fn push_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.inner) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `Ok(())` once every record is on the socket; `WouldBlock` while some
    /// wait for room.
    pub fn drain(&mut self) -> io::Result<()> {
        self.push_records()?;
        if self.tls.wants_write() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }

    /// Sends close_notify, as far as the socket takes it now; the caller
    /// then ends the socket's writing side.
    pub fn send_close_notify(&mut self) {
        self.tls.send_close_notify();
        let _ = self.push_records();
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // A peer gone without close_notify: an end like any other
                // (gunicorn's suppress_ragged_eofs, on by default).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Handshake replies go out before waiting for more.
            self.push_records()?;
            match self.tls.read_tls(&mut self.inner) {
                Ok(0) => {
                    // The socket ended: let rustls say whether cleanly.
                    let _ = self.tls.process_new_packets();
                    return match self.tls.reader().read(buf) {
                        Ok(n) => Ok(n),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                        Err(e) => Err(e),
                    };
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // Tell the client why (an alert) before closing.
                let _ = self.push_records();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Records from the last write first: while they wait for room, no
        // new plaintext is taken.
        self.drain()?;
        let n = self.tls.writer().write(buf)?;
        self.push_records()?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
