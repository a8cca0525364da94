//! The ASGI connection scopes of a request head: `http` (ASGI spec 2.3)
//! and `websocket` (2.4, with the denial-response extension).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use rcorn_core::http::RequestHead;
use rcorn_io::exchange::ServerAddr;
use rcorn_io::stream::PeerAddr;

/// What every scope of a worker shares.
pub struct ScopeConstants {
    /// `--root-path`: the mount point, prefixed to `path` as uvicorn does.
    pub root_path: String,
    /// The listener's scheme: `https` with `--certfile`.
    pub scheme: &'static str,
}

pub fn build<'py>(
    py: Python<'py>,
    head: &RequestHead,
    peer: &PeerAddr,
    server: &ServerAddr,
    forwarded_scheme: Option<&'static str>,
    consts: &ScopeConstants,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.3"))?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    let version = match head.version() {
        (1, 0) => "1.0",
        _ => "1.1",
    };
    scope.set_item(intern!(py, "http_version"), version)?;
    scope.set_item(intern!(py, "method"), head.method())?;
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
    Ok(scope)
}

/// The `websocket` scope of a handshake: the `http` scope's keys but
/// `method`, with `ws`/`wss`, the client's subprotocols, and the
/// `websocket.http.response` extension (a denial with any response).
pub fn build_websocket<'py>(
    py: Python<'py>,
    head: &RequestHead,
    (peer, server): (&PeerAddr, &ServerAddr),
    forwarded_scheme: Option<&'static str>,
    consts: &ScopeConstants,
    subprotocols: &[String],
) -> PyResult<Bound<'py, PyDict>> {
    let scope = build(py, head, peer, server, forwarded_scheme, consts)?;
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
    scope.set_item(intern!(py, "extensions"), extensions)?;
    Ok(scope)
}
