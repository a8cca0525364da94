//! Properties of the HTTP/2 machine: the frame parser and the connection
//! give the same results however the client's bytes are split, and the
//! streams follow a model of RFC 9113 §5.1 (plus rcorn's rule that a stream
//! counts until its handler finishes).

mod h2_support;

use h2_support::*;
use proptest::prelude::*;
use rcorn_core::http::h2::frame::{self, kind};
use rcorn_core::http::h2::{AppError, BodyRead, H2Config, H2Connection, H2Event};

/// One client frame from a small vocabulary, valid or not.
fn client_frame() -> impl Strategy<Value = Vec<u8>> {
    let stream = (0u32..8).prop_map(|n| 2 * n + 1);
    prop_oneof![
        (stream.clone(), any::<bool>()).prop_map(|(id, end)| headers(
            id,
            &request_block("POST", "/", &[]),
            end
        )),
        (
            stream.clone(),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>()
        )
            .prop_map(|(id, body, end)| data(id, &body, end)),
        stream.clone().prop_map(rst),
        Just(ping()),
        Just(raw_frame(kind::SETTINGS, 0, 0, &[0, 4, 0, 0, 0x10, 0])),
        (0u32..17, 1u32..70_000).prop_map(|(id, inc)| raw_frame(
            kind::WINDOW_UPDATE,
            0,
            id,
            &inc.to_be_bytes()
        )),
        (stream.clone(), 0u32..17).prop_map(|(id, dep)| raw_frame(
            kind::PRIORITY,
            0,
            id,
            &[0, 0, 0, dep as u8, 16]
        )),
        (
            any::<u8>(),
            any::<u8>(),
            stream,
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(k, f, id, p)| raw_frame(k, f, id, &p)),
    ]
}

fn script() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(client_frame(), 0..30).prop_map(|frames| {
        let mut bytes = client_preface(&[]);
        bytes.extend(settings_ack());
        bytes.extend(frames.concat());
        bytes
    })
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..12).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

/// Feeds `bytes` in pieces cut at `cuts`, answering every request at once
/// and reading every body; returns what was seen and written.
fn serve(bytes: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<u8>) {
    let config = H2Config {
        max_pending_output: usize::MAX,
        ..H2Config::default()
    };
    let mut conn = H2Connection::new(config, T0);
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([bytes.len()]) {
        conn.feed(&bytes[start..end]);
        start = end;
        // The application acts on each event as it comes, as a worker would.
        let result = loop {
            let event = match conn.poll_event() {
                Ok(H2Event::NeedData) => break Ok(()),
                Ok(event) => event,
                Err(e) => break Err(e),
            };
            match &event {
                H2Event::Request { stream, .. } => {
                    let _ = conn.send_headers(*stream, 200, &[], false);
                }
                H2Event::Readable { stream } => {
                    let mut body = Vec::new();
                    while let Ok(BodyRead::Data(_)) = conn.read_body(*stream, &mut body, 100) {}
                }
                _ => {}
            }
            seen.push(format!("{event:?}"));
            if event == H2Event::Closed {
                break Ok(());
            }
        };
        conn.poll_transmit(&mut out);
        if let Err(e) = result {
            seen.push(format!("{e:?}"));
            break;
        }
    }
    (seen, out)
}

proptest! {
    #[test]
    fn frames_parse_alike_however_split((bytes, cuts) in script().prop_flat_map(|b| { let n = b.len(); (Just(b), cuts(n)) })) {
        let body = &bytes[frame::PREFACE.len()..];
        let whole = parse_all(body, &[]);
        let split = parse_all(body, &cuts.iter().map(|c| c.saturating_sub(frame::PREFACE.len())).collect::<Vec<_>>());
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn the_connection_acts_alike_however_split((bytes, cuts) in script().prop_flat_map(|b| { let n = b.len(); (Just(b), cuts(n)) })) {
        prop_assert_eq!(serve(&bytes, &[]), serve(&bytes, &cuts));
    }
}

/// Every frame parsed (as text) from `bytes` arriving in pieces, then the
/// error that stopped parsing, if any.
fn parse_all(bytes: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut buf = Vec::new();
    let mut parsed = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([bytes.len()]) {
        buf.extend_from_slice(&bytes[start..end.max(start)]);
        start = end.max(start);
        loop {
            match frame::parse(&buf, 16_384) {
                Ok(Some((f, used))) => {
                    parsed.push(format!("{f:?}"));
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(e) => {
                    parsed.push(format!("{e:?}"));
                    return parsed;
                }
            }
        }
    }
    parsed
}

// ---- A model of the streams -------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Half {
    Open,
    Ended,
    Reset,
}

#[derive(Clone, Copy, Debug)]
struct Model {
    recv: Half,
    send: Half,
    handler: bool,
    head_sent: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Open { end: bool },
    Data { which: usize, end: bool },
    Reset { which: usize },
    Send { which: usize, end: bool },
    Finish { which: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let which = 0usize..6;
    prop_oneof![
        any::<bool>().prop_map(|end| Op::Open { end }),
        (which.clone(), any::<bool>()).prop_map(|(which, end)| Op::Data { which, end }),
        which.clone().prop_map(|which| Op::Reset { which }),
        (which.clone(), any::<bool>()).prop_map(|(which, end)| Op::Send { which, end }),
        which.prop_map(|which| Op::Finish { which }),
    ]
}

const MAX_STREAMS: u32 = 3;

fn closed(m: &Model) -> bool {
    m.recv == Half::Reset
        || m.send == Half::Reset
        || (m.recv == Half::Ended && m.send == Half::Ended)
}

fn reset_model(m: &mut Model) {
    m.recv = Half::Reset;
    if m.send != Half::Ended {
        m.send = Half::Reset;
    }
}

proptest! {
    #[test]
    fn streams_follow_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let config = H2Config { max_concurrent_streams: MAX_STREAMS, reset_budget: 10_000, ..H2Config::default() };
        let mut conn = connected(config);
        // Every stream opened, by id; the model of those the machine keeps.
        let mut opened: Vec<u32> = Vec::new();
        let mut model: std::collections::BTreeMap<u32, Model> = Default::default();
        for op in ops {
            let pick = |which: usize| opened.get(which % opened.len().max(1)).copied();
            match op {
                Op::Open { end } => {
                    let id = 2 * opened.len() as u32 + 1;
                    opened.push(id);
                    conn.feed(&headers(id, &request_block("POST", "/", &[]), end));
                    if (model.len() as u32) < MAX_STREAMS {
                        let recv = if end { Half::Ended } else { Half::Open };
                        model.insert(id, Model { recv, send: Half::Open, handler: true, head_sent: false });
                    }
                }
                Op::Data { which, end } => {
                    let Some(id) = pick(which) else { continue };
                    conn.feed(&data(id, b"x", end));
                    if let Some(m) = model.get_mut(&id) {
                        match m.recv {
                            Half::Open if end => m.recv = Half::Ended,
                            Half::Ended => reset_model(m),
                            _ => {}
                        }
                    }
                }
                Op::Reset { which } => {
                    let Some(id) = pick(which) else { continue };
                    conn.feed(&rst(id));
                    if let Some(m) = model.get_mut(&id) {
                        reset_model(m);
                    }
                }
                Op::Send { which, end } => {
                    let Some(id) = pick(which) else { continue };
                    let result = match model.get(&id).is_some_and(|m| m.head_sent) {
                        false => conn.send_headers(id, 200, &[], end),
                        true => conn.send_data(T0, id, b"y", end).map(|_| ()),
                    };
                    let expected = match model.get_mut(&id) {
                        Some(m) if m.handler => match m.send {
                            Half::Reset => Err(AppError::StreamReset),
                            Half::Ended => Err(AppError::Ended),
                            Half::Open => {
                                m.head_sent = true;
                                if end {
                                    m.send = Half::Ended;
                                }
                                Ok(())
                            }
                        },
                        _ => Err(AppError::UnknownStream),
                    };
                    prop_assert_eq!(result, expected);
                }
                Op::Finish { which } => {
                    let Some(id) = pick(which) else { continue };
                    conn.finish_stream(id);
                    if let Some(m) = model.get_mut(&id) {
                        m.handler = false;
                        if m.send == Half::Open || m.recv == Half::Open {
                            reset_model(m);
                        }
                    }
                }
            }
            model.retain(|_, m| !closed(m) || m.handler);
            let (_, result) = run(&mut conn);
            prop_assert!(result.is_ok(), "{:?}", result);
            conn.poll_transmit(&mut Vec::new());
            prop_assert_eq!(conn.stream_count(), model.len());
            for (&id, m) in &model {
                if !m.handler {
                    continue;
                }
                let mut body = Vec::new();
                let read = loop {
                    match conn.read_body(id, &mut body, 1 << 20) {
                        Ok(BodyRead::Data(_)) => continue,
                        other => break other,
                    }
                };
                let expected = match m.recv {
                    Half::Open => Ok(BodyRead::Pending),
                    Half::Ended => Ok(BodyRead::End),
                    Half::Reset => Err(AppError::StreamReset),
                };
                prop_assert_eq!(read, expected, "stream {}", id);
            }
        }
    }
}
