//! The real master and both worker classes serving a Rust `App`, with no
//! Python in the process: a bug found here is on the Rust side of the
//! boundary.
//!
//! A custom harness (`harness = false`) keeps the test process
//! single-threaded, so forking the master (which forks its workers) is safe.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use rcorn_core::arbiter::ArbiterSettings;
use rcorn_core::http::DecoderConfig;
use rcorn_core::worker::WorkerSettings;
use rcorn_io::exchange::Exchange;
use rcorn_io::listener::{open, BindAddress, BindOptions};
use rcorn_io::master::{run_master, Host, MasterConfig, MasterOutcome};
use rcorn_io::worker_loop::{run_gthread_worker, run_sync_worker, WorkerConfig};
use rcorn_io::App;

/// Set by a request to `/release`; a request to `/hold` waits for it. Only
/// a worker that serves two requests at once can answer both.
static RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Echo;

impl App for Echo {
    fn call(&mut self, ex: &mut Exchange<'_>) {
        let mut body = Vec::new();
        if ex.read_body(&mut body, usize::MAX).is_err() {
            return;
        }
        let path = ex.head().path().to_vec();
        if path == b"/pid" {
            body = std::process::id().to_string().into_bytes();
        }
        if path == b"/release" {
            RELEASED.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if path == b"/hold" {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !RELEASED.load(std::sync::atomic::Ordering::SeqCst) {
                if Instant::now() > deadline {
                    return; // unanswered: the server sends 500
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            body = b"released".to_vec();
        }
        let len = body.len().to_string();
        let _ = ex.start_response(200, b"OK");
        let _ = ex.header(b"Content-Type", b"text/plain");
        let _ = ex.header(b"Content-Length", len.as_bytes());
        let _ = ex.end_head(None);
        let _ = ex.write_body(&body);
    }
}

/// Masters started by the tests, ended with their workers whatever happens.
static STARTED: std::sync::Mutex<Vec<Pid>> = std::sync::Mutex::new(Vec::new());

struct PlainHost;
impl Host for PlainHost {}

/// Starts a master with `workers` workers: sync ones when `threads` is 0,
/// else gthread ones with that many application threads.
fn start_server(workers: u32, max_requests: u64, threads: usize) -> (Pid, u16) {
    let listener = open(
        &BindAddress::parse("127.0.0.1:0").unwrap(),
        &BindOptions {
            backlog: 64,
            reuse_port: false,
        },
    )
    .unwrap();
    let port = listener.local_addr().unwrap().port();
    // SAFETY: the test process is single-threaded (harness = false).
    match unsafe { fork() }.unwrap() {
        ForkResult::Parent { child } => {
            STARTED.lock().unwrap().push(child);
            (child, port)
        }
        ForkResult::Child => {
            // Its own session, so cleanup can end it and its workers at once.
            let _ = nix::unistd::setsid();
            let cfg = MasterConfig {
                metrics: None,
                backlog_metric: false,
                control_socket: None,
                dirty_arbiter: None,
                arbiter: ArbiterSettings {
                    workers,
                    timeout: Duration::from_secs(5),
                    ..ArbiterSettings::default()
                },
            };
            let code = match run_master(vec![listener], cfg, &mut PlainHost) {
                Ok(MasterOutcome::Exit(code)) => code,
                Ok(MasterOutcome::Worker(start)) => {
                    let cfg = WorkerConfig {
                        lifecycle: WorkerSettings {
                            max_requests,
                            max_requests_jitter: 0,
                            jitter_seed: 1,
                            graceful_timeout: Duration::from_secs(5),
                            timeout: Duration::from_secs(5),
                            keepalive: Duration::from_secs(2),
                            worker_connections: 1000,
                        },
                        decoder: DecoderConfig::default(),
                        server_header: b"rcorn".to_vec(),
                        io_timeout: Duration::from_secs(5),
                        head_timeout: Duration::from_secs(5),
                        access_log: None,
                        scheme_policy: Default::default(),
                        proxy: Default::default(),
                        uwsgi: None,
                        h2: None,
                        tls: None,
                    };
                    if threads == 0 {
                        run_sync_worker(start, cfg, &mut Echo).unwrap_or(1)
                    } else {
                        let handlers = (0..threads).map(|_| Echo).collect();
                        run_gthread_worker(start, cfg, &mut Echo, handlers).unwrap_or(1)
                    }
                }
                // No dirty pool is configured here.
                Ok(MasterOutcome::DirtyArbiter) | Err(_) => 1,
            };
            std::process::exit(code);
        }
    }
}

fn request(port: u16, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(raw)?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn body_of(response: &[u8]) -> &[u8] {
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    &response[at..]
}

fn stop(master: Pid) -> i32 {
    kill(master, Signal::SIGTERM).unwrap();
    match waitpid(master, None).unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("master ended as {other:?}"),
    }
}

fn serves_requests_and_stops_on_term(threads: usize) {
    let (master, port) = start_server(2, 0, threads);
    wait_until("the server to answer", Duration::from_secs(10), || {
        request(port, b"GET / HTTP/1.0\r\n\r\n").is_ok_and(|r| r.starts_with(b"HTTP/1.0 200"))
    });
    let echoed = request(
        port,
        b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .unwrap();
    assert_eq!(body_of(&echoed), b"hello");
    let chunked = request(
        port,
        b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(body_of(&chunked), b"abcde");
    let bad = request(
        port,
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    )
    .unwrap();
    assert!(
        bad.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&bad)
    );
    assert_eq!(stop(master), 0);
}

fn max_requests_recycles_the_worker(threads: usize) {
    let (master, port) = start_server(1, 3, threads);
    wait_until("the server to answer", Duration::from_secs(10), || {
        request(port, b"GET / HTTP/1.0\r\n\r\n").is_ok()
    });
    let mut pids = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.len() < 2 && Instant::now() < deadline {
        if let Ok(r) = request(port, b"GET /pid HTTP/1.0\r\n\r\n") {
            pids.insert(body_of(&r).to_vec());
        }
    }
    assert!(
        pids.len() >= 2,
        "the worker was replaced after max_requests"
    );
    assert_eq!(stop(master), 0);
}

/// A gthread worker serves a second request while the first one runs.
fn gthread_serves_requests_side_by_side() {
    let (master, port) = start_server(1, 0, 2);
    wait_until("the server to answer", Duration::from_secs(10), || {
        request(port, b"GET / HTTP/1.0\r\n\r\n").is_ok()
    });
    let held = std::thread::spawn(move || request(port, b"GET /hold HTTP/1.0\r\n\r\n"));
    let release = request(port, b"GET /release HTTP/1.0\r\n\r\n").unwrap();
    assert!(release.starts_with(b"HTTP/1.0 200"));
    let held = held.join().unwrap().unwrap();
    assert_eq!(body_of(&held), b"released");
    assert_eq!(stop(master), 0);
}

fn main() {
    let tests: [(&str, fn()); 5] = [
        ("sync: serves requests and stops on TERM", || {
            serves_requests_and_stops_on_term(0)
        }),
        ("gthread: serves requests and stops on TERM", || {
            serves_requests_and_stops_on_term(3)
        }),
        ("sync: max_requests recycles the worker", || {
            max_requests_recycles_the_worker(0)
        }),
        ("gthread: max_requests recycles the worker", || {
            max_requests_recycles_the_worker(2)
        }),
        (
            "gthread: serves requests side by side",
            gthread_serves_requests_side_by_side,
        ),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        let ok = std::panic::catch_unwind(test).is_ok();
        for pid in STARTED.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    println!("{} passed, {failed} failed", tests.len() - failed);
    std::process::exit(i32::from(failed > 0));
}
