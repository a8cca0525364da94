//! The master's metrics endpoint (`--metrics-bind`): a TCP listener that
//! answers each connection's one request with the page and closes. This
//! file only moves bytes; the HTTP and the page are
//! `rcorn_core::metrics`'s, and the master makes the page through the
//! callback it gives [`MetricsEndpoint::service`].
//!
//! The master never waits on a client: every socket is non-blocking and
//! served to `WouldBlock` on each wake. At most [`MAX_CLIENTS`] are served
//! at once; a new connection past that replaces the oldest, so clients
//! that connect and send nothing cannot shut the endpoint.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use rcorn_core::metrics::scrape::{self, ScrapeRequest, MAX_HEAD};

use crate::listener::{Listener, MioListener};

/// Clients served at once.
pub const MAX_CLIENTS: usize = 16;

struct Client {
    stream: TcpStream,
    head: Vec<u8>,
    /// The response, once the head is complete; `sent` of it written.
    out: Option<Vec<u8>>,
    sent: usize,
}

pub struct MetricsEndpoint {
    listener: TcpListener,
    address: Option<SocketAddr>,
    first_token: usize,
    /// Oldest first.
    clients: VecDeque<Client>,
    next_token: usize,
}

impl MetricsEndpoint {
    /// Takes over a bound TCP listener. Tokens from `first_token` on are
    /// this endpoint's: the listener's, then its clients'.
    pub fn new(listener: Listener, first_token: usize) -> io::Result<MetricsEndpoint> {
        let address = listener.local_addr();
        let MioListener::Tcp(listener) = listener.into_mio()? else {
            return Err(io::Error::other("the metrics endpoint listens on TCP only"));
        };
        Ok(MetricsEndpoint {
            listener,
            address,
            first_token,
            clients: VecDeque::new(),
            next_token: 0,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.address
    }

    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(
            &mut self.listener,
            Token(self.first_token),
            Interest::READABLE,
        )
    }

    /// Accepts, reads, answers and writes whatever is ready; `page`
    /// renders the page when a client asks for it.
    pub fn service(&mut self, registry: &Registry, page: &mut dyn FnMut() -> String) {
        self.accept(registry);
        let mut i = 0;
        while i < self.clients.len() {
            if serve_client(&mut self.clients[i], page) {
                i += 1;
            } else if let Some(mut gone) = self.clients.remove(i) {
                let _ = registry.deregister(&mut gone.stream);
            }
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::error!("metrics_bind: accept failed: {e}");
                    return;
                }
            };
            if self.clients.len() >= MAX_CLIENTS {
                if let Some(mut oldest) = self.clients.pop_front() {
                    let _ = registry.deregister(&mut oldest.stream);
                }
            }
            // Tokens cycle through 2 × MAX_CLIENTS numbers, so a token is
            // never reused while the client that had it may still be here.
            let token = Token(self.first_token + 1 + self.next_token);
            self.next_token = (self.next_token + 1) % (2 * MAX_CLIENTS);
            let interest = Interest::READABLE | Interest::WRITABLE;
            if registry.register(&mut stream, token, interest).is_ok() {
                self.clients.push_back(Client {
                    stream,
                    head: Vec::new(),
                    out: None,
                    sent: 0,
                });
            }
        }
    }
}

/// Reads the client's head, answers it, writes what the socket takes.
/// `false`: the client is done (answered, gone, or misbehaved).
fn serve_client(client: &mut Client, page: &mut dyn FnMut() -> String) -> bool {
    let mut buf = [0u8; 2048];
    while client.out.is_none() {
        match client.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                let room = MAX_HEAD + 1 - client.head.len().min(MAX_HEAD + 1);
                client.head.extend_from_slice(&buf[..n.min(room)]);
                match scrape::parse(&client.head) {
                    ScrapeRequest::Incomplete => {}
                    request => client.out = Some(scrape::respond(request, &mut *page)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    let Some(out) = client.out.as_ref() else {
        return true;
    };
    while client.sent < out.len() {
        match client.stream.write(&out[client.sent..]) {
            Ok(0) => return false,
            Ok(n) => client.sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    // Answered: closing is the end of the response (`Connection: close`).
    let _ = client.stream.shutdown(std::net::Shutdown::Write);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::{self, BindAddress, BindOptions};
    use std::time::Duration;

    #[test]
    fn a_scrape_gets_the_page_and_the_connection_closes() {
        let opts = BindOptions {
            backlog: 8,
            reuse_port: false,
        };
        let bound =
            listener::open(&BindAddress::Tcp("127.0.0.1:0".parse().unwrap()), &opts).expect("bind");
        let mut endpoint = MetricsEndpoint::new(bound, 10).expect("endpoint");
        let addr = endpoint.local_addr().expect("an address");
        let mut poll = mio::Poll::new().expect("poll");
        endpoint.register(poll.registry()).expect("register");
        let mut client = std::net::TcpStream::connect(addr).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // Sent in two pieces: the head is answered only once complete.
        client
            .write_all(b"GET /metrics HTTP/1.1\r\n")
            .expect("write");
        let mut events = mio::Events::with_capacity(8);
        let mut pages = 0;
        for _ in 0..3 {
            let _ = poll.poll(&mut events, Some(Duration::from_millis(200)));
            endpoint.service(poll.registry(), &mut || {
                pages += 1;
                "x 1\n".into()
            });
        }
        assert_eq!(pages, 0, "no page for half a head");
        client.write_all(b"Host: m\r\n\r\n").expect("write");
        let mut answer = Vec::new();
        while endpoint.clients.len() == 1 {
            let _ = poll.poll(&mut events, Some(Duration::from_secs(5)));
            endpoint.service(poll.registry(), &mut || "x 1\n".into());
        }
        client.read_to_end(&mut answer).expect("read");
        let answer = String::from_utf8(answer).expect("text");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nx 1\n"), "{answer}");
    }
}
