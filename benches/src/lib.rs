//! Inputs and the measured calls shared by the codec bench and its
//! profiling driver.

use std::mem::MaybeUninit;

use rcorn_core::http::{Event, RequestDecoder};

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
