//! `pre_request(worker, req)` and `post_request(worker, req, environ, resp)`
//! with gunicorn's `req` and `resp` attributes. Built only when the config
//! file defines one of them, so requests pay nothing otherwise.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use rcorn_io::stream::PeerAddr;
use rcorn_io::Exchange;

use crate::traceback::log_exception;
use crate::wsgi::latin1;

/// The `req` of the request hooks (gunicorn's `http.Request` attributes).
#[pyclass(module = "rcorn", name = "Request")]
pub struct HookRequest {
    #[pyo3(get)]
    method: Py<PyString>,
    #[pyo3(get)]
    uri: Py<PyString>,
    #[pyo3(get)]
    path: Py<PyString>,
    #[pyo3(get)]
    query: Py<PyString>,
    #[pyo3(get)]
    fragment: Py<PyString>,
    #[pyo3(get)]
    version: (u8, u8),
    /// `[(NAME, value), ...]` with names upper-cased, as gunicorn keeps them.
    #[pyo3(get)]
    headers: Py<PyList>,
    #[pyo3(get)]
    scheme: &'static str,
    #[pyo3(get)]
    remote_addr: Option<(String, u16)>,
}

impl HookRequest {
    fn from_exchange(py: Python<'_>, ex: &Exchange<'_>) -> PyResult<HookRequest> {
        let head = ex.head();
        let headers = PyList::empty(py);
        for (name, value) in head.headers() {
            let name = latin1::decode(py, &name.to_ascii_uppercase())?;
            headers.append(PyTuple::new(py, [name, latin1::decode(py, value)?])?)?;
        }
        Ok(HookRequest {
            method: PyString::new(py, head.method()).unbind(),
            uri: latin1::decode(py, head.target())?.unbind(),
            path: latin1::decode(py, head.path())?.unbind(),
            query: latin1::decode(py, head.query())?.unbind(),
            fragment: latin1::decode(py, head.fragment())?.unbind(),
            version: head.version(),
            headers: headers.unbind(),
            scheme: "http",
            remote_addr: match ex.peer() {
                PeerAddr::Ip(addr) => Some((addr.ip().to_string(), addr.port())),
                PeerAddr::Unix => None,
            },
        })
    }
}

/// The `resp` of `post_request` (gunicorn's `http.wsgi.Response`).
#[pyclass(module = "rcorn", name = "Response")]
pub struct HookResponse {
    /// The status string the application gave ("200 OK"), or the one the
    /// server sent in its place.
    #[pyo3(get)]
    status: Py<PyAny>,
    #[pyo3(get)]
    status_code: u16,
    #[pyo3(get)]
    headers: Py<PyAny>,
    /// Body bytes sent.
    #[pyo3(get)]
    sent: u64,
}

pub struct RequestHooks {
    /// The hooks' first argument, the server's `worker` object.
    worker: Py<PyAny>,
    pre: Option<Py<PyAny>>,
    /// `post_request` with gunicorn's arity adaptation: a hook may take
    /// (worker, req), (worker, req, environ) or all four arguments.
    post: Option<(Py<PyAny>, usize)>,
}

impl RequestHooks {
    /// The same hooks, for another application thread.
    pub fn clone_ref(&self, py: Python<'_>) -> RequestHooks {
        RequestHooks {
            worker: self.worker.clone_ref(py),
            pre: self.pre.as_ref().map(|p| p.clone_ref(py)),
            post: self.post.as_ref().map(|(p, n)| (p.clone_ref(py), *n)),
        }
    }

    /// `None` when the config file defines neither hook.
    pub fn new(
        py: Python<'_>,
        pre: Option<&Py<PyAny>>,
        post: Option<&Py<PyAny>>,
        worker: &Py<PyAny>,
    ) -> PyResult<Option<RequestHooks>> {
        let pre = pre.map(|h| h.clone_ref(py));
        let post = match post {
            Some(h) => {
                let arity: usize = py
                    .import("inspect")?
                    .call_method1("signature", (h.bind(py),))?
                    .getattr("parameters")?
                    .len()?;
                if !(2..=4).contains(&arity) {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "post_request must take 2 to 4 arguments, not {arity}"
                    )));
                }
                Some((h.clone_ref(py), arity))
            }
            None => None,
        };
        if pre.is_none() && post.is_none() {
            return Ok(None);
        }
        Ok(Some(RequestHooks {
            worker: worker.clone_ref(py),
            pre,
            post,
        }))
    }

    /// Runs `pre_request` and returns the `req` for `post_request`.
    pub fn pre(&self, py: Python<'_>, ex: &Exchange<'_>) -> Option<Py<HookRequest>> {
        let req = match HookRequest::from_exchange(py, ex).and_then(|r| Py::new(py, r)) {
            Ok(req) => req,
            Err(e) => {
                log_exception(py, &e, "cannot build the request hooks' req");
                return None;
            }
        };
        if let Some(pre) = &self.pre {
            if let Err(e) = pre
                .bind(py)
                .call1((self.worker.clone_ref(py), req.clone_ref(py)))
            {
                log_exception(py, &e, "Exception in pre_request hook");
            }
        }
        Some(req)
    }

    pub fn post(
        &self,
        py: Python<'_>,
        req: Py<HookRequest>,
        environ: &Bound<'_, PyDict>,
        resp: HookResponse,
    ) {
        let Some((post, arity)) = &self.post else {
            return;
        };
        let worker = self.worker.clone_ref(py);
        let result = Py::new(py, resp).and_then(|resp| match arity {
            2 => post.bind(py).call1((worker, req)),
            3 => post.bind(py).call1((worker, req, environ)),
            _ => post.bind(py).call1((worker, req, environ, resp)),
        });
        if let Err(e) = result {
            log_exception(py, &e, "Exception in post_request hook");
        }
    }
}

impl HookResponse {
    pub fn new(status: Py<PyAny>, status_code: u16, headers: Py<PyAny>, sent: u64) -> HookResponse {
        HookResponse {
            status,
            status_code,
            headers,
            sent,
        }
    }
}
