//! WebSocket load client for `benches/load/ws_compare.py`: small text
//! messages over loopback TCP, so the client is cheap next to a Python
//! server and needs no runtime.
//!
//! ```sh
//! ws_load echo 127.0.0.1:PORT CONNECTIONS SECONDS
//! ws_load broadcast 127.0.0.1:PORT LISTENERS SECONDS [WINDOW]
//! ```
//!
//! `echo`: every connection sends a 16-byte text message to `/` and waits
//! for its echo, in a loop: round trips per second.
//! `broadcast`: LISTENERS connections on `/listen`, all read by one
//! epoll thread, and one sender on `/broadcast` that sends a message and
//! waits for the application's ack (sent once the message went to every
//! listener) before it sends more than WINDOW (default 1) unacknowledged
//! messages: messages the listeners received per second.
//!
//! Prints one JSON line. Every connection is open before the clock starts;
//! a server's pings are answered; errors end the run with a one-line message.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const MESSAGE: &[u8] = b"0123456789abcdef";
/// Client frames must be masked; the key's value does not matter here.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

struct Ws {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Ws {
    fn open(addr: &str, path: &str) -> io::Result<Ws> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if !line.starts_with("HTTP/1.1 101") {
            return Err(io::Error::other(format!(
                "{path}: answered {}",
                line.trim()
            )));
        }
        while line != "\r\n" {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(io::Error::other(format!("{path}: closed in the handshake")));
            }
        }
        Ok(Ws {
            reader,
            writer: stream,
        })
    }

    fn send(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        self.writer.write_all(&masked_frame(opcode, payload))
    }

    /// The next data message's payload; pings are answered on the way.
    fn recv(&mut self, payload: &mut Vec<u8>) -> io::Result<()> {
        loop {
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head)?;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut n = [0u8; 2];
                    self.reader.read_exact(&mut n)?;
                    u64::from(u16::from_be_bytes(n))
                }
                127 => {
                    let mut n = [0u8; 8];
                    self.reader.read_exact(&mut n)?;
                    u64::from_be_bytes(n)
                }
                n => u64::from(n),
            };
            payload.clear();
            (&mut self.reader).take(len).read_to_end(payload)?;
            match head[0] & 0x0f {
                0x1 | 0x2 => return Ok(()),
                0x8 => return Err(io::Error::other("the server closed")),
                0x9 => {
                    let ping = payload.clone();
                    self.send(0xa, &ping)?;
                }
                _ => {}
            }
        }
    }

    fn close(mut self) {
        let _ = self.send(0x8, &1000u16.to_be_bytes());
    }
}

/// A final client frame: masked, as a client's must be.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// Runs `work` on `n` connections to `path`, each on its own thread; the
/// clock starts once all are open. Returns the sum of what they counted.
fn run_threads<F>(addr: &str, path: &str, n: usize, seconds: u64, work: F) -> io::Result<u64>
where
    F: Fn(&mut Ws, &AtomicBool) -> io::Result<u64> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(n + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..n {
        let mut ws = Ws::open(addr, path)?;
        let (work, start, stop) = (work.clone(), start.clone(), stop.clone());
        threads.push(thread::spawn(move || {
            start.wait();
            let counted = work(&mut ws, &stop);
            ws.close();
            counted
        }));
    }
    start.wait();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in threads {
        total += t
            .join()
            .map_err(|_| io::Error::other("a client thread panicked"))??;
    }
    Ok(total)
}

fn echo(addr: &str, connections: usize, seconds: u64) -> io::Result<u64> {
    run_threads(addr, "/", connections, seconds, |ws, stop| {
        let mut payload = Vec::new();
        let mut round_trips = 0;
        while !stop.load(Ordering::Relaxed) {
            ws.send(0x1, MESSAGE)?;
            ws.recv(&mut payload)?;
            if payload != MESSAGE {
                return Err(io::Error::other("an echo that is not the message"));
            }
            round_trips += 1;
        }
        Ok(round_trips)
    })
}

fn broadcast(addr: &str, listeners: usize, seconds: u64, window: usize) -> io::Result<u64> {
    // Every listener is registered by the application before its
    // handshake is answered, so all are in place once these return.
    let mut socks = Vec::with_capacity(listeners);
    for _ in 0..listeners {
        socks.push(Ws::open(addr, "/listen")?);
    }
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let listening = thread::spawn({
        let (received, stop) = (received.clone(), stop.clone());
        move || listen(socks, &received, &stop)
    });
    let mut sender = Ws::open(addr, "/broadcast")?;
    let mut ack = Vec::new();
    let sent = (|| {
        warm_up(&mut sender, &received, listeners as u64)?;
        let from = received.load(Ordering::Relaxed);
        let started = Instant::now();
        let mut unacked = 0;
        while started.elapsed() < Duration::from_secs(seconds) {
            while unacked < window {
                sender.send(0x1, MESSAGE)?;
                unacked += 1;
            }
            sender.recv(&mut ack)?;
            unacked -= 1;
        }
        Ok(received.load(Ordering::Relaxed) - from)
    })();
    stop.store(true, Ordering::Relaxed);
    sender.close();
    listening
        .join()
        .map_err(|_| io::Error::other("the listeners' thread panicked"))??;
    sent
}

/// Broadcasts until one message reached every listener (each server
/// registers a listener at its own moment around the handshake), so the
/// clock starts with all of them counted.
fn warm_up(sender: &mut Ws, received: &AtomicU64, listeners: u64) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ack = Vec::new();
    while Instant::now() < deadline {
        let before = received.load(Ordering::Relaxed);
        sender.send(0x1, MESSAGE)?;
        sender.recv(&mut ack)?;
        let settle = Instant::now() + Duration::from_millis(200);
        while received.load(Ordering::Relaxed) - before < listeners && Instant::now() < settle {
            thread::sleep(Duration::from_millis(1));
        }
        if received.load(Ordering::Relaxed) - before >= listeners {
            return Ok(());
        }
    }
    Err(io::Error::other(
        "no broadcast reached every listener within 5 s",
    ))
}

/// The listeners, all in one thread on one epoll: a message costs the
/// client a share of one read, not a thread's wake-up, so the rate is the
/// server's (64 blocking threads on one core cost about as much per
/// message as the server did, and their wake-ups as much again).
fn listen(socks: Vec<Ws>, received: &AtomicU64, stop: &AtomicBool) -> io::Result<()> {
    let mut poll = mio::Poll::new()?;
    let mut conns = Vec::with_capacity(socks.len());
    for (i, ws) in socks.into_iter().enumerate() {
        // Bytes the handshake's reader took past the head stay first.
        let early = ws.reader.buffer().to_vec();
        let std = ws.writer;
        std.set_nonblocking(true)?;
        let mut stream = mio::net::TcpStream::from_std(std);
        poll.registry()
            .register(&mut stream, mio::Token(i), mio::Interest::READABLE)?;
        conns.push(Listener { stream, buf: early });
    }
    let mut counted = 0;
    for c in &mut conns {
        counted += c.take_messages()?;
    }
    received.fetch_add(counted, Ordering::Relaxed);
    let mut events = mio::Events::with_capacity(1024);
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        let mut counted = 0;
        for event in &events {
            counted += conns[event.token().0].read_ready(&mut chunk)?;
        }
        received.fetch_add(counted, Ordering::Relaxed);
    }
    for c in &mut conns {
        let _ = c
            .stream
            .write_all(&masked_frame(0x8, &1000u16.to_be_bytes()));
    }
    Ok(())
}

/// One listener on the shared epoll: the bytes of a frame not yet whole.
struct Listener {
    stream: mio::net::TcpStream,
    buf: Vec<u8>,
}

impl Listener {
    /// Reads until the socket is empty; the data messages now whole.
    fn read_ready(&mut self, chunk: &mut [u8]) -> io::Result<u64> {
        loop {
            match self.stream.read(chunk) {
                Ok(0) => return Err(io::Error::other("a listener's server side closed")),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.take_messages()
    }

    /// Counts the whole data frames in `buf` (the server does not
    /// fragment these small messages) and answers pings.
    fn take_messages(&mut self) -> io::Result<u64> {
        let mut at = 0;
        let mut counted = 0;
        while let Some((opcode, start, end)) = frame_at(&self.buf[at..]) {
            match opcode {
                0x1 | 0x2 => counted += 1,
                0x8 => return Err(io::Error::other("the server closed a listener")),
                // A pong this small fits any socket buffer with room left.
                0x9 => {
                    let pong = masked_frame(0xa, &self.buf[at + start..at + end]);
                    self.stream.write_all(&pong)?;
                }
                _ => {}
            }
            at += end;
        }
        self.buf.drain(..at);
        Ok(counted)
    }
}

/// The opcode and payload range of the unmasked frame at the start of
/// `bytes`, once it is whole.
fn frame_at(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let (len, start): (u64, usize) = match b1 & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (bytes.len() >= end).then_some((b0 & 0x0f, start, end))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ws_load echo|broadcast HOST:PORT CONNECTIONS SECONDS [WINDOW]";
    let (mode, addr, n, seconds, window) = match args.as_slice() {
        [_, mode, addr, n, seconds] => (mode, addr, n, seconds, "1"),
        [_, mode, addr, n, seconds, window] => (mode, addr, n, seconds, window.as_str()),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let (Ok(n), Ok(seconds), Ok(window @ 1..)) = (
        n.parse::<usize>(),
        seconds.parse::<u64>(),
        window.parse::<usize>(),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let counted = match mode.as_str() {
        "echo" => echo(addr, n, seconds),
        "broadcast" => broadcast(addr, n, seconds, window),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    match counted {
        Ok(count) => println!(
            "{{\"mode\": \"{mode}\", \"connections\": {n}, \"seconds\": {seconds}, \
             \"count\": {count}, \"rate\": {:.1}}}",
            count as f64 / seconds as f64
        ),
        Err(e) => {
            eprintln!("ws_load {mode}: {e}");
            std::process::exit(1);
        }
    }
}
