//! WebSocket load client for `benches/load/ws_compare.py`: small text
//! messages over loopback TCP from plain threads, one per connection, so
//! the client is cheap next to a Python server and needs no runtime.
//!
//! ```sh
//! ws_load echo 127.0.0.1:PORT CONNECTIONS SECONDS
//! ws_load broadcast 127.0.0.1:PORT LISTENERS SECONDS
//! ```
//!
//! `echo`: every connection sends a 16-byte text message to `/` and waits
//! for its echo, in a loop: round trips per second.
//! `broadcast`: LISTENERS connections on `/listen`, one sender on
//! `/broadcast` that sends a message and waits for the application's ack
//! (sent once the message went to every listener): messages the listeners
//! received per second.
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
        self.writer.write_all(&frame)
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

fn broadcast(addr: &str, listeners: usize, seconds: u64) -> io::Result<u64> {
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let listening = thread::spawn({
        let addr = addr.to_owned();
        move || {
            // Listeners read until the sender is done, then a little more
            // (a stop flag would not reach a thread blocked in a read).
            run_threads(&addr, "/listen", listeners, seconds + 2, move |ws, stop| {
                ws.reader
                    .get_ref()
                    .set_read_timeout(Some(Duration::from_millis(500)))?;
                let mut payload = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match ws.recv(&mut payload) {
                        Ok(()) => counter.fetch_add(1, Ordering::Relaxed),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => return Err(e),
                    };
                }
                Ok(0)
            })
        }
    });
    // Room for the listeners to connect and register first.
    thread::sleep(Duration::from_secs(1));
    let mut sender = Ws::open(addr, "/broadcast")?;
    let mut ack = Vec::new();
    let from = received.load(Ordering::Relaxed);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        sender.send(0x1, MESSAGE)?;
        sender.recv(&mut ack)?;
    }
    let delivered = received.load(Ordering::Relaxed) - from;
    sender.close();
    listening
        .join()
        .map_err(|_| io::Error::other("the listeners' thread panicked"))??;
    Ok(delivered)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ws_load echo|broadcast HOST:PORT CONNECTIONS SECONDS";
    let [_, mode, addr, n, seconds] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let (Ok(n), Ok(seconds)) = (n.parse::<usize>(), seconds.parse::<u64>()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let counted = match mode.as_str() {
        "echo" => echo(addr, n, seconds),
        "broadcast" => broadcast(addr, n, seconds),
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
