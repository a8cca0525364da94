//! The whole HTTP/1.1 server connection, driven as a worker drives it, with
//! every check a plain function: the `h1_connection` fuzz target, the
//! seed-corpus replay and the property test in `core/tests` all run
//! [`check_h1_connection`].
//!
//! A [`Scenario`] is made from arbitrary bytes: a few valid requests
//! (pipelined on one connection; GET, HEAD, POST, PUT; HTTP/1.0 and 1.1;
//! bodies by length or chunked; `Expect: 100-continue`; `Connection:
//! close` or `keep-alive`), what a model application answers to each (a
//! status, 204 and 304 among them; a body, with or without its
//! Content-Length; the request body read whole, in part or not at all),
//! and the sizes of the pieces the client's bytes arrive in. [`Driver`]
//! feeds the pieces and plays the application; the output bytes are then
//! parsed back with httparse and held to the model.
//!
//! Every check panics on a violation.

use rcorn_core::http::{ConnEvent, DecoderConfig, Next, ServerConnection, Timeouts};

/// The Date every response carries here.
pub const DATE: &[u8] = b"Thu, 01 Jan 1970 00:00:00 GMT";

/// One request as the client sends it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: &'static str,
    pub minor: u8,
    /// Sent with a body (POST and PUT), possibly empty.
    pub has_body: bool,
    pub body: Vec<u8>,
    pub chunked: bool,
    pub expect_continue: bool,
    /// HTTP/1.1: `Connection: close`. HTTP/1.0: no `keep-alive`.
    pub close: bool,
}

/// How much of the request body the application reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    Nothing,
    All,
    AtLeast(usize),
}

/// What the model application answers.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_length: bool,
    pub read: Read,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub requests: Vec<Request>,
    pub answers: Vec<Answer>,
    /// Sizes of the pieces the bytes arrive in, used in turn.
    pub pieces: Vec<usize>,
}

/// Reads small numbers off the front of a byte string; zeros once empty.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

const METHODS: [&str; 4] = ["GET", "POST", "HEAD", "PUT"];
const STATUSES: [u16; 8] = [200, 201, 204, 304, 404, 500, 302, 200];

impl Scenario {
    /// Any bytes make a scenario; the same bytes the same one.
    pub fn from_bytes(data: &[u8]) -> Scenario {
        let mut bytes = Bytes(data);
        let count = 1 + usize::from(bytes.next() % 5);
        let mut requests = Vec::with_capacity(count);
        let mut answers = Vec::with_capacity(count);
        for i in 0..count {
            let flags = bytes.next();
            let method = METHODS[usize::from(flags & 3)];
            let minor = if flags & 4 != 0 { 0 } else { 1 };
            let has_body = matches!(method, "POST" | "PUT");
            let len = if has_body {
                usize::from(bytes.next() % 40)
            } else {
                0
            };
            let body = (0..len).map(|j| b'a' + ((i * 7 + j) % 26) as u8).collect();
            requests.push(Request {
                method,
                minor,
                has_body,
                body,
                chunked: has_body && minor == 1 && flags & 8 != 0,
                expect_continue: has_body && minor == 1 && len > 0 && flags & 16 != 0,
                close: flags & 32 != 0,
            });
            let shape = bytes.next();
            let len = usize::from(bytes.next() % 50);
            answers.push(Answer {
                status: STATUSES[usize::from(shape & 7)],
                body: (0..len).map(|j| b'A' + ((i + j) % 26) as u8).collect(),
                content_length: shape & 8 != 0,
                read: match (shape >> 4) & 3 {
                    0 => Read::Nothing,
                    3 => Read::AtLeast(usize::from(shape >> 6)),
                    _ => Read::All,
                },
            });
        }
        let mut pieces: Vec<usize> = bytes.0.iter().map(|&b| usize::from(b % 64) + 1).collect();
        if pieces.is_empty() {
            pieces.push(usize::MAX);
        }
        Scenario {
            requests,
            answers,
            pieces,
        }
    }

    /// The client's bytes: every request, back to back.
    pub fn wire(&self) -> Vec<u8> {
        let mut wire = Vec::new();
        for (i, r) in self.requests.iter().enumerate() {
            wire.extend_from_slice(
                format!("{} /r{i} HTTP/1.{}\r\nHost: x\r\n", r.method, r.minor).as_bytes(),
            );
            match (r.minor, r.close) {
                (1, true) => wire.extend_from_slice(b"Connection: close\r\n"),
                (0, false) => wire.extend_from_slice(b"Connection: keep-alive\r\n"),
                _ => {}
            }
            if r.expect_continue {
                wire.extend_from_slice(b"Expect: 100-continue\r\n");
            }
            if r.chunked {
                wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in r.body.chunks(7) {
                    wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    wire.extend_from_slice(chunk);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n\r\n");
            } else if r.has_body {
                wire.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", r.body.len()).as_bytes(),
                );
                wire.extend_from_slice(&r.body);
            } else {
                wire.extend_from_slice(b"\r\n");
            }
        }
        wire
    }
}

/// Feeds a connection the client's bytes in pieces, then its end.
pub struct Feeder {
    input: Vec<u8>,
    fed: usize,
    pieces: Vec<usize>,
    next_piece: usize,
    eof: bool,
}

impl Feeder {
    pub fn new(input: Vec<u8>, pieces: Vec<usize>) -> Feeder {
        Feeder {
            input,
            fed: 0,
            pieces,
            next_piece: 0,
            eof: false,
        }
    }

    /// Gives `conn` the next piece, or the end of input. `false` when both
    /// were given already: a connection that asks again is stuck.
    pub fn feed(&mut self, conn: &mut ServerConnection) -> bool {
        if self.fed < self.input.len() {
            let size = self.pieces[self.next_piece % self.pieces.len()];
            self.next_piece += 1;
            let end = self.fed + size.min(self.input.len() - self.fed);
            conn.feed(&self.input[self.fed..end]);
            self.fed = end;
            return true;
        }
        if self.eof {
            return false;
        }
        conn.feed_eof();
        self.eof = true;
        true
    }
}

/// What happened to one request on the server side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// `100 Continue` was written for it.
    pub continued: bool,
    /// The body bytes the application read.
    pub read: Vec<u8>,
    /// The application read the body to its end.
    pub ended: bool,
}

/// Plays a worker and the model application over a connection.
pub struct Driver<'s> {
    scenario: &'s Scenario,
    pub conn: ServerConnection,
    pub feeder: Feeder,
    pub out: Vec<u8>,
    pub served: Vec<Served>,
}

impl<'s> Driver<'s> {
    pub fn new(scenario: &'s Scenario) -> Driver<'s> {
        Driver {
            scenario,
            conn: ServerConnection::new(DecoderConfig::default(), b"rcorn", Timeouts::default()),
            feeder: Feeder::new(scenario.wire(), scenario.pieces.clone()),
            out: Vec::new(),
            served: Vec::new(),
        }
    }

    /// Runs the connection until it closes.
    pub fn run(&mut self) {
        loop {
            match self.conn.poll_event() {
                Ok(ConnEvent::Request(head)) => {
                    let i = self.served.len();
                    assert!(i < self.scenario.requests.len(), "a request never sent");
                    assert_eq!(head.target(), format!("/r{i}").as_bytes(), "out of order");
                    assert_eq!(head.method(), self.scenario.requests[i].method);
                    self.answer(i);
                }
                Ok(ConnEvent::NeedData) => {
                    assert!(
                        !self.conn.poll_transmit(&mut self.out),
                        "bytes to send between requests"
                    );
                    assert!(self.feeder.feed(&mut self.conn), "needs data after the end");
                }
                Ok(ConnEvent::Closed) => break,
                Ok(other) => panic!("{other:?} between requests"),
                Err(e) => panic!("a valid request refused: {e}"),
            }
        }
        assert!(
            matches!(self.conn.poll_event(), Ok(ConnEvent::Closed)),
            "events after Closed"
        );
    }

    /// Reads the body as the answer says; returns what was read.
    fn read_body(&mut self, i: usize) -> Served {
        let request = &self.scenario.requests[i];
        let want = match self.scenario.answers[i].read {
            Read::Nothing => 0,
            Read::All => usize::MAX,
            Read::AtLeast(n) => n,
        };
        let mut served = Served {
            continued: false,
            read: Vec::new(),
            ended: false,
        };
        while !served.ended && served.read.len() < want {
            match self.conn.poll_event() {
                Ok(ConnEvent::Body(bytes)) => served.read.extend_from_slice(bytes),
                Ok(ConnEvent::BodyEnd) => served.ended = true,
                Ok(ConnEvent::NeedData) => {
                    if self.conn.poll_transmit(&mut self.out) {
                        assert!(request.expect_continue, "100 Continue unasked");
                        assert!(!served.continued, "a second 100 Continue");
                        assert!(self.out.ends_with(b"HTTP/1.1 100 Continue\r\n\r\n"));
                        served.continued = true;
                    }
                    assert!(self.feeder.feed(&mut self.conn), "body never ends");
                }
                other => panic!("{other:?} while reading a body"),
            }
        }
        assert!(request.body.starts_with(&served.read), "body bytes differ");
        if want == usize::MAX {
            assert_eq!(served.read, request.body, "body cut short");
        }
        served
    }

    fn answer(&mut self, i: usize) {
        let served = self.read_body(i);
        self.served.push(served);
        let answer = &self.scenario.answers[i];
        let out = &mut self.out;
        let conn = &mut self.conn;
        conn.start_response(answer.status, b"X", true, out)
            .expect("start_response");
        conn.header(b"Content-Type", b"text/plain", out)
            .expect("header");
        if answer.content_length {
            let len = answer.body.len().to_string();
            conn.header(b"Content-Length", len.as_bytes(), out)
                .expect("Content-Length");
        }
        conn.end_head(DATE, None, out).expect("end_head");
        for chunk in answer.body.chunks(13) {
            conn.body(chunk, out).expect("body");
        }
        let mut next = conn.finish_response(out, || DATE);
        while next == Next::Drain {
            next = match conn.drain() {
                Ok(next) => next,
                Err(e) => panic!("a valid body refused while drained: {e}"),
            };
            if next == Next::Drain {
                assert!(self.feeder.feed(conn), "drained body never ends");
            }
        }
        if next == Next::Close {
            assert!(
                matches!(conn.poll_event(), Ok(ConnEvent::Closed)),
                "a request after close"
            );
        }
    }
}

/// One response read back from the output.
#[derive(Debug)]
struct Parsed {
    status: u16,
    minor: u8,
    close: bool,
    keep_alive: bool,
    body: Vec<u8>,
}

/// Parses one response head at the front of `out`, and its body framed as
/// the request and the head say. Returns it and its length.
fn parse_response(out: &[u8], request: &Request) -> (Parsed, usize) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(out) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "unparsable response {other:?}: {:?}",
            String::from_utf8_lossy(out)
        ),
    };
    let status = response.code.expect("a status");
    let minor = response.version.expect("a version");
    let (mut close, mut keep_alive, mut length, mut chunked) = (false, false, None, false);
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).expect("ASCII header");
        match h.name.to_ascii_lowercase().as_str() {
            "connection" => {
                close |= value.eq_ignore_ascii_case("close");
                keep_alive |= value.eq_ignore_ascii_case("keep-alive");
            }
            "content-length" => {
                assert!(length.is_none(), "two Content-Lengths");
                length = Some(value.parse::<usize>().expect("a number"));
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let rest = &out[head_len..];
    let bodiless = request.method == "HEAD" || status == 204 || status == 304 || status < 200;
    let (body, used) = if bodiless {
        assert!(!chunked, "chunked framing on a bodiless response");
        (Vec::new(), 0)
    } else if let Some(n) = length {
        assert!(!chunked, "Content-Length and chunked");
        assert!(rest.len() >= n, "body shorter than its Content-Length");
        (rest[..n].to_vec(), n)
    } else if chunked {
        dechunk(rest)
    } else {
        assert!(close, "a body until close on a connection kept alive");
        (rest.to_vec(), rest.len())
    };
    let parsed = Parsed {
        status,
        minor,
        close,
        keep_alive,
        body,
    };
    (parsed, head_len + used)
}

/// Strictly de-chunks the front of `input`: the body and the bytes used.
fn dechunk(input: &[u8]) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at
            + input[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a chunk size line");
        let text = std::str::from_utf8(&input[at..line_end]).expect("ASCII size");
        let size = usize::from_str_radix(text, 16).expect("a hex size");
        at = line_end + 2;
        if size == 0 {
            assert_eq!(&input[at..at + 2], b"\r\n", "trailers in a response");
            return (body, at + 2);
        }
        body.extend_from_slice(&input[at..at + size]);
        assert_eq!(&input[at + size..at + size + 2], b"\r\n", "chunk end");
        at += size + 2;
    }
}

/// Whether the model says request `i`'s response head may promise
/// keep-alive: the client allows it and the framing ends without closing.
fn may_keep_alive(request: &Request, answer: &Answer) -> bool {
    let bodiless = request.method == "HEAD" || matches!(answer.status, 204 | 304);
    let until_close = request.minor == 0 && !bodiless && !answer.content_length;
    !request.close && !until_close
}

/// The application left a body unread that the client may still hold back
/// for a `100 Continue` that never went out: only closing is unambiguous,
/// even after a head that promised keep-alive (the rule applies once the
/// response is finished).
fn closes_for_continue(request: &Request, served: &Served) -> bool {
    request.expect_continue && !served.continued && !served.ended
}

/// Runs a scenario and holds the output to the model.
pub fn check_scenario(scenario: &Scenario) {
    let mut driver = Driver::new(scenario);
    driver.run();
    let out = &driver.out;
    let mut at = 0;
    let mut index = 0;
    let mut continues = 0;
    while at < out.len() {
        let request = &scenario.requests[index.min(scenario.requests.len() - 1)];
        let (parsed, used) = parse_response(&out[at..], request);
        at += used;
        if parsed.status == 100 {
            assert!(request.expect_continue, "100 Continue to request {index}");
            assert!(driver.served[index].continued, "an unrecorded 100 Continue");
            continues += 1;
            continue;
        }
        assert!(index < driver.served.len(), "a response to no request");
        let answer = &scenario.answers[index];
        assert_eq!(parsed.status, answer.status, "response {index}: status");
        assert_eq!(parsed.minor, request.minor, "response {index}: version");
        let bodiless = request.method == "HEAD" || matches!(answer.status, 204 | 304);
        if !bodiless {
            assert_eq!(parsed.body, answer.body, "response {index}: body");
        }
        let kept = !parsed.close && (request.minor == 1 || parsed.keep_alive);
        assert_eq!(
            kept,
            may_keep_alive(request, answer),
            "response {index}: keep-alive {parsed:?}"
        );
        let goes_on = kept && !closes_for_continue(request, &driver.served[index]);
        if !goes_on {
            assert_eq!(at, out.len(), "bytes after a response that closes");
        }
        index += 1;
        if goes_on {
            assert!(
                index == scenario.requests.len() || at < out.len(),
                "request {index} never answered on a kept connection"
            );
        }
    }
    assert_eq!(
        index,
        driver.served.len(),
        "requests served without response"
    );
    let continued = driver.served.iter().filter(|s| s.continued).count();
    assert_eq!(continues, continued, "100 Continues written and parsed");
}

/// The `h1_connection` fuzz target: any bytes make a scenario.
pub fn check_h1_connection(data: &[u8]) {
    check_scenario(&Scenario::from_bytes(data));
}
