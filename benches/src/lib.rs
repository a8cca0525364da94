//! Inputs and the measured calls shared by the codec bench and its
//! profiling driver.

use std::mem::MaybeUninit;

pub mod access;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rcorn_core::http::{
    ConnEvent, DateCache, DecoderConfig, Event, RequestDecoder, ServerConnection, Timeouts,
};
use rcorn_io::exchange::{Connection, Exchange, ExchangeContext, ServerAddr};
use rcorn_io::stream::{PeerAddr, Stream};
use rcorn_io::App;

/// A typical browser GET (about 500 bytes of head).
pub const BROWSER_GET: &[u8] =
    b"GET /articles/2024/rust-http-servers?page=2&sort=recent HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/articles/2024\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\r\n";

pub const SMALL_POST: &[u8] = b"POST /api/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\":\"widget\",\"qty\":12}\n";

/// Bare httparse, called as rcorn's decoder calls it: a header array of the
/// same capacity, left uninitialised (httparse writes only what it finds).
#[inline]
pub fn httparse_bare(input: &[u8]) -> bool {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
    let mut req = httparse::Request::new(&mut []);
    req.parse_with_uninit_headers(input, &mut headers)
        .map(|s| s.is_complete())
        .unwrap_or(false)
}

/// `httparse::Request::parse` as httparse documents it: a fresh array of
/// 64 `EMPTY_HEADER`s per request (which the call zeroes first, about 2 KB,
/// and which `httparse_bare` avoids).
#[inline]
pub fn httparse_parse(input: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(input).map(|s| s.is_complete()).unwrap_or(false)
}

/// `httparse_parse` over each of `n` messages of `message_len` bytes
/// already in `stream`, as [`httparse_stream`] does with the bare call.
#[inline]
pub fn httparse_parse_stream(stream: &[u8], message_len: usize) -> usize {
    stream
        .chunks_exact(message_len)
        .map(|message| usize::from(httparse_parse(message)))
        .sum()
}

/// Bare httparse over bytes just copied into a reused buffer, the way
/// rcorn's `feed` (or a socket read) delivers them before it decodes. Copy
/// and parse together cost well over the copy alone (about 45 ns more than
/// `httparse_bare` on the GET, 20 ns on the POST, when measured), so this
/// is the baseline that receives its input as rcorn does.
#[inline]
pub fn httparse_fed(buf: &mut [u8], input: &[u8]) -> bool {
    buf[..input.len()].copy_from_slice(input);
    httparse_bare(&buf[..input.len()])
}

/// Feeds `input` and takes every event; what it saw, so nothing is
/// optimised away.
#[inline]
pub fn decode_all(decoder: &mut RequestDecoder, input: &[u8]) -> usize {
    decoder.feed(input);
    decode_buffered(decoder)
}

/// Decodes once more the one message a socket read would have left in
/// the decoder: after a first [`decode_all`] of it, the emptied buffer
/// still holds its bytes at the front, where the next read lands, so
/// `read_buf` and `filled` present them again without a copy. httparse's
/// input is in memory already too; the kernel's copy is charged to
/// neither. (Should the buffer ever not start there, the decoder sees
/// other bytes and the bench stops on the error.)
#[inline]
pub fn decode_read(decoder: &mut RequestDecoder, len: usize) -> usize {
    decoder.read_buf(len);
    decoder.filled(len);
    decode_buffered(decoder)
}

/// `n` copies of `message` back to back, as a pipelining client (or a busy
/// keep-alive connection) leaves them in the read buffer.
pub fn pipelined(message: &[u8], n: usize) -> Vec<u8> {
    message.repeat(n)
}

/// Bare httparse over `n` messages of `message_len` bytes already in
/// `stream`: each head parsed where the last message ended, its body (if
/// any) stepped over by the known length.
#[inline]
pub fn httparse_stream(stream: &[u8], message_len: usize) -> usize {
    let mut parsed = 0;
    for message in stream.chunks_exact(message_len) {
        parsed += usize::from(httparse_bare(message));
    }
    parsed
}

/// Decodes every message a decoder holds (fed before, outside the
/// measured time), as the worker does once a read has filled its buffer:
/// the counterpart of [`httparse_stream`].
#[inline]
pub fn decode_buffered(decoder: &mut RequestDecoder) -> usize {
    let mut seen = 0;
    loop {
        match decoder.next_event() {
            Ok(Event::Head(h)) => seen += h.header_count(),
            Ok(Event::Body(b)) => seen += b.len(),
            Ok(Event::End) => {}
            Ok(_) => return seen,
            Err(e) => panic!("benchmark input rejected: {e}"),
        }
    }
}

/// The server end of a connected socket pair as the worker holds a
/// connection, the client end that talks to it, and the Date cache.
pub struct SocketPairServer {
    pub conn: Connection,
    pub client: UnixStream,
    pub dates: DateCache,
    response: Vec<u8>,
}

impl SocketPairServer {
    pub fn new() -> SocketPairServer {
        let (server, client) = match UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => panic!("socketpair: {e}"),
        };
        server
            .set_nonblocking(true)
            .expect("non-blocking server end");
        let conn = Connection {
            stream: Stream::Unix(mio::net::UnixStream::from_std(server)),
            http: ServerConnection::new(DecoderConfig::default(), b"rcorn", Timeouts::default()),
            out: Vec::with_capacity(4096),
            // The bytes travel over a socketpair, but the environ describes
            // a TCP client and listener, as most deployments have.
            peer: PeerAddr::Ip(std::net::SocketAddr::from(([127, 0, 0, 1], 54321))),
            via: None,
            log_fields: Default::default(),
            socket_drained: false,
            sniff: None,
            upgrade: None,
            server: ServerAddr {
                name: "127.0.0.1".into(),
                port: "8000".into(),
                unix: false,
            },
        };
        SocketPairServer {
            conn,
            client,
            dates: DateCache::new(),
            response: vec![0u8; 4096],
        }
    }

    /// One whole request: `request` written by the client, read, decoded
    /// and answered by `app` on the server end, the response read back.
    /// Returns the response's length.
    pub fn serve_one(&mut self, app: &mut impl App, request: &[u8]) -> usize {
        self.client.write_all(request).expect("client write");
        read_head(&mut self.conn);
        let ctx = exchange_context(&mut self.dates);
        let mut ex = Exchange::new(&mut self.conn, ctx).expect("a head");
        app.call(&mut ex);
        let (keep_alive, _) = ex.finish();
        assert!(keep_alive, "the response closed the connection");
        self.client.read(&mut self.response).expect("client read")
    }
}

impl Default for SocketPairServer {
    fn default() -> Self {
        SocketPairServer::new()
    }
}

/// Reads from the socket and decodes until a request head is complete, as
/// the worker loop does before it makes an exchange.
pub fn read_head(conn: &mut Connection) {
    loop {
        match conn.fill() {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("server read: {e}"),
        }
        match conn.http.poll_event() {
            Ok(ConnEvent::Request(_)) => return,
            Ok(ConnEvent::NeedData) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// What an exchange is told about the worker around it: a keep-alive
/// connection, no proxy, no draining.
pub fn exchange_context(dates: &mut DateCache) -> ExchangeContext<'_> {
    ExchangeContext {
        dates,
        io_timeout: Duration::from_secs(5),
        forwarded_scheme: None,
        keep_alive: true,
        draining: None,
        keep_response_headers: false,
        defer_last_write: false,
    }
}

/// A hello-world application in Rust: the server's cost alone.
pub struct RustHello;

impl App for RustHello {
    fn call(&mut self, ex: &mut Exchange<'_>) {
        let body = b"Hello, World!\n";
        let _ = ex.start_response(200, b"OK");
        let _ = ex.header(b"Content-Type", b"text/plain");
        let _ = ex.end_head(Some(body.len() as u64));
        let _ = ex.write_body(body);
    }
}
