//! The WSGI environ (PEP 3333), built once per request from a template of
//! the constant entries and interned keys.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::{intern, Py};

use pyo3::exceptions::PyValueError;
use rcorn_core::http::forwarded::TrustedPeers;
use rcorn_core::http::RequestHead;
use rcorn_io::stream::PeerAddr;
use rcorn_io::Exchange;

use crate::wsgi::latin1;

/// At most this many distinct `HTTP_*` keys are cached; past it, rare
/// header names are converted on each request instead of growing the cache
/// at a client's will.
const HEADER_KEY_CACHE_LIMIT: usize = 512;

pub struct EnvironBuilder {
    template: Py<PyDict>,
    script_name: String,
    /// `forwarder_headers`, upper-case, and the peers allowed to send them
    /// (`forwarded_allow_ips`).
    forwarder_headers: Vec<String>,
    forwarders: TrustedPeers,
    casefold_method: bool,
    map_underscore_headers: bool,
    /// foldhash, not SipHash: a lookup per request header is the largest
    /// Rust-side cost of the environ, and the seeded hash with the bounded
    /// size keeps a client from making the cache slow.
    header_keys: HashMap<Vec<u8>, Option<Py<PyString>>, foldhash::fast::RandomState>,
    key_buf: Vec<u8>,
    /// REMOTE_ADDR of the last request, kept while the address repeats
    /// (one proxy in front, or a client's keep-alive requests).
    last_remote: Option<(IpAddr, Py<PyString>)>,
    /// SERVER_NAME and SERVER_PORT of the last TCP listener served, kept
    /// while it repeats (always, with one listener): made from Rust text,
    /// they cost a UTF-8 decode and an allocation each per request.
    last_server: Option<ServerStrings>,
}

/// The request headers other environ entries are made from.
struct FoundHeaders<'ex> {
    host: Option<&'ex [u8]>,
    /// `SCRIPT_NAME`, from a proxy trusted to send it.
    script_name: Option<&'ex [u8]>,
}

struct ServerStrings {
    name: String,
    port: String,
    py_name: Py<PyString>,
    py_port: Py<PyString>,
}

/// What is constant for a worker's whole life.
pub struct EnvironConstants {
    pub multiprocess: bool,
    pub multithread: bool,
    pub url_scheme: &'static str,
    pub script_name: String,
    /// `casefold_http_method`: upper-case the method for the application.
    pub casefold_method: bool,
    /// `header_map = dangerous`: map `_` in field names like `-`.
    pub map_underscore_headers: bool,
    /// Header names with `_` a trusted proxy may send (`forwarder_headers`;
    /// `*` for any); `SCRIPT_NAME` among them sets the environ's.
    pub forwarder_headers: Vec<String>,
    pub forwarders: TrustedPeers,
}

impl EnvironBuilder {
    pub fn new(py: Python<'_>, constants: EnvironConstants) -> PyResult<EnvironBuilder> {
        let template = PyDict::new(py);
        template.set_item("wsgi.version", (1, 0))?;
        template.set_item("wsgi.url_scheme", constants.url_scheme)?;
        template.set_item(
            "wsgi.errors",
            Py::new(py, crate::wsgi::errors_stream::WsgiErrors)?,
        )?;
        template.set_item("wsgi.multithread", constants.multithread)?;
        template.set_item("wsgi.multiprocess", constants.multiprocess)?;
        template.set_item("wsgi.run_once", false)?;
        template.set_item("wsgi.input_terminated", true)?;
        template.set_item(
            "wsgi.file_wrapper",
            py.get_type::<crate::wsgi::file_wrapper::FileWrapper>(),
        )?;
        template.set_item(
            "SERVER_SOFTWARE",
            concat!("rcorn/", env!("CARGO_PKG_VERSION")),
        )?;
        template.set_item("SCRIPT_NAME", constants.script_name.as_str())?;
        Ok(EnvironBuilder {
            template: template.unbind(),
            script_name: constants.script_name,
            forwarder_headers: constants
                .forwarder_headers
                .iter()
                .map(|h| h.to_ascii_uppercase())
                .collect(),
            forwarders: constants.forwarders,
            casefold_method: constants.casefold_method,
            map_underscore_headers: constants.map_underscore_headers,
            header_keys: HashMap::default(),
            key_buf: Vec::with_capacity(64),
            last_remote: None,
            last_server: None,
        })
    }

    /// A builder for another application thread: the same constants, its
    /// own cache of header keys (the template is only ever copied).
    pub fn for_thread(&self, py: Python<'_>) -> EnvironBuilder {
        EnvironBuilder {
            template: self.template.clone_ref(py),
            script_name: self.script_name.clone(),
            forwarder_headers: self.forwarder_headers.clone(),
            forwarders: self.forwarders.clone(),
            casefold_method: self.casefold_method,
            map_underscore_headers: self.map_underscore_headers,
            header_keys: HashMap::default(),
            key_buf: Vec::with_capacity(64),
            last_remote: None,
            last_server: None,
        }
    }

    /// The environ for the request `ex` carries; `wsgi.input` is set by the
    /// caller.
    pub fn build<'py>(
        &mut self,
        py: Python<'py>,
        ex: &Exchange<'_>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let env = self.template.bind(py).copy()?;
        let head = ex.head();
        self.set_request_line(py, &env, head, ex)?;
        let found = self.set_headers(py, &env, head, ex)?;
        self.set_path(py, &env, head.path(), found.script_name)?;
        self.set_addresses(py, &env, ex, found.host)?;
        Ok(env)
    }

    // The steps of `build`, each run once per request, are inlined into
    // it: splitting the function must not cost the hot path a call.

    /// The method, protocol, raw target, forwarded scheme and query.
    #[inline(always)]
    fn set_request_line(
        &self,
        py: Python<'_>,
        env: &Bound<'_, PyDict>,
        head: &RequestHead,
        ex: &Exchange<'_>,
    ) -> PyResult<()> {
        if self.casefold_method {
            env.set_item(
                intern!(py, "REQUEST_METHOD"),
                head.method().to_ascii_uppercase(),
            )?;
        } else {
            env.set_item(
                intern!(py, "REQUEST_METHOD"),
                crate::interned::method(py, head.method()),
            )?;
        }
        env.set_item(
            intern!(py, "SERVER_PROTOCOL"),
            match head.version() {
                (1, 0) => intern!(py, "HTTP/1.0"),
                // gunicorn's value for HTTP/2 (its version tuple joined).
                (2, _) => intern!(py, "HTTP/2.0"),
                _ => intern!(py, "HTTP/1.1"),
            },
        )?;
        if let Some((weight, depends_on)) = head.h2_priority() {
            // gunicorn sets both on every HTTP/2 request, defaults included.
            env.set_item(intern!(py, "gunicorn.http2.priority_weight"), weight)?;
            env.set_item(
                intern!(py, "gunicorn.http2.priority_depends_on"),
                depends_on,
            )?;
        }
        env.set_item(intern!(py, "RAW_URI"), latin1::decode(py, head.target())?)?;
        if let Some(scheme) = ex.forwarded_scheme() {
            env.set_item(intern!(py, "wsgi.url_scheme"), scheme)?;
        }
        env.set_item(
            intern!(py, "QUERY_STRING"),
            latin1::decode(py, head.query())?,
        )
    }

    /// The `HTTP_*` entries (and `CONTENT_TYPE`, `CONTENT_LENGTH`), and
    /// the two headers the rest of the environ depends on.
    #[inline(always)]
    fn set_headers<'ex>(
        &mut self,
        py: Python<'_>,
        env: &Bound<'_, PyDict>,
        head: &'ex RequestHead,
        ex: &Exchange<'_>,
    ) -> PyResult<FoundHeaders<'ex>> {
        let mut found = FoundHeaders {
            host: None,
            script_name: None,
        };
        let mut by_forwarder: Option<bool> = None;
        for (name, value) in head.headers() {
            if name.eq_ignore_ascii_case(b"host") {
                found.host = Some(value);
            }
            let Some(key) = self.header_key(py, name) else {
                // A name with `_` is kept only from a trusted proxy that
                // may send it (gunicorn's `forwarder_headers`).
                if self.is_forwarder_header(name)
                    && *by_forwarder.get_or_insert_with(|| self.sent_by_forwarder(ex))
                {
                    if name.eq_ignore_ascii_case(b"script_name") {
                        found.script_name = Some(value);
                    }
                    let key = format!(
                        "HTTP_{}",
                        String::from_utf8_lossy(name).to_ascii_uppercase()
                    );
                    env.set_item(key, latin1::decode(py, value)?)?;
                }
                continue;
            };
            let key = key.bind(py);
            let value = latin1::decode(py, value)?;
            if let Some(previous) = set_default(env, key, &value)? {
                // Repeated fields are joined with commas (RFC 9110 §5.3).
                let joined = format!("{},{}", previous.extract::<&str>()?, value.to_str()?);
                env.set_item(key, joined)?;
            }
        }
        Ok(found)
    }

    /// PATH_INFO, and SCRIPT_NAME when a trusted proxy sent one.
    #[inline(always)]
    fn set_path(
        &self,
        py: Python<'_>,
        env: &Bound<'_, PyDict>,
        raw_path: &[u8],
        forwarded_script_name: Option<&[u8]>,
    ) -> PyResult<()> {
        let path = rcorn_core::percent::decode(raw_path);
        let path_info: &[u8] = match forwarded_script_name {
            Some(script_name) => {
                let rest = path.strip_prefix(script_name).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "Request path {:?} does not start with SCRIPT_NAME {:?}",
                        String::from_utf8_lossy(&path),
                        String::from_utf8_lossy(script_name)
                    ))
                })?;
                env.set_item(intern!(py, "SCRIPT_NAME"), latin1::decode(py, script_name)?)?;
                rest
            }
            None => match path.strip_prefix(self.script_name.as_bytes()) {
                Some(rest) if !self.script_name.is_empty() => rest,
                _ => &path,
            },
        };
        env.set_item(intern!(py, "PATH_INFO"), latin1::decode(py, path_info)?)
    }

    /// REMOTE_ADDR and REMOTE_PORT, SERVER_NAME and SERVER_PORT.
    #[inline(always)]
    fn set_addresses(
        &mut self,
        py: Python<'_>,
        env: &Bound<'_, PyDict>,
        ex: &Exchange<'_>,
        host_header: Option<&[u8]>,
    ) -> PyResult<()> {
        match ex.peer() {
            PeerAddr::Ip(addr) => {
                env.set_item(intern!(py, "REMOTE_ADDR"), self.remote_addr(py, addr.ip())?)?;
                let mut port = itoa::Buffer::new();
                env.set_item(
                    intern!(py, "REMOTE_PORT"),
                    PyString::new(py, port.format(addr.port())),
                )?;
            }
            PeerAddr::Unix => {
                env.set_item(intern!(py, "REMOTE_ADDR"), "")?;
                env.set_item(intern!(py, "REMOTE_PORT"), "")?;
            }
        }
        let server = ex.server();
        if server.unix {
            // WSGI has no notion of unix sockets; like gunicorn, describe the
            // server by the Host header when there is one.
            let (name, port) = match host_header {
                Some(host) => split_host(host),
                None => (server.name.as_bytes(), &b""[..]),
            };
            env.set_item(intern!(py, "SERVER_NAME"), latin1::decode(py, name)?)?;
            env.set_item(intern!(py, "SERVER_PORT"), latin1::decode(py, port)?)?;
        } else {
            let (name, port) = self.server_strings(py, &server.name, &server.port);
            env.set_item(intern!(py, "SERVER_NAME"), name)?;
            env.set_item(intern!(py, "SERVER_PORT"), port)?;
        }
        Ok(())
    }

    fn remote_addr<'py>(&mut self, py: Python<'py>, ip: IpAddr) -> PyResult<Bound<'py, PyString>> {
        if let Some((last, text)) = &self.last_remote {
            if *last == ip {
                return Ok(text.bind(py).clone());
            }
        }
        let mut buf = [0u8; 64];
        let text = latin1::decode(py, format_into(&mut buf, ip))?;
        self.last_remote = Some((ip, text.clone().unbind()));
        Ok(text)
    }

    fn server_strings<'py>(
        &mut self,
        py: Python<'py>,
        name: &str,
        port: &str,
    ) -> (Bound<'py, PyString>, Bound<'py, PyString>) {
        if !matches!(&self.last_server, Some(last) if last.name == name && last.port == port) {
            self.last_server = None;
        }
        let strings = self.last_server.get_or_insert_with(|| ServerStrings {
            name: name.to_owned(),
            port: port.to_owned(),
            py_name: PyString::new(py, name).unbind(),
            py_port: PyString::new(py, port).unbind(),
        });
        (
            strings.py_name.bind(py).clone(),
            strings.py_port.bind(py).clone(),
        )
    }

    fn is_forwarder_header(&self, name: &[u8]) -> bool {
        rcorn_core::config::is_forwarder_header(&self.forwarder_headers, name)
    }

    /// Whether the socket's peer is a proxy trusted with forwarder headers.
    fn sent_by_forwarder(&self, ex: &Exchange<'_>) -> bool {
        self.forwarders.trusts(ex.socket_peer().ip())
    }

    /// The environ key for a request header: `CONTENT_TYPE`,
    /// `CONTENT_LENGTH`, or `HTTP_` + the name upper-cased with `-` as `_`.
    /// `None` for names containing `_`: they would be indistinguishable from
    /// the `-` spelling, and gunicorn's default (`header_map = drop`) drops
    /// them.
    fn header_key(&mut self, py: Python<'_>, name: &[u8]) -> Option<Py<PyString>> {
        if let Some(cached) = self.header_keys.get(name) {
            return cached.as_ref().map(|k| k.clone_ref(py));
        }
        let key = if name.contains(&b'_') && !self.map_underscore_headers {
            None
        } else {
            self.key_buf.clear();
            if !(name.eq_ignore_ascii_case(b"content-type")
                || name.eq_ignore_ascii_case(b"content-length"))
            {
                self.key_buf.extend_from_slice(b"HTTP_");
            }
            self.key_buf.extend(name.iter().map(|&b| {
                if b == b'-' {
                    b'_'
                } else {
                    b.to_ascii_uppercase()
                }
            }));
            // Header names are tokens: ASCII only.
            std::str::from_utf8(&self.key_buf)
                .ok()
                .map(|k| PyString::intern(py, k).unbind())
        };
        if self.header_keys.len() < HEADER_KEY_CACHE_LIMIT {
            self.header_keys
                .insert(name.to_vec(), key.as_ref().map(|k| k.clone_ref(py)));
        }
        key
    }
}

/// `env[key] = value` unless `key` is there already; then the value that
/// is there. One dict lookup where `get_item` and `set_item` take two.
#[cfg(not(feature = "abi3"))]
fn set_default<'py>(
    env: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
    value: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    // SAFETY: all three are live objects; PyDict_SetDefault returns a
    // borrowed reference to the value now under `key`, or NULL with an
    // exception set.
    let present =
        unsafe { pyo3::ffi::PyDict_SetDefault(env.as_ptr(), key.as_ptr(), value.as_ptr()) };
    if present.is_null() {
        return Err(PyErr::fetch(env.py()));
    }
    if present == value.as_ptr() {
        return Ok(None);
    }
    // SAFETY: a borrowed reference, made owned before the dict changes.
    Ok(Some(unsafe { Bound::from_borrowed_ptr(env.py(), present) }))
}

/// `env[key] = value` unless `key` is there already; then the value that
/// is there. `PyDict_SetDefault` is outside the stable ABI, so the abi3
/// build looks the key up, then inserts: two lookups of a cached hash.
#[cfg(feature = "abi3")]
fn set_default<'py>(
    env: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
    value: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Some(present) = env.get_item(key)? {
        return Ok(Some(present));
    }
    env.set_item(key, value)?;
    Ok(None)
}

/// `value` as text in `buf`, with no allocation (an address).
fn format_into(buf: &mut [u8; 64], value: impl std::fmt::Display) -> &[u8] {
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    // Addresses and ports fit in 64 bytes; a failed write leaves it short.
    let _ = write!(cursor, "{value}");
    let len = cursor.position() as usize;
    &buf[..len]
}

/// The Host header as SERVER_NAME and SERVER_PORT (80 when it has none).
fn split_host(host: &[u8]) -> (&[u8], &[u8]) {
    if let Some(rest) = host.strip_prefix(b"[") {
        if let Some(close) = rest.iter().position(|&b| b == b']') {
            let port = rest[close + 1..].strip_prefix(b":").unwrap_or(b"80");
            return (&rest[..close], port);
        }
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(colon) => (&host[..colon], &host[colon + 1..]),
        None => (host, b"80"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_splits_into_name_and_port() {
        assert_eq!(
            split_host(b"example.com:8080"),
            (&b"example.com"[..], &b"8080"[..])
        );
        assert_eq!(
            split_host(b"example.com"),
            (&b"example.com"[..], &b"80"[..])
        );
        assert_eq!(split_host(b"[::1]:9"), (&b"::1"[..], &b"9"[..]));
        assert_eq!(split_host(b"[::1]"), (&b"::1"[..], &b"80"[..]));
    }
}
