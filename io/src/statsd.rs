//! The statsd client (`--statsd-host`): one connected datagram socket,
//! made in the master before the workers fork, so every process sends on it.
//!
//! Sending never waits and never fails a request: a datagram that cannot go
//! now is dropped, as UDP would drop it anyway.

use std::cell::RefCell;
use std::io;
use std::net::{ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;
use std::time::Duration;

use rcorn_core::statsd::{StatsdAddress, StatsdFormat};

use crate::log_level::Level;

enum Socket {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

struct Client {
    socket: Socket,
    format: StatsdFormat,
}

static CLIENT: OnceLock<Client> = OnceLock::new();

thread_local! {
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(128));
}

/// Connects to the statsd server. Only the first call has an effect.
pub fn init(address: &StatsdAddress, format: StatsdFormat) -> io::Result<()> {
    let socket = match address {
        StatsdAddress::Udp { host, port } => {
            let target = (host.as_str(), *port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
            let local = if target.is_ipv6() {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let socket = UdpSocket::bind(local)?;
            socket.connect(target)?;
            socket.set_nonblocking(true)?;
            Socket::Udp(socket)
        }
        StatsdAddress::Unix(path) => {
            let socket = UnixDatagram::unbound()?;
            socket.connect(path)?;
            socket.set_nonblocking(true)?;
            Socket::Unix(socket)
        }
    };
    let _ = CLIENT.set(Client { socket, format });
    Ok(())
}

fn send(write: impl FnOnce(&StatsdFormat, &mut String)) {
    let Some(client) = CLIENT.get() else {
        return;
    };
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        write(&client.format, &mut line);
        let _ = match &client.socket {
            Socket::Udp(s) => s.send(line.as_bytes()),
            Socket::Unix(s) => s.send(line.as_bytes()),
        };
    });
}

/// A finished request: its duration, the request counter and its status.
pub fn request(status: u16, duration: Duration) {
    if CLIENT.get().is_none() {
        return;
    }
    let millis = duration.as_secs() as f64 * 1000.0 + f64::from(duration.subsec_micros()) / 1000.0;
    send(|f, out| f.timer_ms("gunicorn.request.duration", millis, out));
    send(|f, out| f.counter("gunicorn.requests", 1, out));
    send(|f, out| f.counter(&format!("gunicorn.request.status.{status}"), 1, out));
}

/// An error-log line at `level`: warnings and worse are counted.
pub fn log_line(level: Level) {
    let name = match level {
        Level::Warning => "gunicorn.log.warning",
        Level::Error => "gunicorn.log.error",
        Level::Critical => "gunicorn.log.critical",
        Level::Debug | Level::Info => return,
    };
    send(|f, out| f.counter(name, 1, out));
}

/// An exception logged with its traceback.
pub fn exception() {
    send(|f, out| f.counter("gunicorn.log.exception", 1, out));
}

/// Connections waiting in the listeners' accept queues.
pub fn backlog(waiting: u64) {
    send(|f, out| f.histogram("gunicorn.backlog", waiting, out));
}

/// The number of workers the master runs.
pub fn workers(count: usize) {
    send(|f, out| f.gauge("gunicorn.workers", count as u64, out));
}
