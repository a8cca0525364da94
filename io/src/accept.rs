//! Taking connections: the listeners a worker polls, registered only while
//! its lifecycle accepts, and each accepted socket made into an HTTP/1
//! [`Connection`] (TLS when configured, and what its peer is trusted with:
//! a PROXY preamble, forwarder headers). Every worker loop (sync, gthread,
//! asgi) takes its connections through here.

use std::io;

use mio::{Interest, Registry, Token};
use rcorn_core::http::h1::ServerConnection;
use rcorn_core::http::negotiate::Start;
use rcorn_core::http::proxy_protocol::ProxyMode;

use crate::exchange::{Connection, ServerAddr};
use crate::listener::{BindAddress, Listener, MioListener};
use crate::stream::{PeerAddr, Stream};
use crate::worker_config::WorkerConfig;

struct ListenerEntry {
    listener: MioListener,
    server: ServerAddr,
    registered: bool,
}

/// A worker's listeners; listener `i` polls as `Token(first_token + i)`.
pub struct Listeners {
    entries: Vec<ListenerEntry>,
    first_token: usize,
}

/// What one try at accepting gave.
pub enum Accepted {
    /// A client, and what its listener tells the application.
    Client(Stream, PeerAddr, ServerAddr),
    /// Interrupted: try again.
    Retry,
    /// Nothing more now (the queue is empty, or an error to retry on the
    /// next wake rather than spin on: EMFILE and friends, logged).
    Done,
}

impl Listeners {
    pub fn new(listeners: Vec<Listener>, first_token: usize) -> io::Result<Listeners> {
        let mut entries = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let server = server_addr(&listener);
            entries.push(ListenerEntry {
                listener: listener.into_mio()?,
                server,
                registered: false,
            });
        }
        Ok(Listeners {
            entries,
            first_token,
        })
    }

    /// The listener a token stands for.
    pub fn index_of(&self, token: Token) -> Option<usize> {
        let i = token.0.checked_sub(self.first_token)?;
        (i < self.entries.len()).then_some(i)
    }

    /// Registers the listeners (`on`) or takes them out of the poll, so a
    /// worker that stops accepting leaves new clients to the others.
    pub fn set_accepting(&mut self, registry: &Registry, on: bool) -> io::Result<()> {
        for (i, entry) in self.entries.iter_mut().enumerate() {
            if entry.registered == on {
                continue;
            }
            let source: &mut dyn mio::event::Source = match &mut entry.listener {
                MioListener::Tcp(l) => l,
                MioListener::Unix(l) => l,
            };
            if on {
                registry.register(source, Token(self.first_token + i), Interest::READABLE)?;
            } else {
                registry.deregister(source)?;
            }
            entry.registered = on;
        }
        Ok(())
    }

    /// Accepts one client from listener `index`.
    pub fn accept(&mut self, index: usize) -> Accepted {
        let Some(entry) = self.entries.get_mut(index) else {
            return Accepted::Done;
        };
        let accepted = match &mut entry.listener {
            MioListener::Tcp(l) => l
                .accept()
                .map(|(s, addr)| (Stream::Tcp(s), PeerAddr::Ip(addr))),
            MioListener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), PeerAddr::Unix)),
        };
        match accepted {
            Ok((stream, peer)) => Accepted::Client(stream, peer, entry.server.clone()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Accepted::Done,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Accepted::Retry,
            Err(e) => {
                crate::warning!("accept() failed: {e}");
                Accepted::Done
            }
        }
    }
}

/// The accepted socket as an HTTP/1 (or uwsgi) connection, or `None` when its TLS
/// session could not start (logged; the socket is closed).
pub fn open_connection(
    cfg: &WorkerConfig,
    stream: Stream,
    peer: PeerAddr,
    server: ServerAddr,
) -> Option<Box<Connection>> {
    stream.set_nodelay();
    let stream = match &cfg.tls {
        Some(config) => match crate::tls::TlsStream::new(config.clone(), stream) {
            Ok(tls) => Stream::Tls(Box::new(tls)),
            Err(e) => {
                crate::warning!("TLS session could not start: {e}");
                return None;
            }
        },
        None => stream,
    };
    let mut http = ServerConnection::new(cfg.decoder.clone(), &cfg.server_header, cfg.timeouts());
    if let Some(allowed) = &cfg.uwsgi {
        http.speak_uwsgi(allowed.trusts(peer.ip()));
    }
    if cfg.proxy.mode != ProxyMode::Off && cfg.proxy.allowed.trusts(peer.ip()) {
        http.expect_proxy_preamble(cfg.proxy.mode);
    }
    // Only `header_map = refuse` asks the decoder about forwarder headers;
    // the environ decides on them otherwise.
    if cfg.decoder.refuse_underscore_headers && cfg.scheme_policy.trusted.trusts(peer.ip()) {
        http.trust_forwarder_headers();
    }
    let sniff = cfg.h2.as_ref().and_then(|h2| {
        let trusted = cfg.scheme_policy.trusted.trusts(peer.ip());
        let start = h2
            .negotiation
            .start(cfg.tls.is_some(), cfg.uwsgi.is_some(), trusted);
        (start == Start::Sniff).then(|| h2.negotiation.sniff())
    });
    Some(Box::new(Connection {
        stream,
        http,
        out: Vec::with_capacity(4096),
        peer,
        via: None,
        log_fields: Default::default(),
        socket_drained: false,
        sniff,
        upgrade: None,
        server,
    }))
}

/// What the listener a connection came from tells the application.
fn server_addr(listener: &Listener) -> ServerAddr {
    match (&listener.address, listener.local_addr()) {
        (BindAddress::Unix(path), _) => ServerAddr {
            name: path.display().to_string(),
            port: String::new(),
            unix: true,
        },
        (_, Some(addr)) => ServerAddr {
            name: addr.ip().to_string(),
            port: addr.port().to_string(),
            unix: false,
        },
        (_, None) => ServerAddr {
            name: String::new(),
            port: String::new(),
            unix: true,
        },
    }
}
