//! A connection served to its end by one task (`connection_task`), with a
//! `Waiter` installed the way a green-thread runtime installs one: every
//! wait of the task goes through it, a connection waiting for its next
//! request says so, and the worker-wide rules come from the task's host.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant as StdInstant};

use rcorn_core::http::DecoderConfig;
use rcorn_core::time::Instant;
use rcorn_core::worker::WorkerSettings;
use rcorn_io::blocking::{self, Interest};
use rcorn_io::connection_task::{serve_connection, TaskHost};
use rcorn_io::exchange::{Connection, Exchange, ExchangeSummary, ServerAddr};
use rcorn_io::stream::{PeerAddr, Stream};
use rcorn_io::worker_config::WorkerConfig;
use rcorn_io::App;

/// Waits of each kind, across the process (the waiter is process-wide).
static WAITS: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];
/// One test at a time: they share the waiter's counts.
static SERIAL: Mutex<()> = Mutex::new(());

/// A scheduler's waiter, here poll(2) in slices, as a hub would wait.
fn counting_waiter(fd: RawFd, interest: Interest, left: Option<Duration>) -> io::Result<bool> {
    let (kind, events) = match interest {
        Interest::Read => (0, libc::POLLIN),
        Interest::Write => (1, libc::POLLOUT),
        Interest::NextRequest => (2, libc::POLLIN),
    };
    WAITS[kind].fetch_add(1, Ordering::SeqCst);
    let ms = left.map_or(-1, |d| d.as_millis().clamp(1, 10_000) as i32);
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    Ok(n > 0)
}

struct Echo;

impl App for Echo {
    fn call(&mut self, ex: &mut Exchange<'_>) {
        let mut body = Vec::new();
        // To the end of the body, waiting for what has not come yet.
        loop {
            match ex.read_body(&mut body, usize::MAX) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        if body.is_empty() {
            body = ex.head().path().to_vec();
        }
        let len = body.len().to_string();
        let _ = ex.start_response(200, b"OK");
        let _ = ex.header(b"Content-Length", len.as_bytes());
        let _ = ex.end_head(None);
        let _ = ex.write_body(&body);
    }
}

#[derive(Default)]
struct Host {
    draining: AtomicBool,
    /// One request at a time here: at most one application is free.
    spare: RefCell<Option<Box<Echo>>>,
    made: Cell<usize>,
    finished: RefCell<Vec<u16>>,
}

impl TaskHost for Host {
    type App = Echo;

    fn now(&self) -> Instant {
        rcorn_io::clock::now()
    }
    fn may_keep_alive(&self) -> bool {
        !self.draining.load(Ordering::SeqCst)
    }
    fn draining(&self) -> &AtomicBool {
        &self.draining
    }
    fn checkout_app(&self) -> Box<Echo> {
        self.spare.borrow_mut().take().unwrap_or_else(|| {
            self.made.set(self.made.get() + 1);
            Box::new(Echo)
        })
    }
    fn checkin_app(&self, app: Box<Echo>) {
        *self.spare.borrow_mut() = Some(app);
    }
    fn request_finished(&self, _conn: &Connection, summary: &ExchangeSummary) {
        self.finished.borrow_mut().push(summary.status);
    }
}

fn config(keepalive: Duration) -> WorkerConfig {
    WorkerConfig {
        lifecycle: WorkerSettings {
            keepalive,
            ..WorkerSettings::default()
        },
        decoder: DecoderConfig::default(),
        server_header: b"rcorn".to_vec(),
        io_timeout: Duration::from_secs(5),
        head_timeout: Duration::from_secs(5),
        access_log: None,
        scheme_policy: Default::default(),
        proxy: Default::default(),
        tls: None,
        uwsgi: None,
        h2: None,
    }
}

/// A served connection and the client's end of it.
fn connected(cfg: &WorkerConfig) -> (Box<Connection>, TcpStream) {
    blocking::set_waiter(counting_waiter);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let stream = Stream::Tcp(mio::net::TcpStream::from_std(server));
    let addr = ServerAddr {
        name: "127.0.0.1".into(),
        port: "0".into(),
        unix: false,
    };
    let conn = rcorn_io::accept::open_connection(cfg, stream, PeerAddr::Ip(peer), addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    (conn, client)
}

fn read_responses(client: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = client.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn keep_alive_requests_then_the_idle_deadline_all_wait_through_the_waiter() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = config(Duration::from_millis(300));
    let (mut conn, mut client) = connected(&cfg);
    let next_before = WAITS[2].load(Ordering::SeqCst);
    let reader = std::thread::spawn(move || {
        // Two pipelined requests, then a body that arrives after a pause.
        client
            .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        client
            .write_all(b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel")
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        client.write_all(b"lo").unwrap();
        read_responses(&mut client)
    });
    let host = Host::default();
    let started = StdInstant::now();
    serve_connection(&host, &cfg, &mut conn);
    let served_for = started.elapsed();
    drop(conn);
    let text = reader.join().unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
    assert!(
        text.contains("\r\n\r\n/a") && text.contains("\r\n\r\n/b"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nhello"), "{text}");
    assert_eq!(*host.finished.borrow(), vec![200, 200, 200]);
    // One request at a time: one application, reused.
    assert_eq!(host.made.get(), 1);
    // The task waited for its next request, and for the rest of a body,
    // through the waiter; it gave up at the idle deadline.
    assert!(WAITS[2].load(Ordering::SeqCst) > next_before);
    assert!(WAITS[0].load(Ordering::SeqCst) > 0);
    assert!(served_for >= Duration::from_millis(300), "{served_for:?}");
    assert!(served_for < Duration::from_secs(3), "{served_for:?}");
}

#[test]
fn a_draining_worker_answers_with_close_and_retires_idle_connections() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = config(Duration::from_secs(30));
    let (mut conn, mut client) = connected(&cfg);
    let host = Host::default();
    host.draining.store(true, Ordering::SeqCst);
    client
        .write_all(b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    serve_connection(&host, &cfg, &mut conn);
    drop(conn);
    let text = read_responses(&mut client);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("Connection: close"), "{text}");

    // Idle on a draining worker: retired within its idle timeout, with no
    // request served.
    let cfg = config(Duration::from_millis(200));
    let (mut conn, client) = connected(&cfg);
    let host = Host::default();
    host.draining.store(true, Ordering::SeqCst);
    let started = StdInstant::now();
    serve_connection(&host, &cfg, &mut conn);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(host.finished.borrow().is_empty());
    drop(client);
}

#[test]
fn an_invalid_request_gets_its_error_and_the_connection_ends() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = config(Duration::from_secs(2));
    let (mut conn, mut client) = connected(&cfg);
    client
        .write_all(b"GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        .unwrap();
    let host = Host::default();
    serve_connection(&host, &cfg, &mut conn);
    drop(conn);
    let text = read_responses(&mut client);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(host.finished.borrow().is_empty());
}
