//! The ASGI connection scopes of a request head: `http` (ASGI spec 2.3,
//! with the extensions the worker serves) and `websocket` (2.4, with the
//! denial-response extension).
//!
//! Why `http` says 2.3: spec 2.4 has `send` raise an `OSError` once the
//! client is gone, and Starlette, seeing 2.4, stops listening for
//! `http.disconnect` while it streams and raises its own exception out of
//! the application instead. rcorn drops what is sent after a failed write
//! (2.3's behaviour, and uvicorn's, which also says 2.3), so a streaming
//! response whose client left ends through `http.disconnect`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rcorn_core::http::RequestHead;
use rcorn_io::exchange::ServerAddr;
use rcorn_io::stream::PeerAddr;
use rcorn_io::tls::TlsSession;

/// The extensions every scope advertises (`scope["extensions"]`): the
/// response messages beyond ASGI's core that the worker understands.
pub const EXTENSIONS: [&str; 4] = [
    "http.response.pathsend",
    "http.response.trailers",
    "http.response.informational",
    "http.response.early_hint",
];

/// What every scope of a worker shares.
pub struct ScopeConstants {
    /// `--root-path`: the mount point, prefixed to `path` as uvicorn does.
    pub root_path: String,
    /// The listener's scheme: `https` with `--certfile`.
    pub scheme: &'static str,
    /// [`EXTENSIONS`], each with an empty dict: a shallow copy per scope.
    pub extensions: Py<PyDict>,
    /// The same without `http.response.trailers`, for a request whose
    /// client did not say it takes trailers (`TE: trailers`).
    pub extensions_no_trailers: Py<PyDict>,
    /// The server's certificate as PEM, for the `tls` extension.
    pub server_cert: Option<Py<PyString>>,
    /// Every key of an `http` scope, in its order, the constant values
    /// set: a scope is a copy of it (one allocation, no resizing) whose
    /// other values are then replaced.
    template: Py<PyDict>,
    /// The `asgi` sub-dict, copied per scope (an application may change
    /// its own).
    asgi: Py<PyDict>,
    /// Lower-cased names of the common request fields, made once (bytes
    /// are immutable, so every scope may share them).
    field_names: Vec<Py<PyBytes>>,
}

/// Request fields common enough to keep their lower-cased name made once.
const COMMON_FIELDS: [&[u8]; 16] = [
    b"host",
    b"user-agent",
    b"accept",
    b"accept-encoding",
    b"accept-language",
    b"connection",
    b"content-length",
    b"content-type",
    b"cookie",
    b"referer",
    b"origin",
    b"authorization",
    b"cache-control",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-request-id",
];

impl ScopeConstants {
    pub fn new(py: Python<'_>, root_path: String, scheme: &'static str) -> PyResult<Self> {
        let extensions = PyDict::new(py);
        for name in EXTENSIONS {
            extensions.set_item(name, PyDict::new(py))?;
        }
        let extensions_no_trailers = extensions.copy()?;
        extensions_no_trailers.del_item("http.response.trailers")?;
        let asgi = PyDict::new(py);
        asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
        asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.3"))?;
        let template = PyDict::new(py);
        template.set_item(intern!(py, "type"), intern!(py, "http"))?;
        template.set_item(intern!(py, "asgi"), &asgi)?;
        template.set_item(intern!(py, "http_version"), intern!(py, "1.1"))?;
        let placeholders = [
            intern!(py, "method"),
            intern!(py, "scheme"),
            intern!(py, "path"),
            intern!(py, "raw_path"),
            intern!(py, "query_string"),
        ];
        for key in placeholders {
            template.set_item(key, py.None())?;
        }
        template.set_item(intern!(py, "root_path"), root_path.as_str())?;
        let placeholders = [
            intern!(py, "headers"),
            intern!(py, "client"),
            intern!(py, "server"),
            intern!(py, "extensions"),
            // Python sets the lifespan state's copy.
            intern!(py, "state"),
        ];
        for key in placeholders {
            template.set_item(key, py.None())?;
        }
        let field_names = COMMON_FIELDS
            .iter()
            .map(|name| PyBytes::new(py, name).unbind())
            .collect();
        Ok(ScopeConstants {
            root_path,
            scheme,
            extensions: extensions.unbind(),
            extensions_no_trailers: extensions_no_trailers.unbind(),
            server_cert: None,
            template: template.unbind(),
            asgi: asgi.unbind(),
            field_names,
        })
    }

    /// The server's certificate (DER) that the `tls` extension shows.
    pub fn set_server_cert(&mut self, py: Python<'_>, der: &[u8]) -> PyResult<()> {
        let pem = pem(py, der)?;
        self.server_cert = Some(pem.cast_into::<PyString>()?.unbind());
        Ok(())
    }

    /// A lower-cased field name as bytes: a shared one for the common names.
    fn field_name<'py>(&self, py: Python<'py>, lower: &[u8]) -> Bound<'py, PyBytes> {
        match COMMON_FIELDS.iter().position(|name| *name == lower) {
            Some(i) => self.field_names[i].bind(py).clone(),
            None => PyBytes::new(py, lower),
        }
    }
}

/// A connection's `client` and `server` scope values, made at its first
/// request and shared by the next ones (tuples are immutable).
pub struct Addresses {
    client: Py<PyAny>,
    server: Py<PyAny>,
}

impl Addresses {
    /// The connection's, made on its first request.
    pub fn of<'a>(
        py: Python<'_>,
        slot: &'a mut Option<Addresses>,
        peer: &PeerAddr,
        server: &ServerAddr,
    ) -> PyResult<&'a Addresses> {
        if slot.is_none() {
            *slot = Some(Addresses::new(py, peer, server)?);
        }
        slot.as_ref()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no addresses"))
    }

    fn new(py: Python<'_>, peer: &PeerAddr, server: &ServerAddr) -> PyResult<Self> {
        let client = match peer {
            PeerAddr::Ip(addr) => (addr.ip().to_string(), addr.port())
                .into_pyobject(py)?
                .into_any()
                .unbind(),
            PeerAddr::Unix => py.None(),
        };
        let server = if server.unix {
            (server.name.as_str(), py.None())
                .into_pyobject(py)?
                .into_any()
        } else {
            let port: u16 = server.port.parse().unwrap_or(0);
            (server.name.as_str(), port).into_pyobject(py)?.into_any()
        };
        Ok(Addresses {
            client,
            server: server.into_any().unbind(),
        })
    }
}

/// A DER certificate as PEM text (the standard library's conversion).
fn pem<'py>(py: Python<'py>, der: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.import("ssl")?
        .getattr("DER_cert_to_PEM_cert")?
        .call1((PyBytes::new(py, der),))
}

/// The `http` scope; `accepts_trailers`: the request's `TE` lists
/// `trailers`, so `http.response.trailers` is offered.
pub fn build<'py>(
    py: Python<'py>,
    head: &RequestHead,
    addrs: &Addresses,
    forwarded_scheme: Option<&'static str>,
    tls: Option<TlsSession>,
    consts: &ScopeConstants,
    accepts_trailers: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = consts.template.bind(py).copy()?;
    scope.set_item(intern!(py, "asgi"), consts.asgi.bind(py).copy()?)?;
    match head.version() {
        (1, 0) => scope.set_item(intern!(py, "http_version"), intern!(py, "1.0"))?,
        (2, _) => scope.set_item(intern!(py, "http_version"), intern!(py, "2"))?,
        _ => {}
    }
    scope.set_item(
        intern!(py, "method"),
        crate::interned::method(py, head.method()),
    )?;
    let scheme = match forwarded_scheme.unwrap_or(consts.scheme) {
        "https" => intern!(py, "https").clone(),
        "http" => intern!(py, "http").clone(),
        other => PyString::new(py, other),
    };
    scope.set_item(intern!(py, "scheme"), scheme)?;
    let raw_path = head.path();
    scope.set_item(intern!(py, "path"), decoded_path(py, consts, raw_path))?;
    scope.set_item(intern!(py, "raw_path"), PyBytes::new(py, raw_path))?;
    scope.set_item(intern!(py, "query_string"), PyBytes::new(py, head.query()))?;
    let mut pairs = Vec::with_capacity(head.header_count());
    let mut lower = Vec::with_capacity(32);
    for (name, value) in head.headers() {
        lower.clear();
        lower.extend(name.iter().map(u8::to_ascii_lowercase));
        let name = consts.field_name(py, &lower).into_any();
        pairs.push(PyTuple::new(
            py,
            [name, PyBytes::new(py, value).into_any()],
        )?);
    }
    scope.set_item(intern!(py, "headers"), PyList::new(py, pairs)?)?;
    scope.set_item(intern!(py, "client"), addrs.client.bind(py))?;
    scope.set_item(intern!(py, "server"), addrs.server.bind(py))?;
    let extensions = match accepts_trailers {
        true => consts.extensions.bind(py).copy()?,
        false => consts.extensions_no_trailers.bind(py).copy()?,
    };
    if let Some(session) = tls {
        let tls = tls_extension(py, &session, consts.server_cert.as_ref())?;
        extensions.set_item(intern!(py, "tls"), tls)?;
    }
    if let Some((weight, depends_on)) = head.h2_priority() {
        // gunicorn's extension for an HTTP/2 stream's priority.
        let priority = PyDict::new(py);
        priority.set_item(intern!(py, "weight"), weight)?;
        priority.set_item(intern!(py, "depends_on"), depends_on)?;
        extensions.set_item(intern!(py, "http.response.priority"), priority)?;
    }
    scope.set_item(intern!(py, "extensions"), extensions)?;
    Ok(scope)
}

/// `path`: the root path and the percent-decoded target, as UTF-8 (lossy).
fn decoded_path<'py>(
    py: Python<'py>,
    consts: &ScopeConstants,
    raw_path: &[u8],
) -> Bound<'py, PyString> {
    if consts.root_path.is_empty() && !raw_path.contains(&b'%') {
        // Nothing to decode: the common case, without a copy.
        if let Ok(text) = std::str::from_utf8(raw_path) {
            return PyString::new(py, text);
        }
    }
    let mut path = consts.root_path.clone();
    path.push_str(&String::from_utf8_lossy(&rcorn_core::percent::decode(
        raw_path,
    )));
    PyString::new(py, &path)
}

/// The `tls` extension: what the connection negotiated, the server's
/// certificate and the client's as PEM, and the client certificate's
/// subject as RFC 4514 text.
fn tls_extension<'py>(
    py: Python<'py>,
    session: &TlsSession,
    server_cert: Option<&Py<PyString>>,
) -> PyResult<Bound<'py, PyDict>> {
    let tls = PyDict::new(py);
    tls.set_item("server_cert", server_cert)?;
    let chain = PyList::empty(py);
    for der in &session.client_chain {
        chain.append(pem(py, der)?)?;
    }
    tls.set_item("client_cert_chain", chain)?;
    let name = session
        .client_chain
        .first()
        .and_then(|der| rcorn_core::x509_name::subject_rfc4514(der));
    tls.set_item("client_cert_name", name)?;
    tls.set_item("client_cert_error", py.None())?;
    tls.set_item("tls_version", session.version)?;
    tls.set_item("cipher_suite", session.cipher_suite)?;
    Ok(tls)
}

/// The `websocket` scope of a handshake: the `http` scope's keys but
/// `method`, with `ws`/`wss`, the client's subprotocols, and the
/// `websocket.http.response` extension (a denial with any response).
pub fn build_websocket<'py>(
    py: Python<'py>,
    head: &RequestHead,
    addrs: &Addresses,
    forwarded_scheme: Option<&'static str>,
    tls: Option<TlsSession>,
    consts: &ScopeConstants,
    subprotocols: &[String],
) -> PyResult<Bound<'py, PyDict>> {
    let scope = build(py, head, addrs, forwarded_scheme, tls, consts, false)?;
    // The http scope's `tls` stays; its response extensions do not apply.
    let tls_extension = scope
        .get_item(intern!(py, "extensions"))?
        .and_then(|e| e.get_item(intern!(py, "tls")).ok());
    scope.set_item(intern!(py, "type"), intern!(py, "websocket"))?;
    scope.del_item(intern!(py, "method"))?;
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.4"))?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    let scheme = match forwarded_scheme.unwrap_or(consts.scheme) {
        "https" => "wss",
        _ => "ws",
    };
    scope.set_item(intern!(py, "scheme"), scheme)?;
    scope.set_item(intern!(py, "subprotocols"), PyList::new(py, subprotocols)?)?;
    let extensions = PyDict::new(py);
    extensions.set_item(intern!(py, "websocket.http.response"), PyDict::new(py))?;
    if let Some(tls) = tls_extension {
        extensions.set_item(intern!(py, "tls"), tls)?;
    }
    scope.set_item(intern!(py, "extensions"), extensions)?;
    Ok(scope)
}
