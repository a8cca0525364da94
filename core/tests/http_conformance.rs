//! Every request fixture of the conformance set (gunicorn's, and rcorn's
//! own of the same format, in tests/fixtures/conformance) through the
//! decoder.
//!
//! Valid cases must decode to exactly the recorded requests; invalid ones
//! must fail, at the head when the fixture says the application must never
//! be called. Each bytes sequence is decoded whole and one byte at a time:
//! the outcome must not depend on how the bytes arrive.

use base64::Engine;
use rcorn_core::http::proxy_protocol::ProxyMode;
use rcorn_core::http::{DecoderConfig, Event, RequestDecoder};
use serde_json::Value;

/// Fixtures decided differently from gunicorn's parser, each with why.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("valid/009", "Transfer-Encoding beside Content-Length is refused (RFC 9112 §6.3 allows it; smuggling vector)"),
    ("valid/027", "raw UTF-8 in the request target is refused (RFC 9112 targets are ASCII; gunicorn's server does too)"),
    ("valid/099", "the body is shorter than its Content-Length: an incomplete message, never a complete one"),
    ("valid/rcorn_target_relative_with_scheme_text_01", "a target in none of RFC 9112's four forms is refused; gunicorn lets through any that contains '://'"),
    ("valid/rcorn_target_connect_origin_form_01", "CONNECT takes the authority-form only (RFC 9112 §3.2.3); gunicorn takes any target"),
    ("valid/rcorn_target_connect_with_query_01", "an authority-form target has no query (RFC 9112 §3.2.3)"),
];

/// Invalid fixtures refused with another error class or status than
/// gunicorn's: (gunicorn's class, gunicorn's status, rcorn's kind, rcorn's
/// status, why). Any other mismatch fails the test.
const KIND_OR_STATUS_DIFFERENCES: &[(&str, Option<u16>, &str, u16, &str)] = &[(
    "LimitRequestLine",
    Some(400),
    "LimitRequestLine",
    414,
    "an over-long request line is 414 URI Too Long (RFC 9110 §15.5.15); gunicorn answers 400",
)];

/// Settings the decoder does not model. Forwarded headers are judged after
/// the head by `http::forwarded` (tests/http_forwarded.rs; the socket
/// runner of the end-to-end suite sends invalid/019).
const UNMODELLED_SETTINGS: &[&str] = &["forwarded_allow_ips"];

#[derive(Debug, Default, PartialEq)]
struct Decoded {
    method: String,
    uri: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    fragment: Vec<u8>,
    version: (u8, u8),
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Requests(Vec<Decoded>),
    /// Failed with this status, after `heads` heads were produced.
    Error {
        status: u16,
        kind: String,
        heads: usize,
    },
}

fn upper(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_ascii_uppercase()
}

fn decode(raw: &[u8], setup: &Setup, split: usize) -> Outcome {
    let mut decoder = RequestDecoder::new(setup.cfg.clone());
    decoder.expect_proxy_preamble(setup.proxy);
    let mut requests: Vec<Decoded> = Vec::new();
    let mut fed = 0;
    loop {
        let event = decoder.next_event();
        match event {
            Ok(Event::Head(h)) => requests.push(Decoded {
                method: h.method().to_owned(),
                uri: h.target().to_vec(),
                path: h.path().to_vec(),
                query: h.query().to_vec(),
                fragment: h.fragment().to_vec(),
                version: h.version(),
                headers: h.headers().map(|(n, v)| (upper(n), v.to_vec())).collect(),
                ..Decoded::default()
            }),
            Ok(Event::Body(b)) => {
                if let Some(last) = requests.last_mut() {
                    last.body.extend_from_slice(b)
                }
            }
            Ok(Event::End) => {
                // After a message that does not keep the connection alive,
                // the server closes: later bytes are never requests.
                let keep_alive = decoder.head().is_some_and(|h| h.keep_alive());
                let trailers: Vec<(String, Vec<u8>)> = decoder
                    .trailers()
                    .map(|(n, v)| (upper(n), v.to_vec()))
                    .collect();
                if let Some(last) = requests.last_mut() {
                    last.trailers = trailers;
                }
                if !keep_alive {
                    return Outcome::Requests(requests);
                }
            }
            Ok(Event::NeedData) => {
                if fed == raw.len() {
                    decoder.feed_eof();
                } else {
                    let n = split.min(raw.len() - fed);
                    decoder.feed(&raw[fed..fed + n]);
                    fed += n;
                }
            }
            Ok(Event::Closed) => return Outcome::Requests(requests),
            Err(e) => {
                return Outcome::Error {
                    status: e.status(),
                    kind: format!("{:?}", e.kind()),
                    heads: requests.len(),
                }
            }
        }
    }
}

/// The decoder's settings for a case, and whether a PROXY preamble is
/// looked for (the connection layer decides that from the peer).
struct Setup {
    cfg: DecoderConfig,
    proxy: ProxyMode,
}

fn config_for(settings: &serde_json::Map<String, Value>) -> Option<Setup> {
    let mut cfg = DecoderConfig::default();
    let mut proxy = ProxyMode::Off;
    // The settings' defaults, replaced by the case's own.
    let (mut line, mut fields, mut field_size) = (4094, 100, 8190);
    for (name, value) in settings {
        match name.as_str() {
            "proxy_protocol" => {
                proxy = match value {
                    Value::Bool(true) => ProxyMode::Auto,
                    Value::Bool(false) => ProxyMode::Off,
                    other => ProxyMode::from_setting(other.as_str()?)?,
                }
            }
            "limit_request_line" => line = value.as_u64()?,
            "limit_request_fields" => fields = value.as_u64()?,
            "limit_request_field_size" => field_size = value.as_u64()?,
            "permit_obsolete_folding" => cfg.permit_obsolete_folding = value.as_bool()?,
            "strip_header_spaces" => cfg.strip_header_spaces = value.as_bool()?,
            "permit_unconventional_http_method" => {
                cfg.permit_unconventional_http_method = value.as_bool()?
            }
            "header_map" => cfg.refuse_underscore_headers = value.as_str()? == "refuse",
            _ => return None,
        }
    }
    Some(Setup {
        cfg: cfg.with_limits(line, fields, field_size),
        proxy,
    })
}

fn expected_requests(case: &Value) -> Vec<Decoded> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = |v: &Value| v.as_str().unwrap_or("").as_bytes().to_vec();
    let fields = |v: Option<&Value>| -> Vec<(String, Vec<u8>)> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap_or("").to_owned(),
                            latin1(p[1].as_str().unwrap_or("")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    case["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Decoded {
            method: r["method"].as_str().unwrap_or("").to_owned(),
            uri: latin1(r["uri"].as_str().unwrap_or("")),
            path: latin1(r["path"].as_str().unwrap_or("")),
            query: bytes(&r["query"]),
            fragment: bytes(&r["fragment"]),
            version: (
                r["version"][0].as_u64().unwrap_or(0) as u8,
                r["version"][1].as_u64().unwrap_or(0) as u8,
            ),
            headers: fields(r.get("headers")),
            body: b64
                .decode(r["body_b64"].as_str().unwrap_or(""))
                .unwrap_or_default(),
            trailers: fields(r.get("trailers")),
        })
        .collect()
}

/// The fixtures store bytes as Latin-1 text.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

/// gunicorn's request fixtures, then rcorn's own cases of the same kind.
const FIXTURE_DIRS: [(&str, usize); 2] = [("gunicorn-requests", 100), ("rcorn-requests", 30)];

fn fixture_paths() -> Vec<std::path::PathBuf> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/conformance");
    let mut all = Vec::new();
    for (dir, at_least) in FIXTURE_DIRS {
        let dir = format!("{root}/{dir}");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read the conformance fixtures at {dir}: {e}"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(
            paths.len() >= at_least,
            "expected {at_least} fixtures in {dir}, found {}",
            paths.len()
        );
        paths.sort();
        all.extend(paths);
    }
    all
}

#[test]
fn every_fixture_decodes_as_recorded() {
    let paths = fixture_paths();
    let (mut passed, mut excepted, mut unmodelled, mut failures) = (0, 0, 0, Vec::new());
    let mut differently = 0;
    for path in paths {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        let settings = case["settings"].as_object().cloned().unwrap_or_default();
        if settings
            .keys()
            .any(|k| UNMODELLED_SETTINGS.contains(&k.as_str()))
        {
            unmodelled += 1;
            continue;
        }
        let cfg = config_for(&settings)
            .unwrap_or_else(|| panic!("{name}: setting not mapped: {settings:?}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(case["raw_b64"].as_str().unwrap())
            .unwrap();
        let whole = decode(&raw, &cfg, usize::MAX);
        let bytewise = decode(&raw, &cfg, 1);
        if whole != bytewise {
            failures.push(format!(
                "{name}: depends on the split: {whole:?} vs {bytewise:?}"
            ));
            continue;
        }
        let ok = if case["kind"] == "valid" {
            whole == Outcome::Requests(expected_requests(&case))
        } else {
            let head_stage = case["stage"] == "head";
            match &whole {
                Outcome::Error {
                    status,
                    kind,
                    heads,
                } => {
                    let refused = !(200..300).contains(status) && (!head_stage || *heads == 0);
                    let recorded = (
                        case["error"].as_str().unwrap_or("?"),
                        case["gunicorn_status"].as_u64().map(|s| s as u16),
                    );
                    if recorded != (kind.as_str(), Some(*status)) {
                        match KIND_OR_STATUS_DIFFERENCES
                            .iter()
                            .find(|d| (d.0, d.1) == recorded && (d.2, d.3) == (kind, *status))
                        {
                            Some(_) => differently += 1,
                            None => failures
                                .push(format!("{name}: {kind} {status}, gunicorn {recorded:?}")),
                        }
                    }
                    refused
                }
                Outcome::Requests(_) => false,
            }
        };
        match (ok, EXCEPTIONS.iter().find(|(n, _)| *n == name)) {
            (true, None) => passed += 1,
            (false, Some(_)) => excepted += 1,
            (true, Some((_, why))) => {
                failures.push(format!("{name}: listed as an exception ({why}) but passes"))
            }
            (false, None) => failures.push(format!("{name}: got {whole:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{passed} passed ({differently} of them refused with another error class \
         or status, as listed), {excepted} decided differently on purpose, \
         {unmodelled} need unmodelled settings"
    );
}
