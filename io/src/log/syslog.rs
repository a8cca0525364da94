//! `--log-syslog`: error and access lines also sent to a syslog daemon,
//! over the socket opened once in the master (every process shares it).
//! The message bytes are core's (`rcorn_core::syslog`).

use std::io::Write;

use super::Level;

/// `--log-syslog`: the same lines, also sent to syslog.
pub struct SyslogConfig {
    pub address: rcorn_core::syslog::SyslogAddress,
    pub facility: u8,
    /// `--log-syslog-prefix`, else the process name.
    pub prefix: String,
    /// Access lines go to syslog too (unless
    /// `--disable-redirect-access-to-syslog`).
    pub access: bool,
}

enum SyslogSocket {
    Udp(std::net::UdpSocket),
    Tcp(std::net::TcpStream),
    UnixDgram(std::os::unix::net::UnixDatagram),
    UnixStream(std::os::unix::net::UnixStream),
}

pub(super) struct Syslog {
    socket: SyslogSocket,
    facility: u8,
    error_tag: String,
    /// `None` when access lines stay out of syslog.
    pub(super) access_tag: Option<String>,
    pub(super) text: Vec<u8>,
    packet: Vec<u8>,
}

impl Syslog {
    pub(super) fn connect(cfg: &SyslogConfig) -> std::io::Result<Syslog> {
        use rcorn_core::syslog::SyslogAddress;
        use std::net::ToSocketAddrs;
        let resolve = |host: &str, port: u16| {
            (host, port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
        };
        let socket = match &cfg.address {
            SyslogAddress::Udp { host, port } => {
                let target = resolve(host, *port)?;
                let local = if target.is_ipv6() {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = std::net::UdpSocket::bind(local)?;
                s.connect(target)?;
                SyslogSocket::Udp(s)
            }
            SyslogAddress::Tcp { host, port } => {
                SyslogSocket::Tcp(std::net::TcpStream::connect(resolve(host, *port)?)?)
            }
            SyslogAddress::Unix { path, stream } => {
                let dgram = || -> std::io::Result<SyslogSocket> {
                    let s = std::os::unix::net::UnixDatagram::unbound()?;
                    s.connect(path)?;
                    Ok(SyslogSocket::UnixDgram(s))
                };
                let stream_socket =
                    || std::os::unix::net::UnixStream::connect(path).map(SyslogSocket::UnixStream);
                match stream {
                    Some(false) => dgram()?,
                    Some(true) => stream_socket()?,
                    None => dgram().or_else(|_| stream_socket())?,
                }
            }
        };
        Ok(Syslog {
            socket,
            facility: cfg.facility,
            error_tag: rcorn_core::syslog::tag(&cfg.prefix, "error"),
            access_tag: cfg
                .access
                .then(|| rcorn_core::syslog::tag(&cfg.prefix, "access")),
            text: Vec::with_capacity(256),
            packet: Vec::with_capacity(256),
        })
    }

    pub(super) fn send(&mut self, severity: rcorn_core::syslog::Severity, access: bool) {
        let tag = if access {
            match &self.access_tag {
                Some(t) => t,
                None => return,
            }
        } else {
            &self.error_tag
        };
        rcorn_core::syslog::message(
            self.facility,
            severity,
            tag,
            std::process::id(),
            &self.text,
            &mut self.packet,
        );
        // Like any log write, a failed one must not take a request down.
        let _ = match &mut self.socket {
            SyslogSocket::Udp(s) => s.send(&self.packet).map(drop),
            SyslogSocket::UnixDgram(s) => s.send(&self.packet).map(drop),
            SyslogSocket::Tcp(s) => s.write_all(&self.packet),
            SyslogSocket::UnixStream(s) => s.write_all(&self.packet),
        };
    }
}

pub(super) fn severity(level: Level) -> rcorn_core::syslog::Severity {
    use rcorn_core::syslog::Severity;
    match level {
        Level::Debug => Severity::Debug,
        Level::Info => Severity::Info,
        Level::Warning => Severity::Warning,
        Level::Error => Severity::Error,
        Level::Critical => Severity::Critical,
    }
}
