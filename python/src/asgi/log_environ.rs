//! The access log's `%({name}e)s` under the asgi worker: gunicorn's asgi
//! worker logs with a small WSGI-like environ (`REQUEST_METHOD`,
//! `RAW_URI`, `PATH_INFO`, `QUERY_STRING`, `SERVER_PROTOCOL`,
//! `REMOTE_ADDR` and an `HTTP_*` key per request header), so only those
//! keys have a value here; any other prints `-`.

use rcorn_core::http::RequestHead;
use rcorn_io::stream::PeerAddr;

/// The value of the environ key `lower_name` (lower case) for `head`.
pub fn value(head: &RequestHead, peer: &PeerAddr, lower_name: &str) -> Option<String> {
    let text = |bytes: &[u8]| bytes.iter().map(|&b| b as char).collect::<String>();
    Some(match lower_name {
        "request_method" => head.method().to_owned(),
        "raw_uri" => text(head.target()),
        "path_info" => text(head.path()),
        "query_string" => text(head.query()),
        "server_protocol" => {
            let (major, minor) = head.version();
            format!("HTTP/{major}.{minor}")
        }
        "remote_addr" => match peer.ip() {
            Some(ip) => ip.to_string(),
            None => "-".to_owned(),
        },
        name => {
            let field = name.strip_prefix("http_")?;
            // gunicorn's environ keeps the last of repeated fields.
            let value = head
                .headers()
                .filter(|(n, _)| same_field(n, field))
                .last()?
                .1;
            text(value)
        }
    })
}

/// `Content-Type` is `content_type` in an environ key.
fn same_field(name: &[u8], key: &str) -> bool {
    name.len() == key.len()
        && name.iter().zip(key.bytes()).all(|(&n, k)| {
            let n = if n == b'-' {
                b'_'
            } else {
                n.to_ascii_lowercase()
            };
            n == k
        })
}
