//! A worker's connection table under a simulated clock: clients on
//! keep-alive connections send requests in pieces at random moments (some
//! stall mid-request, some pause past the keep-alive time), each
//! connection is a `ServerConnection` whose deadlines are data, and
//! finished responses wait in a `WriteBatch` — driven the way the worker
//! loop drives them (wake at the earliest deadline or event, handle the
//! ready events one after another, expire, write what waits before
//! sleeping). After every step it checks:
//!
//! 1. no connection is closed before its deadline, and none is kept once
//!    its deadline has passed;
//! 2. the deadline is the keep-alive time from the last read when no
//!    request has begun, the head time when one has;
//! 3. no response waits longer than the batch window plus the work of one
//!    event, and never more than the batch's limit at once;
//! 4. every request gets its own response, in order.

use std::time::Duration;

use rcorn_core::http::{ConnEvent, DecoderConfig, Next, ServerConnection, Timeouts};
use rcorn_core::time::Instant;
use rcorn_core::worker::WriteBatch;
use sim::SimRng;

const TIMEOUTS: Timeouts = Timeouts {
    head: Duration::from_secs(5),
    idle: Duration::from_secs(2),
    body: Duration::from_secs(30),
};
/// The most one event's handling may take in the simulation.
const MAX_WORK: Duration = Duration::from_micros(400);
const DATE: &[u8] = b"Thu, 01 Jan 1970 00:00:00 GMT";

struct Client {
    conn: ServerConnection,
    /// Response bytes waiting in the connection's buffer.
    out: Vec<u8>,
    /// Everything the client would send, and how much it has.
    wire: Vec<u8>,
    sent: usize,
    /// It sends nothing past this many bytes.
    stall_at: usize,
    next_send: Option<Instant>,
    open: bool,
    /// When the last read left it waiting, and whether for a new request.
    waiting_since: Instant,
    waiting_idle: bool,
    held_since: Option<Instant>,
    served: usize,
    /// The response bytes written to the client.
    received: Vec<u8>,
}

fn client(rng: &mut SimRng, index: usize, now: Instant) -> Client {
    let requests = rng.range(1, 4) as usize;
    let mut wire = Vec::new();
    for r in 0..requests {
        wire.extend_from_slice(format!("GET /c{index}r{r} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    let stall_at = if rng.range(0, 99) < 20 {
        rng.range(0, wire.len() as u64) as usize
    } else {
        wire.len()
    };
    // Accepted and read at once: nothing yet, so it waits for a request.
    let mut conn = ServerConnection::new(DecoderConfig::default(), b"", TIMEOUTS);
    conn.await_peer(now);
    Client {
        conn,
        out: Vec::new(),
        wire,
        sent: 0,
        stall_at,
        next_send: Some(now + Duration::from_millis(rng.range(0, 1) * 10)),
        open: true,
        waiting_since: now,
        waiting_idle: true,
        held_since: None,
        served: 0,
        received: Vec::new(),
    }
}

struct Table {
    rng: SimRng,
    now: Instant,
    clients: Vec<Client>,
    batch: WriteBatch,
    /// The most one event's work takes in this run.
    max_work: Duration,
}

impl Table {
    /// The worker's wait: until the first deadline or client action.
    fn sleep(&mut self) {
        let deadlines = self
            .clients
            .iter()
            .filter(|c| c.open)
            .flat_map(|c| [c.next_send, c.conn.next_deadline()])
            .flatten();
        if let Some(wake) = deadlines.min() {
            self.now = self.now.max(wake);
        }
    }

    /// One client's bytes arrive: the worker reads and serves them.
    fn deliver(&mut self, slot: usize) {
        let rng = &mut self.rng;
        let c = &mut self.clients[slot];
        let piece = rng.range(1, 80) as usize;
        let end = (c.sent + piece).min(c.stall_at);
        c.conn.feed(&c.wire[c.sent..end]);
        c.sent = end;
        c.next_send = (c.sent < c.stall_at).then(|| {
            // Now and then longer than the keep-alive time; on a 10 ms
            // grid, so that several clients are often ready at once.
            let gap = if rng.range(0, 99) < 10 {
                2_500
            } else {
                rng.range(0, 30) * 10
            };
            self.now + Duration::from_millis(gap)
        });
        loop {
            match c.conn.poll_event() {
                Ok(ConnEvent::Request(head)) => {
                    let expected = format!("/c{slot}r{}", c.served);
                    assert_eq!(head.target(), expected.as_bytes(), "requests out of order");
                    let body = head.target().to_vec();
                    c.served += 1;
                    assert!(matches!(c.conn.poll_event(), Ok(ConnEvent::BodyEnd)));
                    let out = &mut c.out;
                    c.conn.start_response(200, b"OK", true, out).expect("start");
                    c.conn
                        .end_head(DATE, Some(body.len() as u64), out)
                        .expect("head");
                    c.conn.body(&body, out).expect("body");
                    assert_eq!(c.conn.finish_response(out, || DATE), Next::Request);
                }
                Ok(ConnEvent::NeedData) => break,
                other => panic!("client {slot}: {other:?}"),
            }
        }
        c.conn.await_peer(self.now);
        c.waiting_since = self.now;
        c.waiting_idle = c.conn.is_idle();
        if !c.out.is_empty() && c.held_since.is_none() {
            c.held_since = Some(self.now);
            self.batch.hold(slot, self.now);
        }
        assert!(self.batch.len() <= WriteBatch::MAX, "batch over its limit");
    }

    fn write_batch(&mut self) {
        let slots = self.batch.take();
        for &slot in &slots {
            let c = &mut self.clients[slot];
            let held = c.held_since.take().expect("a held response");
            assert!(
                self.now.saturating_since(held) <= WriteBatch::WINDOW + MAX_WORK,
                "a response waited {:?}",
                self.now.saturating_since(held)
            );
            c.received.append(&mut c.out);
        }
        self.batch.recycle(slots);
    }

    fn expire(&mut self) {
        for (slot, c) in self.clients.iter_mut().enumerate() {
            if !c.open {
                continue;
            }
            let timeout = if c.waiting_idle {
                TIMEOUTS.idle
            } else {
                TIMEOUTS.head
            };
            assert_eq!(
                c.conn.next_deadline(),
                Some(c.waiting_since + timeout),
                "client {slot}: deadline (idle: {})",
                c.waiting_idle
            );
            if c.conn.handle_timeout(self.now) {
                assert!(self.now >= c.waiting_since + timeout, "closed early");
                assert!(c.held_since.is_none(), "closed with a response unwritten");
                c.open = false;
                c.next_send = None;
            } else {
                assert!(
                    c.waiting_since + timeout > self.now,
                    "kept past its deadline"
                );
            }
        }
    }

    /// One turn of the loop: sleep, handle what is ready, expire, write.
    fn turn(&mut self) {
        self.sleep();
        let mut ready: Vec<usize> = (0..self.clients.len())
            .filter(|&i| self.clients[i].open && self.clients[i].next_send <= Some(self.now))
            .filter(|&i| self.clients[i].next_send.is_some())
            .collect();
        // Any order the poll reports them in.
        for i in (1..ready.len()).rev() {
            ready.swap(i, self.rng.range(0, i as u64) as usize);
        }
        for slot in ready {
            self.deliver(slot);
            // Quick work fills the batch by count; slow work makes it due
            // by time.
            let work = self.rng.range(0, self.max_work.as_micros() as u64);
            self.now = self.now + Duration::from_micros(work);
            if self.batch.is_due(self.now) {
                self.write_batch();
            }
        }
        // The worker writes what waits before it sleeps, so expiry never
        // finds a response unwritten.
        self.write_batch();
        self.expire();
    }
}

fn check_responses(slot: usize, c: &Client) {
    let mut at = 0;
    for r in 0..c.served {
        let body = format!("/c{slot}r{r}");
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nDate: {}\r\n\r\n",
            body.len(),
            String::from_utf8_lossy(DATE)
        );
        let expected = [head.as_bytes(), body.as_bytes()].concat();
        assert_eq!(
            &c.received[at..at + expected.len()],
            &expected[..],
            "client {slot}: response {r}"
        );
        at += expected.len();
    }
    assert_eq!(
        at,
        c.received.len(),
        "client {slot}: bytes beyond its responses"
    );
}

fn run(seed: u64) {
    let mut rng = SimRng::new(seed);
    let now = Instant::from_millis(1_000);
    let count = rng.range(1, 48) as usize;
    let clients = (0..count).map(|i| client(&mut rng, i, now)).collect();
    let mut table = Table {
        rng,
        now,
        clients,
        batch: WriteBatch::default(),
        max_work: if seed.is_multiple_of(2) {
            Duration::from_micros(40)
        } else {
            MAX_WORK
        },
    };
    let mut turns = 0;
    while table.clients.iter().any(|c| c.open) {
        table.turn();
        turns += 1;
        assert!(turns < 10_000, "seed {seed}: the table never settles");
    }
    for (slot, c) in table.clients.iter().enumerate() {
        check_responses(slot, c);
    }
}

#[test]
fn connections_keep_their_deadlines_and_responses_their_batch() {
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    for seed in 0..seeds {
        run(seed);
    }
}
