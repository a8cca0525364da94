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
}

impl ScopeConstants {
    pub fn new(py: Python<'_>, root_path: String, scheme: &'static str) -> PyResult<Self> {
        let extensions = PyDict::new(py);
        for name in EXTENSIONS {
            extensions.set_item(name, PyDict::new(py))?;
        }
        let extensions_no_trailers = extensions.copy()?;
        extensions_no_trailers.del_item("http.response.trailers")?;
        Ok(ScopeConstants {
            root_path,
            scheme,
            extensions: extensions.unbind(),
            extensions_no_trailers: extensions_no_trailers.unbind(),
            server_cert: None,
        })
    }

    /// The server's certificate (DER) that the `tls` extension shows.
    pub fn set_server_cert(&mut self, py: Python<'_>, der: &[u8]) -> PyResult<()> {
        let pem = pem(py, der)?;
        self.server_cert = Some(pem.cast_into::<PyString>()?.unbind());
        Ok(())
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
    (peer, server): (&PeerAddr, &ServerAddr),
    forwarded_scheme: Option<&'static str>,
    tls: Option<TlsSession>,
    consts: &ScopeConstants,
    accepts_trailers: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.3"))?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    let version = match head.version() {
        (1, 0) => "1.0",
        (2, _) => "2",
        _ => "1.1",
    };
    scope.set_item(intern!(py, "http_version"), version)?;
    scope.set_item(
        intern!(py, "method"),
        crate::interned::method(py, head.method()),
    )?;
    scope.set_item(
        intern!(py, "scheme"),
        forwarded_scheme.unwrap_or(consts.scheme),
    )?;
    let raw_path = head.path();
    let mut path = consts.root_path.clone();
    path.push_str(&String::from_utf8_lossy(&rcorn_core::percent::decode(
        raw_path,
    )));
    scope.set_item(intern!(py, "path"), path)?;
    scope.set_item(intern!(py, "raw_path"), PyBytes::new(py, raw_path))?;
    scope.set_item(intern!(py, "query_string"), PyBytes::new(py, head.query()))?;
    scope.set_item(intern!(py, "root_path"), consts.root_path.as_str())?;
    let headers = PyList::empty(py);
    let mut lower = Vec::with_capacity(32);
    for (name, value) in head.headers() {
        lower.clear();
        lower.extend(name.iter().map(u8::to_ascii_lowercase));
        let pair = PyTuple::new(py, [PyBytes::new(py, &lower), PyBytes::new(py, value)])?;
        headers.append(pair)?;
    }
    scope.set_item(intern!(py, "headers"), headers)?;
    match peer {
        PeerAddr::Ip(addr) => {
            scope.set_item(intern!(py, "client"), (addr.ip().to_string(), addr.port()))?
        }
        PeerAddr::Unix => scope.set_item(intern!(py, "client"), py.None())?,
    }
    if server.unix {
        scope.set_item(intern!(py, "server"), (server.name.as_str(), py.None()))?;
    } else {
        let port: u16 = server.port.parse().unwrap_or(0);
        scope.set_item(intern!(py, "server"), (server.name.as_str(), port))?;
    }
    let extensions = match accepts_trailers {
        true => consts.extensions.bind(py).copy()?,
        false => consts.extensions_no_trailers.bind(py).copy()?,
    };
    if let Some(session) = tls {
        let tls = tls_extension(py, &session, consts.server_cert.as_ref())?;
        extensions.set_item(intern!(py, "tls"), tls)?;
    }
    scope.set_item(intern!(py, "extensions"), extensions)?;
    Ok(scope)
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
    (peer, server): (&PeerAddr, &ServerAddr),
    forwarded_scheme: Option<&'static str>,
    tls: Option<TlsSession>,
    consts: &ScopeConstants,
    subprotocols: &[String],
) -> PyResult<Bound<'py, PyDict>> {
    let scope = build(
        py,
        head,
        (peer, server),
        forwarded_scheme,
        tls,
        consts,
        false,
    )?;
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
