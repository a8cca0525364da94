//! Listening sockets: parsing gunicorn's bind syntax and opening the sockets
//! with the options gunicorn sets (SO_REUSEADDR, optional SO_REUSEPORT,
//! backlog, close-on-exec).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    bind, getsockopt, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag,
    SockType, SockaddrLike, SockaddrStorage, UnixAddr,
};

/// Where to listen, as written after `-b`/`--bind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAddress {
    Tcp(SocketAddr),
    Unix(PathBuf),
    /// An already-open listening socket inherited from the parent (`fd://N`).
    Fd(RawFd),
}

impl BindAddress {
    /// Parses gunicorn's forms: `HOST`, `HOST:PORT`, `[V6]:PORT`,
    /// `unix:PATH`, `fd://N`. A missing port means 8000, as in gunicorn.
    /// Host names are resolved to their first address.
    pub fn parse(text: &str) -> Result<BindAddress, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!(
                    "invalid bind address '{text}': empty unix socket path"
                ));
            }
            return Ok(BindAddress::Unix(PathBuf::from(path)));
        }
        if let Some(fd) = text.strip_prefix("fd://") {
            return fd
                .parse::<RawFd>()
                .ok()
                .filter(|fd| *fd >= 0)
                .map(BindAddress::Fd)
                .ok_or_else(|| {
                    format!("invalid bind address '{text}': fd:// needs a file descriptor number")
                });
        }
        let (host, port) = split_host_port(text).ok_or_else(|| {
            format!("invalid bind address '{text}': expected HOST:PORT, unix:PATH or fd://N")
        })?;
        let port: u16 = match port {
            None => 8000,
            Some(p) => p.parse().map_err(|_| {
                format!("invalid bind address '{text}': port '{p}' is not a number from 0 to 65535")
            })?,
        };
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(BindAddress::Tcp(SocketAddr::new(ip, port)));
        }
        let resolved = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("invalid bind address '{text}': cannot resolve '{host}': {e}"))?
            .next()
            .ok_or_else(|| format!("invalid bind address '{text}': '{host}' has no address"))?;
        Ok(BindAddress::Tcp(resolved))
    }
}

fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match text.matches(':').count() {
        0 => Some((text, None)),
        1 => text.split_once(':').map(|(h, p)| (h, Some(p))),
        // A bare IPv6 address without brackets and without a port.
        _ => Some((text, None)),
    }
}

impl fmt::Display for BindAddress {
    /// The form gunicorn prints in "Listening at: ..." lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddress::Tcp(addr) => write!(f, "http://{addr}"),
            BindAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            BindAddress::Fd(fd) => write!(f, "fd://{fd}"),
        }
    }
}

/// An open listening socket. Blocking mode is left to whoever polls it.
#[derive(Debug)]
pub struct Listener {
    pub address: BindAddress,
    fd: OwnedFd,
    /// Unix socket files are removed at shutdown only by the process that
    /// created them.
    owns_path: bool,
}

impl Listener {
    pub fn kind(&self) -> ListenerKind {
        match &self.address {
            BindAddress::Unix(_) => ListenerKind::Unix,
            BindAddress::Tcp(_) => ListenerKind::Tcp,
            BindAddress::Fd(_) => {
                match nix::sys::socket::getsockname::<SockaddrStorage>(self.fd.as_raw_fd()) {
                    Ok(addr) if addr.family() == Some(AddressFamily::Unix) => ListenerKind::Unix,
                    _ => ListenerKind::Tcp,
                }
            }
        }
    }

    /// The address actually bound (resolves port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let addr: SockaddrStorage = nix::sys::socket::getsockname(self.fd.as_raw_fd()).ok()?;
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::from((v4.ip(), v4.port())));
        }
        addr.as_sockaddr_in6()
            .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
    }

    /// Connections waiting in a TCP listener's accept queue (Linux's
    /// `tcpi_unacked` of a listening socket); `None` for unix sockets.
    pub fn backlog(&self) -> Option<u32> {
        if self.kind() != ListenerKind::Tcp {
            return None;
        }
        // SAFETY: getsockopt writes at most `len` bytes into `info`.
        unsafe {
            let mut info: libc::tcp_info = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
            let rc = libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            );
            (rc == 0).then_some(info.tcpi_unacked)
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Moves the socket into a mio listener of the right kind.
    pub fn into_mio(self) -> std::io::Result<MioListener> {
        let kind = self.kind();
        // The path is removed by the master only; a worker must not.
        let fd = self.fd.into_raw_fd();
        set_nonblocking(fd)?;
        // SAFETY: `fd` is an open listening socket we own; ownership moves
        // into the std type.
        Ok(unsafe {
            match kind {
                ListenerKind::Tcp => MioListener::Tcp(mio::net::TcpListener::from_std(
                    std::net::TcpListener::from_raw_fd(fd),
                )),
                ListenerKind::Unix => MioListener::Unix(mio::net::UnixListener::from_std(
                    std::os::unix::net::UnixListener::from_raw_fd(fd),
                )),
            }
        })
    }

    /// Removes the unix socket file, if this process created it.
    pub fn remove_socket_file(&self) {
        if let (true, BindAddress::Unix(path)) = (self.owns_path, &self.address) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// A duplicate that the child keeps after fork while the master keeps
    /// the original.
    pub fn try_clone(&self) -> std::io::Result<Listener> {
        Ok(Listener {
            address: self.address.clone(),
            fd: self.fd.try_clone()?,
            owns_path: false,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerKind {
    Tcp,
    Unix,
}

pub enum MioListener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
}

pub struct BindOptions {
    pub backlog: i32,
    pub reuse_port: bool,
}

/// Opens one listening socket.
pub fn open(address: &BindAddress, opts: &BindOptions) -> nix::Result<Listener> {
    let backlog = Backlog::new(opts.backlog.clamp(1, i32::MAX)).unwrap_or(Backlog::MAXCONN);
    match address {
        BindAddress::Fd(fd) => {
            // Not an open descriptor: refuse before taking ownership (closing
            // a descriptor we do not own could close someone else's).
            // SAFETY: only borrowed for this one call; fcntl on a closed
            // number fails with EBADF, which is the answer wanted.
            let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) };
            nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFD)?;
            // SAFETY: the descriptor is open, and the operator (or systemd)
            // passed it to us to listen on; we take ownership of it.
            let owned = unsafe { OwnedFd::from_raw_fd(*fd) };
            if !getsockopt(&owned, sockopt::AcceptConn).unwrap_or(false) {
                // Give it back untouched: it is not ours to close.
                let _ = owned.into_raw_fd();
                return Err(nix::errno::Errno::ENOTSOCK);
            }
            let _ = nix::fcntl::fcntl(
                &owned,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            Ok(Listener {
                address: address.clone(),
                fd: owned,
                owns_path: false,
            })
        }
        BindAddress::Tcp(addr) => {
            let family = if addr.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            };
            let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
            setsockopt(&fd, sockopt::ReuseAddr, &true)?;
            if opts.reuse_port {
                setsockopt(&fd, sockopt::ReusePort, &true)?;
            }
            if addr.is_ipv6() {
                // Like gunicorn: [::] listens on IPv6 only unless the system
                // default says otherwise; leave the kernel default alone.
            }
            let sockaddr = SockaddrStorage::from(*addr);
            bind(fd.as_raw_fd(), &sockaddr)?;
            listen(&fd, backlog)?;
            Ok(Listener {
                address: address.clone(),
                fd,
                owns_path: false,
            })
        }
        BindAddress::Unix(path) => {
            remove_stale_socket(path);
            let fd = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            let sockaddr = UnixAddr::new(path.as_path())?;
            bind(fd.as_raw_fd(), &sockaddr)?;
            listen(&fd, backlog)?;
            Ok(Listener {
                address: address.clone(),
                fd,
                owns_path: true,
            })
        }
    }
}

/// gunicorn removes a leftover socket file before binding; only a socket,
/// never a regular file someone pointed us at by mistake.
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with no pointers involved.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The default bind address, as gunicorn: 127.0.0.1:8000.
pub fn default_address() -> BindAddress {
    BindAddress::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gunicorn_bind_forms() {
        assert_eq!(
            BindAddress::parse("127.0.0.1:9000"),
            Ok(BindAddress::Tcp("127.0.0.1:9000".parse().unwrap()))
        );
        assert_eq!(
            BindAddress::parse("127.0.0.1"),
            Ok(BindAddress::Tcp("127.0.0.1:8000".parse().unwrap()))
        );
        assert_eq!(
            BindAddress::parse("[::1]:9000"),
            Ok(BindAddress::Tcp("[::1]:9000".parse().unwrap()))
        );
        assert_eq!(
            BindAddress::parse(":9000"),
            Ok(BindAddress::Tcp("0.0.0.0:9000".parse().unwrap()))
        );
        assert_eq!(
            BindAddress::parse("unix:/tmp/x.sock"),
            Ok(BindAddress::Unix("/tmp/x.sock".into()))
        );
        assert_eq!(BindAddress::parse("fd://3"), Ok(BindAddress::Fd(3)));
    }

    #[test]
    fn rejects_malformed_bind_addresses_naming_them() {
        for bad in ["127.0.0.1:http", "unix:", "fd://x", "[::1", "1.2.3.4:99999"] {
            let err = BindAddress::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn opens_tcp_and_unix_listeners() {
        let opts = BindOptions {
            backlog: 16,
            reuse_port: true,
        };
        let tcp = open(&BindAddress::parse("127.0.0.1:0").unwrap(), &opts).unwrap();
        let addr = tcp.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        std::net::TcpStream::connect(addr).unwrap();

        let dir = std::env::temp_dir().join(format!("rcorn-listener-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let unix = open(&BindAddress::Unix(path.clone()), &opts).unwrap();
        assert_eq!(unix.kind(), ListenerKind::Unix);
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        unix.remove_socket_file();
        assert!(!path.exists());
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn port_in_use_is_an_error() {
        let opts = BindOptions {
            backlog: 16,
            reuse_port: false,
        };
        let first = open(&BindAddress::parse("127.0.0.1:0").unwrap(), &opts).unwrap();
        let taken = BindAddress::Tcp(first.local_addr().unwrap());
        assert_eq!(
            open(&taken, &opts).unwrap_err(),
            nix::errno::Errno::EADDRINUSE
        );
    }
}
