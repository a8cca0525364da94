//! A client connection of any kind, with the addresses WSGI reports.

use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::tls::TlsStream;

pub enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
    /// TLS over one of the others (`--certfile`).
    Tls(Box<TlsStream<Stream>>),
}

/// The peer and local addresses of a connection, as WSGI needs them.
#[derive(Clone, Debug)]
pub enum PeerAddr {
    Ip(SocketAddr),
    /// Unix sockets have no peer address; gunicorn reports the bind path
    /// as SERVER_NAME and an empty REMOTE_ADDR.
    Unix,
}

impl PeerAddr {
    /// The peer's IP; `None` for a unix socket.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            PeerAddr::Ip(addr) => Some(addr.ip()),
            PeerAddr::Unix => None,
        }
    }
}

impl Stream {
    pub fn peer_addr(&self) -> PeerAddr {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(PeerAddr::Ip).unwrap_or(PeerAddr::Unix),
            Stream::Unix(_) => PeerAddr::Unix,
            Stream::Tls(s) => s.inner().peer_addr(),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok(),
            Stream::Unix(_) => None,
            Stream::Tls(s) => s.inner().local_addr(),
        }
    }

    pub fn set_nodelay(&self) {
        match self {
            // Responses are written in one call; Nagle would only delay them.
            Stream::Tcp(s) => {
                let _ = s.set_nodelay(true);
            }
            Stream::Unix(_) => {}
            Stream::Tls(s) => s.inner().set_nodelay(),
        }
    }

    /// Whether a read returning fewer bytes than asked for has emptied the
    /// socket: true of the kernel's TCP and Unix stream sockets, not of TLS,
    /// whose reads give plaintext a record at a time.
    pub fn short_read_means_empty(&self) -> bool {
        !matches!(self, Stream::Tls(_))
    }

    pub fn shutdown_write(&mut self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Tls(s) => {
                s.send_close_notify();
                s.inner_mut().shutdown_write();
                Ok(())
            }
        };
    }

    /// Reads and drops what the client has sent so far, at most `limit`
    /// bytes, before a refused connection is closed: closing a socket with
    /// unread bytes sends a reset, which can destroy the refusal the
    /// client has not read yet.
    pub fn discard_readable(&mut self, limit: usize) {
        let mut scratch = [0u8; 4096];
        let mut left = limit;
        while left > 0 {
            let want = left.min(scratch.len());
            match self.read(&mut scratch[..want]) {
                Ok(0) => return,
                Ok(n) => left -= n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// The negotiated TLS parameters; `None` for a plain connection.
    pub fn tls_session(&self) -> Option<crate::tls::TlsSession> {
        match self {
            Stream::Tls(tls) => Some(tls.session()),
            _ => None,
        }
    }

    /// Whether bytes written reach the socket as they are (sendfile(2) can
    /// only be used then).
    pub fn is_plain(&self) -> bool {
        !matches!(self, Stream::Tls(_))
    }

    /// `Ok(())` once everything written is on the socket; `WouldBlock`
    /// while a TLS layer still holds records for a full socket.
    pub fn drain(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.drain(),
            _ => Ok(()),
        }
    }

    pub fn as_source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Tls(s) => s.inner_mut().as_source(),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
            Stream::Tls(s) => s.inner().as_fd(),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.inner().as_raw_fd(),
        }
    }
}

/// Bytes are counted for the metrics where they meet the socket: a TLS
/// stream's records pass through the plain stream inside it, so they are
/// counted once, as on the wire.
fn counted(result: io::Result<usize>, count: fn(usize)) -> io::Result<usize> {
    if let Ok(n) = result {
        count(n);
    }
    result
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => counted(s.read(buf), crate::metrics::received),
            Stream::Unix(s) => counted(s.read(buf), crate::metrics::received),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => counted(s.write(buf), crate::metrics::sent),
            Stream::Unix(s) => counted(s.write(buf), crate::metrics::sent),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => counted(s.write_vectored(bufs), crate::metrics::sent),
            Stream::Unix(s) => counted(s.write_vectored(bufs), crate::metrics::sent),
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
