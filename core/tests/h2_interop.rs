//! hyperium's `h2` client (the hardened reference implementation) against
//! the sans-IO server machine, through an in-memory pipe: bodies both
//! ways, many streams at once, flow control with small windows, trailers
//! and resets from either side.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, Request};
use rcorn_core::http::h2::{BodyRead, ErrorCode, H2Config, H2Connection, H2Event, H2Request};
use rcorn_core::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// One request being served by the test application.
struct Job {
    path: String,
    body: Vec<u8>,
    response: Option<Vec<u8>>,
    sent: usize,
    head_sent: bool,
    trailer: Option<Vec<u8>>,
}

/// Echoes `/echo` bodies (and an `x-sum` trailer as `x-echo`), answers
/// `/big/N` with N bytes, and resets `/reset`.
#[derive(Default)]
struct App {
    jobs: HashMap<u32, Job>,
}

impl App {
    fn start(&mut self, conn: &mut H2Connection, stream: u32, request: H2Request) {
        let path = String::from_utf8(request.path).unwrap();
        let job = Job {
            path,
            body: Vec::new(),
            response: None,
            sent: 0,
            head_sent: false,
            trailer: None,
        };
        self.jobs.insert(stream, job);
        if request.end_stream {
            self.respond(conn, stream);
        }
    }

    fn readable(&mut self, conn: &mut H2Connection, stream: u32) {
        let Some(job) = self.jobs.get_mut(&stream) else {
            return;
        };
        loop {
            match conn.read_body(stream, &mut job.body, 10_000) {
                Ok(BodyRead::Data(_)) => {}
                Ok(BodyRead::Pending) => return,
                Ok(BodyRead::End) => {
                    job.trailer = conn
                        .trailers(stream)
                        .and_then(|t| t.iter().find(|(n, _)| n == b"x-sum"))
                        .map(|(_, v)| v.clone());
                    return self.respond(conn, stream);
                }
                Err(e) => panic!("read_body: {e}"),
            }
        }
    }

    fn respond(&mut self, conn: &mut H2Connection, stream: u32) {
        let job = self.jobs.get_mut(&stream).unwrap();
        if job.path == "/reset" {
            conn.reset_stream(stream, ErrorCode::Cancel).unwrap();
            conn.finish_stream(stream);
            self.jobs.remove(&stream);
            return;
        }
        job.response = Some(match job.path.strip_prefix("/big/") {
            Some(n) => (0..n.parse::<usize>().unwrap())
                .map(|i| (i % 251) as u8)
                .collect(),
            None => std::mem::take(&mut job.body),
        });
    }

    /// Sends what the windows allow of every response ready to go.
    fn progress(&mut self, conn: &mut H2Connection) -> bool {
        let mut progressed = false;
        let mut done = Vec::new();
        for (&stream, job) in &mut self.jobs {
            let Some(response) = &job.response else {
                continue;
            };
            if !job.head_sent {
                let len = response.len().to_string();
                conn.send_headers(stream, 200, &[(b"x-len", len.as_bytes())], false)
                    .unwrap();
                job.head_sent = true;
                progressed = true;
            }
            let end = job.trailer.is_none();
            let n = conn
                .send_data(Instant::ZERO, stream, &response[job.sent..], end)
                .unwrap();
            progressed |= n > 0;
            job.sent += n;
            if job.sent == response.len() {
                if let Some(t) = &job.trailer {
                    conn.send_trailers(stream, &[(b"x-echo", t)]).unwrap();
                }
                done.push(stream);
            }
        }
        for stream in done {
            conn.finish_stream(stream);
            self.jobs.remove(&stream);
            progressed = true;
        }
        progressed
    }
}

async fn serve(io: DuplexStream, config: H2Config) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut conn = H2Connection::new(config, Instant::ZERO);
    let mut app = App::default();
    let mut buf = vec![0; 16 * 1024];
    loop {
        let closed = loop {
            match conn.poll_event() {
                Ok(H2Event::Request { stream, request }) => app.start(&mut conn, stream, request),
                Ok(H2Event::Readable { stream }) => app.readable(&mut conn, stream),
                Ok(H2Event::Writable { .. }) => {}
                Ok(H2Event::Reset { stream, .. }) => {
                    app.jobs.remove(&stream);
                    conn.finish_stream(stream);
                }
                Ok(H2Event::NeedData | H2Event::Blocked) => break false,
                Ok(H2Event::Closed | H2Event::Paused) | Err(_) => break true,
            }
        };
        let progressed = app.progress(&mut conn);
        let out = conn.pending_output().to_vec();
        if !out.is_empty() && wr.write_all(&out).await.is_err() {
            return;
        }
        conn.consume_output(out.len());
        if closed {
            return;
        }
        if progressed || !out.is_empty() || !conn.wants_read() {
            continue;
        }
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => conn.feed_eof(),
            Ok(n) => conn.feed(&buf[..n]),
        }
    }
}

async fn client(config: H2Config, window: u32) -> h2::client::SendRequest<Bytes> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(serve(server_io, config));
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(window)
        .handshake(client_io)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

fn request(path: &str) -> Request<()> {
    Request::post(format!("http://test{path}"))
        .body(())
        .unwrap()
}

async fn read_all(mut body: h2::RecvStream) -> Result<Vec<u8>, h2::Error> {
    let mut all = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len()).unwrap();
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

async fn echo(send: &mut h2::client::SendRequest<Bytes>, body: Vec<u8>) -> Vec<u8> {
    let mut send = send.clone().ready().await.unwrap();
    let (response, mut stream) = send.send_request(request("/echo"), false).unwrap();
    stream.send_data(Bytes::from(body), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    read_all(response.into_body()).await.unwrap()
}

#[tokio::test]
async fn many_streams_at_once_echo_bodies_larger_than_the_windows() {
    let mut send = client(H2Config::default(), 65_535).await;
    let mut tasks = Vec::new();
    for i in 0..40usize {
        let body: Vec<u8> = (0..i * 5_000).map(|j| (i + j) as u8).collect();
        let mut send = send.clone();
        tasks.push(tokio::spawn(async move {
            (echo(&mut send, body.clone()).await, body)
        }));
    }
    for task in tasks {
        let (got, sent) = task.await.unwrap();
        assert_eq!(got.len(), sent.len());
        assert!(got == sent);
    }
    assert_eq!(echo(&mut send, b"after".to_vec()).await, b"after");
}

#[tokio::test]
async fn a_large_response_through_a_small_client_window() {
    let send = client(
        H2Config {
            initial_window_size: 1_000,
            ..H2Config::default()
        },
        1_000,
    )
    .await;
    let mut send = send.ready().await.unwrap();
    let (response, _) = send.send_request(request("/big/1000000"), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.headers()["x-len"], "1000000");
    let body = read_all(response.into_body()).await.unwrap();
    assert_eq!(body.len(), 1_000_000);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
}

#[tokio::test]
async fn trailers_both_ways() {
    let send = client(H2Config::default(), 65_535).await;
    let mut send = send.ready().await.unwrap();
    let (response, mut stream) = send.send_request(request("/echo"), false).unwrap();
    stream.send_data(Bytes::from_static(b"123"), false).unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert("x-sum", "6".parse().unwrap());
    stream.send_trailers(trailers).unwrap();
    let mut body = response.await.unwrap().into_body();
    let mut got = Vec::new();
    while let Some(chunk) = body.data().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, b"123");
    let trailers = body.trailers().await.unwrap().unwrap();
    assert_eq!(trailers["x-echo"], "6");
}

#[tokio::test]
async fn resets_from_either_side_leave_the_connection_working() {
    let mut send = client(H2Config::default(), 65_535).await;
    // The client gives up mid-upload.
    let mut ready = send.clone().ready().await.unwrap();
    let (_response, mut stream) = ready.send_request(request("/echo"), false).unwrap();
    stream
        .send_data(Bytes::from(vec![0; 30_000]), false)
        .unwrap();
    stream.send_reset(h2::Reason::CANCEL);
    // The server resets a stream.
    let mut ready = send.clone().ready().await.unwrap();
    let (response, _) = ready.send_request(request("/reset"), true).unwrap();
    let err = response.await.unwrap_err();
    assert_eq!(err.reason(), Some(h2::Reason::CANCEL));
    assert_eq!(echo(&mut send, vec![9; 100_000]).await, vec![9; 100_000]);
}
