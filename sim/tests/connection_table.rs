//! A worker's connection table — core's `ConnTable`, the type the
//! sync/gthread loop runs on — under a simulated clock. Clients arrive at
//! random moments and wait in the backlog while the worker is at its
//! `worker_connections`; once accepted they send requests on keep-alive
//! connections in pieces (some stall mid-request, some pause past the
//! keep-alive time); in some runs the worker is told to stop (TERM)
//! part-way. The loop here does what the real loop does with the table's
//! answers: wake at its earliest deadline or at an event, handle the ready
//! events one after another, write the batch when it is due and before
//! sleeping, close what the table expires, carry out the lifecycle's
//! commands (stop or resume accepting, retire, exit). After every step it
//! checks:
//!
//! 1. no connection is closed before its deadline, and none is kept once
//!    its deadline has passed;
//! 2. the deadline is the keep-alive time from the last read when no
//!    request has begun, the head time when one has;
//! 3. no response waits longer than the batch window plus the work of one
//!    event, and never more than the batch's limit at once;
//! 4. every request gets its own response, in order, and a connection
//!    given up on had no whole request unanswered;
//! 5. no more than `worker_connections` are open, and the worker listens
//!    exactly while it is not draining and under that cap;
//! 6. once retiring, nothing is accepted, every response is the
//!    connection's last (`Connection: close`), a connection idle at the
//!    retirement is closed within the keep-alive time unless it began a
//!    request, and the worker exits when its last connection closes, or at
//!    the graceful timeout with connections still open.
//!
//! `SIM_SEEDS=<n>` runs more seeds (default 500); a failure names its
//! seed, and `SIM_SEED=<seed>` replays that one.

use std::time::Duration;

use rcorn_core::http::{ConnEvent, DecoderConfig, Next, ServerConnection, Timeouts};
use rcorn_core::time::Instant;
use rcorn_core::worker::{
    ConnTable, TableConn, WorkerCommand, WorkerEvent, WorkerLifecycle, WorkerSettings,
    WorkerSignal, WorkerState, WriteBatch,
};
use sim::SimRng;

const TIMEOUTS: Timeouts = Timeouts {
    head: Duration::from_secs(5),
    idle: Duration::from_secs(2),
    body: Duration::from_secs(30),
};
/// The most one event's handling may take in the simulation.
const MAX_WORK: Duration = Duration::from_micros(400);
const DATE: &[u8] = b"Thu, 01 Jan 1970 00:00:00 GMT";

/// A connection as the table holds it: the protocol state and the
/// response bytes waiting in its buffer.
struct SimConn {
    http: ServerConnection,
    out: Vec<u8>,
    client: usize,
}

impl TableConn for SimConn {
    fn next_deadline(&self) -> Option<Instant> {
        self.http.next_deadline()
    }
    fn handle_timeout(&mut self, now: Instant) -> bool {
        self.http.handle_timeout(now)
    }
    fn await_peer(&mut self, now: Instant) {
        self.http.await_peer(now);
    }
    fn retire(&mut self, now: Instant) {
        self.http.retire(now);
    }
    fn has_unwritten(&self) -> bool {
        !self.out.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    /// Not yet accepted.
    Backlog,
    Open(usize),
    /// Closed by the worker after a final response.
    Finished,
    /// Closed by the worker at its deadline.
    Expired,
}

struct Client {
    arrives: Instant,
    phase: Phase,
    /// Everything the client would send, and how much it has.
    wire: Vec<u8>,
    requests: Vec<usize>,
    sent: usize,
    /// It sends nothing past this many bytes.
    stall_at: usize,
    next_send: Option<Instant>,
    /// When the last read left it waiting, and whether for a new request.
    waiting_since: Instant,
    waiting_idle: bool,
    held_since: Option<Instant>,
    served: usize,
    /// The response bytes written to the client, and how many of the
    /// responses said `Connection: close`.
    received: Vec<u8>,
    /// Idle when the worker began to retire, and has begun nothing since.
    idle_at_retirement: bool,
}

fn client(rng: &mut SimRng, index: usize, start: Instant) -> Client {
    let count = rng.range(1, 4) as usize;
    let mut wire = Vec::new();
    let mut requests = Vec::new();
    for r in 0..count {
        wire.extend_from_slice(format!("GET /c{index}r{r} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        requests.push(wire.len());
    }
    let stall_at = if rng.range(0, 99) < 20 {
        rng.range(0, wire.len() as u64) as usize
    } else {
        wire.len()
    };
    let arrives = start + Duration::from_millis(rng.range(0, 300) * 10);
    Client {
        arrives,
        phase: Phase::Backlog,
        wire,
        requests,
        sent: 0,
        stall_at,
        next_send: None,
        waiting_since: arrives,
        waiting_idle: true,
        held_since: None,
        served: 0,
        received: Vec::new(),
        idle_at_retirement: false,
    }
}

#[derive(Clone, Copy)]
enum Ready {
    Accept,
    Readable(usize),
}

struct Sim {
    rng: SimRng,
    now: Instant,
    clients: Vec<Client>,
    table: ConnTable<SimConn>,
    cap: usize,
    graceful: Duration,
    /// The listener is registered (StopAccepting / ResumeAccepting).
    listening: bool,
    commands: Vec<WorkerCommand>,
    term_at: Option<Instant>,
    retired_at: Option<Instant>,
    exited: Option<(i32, Instant)>,
    /// The most one event's work takes in this run.
    max_work: Duration,
    seen: Seen,
}

/// What a run went through, so the test can show every rule was reached.
#[derive(Default, Clone, Copy)]
struct Seen {
    at_cap: bool,
    retired_with_open: bool,
    idle_retired: bool,
    cut_at_graceful_timeout: bool,
    expired: bool,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = SimRng::new(seed);
        let start = Instant::from_millis(1_000);
        let count = rng.range(1, 48) as usize;
        let clients = (0..count).map(|i| client(&mut rng, i, start)).collect();
        let cap = rng.range(1, count as u64 + 2) as usize;
        let graceful = Duration::from_millis(rng.range(1, 12) * 1_000);
        let term_at =
            (rng.range(0, 1) == 0).then(|| start + Duration::from_millis(rng.range(0, 400) * 10));
        let settings = WorkerSettings {
            worker_connections: cap,
            graceful_timeout: graceful,
            keepalive: TIMEOUTS.idle,
            ..Default::default()
        };
        let mut lifecycle = WorkerLifecycle::new(settings, start);
        let mut commands = Vec::new();
        lifecycle.handle(start, WorkerEvent::Booted, &mut commands);
        Sim {
            rng,
            now: start,
            clients,
            table: ConnTable::new(lifecycle, WriteBatch::default()),
            cap,
            graceful,
            listening: true,
            commands,
            term_at,
            retired_at: None,
            exited: None,
            max_work: if seed.is_multiple_of(2) {
                Duration::from_micros(40)
            } else {
                MAX_WORK
            },
            seen: Seen::default(),
        }
    }

    fn backlog(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.clients.len()).filter(|&i| {
            let c = &self.clients[i];
            c.phase == Phase::Backlog && c.arrives <= self.now
        })
    }

    /// The worker's wait: until the table's deadline, a client's action,
    /// a pending accept, or the signal.
    fn sleep(&mut self) {
        let listening = self.listening;
        let clients = self.clients.iter().filter_map(|c| match c.phase {
            Phase::Backlog if listening => Some(c.arrives),
            Phase::Open(_) => c.next_send,
            _ => None,
        });
        let wake = clients
            .chain(self.table.next_deadline())
            .chain(self.term_at)
            .min();
        if let Some(wake) = wake {
            self.now = self.now.max(wake);
        }
    }

    /// What the lifecycle commanded, carried out as `lifecycle_host` does.
    fn carry_out(&mut self) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                WorkerCommand::StopAccepting => self.listening = false,
                WorkerCommand::ResumeAccepting => self.listening = true,
                WorkerCommand::RetireIdleConnections => self.retire(),
                WorkerCommand::ReopenLogs => {}
                WorkerCommand::Exit { code } => {
                    self.exited.get_or_insert((code, self.now));
                }
            }
        }
    }

    fn lifecycle_event(&mut self, event: WorkerEvent) {
        self.table
            .lifecycle_mut()
            .handle(self.now, event, &mut self.commands);
        self.carry_out();
    }

    fn accept(&mut self) {
        while self.table.accepting() {
            let Some(i) = self.backlog().next() else {
                return;
            };
            assert!(self.listening, "accepted while not listening");
            let slot = self.table.reserve();
            let http = ServerConnection::new(DecoderConfig::default(), b"", TIMEOUTS);
            let conn = SimConn {
                http,
                out: Vec::new(),
                client: i,
            };
            self.table.open(slot, conn, self.now, &mut self.commands);
            self.seen.at_cap |= self.table.open_count() == self.cap;
            let c = &mut self.clients[i];
            c.phase = Phase::Open(slot);
            c.waiting_since = self.now;
            c.waiting_idle = true;
            c.next_send = Some(self.now + Duration::from_millis(self.rng.range(0, 1) * 10));
            self.carry_out();
        }
    }

    /// One client's bytes arrive: the worker reads and serves them.
    fn readable(&mut self, i: usize) {
        let Phase::Open(slot) = self.clients[i].phase else {
            return;
        };
        let mut conn = self.table.take(slot).expect("an open client's connection");
        let c = &mut self.clients[i];
        let piece = self.rng.range(1, 80) as usize;
        let end = (c.sent + piece).min(c.stall_at);
        conn.http.feed(&c.wire[c.sent..end]);
        c.sent = end;
        c.idle_at_retirement = false;
        c.next_send = (c.sent < c.stall_at).then(|| {
            // Now and then longer than the keep-alive time; on a 10 ms
            // grid, so that several clients are often ready at once.
            let gap = if self.rng.range(0, 99) < 10 {
                2_500
            } else {
                self.rng.range(0, 30) * 10
            };
            self.now + Duration::from_millis(gap)
        });
        if self.serve(i, &mut conn) {
            self.keep(i, slot, conn);
        } else {
            self.finish(i, slot, conn);
        }
    }

    /// Serves every whole request buffered; `false` once a response was
    /// the connection's last.
    fn serve(&mut self, i: usize, conn: &mut SimConn) -> bool {
        loop {
            let may_reuse = self.table.lifecycle().may_keep_alive();
            let c = &mut self.clients[i];
            match conn.http.poll_event() {
                Ok(ConnEvent::Request(head)) => {
                    let expected = format!("/c{i}r{}", c.served);
                    assert_eq!(head.target(), expected.as_bytes(), "requests out of order");
                    let body = head.target().to_vec();
                    c.served += 1;
                    assert!(matches!(conn.http.poll_event(), Ok(ConnEvent::BodyEnd)));
                    let out = &mut conn.out;
                    conn.http
                        .start_response(200, b"OK", may_reuse, out)
                        .expect("start");
                    conn.http
                        .end_head(DATE, Some(body.len() as u64), out)
                        .expect("head");
                    conn.http.body(&body, out).expect("body");
                    assert!(
                        !(may_reuse && self.retired_at.is_some()),
                        "a response while retiring invites another request"
                    );
                    let next = conn.http.finish_response(out, || DATE);
                    assert_eq!(next == Next::Request, may_reuse, "keep-alive as promised");
                    self.lifecycle_event(WorkerEvent::RequestFinished);
                    if next != Next::Request {
                        return false;
                    }
                }
                Ok(ConnEvent::NeedData) => return true,
                other => panic!("client {i}: {other:?}"),
            }
        }
    }

    /// Back in the table, waiting on the client.
    fn keep(&mut self, i: usize, slot: usize, conn: SimConn) {
        let c = &mut self.clients[i];
        c.waiting_since = self.now;
        c.waiting_idle = conn.http.is_idle();
        if !conn.out.is_empty() && c.held_since.is_none() {
            c.held_since = Some(self.now);
        }
        self.table.keep(slot, conn, self.now);
        assert!(
            self.table.unwritten_len() <= WriteBatch::MAX,
            "batch over its limit"
        );
    }

    /// A final response: written at once, then the connection closes.
    fn finish(&mut self, i: usize, slot: usize, mut conn: SimConn) {
        let c = &mut self.clients[i];
        c.received.append(&mut conn.out);
        c.held_since = None;
        c.phase = Phase::Finished;
        c.next_send = None;
        self.close(slot);
    }

    fn close(&mut self, slot: usize) {
        self.table.close(slot, self.now, &mut self.commands);
        self.carry_out();
    }

    fn write_batch(&mut self) {
        let slots = self.table.take_unwritten();
        for &slot in &slots {
            // A slot is held once per keep with bytes waiting; closed (and
            // reused) since, or written by an earlier hold, it has none.
            let Some(conn) = self.table.get_mut(slot).filter(|c| !c.out.is_empty()) else {
                continue;
            };
            let c = &mut self.clients[conn.client];
            let held = c.held_since.take().expect("a held response");
            let waited = self.now.saturating_since(held);
            assert!(
                waited <= WriteBatch::WINDOW + self.max_work,
                "a response waited {waited:?}"
            );
            c.received.append(&mut conn.out);
        }
        self.table.recycle(slots);
    }

    /// The table's retirement: each connection the loop holds is read
    /// once (nothing new is on its way in the simulation) and kept.
    fn retire(&mut self) {
        self.retired_at = Some(self.now);
        let mut slots = Vec::new();
        self.table.retire_idle(&mut slots);
        self.seen.retired_with_open |= !slots.is_empty();
        for slot in slots {
            let conn = self.table.take(slot).expect("a connection to retire");
            let c = &mut self.clients[conn.client];
            c.idle_at_retirement = conn.http.is_idle();
            self.seen.idle_retired |= c.idle_at_retirement;
            self.table.keep(slot, conn, self.now);
        }
    }

    fn expire(&mut self) {
        for i in 0..self.clients.len() {
            let c = &self.clients[i];
            let Phase::Open(slot) = c.phase else {
                continue;
            };
            let timeout = if c.waiting_idle {
                TIMEOUTS.idle
            } else {
                TIMEOUTS.head
            };
            let deadline = self.table.get_mut(slot).and_then(|c| c.next_deadline());
            assert_eq!(
                deadline,
                Some(c.waiting_since + timeout),
                "client {i}: deadline (idle: {})",
                c.waiting_idle
            );
        }
        let mut expired = Vec::new();
        self.table.expire(self.now, &mut expired);
        for slot in expired {
            let conn = self.table.take(slot).expect("an expired connection");
            let c = &mut self.clients[conn.client];
            assert!(c.held_since.is_none(), "closed with a response unwritten");
            self.seen.expired = true;
            c.phase = Phase::Expired;
            c.next_send = None;
            self.close(slot);
        }
        for (i, c) in self.clients.iter().enumerate() {
            if let Phase::Open(_) = c.phase {
                let timeout = if c.waiting_idle {
                    TIMEOUTS.idle
                } else {
                    TIMEOUTS.head
                };
                assert!(
                    c.waiting_since + timeout > self.now,
                    "client {i}: kept past its deadline"
                );
            }
        }
    }

    fn tick_if_due(&mut self) {
        let due = self.table.lifecycle().next_deadline();
        if due.is_some_and(|d| d <= self.now) {
            self.lifecycle_event(WorkerEvent::Tick);
        }
    }

    /// One turn of the loop: sleep, handle what is ready, expire, write.
    fn turn(&mut self) {
        self.sleep();
        if self.term_at.is_some_and(|t| t <= self.now) {
            self.term_at = None;
            self.lifecycle_event(WorkerEvent::Signal(WorkerSignal::Term));
        }
        let mut ready: Vec<Ready> = (0..self.clients.len())
            .filter(|&i| {
                let c = &self.clients[i];
                matches!(c.phase, Phase::Open(_)) && c.next_send.is_some_and(|t| t <= self.now)
            })
            .map(Ready::Readable)
            .collect();
        if self.listening && self.backlog().next().is_some() {
            ready.push(Ready::Accept);
        }
        // Any order the poll reports them in.
        for i in (1..ready.len()).rev() {
            ready.swap(i, self.rng.range(0, i as u64) as usize);
        }
        for event in ready {
            match event {
                Ready::Accept => self.accept(),
                Ready::Readable(i) => self.readable(i),
            }
            self.check_accepting();
            // Quick work fills the batch by count; slow work makes it due
            // by time.
            let work = self.rng.range(0, self.max_work.as_micros() as u64);
            self.now = self.now + Duration::from_micros(work);
            if self.table.flush_due(self.now) {
                self.write_batch();
            }
        }
        // The worker writes what waits before it sleeps, so expiry never
        // finds a response unwritten.
        self.write_batch();
        self.expire();
        self.tick_if_due();
        self.check_accepting();
        self.check_retired();
    }

    /// Invariant 5.
    fn check_accepting(&self) {
        let open = self.table.open_count();
        assert!(open <= self.cap, "{open} open over the cap of {}", self.cap);
        assert_eq!(open, self.table.lifecycle().connections());
        let accepting = self.table.lifecycle().state() == WorkerState::Accepting;
        assert_eq!(
            self.listening,
            accepting && open < self.cap,
            "listening with {open} open of {}",
            self.cap
        );
        assert_eq!(self.table.accepting(), self.listening);
    }

    /// Invariant 6, while running.
    fn check_retired(&self) {
        let Some(retired) = self.retired_at else {
            return;
        };
        for (i, c) in self.clients.iter().enumerate() {
            if c.idle_at_retirement && matches!(c.phase, Phase::Open(_)) {
                assert!(
                    self.now < retired + TIMEOUTS.idle,
                    "client {i}: idle since the retirement, kept past the keep-alive time"
                );
            }
        }
        let open = self.table.open_count();
        match self.exited {
            Some((code, at)) => {
                assert_eq!(code, 0);
                assert!(
                    open == 0 || at >= retired + self.graceful,
                    "exited with {open} open before the graceful timeout"
                );
            }
            None => assert!(open > 0, "every connection closed, and no exit"),
        }
    }
}

/// Invariant 4, at the end: the bytes each client received are its
/// responses in order, the last one closing if the worker finished the
/// connection; a connection given up on had no whole request unanswered.
fn check_responses(i: usize, c: &Client) {
    let mut at = 0;
    for r in 0..c.served {
        let body = format!("/c{i}r{r}");
        let last = r + 1 == c.served && c.phase == Phase::Finished;
        let close = if last { "Connection: close\r\n" } else { "" };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nDate: {}\r\n{close}\r\n",
            body.len(),
            String::from_utf8_lossy(DATE)
        );
        let expected = [head.as_bytes(), body.as_bytes()].concat();
        let got = c.received.get(at..at + expected.len());
        assert_eq!(
            got.map(String::from_utf8_lossy),
            Some(String::from_utf8_lossy(&expected)),
            "client {i}: response {r}"
        );
        at += expected.len();
    }
    assert_eq!(
        at,
        c.received.len(),
        "client {i}: bytes beyond its responses"
    );
    if c.phase == Phase::Expired {
        let whole = c.requests.iter().filter(|&&end| end <= c.sent).count();
        assert_eq!(
            whole, c.served,
            "client {i}: given up with a request unanswered"
        );
    }
}

fn run(seed: u64) -> Seen {
    let mut sim = Sim::new(seed);
    let mut turns = 0;
    let busy = |sim: &Sim| {
        sim.clients
            .iter()
            .any(|c| matches!(c.phase, Phase::Open(_) | Phase::Backlog))
    };
    while sim.exited.is_none() && busy(&sim) {
        sim.turn();
        turns += 1;
        assert!(turns < 20_000, "seed {seed}: the table never settles");
    }
    if sim.retired_at.is_some() {
        assert!(
            sim.exited.is_some(),
            "seed {seed}: retired and never exited"
        );
    }
    for (i, c) in sim.clients.iter().enumerate() {
        check_responses(i, c);
    }
    if let (Some(_), Some(_)) = (sim.retired_at, sim.exited) {
        sim.seen.cut_at_graceful_timeout |= sim.table.open_count() > 0;
    }
    sim.seen
}

/// Runs one seed; a broken invariant names the seed that replays it.
fn run_reporting(seed: u64) -> Seen {
    std::panic::catch_unwind(|| run(seed)).unwrap_or_else(|_| {
        panic!("replay: SIM_SEED={seed} cargo test -p sim --test connection_table")
    })
}

#[test]
fn the_table_keeps_deadlines_batches_its_cap_and_retires() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        run_reporting(seed.parse().expect("SIM_SEED must be a number"));
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let mut seen = Seen::default();
    for seed in 0..seeds {
        let run = run_reporting(seed);
        seen.at_cap |= run.at_cap;
        seen.retired_with_open |= run.retired_with_open;
        seen.idle_retired |= run.idle_retired;
        seen.cut_at_graceful_timeout |= run.cut_at_graceful_timeout;
        seen.expired |= run.expired;
    }
    if seeds >= 500 {
        assert!(seen.at_cap, "no run reached worker_connections");
        assert!(seen.retired_with_open, "no run retired open connections");
        assert!(seen.idle_retired, "no run retired an idle connection");
        assert!(
            seen.cut_at_graceful_timeout,
            "no run reached the graceful timeout"
        );
        assert!(seen.expired, "no run expired a connection");
    }
}
