//! The master's listening sockets: those an upgrading master or systemd
//! passed, else one per `--bind` address, retried while the address is in
//! use, as gunicorn does.

use std::time::Duration;

use rcorn_core::config::Settings;
use rcorn_io::listener::{self, BindAddress, BindOptions, Listener};

use crate::server::privileges::Identity;
use crate::server::stop::Stop;

/// gunicorn tries to bind this many times, a second apart.
const BIND_ATTEMPTS: u32 = 5;

pub fn bind_all(settings: &Settings, identity: &Identity) -> Result<Vec<Listener>, Stop> {
    let opts = BindOptions {
        backlog: settings.backlog() as i32,
        reuse_port: settings.reuse_port(),
    };
    // Sockets handed over by an upgrading master (USR2) or by systemd's
    // socket activation replace the bind setting.
    let (inherited, from) = match rcorn_io::reexec::inherited_fds() {
        fds if !fds.is_empty() => (fds, "the upgrading master"),
        _ => (rcorn_io::systemd::listen_fds(), "systemd"),
    };
    if !inherited.is_empty() {
        return inherited
            .into_iter()
            .map(|fd| {
                listener::open(&BindAddress::Fd(fd), &opts).map_err(|errno| {
                    Stop::Startup(format!(
                        "socket fd://{fd} from {from} is not usable: {}",
                        errno.desc()
                    ))
                })
            })
            .collect();
    }
    let mut listeners = Vec::new();
    for text in settings.bind() {
        let address = BindAddress::parse(text).map_err(|e| Stop::Config(format!("bind: {e}")))?;
        listeners.push(bind_with_retries(
            text, &address, &opts, settings, identity,
        )?);
    }
    Ok(listeners)
}

/// Binds `address`, trying again a second later while it is in use.
fn bind_with_retries(
    text: &str,
    address: &BindAddress,
    opts: &BindOptions,
    settings: &Settings,
    identity: &Identity,
) -> Result<Listener, Stop> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let errno = match open_listener(address, opts, settings, identity) {
            Ok(l) => return Ok(l),
            Err(errno) => errno,
        };
        if errno == nix::errno::Errno::EADDRINUSE {
            rcorn_io::error!("Connection in use: {text}");
        } else {
            rcorn_io::error!("Invalid address or cannot bind {text}: {}", errno.desc());
        }
        if errno != nix::errno::Errno::EADDRINUSE || attempt >= BIND_ATTEMPTS {
            return Err(Stop::Startup(format!("Can't connect to {text}")));
        }
        rcorn_io::error!("Retrying in 1 second.");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Opens one listener; a unix socket is created under `--umask` and given
/// to the workers' user and group, as gunicorn does.
fn open_listener(
    address: &BindAddress,
    opts: &BindOptions,
    settings: &Settings,
    identity: &Identity,
) -> nix::Result<Listener> {
    let BindAddress::Unix(path) = address else {
        return listener::open(address, opts);
    };
    let mask = nix::sys::stat::Mode::from_bits_truncate(settings.umask());
    let previous = nix::sys::stat::umask(mask);
    let opened = listener::open(address, opts);
    nix::sys::stat::umask(previous);
    let listener = opened?;
    if identity.uid() != nix::unistd::Uid::effective()
        || identity.gid() != nix::unistd::Gid::effective()
    {
        nix::unistd::chown(path.as_path(), Some(identity.uid()), Some(identity.gid()))?;
    }
    Ok(listener)
}
