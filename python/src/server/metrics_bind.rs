//! `metrics_bind`: the metrics endpoint's listener, bound by the start-up
//! beside the server's own, so a port in use stops the start-up with the
//! setting named rather than leaving the master without it.

use std::net::ToSocketAddrs;

use rcorn_core::config::{Settings, Value};
use rcorn_io::listener::{self, BindAddress, BindOptions, Listener};

use crate::server::stop::Stop;

/// Connections waiting for the master to accept them; scrapes are few.
const BACKLOG: i32 = 64;

/// The bound listener; `None` when the setting is unset.
pub fn bind(settings: &Settings) -> Result<Option<Listener>, Stop> {
    let Some(Value::Str(text)) = settings.get("metrics_bind") else {
        return Ok(None);
    };
    let fail = |why: String| Stop::Startup(format!("metrics_bind: {text}: {why}"));
    let (host, port) = rcorn_core::metrics::address::parse(text).map_err(&fail)?;
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address for this name".into()))?;
    // SO_REUSEPORT: the new master of a USR2 upgrade binds it too while
    // the old one still serves it.
    let opts = BindOptions {
        backlog: BACKLOG,
        reuse_port: true,
    };
    listener::open(&BindAddress::Tcp(addr), &opts)
        .map(Some)
        .map_err(|e| fail(e.desc().to_owned()))
}
