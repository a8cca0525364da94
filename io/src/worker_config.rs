//! What a worker's event loop is configured with, whatever its class:
//! the lifecycle, the HTTP/1 decoder, timeouts, TLS, and whom it trusts.

use std::time::Duration;

use rcorn_core::http::forwarded::{SchemePolicy, TrustedPeers};
use rcorn_core::http::proxy_protocol::ProxyMode;
use rcorn_core::http::{DecoderConfig, Timeouts};
use rcorn_core::worker::WorkerSettings;

use crate::access::AccessLogger;

pub struct WorkerConfig {
    pub lifecycle: WorkerSettings,
    pub decoder: DecoderConfig,
    pub server_header: Vec<u8>,
    /// Socket timeout while a request is being served.
    pub io_timeout: Duration,
    /// How long a client may take to send a complete request head.
    pub head_timeout: Duration,
    pub access_log: Option<AccessLogger>,
    /// Which peers' `X-Forwarded-Proto` and the like set the scheme.
    pub scheme_policy: SchemePolicy,
    /// Which peers may start with a PROXY protocol preamble.
    pub proxy: ProxyPolicy,
    /// `--certfile`: every connection speaks TLS.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// `--protocol uwsgi`: connections speak uwsgi, and only these peers
    /// (`uwsgi_allow_ips`; unix-socket peers always) are served.
    pub uwsgi: Option<TrustedPeers>,
    /// HTTP/2, when the worker class serves it; `None`: every connection
    /// speaks HTTP/1.1.
    pub h2: Option<H2Serving>,
}

/// How a worker that serves HTTP/2 chooses it, and the machine's limits.
#[derive(Clone, Debug)]
pub struct H2Serving {
    pub negotiation: rcorn_core::http::negotiate::Negotiation,
    pub config: rcorn_core::http::h2::H2Config,
}

impl WorkerConfig {
    /// How long a connection may wait on its client.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            head: self.head_timeout,
            idle: self.lifecycle.keepalive,
            body: self.io_timeout,
        }
    }
}

/// `proxy_protocol` and `proxy_allow_ips`.
#[derive(Clone, Debug)]
pub struct ProxyPolicy {
    pub mode: ProxyMode,
    pub allowed: TrustedPeers,
}

impl Default for ProxyPolicy {
    fn default() -> Self {
        ProxyPolicy {
            mode: ProxyMode::Off,
            allowed: TrustedPeers::default(),
        }
    }
}
