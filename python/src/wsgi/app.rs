//! The WSGI application as an `rcorn_io::App`.

use pyo3::exceptions::{PyOSError, PySystemExit};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use std::os::fd::{BorrowedFd, RawFd};
use std::path::PathBuf;

use rcorn_io::{App, Exchange};

use crate::traceback::log_exception;
use crate::wsgi::environ::{EnvironBuilder, EnvironConstants};
use crate::wsgi::exchange_ref::ExchangeRef;
use crate::wsgi::file_wrapper::{sendable_file, FileWrapper};
use crate::wsgi::http_extras::{EarlyHints, SendTrailers};
use crate::wsgi::input::WsgiInput;
use crate::wsgi::request_hooks::{HookResponse, RequestHooks};
use crate::wsgi::start_response::{body_in_blocks, flush_block, write_chunk, StartResponse};

/// `--reload`'s question, asked on every wake of an idle worker: the
/// application's source file that changed since the worker started, if
/// any (the worker then restarts).
pub type ChangedFile = Box<dyn FnMut(Python<'_>) -> Option<PathBuf> + Send>;

pub struct WsgiApp {
    app: Py<PyAny>,
    /// `pre_request`/`post_request`, when the config file defines them.
    request_hooks: Option<RequestHooks>,
    /// `--reload`: restart the worker when a source file changes.
    changed_file: Option<ChangedFile>,
    /// Environ keys (lower case) the access log prints, `%({name}e)s`.
    log_environ: Vec<String>,
    environ: EnvironBuilder,
    /// Whether a `wsgi.file_wrapper` result over a regular file is sent
    /// with sendfile(2) (`--no-sendfile` turns it off).
    sendfile: bool,
}

impl WsgiApp {
    pub fn new(
        py: Python<'_>,
        app: Py<PyAny>,
        constants: EnvironConstants,
        sendfile: bool,
    ) -> PyResult<WsgiApp> {
        Ok(WsgiApp {
            app,
            request_hooks: None,
            changed_file: None,
            log_environ: Vec::new(),
            environ: EnvironBuilder::new(py, constants)?,
            sendfile,
        })
    }

    /// The application as another gthread application thread serves it:
    /// the same callable and hooks, its own environ builder, and no check
    /// for changed files (the event loop's thread makes it).
    pub fn for_thread(&self, py: Python<'_>) -> WsgiApp {
        WsgiApp {
            app: self.app.clone_ref(py),
            request_hooks: self.request_hooks.as_ref().map(|h| h.clone_ref(py)),
            changed_file: None,
            log_environ: self.log_environ.clone(),
            environ: self.environ.for_thread(py),
            sendfile: self.sendfile,
        }
    }

    pub fn set_request_hooks(&mut self, hooks: Option<RequestHooks>) {
        self.request_hooks = hooks;
    }

    pub fn set_changed_file(&mut self, changed_file: Option<ChangedFile>) {
        self.changed_file = changed_file;
    }

    /// `--reload`'s check, for a worker that serves another way (asgi).
    pub fn take_changed_file(&mut self) -> Option<ChangedFile> {
        self.changed_file.take()
    }

    pub fn set_log_environ(&mut self, names: Vec<String>) {
        self.log_environ = names;
    }

    /// Hands the environ values the access log prints to the exchange, as
    /// they are after the application ran (middleware may add some).
    fn keep_environ_for_log(&self, exchange: &ExchangeRef, environ: &Bound<'_, PyDict>) {
        for (key, value) in environ.iter() {
            let Ok(key) = key.extract::<String>() else {
                continue;
            };
            let key = key.to_lowercase();
            if self.log_environ.contains(&key) {
                let text = value.str().map(|s| s.to_string()).unwrap_or_default();
                exchange.with(|ex| ex.log_environ(&key, text));
            }
        }
    }

    fn call_py(&mut self, py: Python<'_>, ex: &mut Exchange<'_>) {
        let req = self.request_hooks.as_ref().and_then(|h| h.pre(py, ex));
        let environ = match self.environ.build(py, ex) {
            Ok(env) => env,
            Err(e) => {
                log_exception(py, &e, "Error building the WSGI environ");
                return;
            }
        };
        let exchange = ExchangeRef::default();
        let guard = exchange.lend(ex);
        let start_response = match Py::new(py, StartResponse::new(exchange.clone())) {
            Ok(s) => s,
            Err(e) => {
                log_exception(py, &e, "Error creating start_response");
                return;
            }
        };
        let outcome = self.respond(py, &exchange, &environ, &start_response);
        if let Err(e) = outcome {
            if e.is_instance_of::<PySystemExit>(py) {
                // worker_int/worker_abort stopped the request: the worker
                // exits once the exchange is closed.
                exchange.with(|ex| ex.abort());
                drop(guard);
                return;
            }
            match client_went_away(py, &e, &exchange) {
                Some(line) => rcorn_io::debug!("{line}"),
                None => {
                    let uri = exchange
                        .with(|ex| String::from_utf8_lossy(ex.head().target()).into_owned())
                        .unwrap_or_default();
                    log_exception(py, &e, &format!("Error handling request {uri}"));
                }
            }
            exchange.with(|ex| {
                // Before the first body byte the client can still get a
                // clean 500; after it, only a closed connection is honest.
                if ex.head_ended() {
                    ex.abort();
                } else {
                    ex.reset_response();
                }
            });
        }
        if !self.log_environ.is_empty() {
            self.keep_environ_for_log(&exchange, &environ);
        }
        if let (Some(hooks), Some(req)) = (&self.request_hooks, req) {
            let resp = response_for_hook(py, &exchange, &start_response);
            hooks.post(py, req, &environ, resp);
        }
        drop(guard);
    }

    fn respond(
        &mut self,
        py: Python<'_>,
        exchange: &ExchangeRef,
        environ: &Bound<'_, pyo3::types::PyDict>,
        start_response: &Py<StartResponse>,
    ) -> PyResult<()> {
        environ.set_item(
            intern!(py, "wsgi.input"),
            Py::new(py, WsgiInput::new(exchange.clone()))?,
        )?;
        environ.set_item(
            intern!(py, "wsgi.early_hints"),
            Py::new(py, EarlyHints::new(exchange.clone()))?,
        )?;
        if exchange.with(|ex| ex.is_http2()).unwrap_or(false) {
            environ.set_item(
                intern!(py, "gunicorn.http2.send_trailers"),
                Py::new(py, SendTrailers::new(exchange.clone()))?,
            )?;
        }
        let start_response = start_response.clone_ref(py);
        let result = self.app.bind(py).call1((environ, start_response))?;
        let sent = match self.wrapped_file(py, &result) {
            Some((fd, offset, len)) => send_file(exchange, fd, offset, len),
            None => send_result(exchange, &result),
        };
        // PEP 3333: close() is called whatever happened while iterating.
        // A list or tuple has none; asking would raise and clear an
        // AttributeError on every such response.
        let plain =
            result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
        let closed = if plain || matches!(result.hasattr(intern!(py, "close")), Ok(false)) {
            Ok(())
        } else {
            result.call_method0(intern!(py, "close")).map(drop)
        };
        sent.and(closed)
    }
}

/// The debug line for an `OSError` that a read or write raised because
/// the client went away (a reset stream, a closed socket), as gunicorn
/// logs those; `None` for an error of the application's own, which is
/// logged with its traceback.
fn client_went_away(py: Python<'_>, e: &PyErr, exchange: &ExchangeRef) -> Option<String> {
    if !e.is_instance_of::<PyOSError>(py) {
        return None;
    }
    let (gone, http2) = exchange.with(|ex| (ex.client_gone(), ex.is_http2()))?;
    if !gone {
        return None;
    }
    if http2 {
        return Some(format!("HTTP/2 stream closed: {}", e.value(py)));
    }
    let errno = e
        .value(py)
        .getattr(intern!(py, "errno"))
        .and_then(|n| n.extract::<i32>())
        .ok();
    Some(match errno {
        Some(libc::ECONNRESET) => "Ignoring connection reset".to_owned(),
        Some(libc::ENOTCONN) => "Ignoring socket not connected".to_owned(),
        Some(libc::EPIPE) => "Ignoring EPIPE".to_owned(),
        _ => format!("Ignoring socket error: {}", e.value(py)),
    })
}

/// `post_request`'s `resp`: what the application answered, or, when the
/// server answered in its place (an error before the response started),
/// that answer.
fn response_for_hook(
    py: Python<'_>,
    exchange: &ExchangeRef,
    start_response: &Py<StartResponse>,
) -> HookResponse {
    let (started, code, sent) = exchange
        .with(|ex| (ex.response_started(), ex.status(), ex.body_bytes()))
        .unwrap_or((false, 0, 0));
    let given = start_response.borrow(py).given(py).filter(|_| started);
    match given {
        Some((status, headers)) => HookResponse::new(status, code, headers, sent),
        None => {
            let status = format!("500 {}", rcorn_core::http::reason_phrase(500));
            let status = PyString::new(py, &status).into_any().unbind();
            HookResponse::new(status, 500, PyList::empty(py).into_any().unbind(), sent)
        }
    }
}

impl WsgiApp {
    /// The regular file behind a `wsgi.file_wrapper` result, if it is to be
    /// sent with sendfile(2).
    fn wrapped_file(&self, py: Python<'_>, result: &Bound<'_, PyAny>) -> Option<(RawFd, u64, u64)> {
        if !self.sendfile {
            return None;
        }
        let wrapper = result.cast::<FileWrapper>().ok()?;
        let wrapper = wrapper.borrow();
        sendable_file(py, &wrapper)
    }
}

/// Sends `len` bytes of the file `fd` from `offset` as the body; the
/// length becomes the Content-Length unless the application set one.
fn send_file(exchange: &ExchangeRef, fd: RawFd, offset: u64, len: u64) -> PyResult<()> {
    write_chunk(exchange, b"", Some(len))?;
    // SAFETY: `fd` belongs to the file object the result holds, alive
    // until the caller closes the result after this returns.
    let file = unsafe { BorrowedFd::borrow_raw(fd) };
    exchange
        .with(|ex| ex.send_file(file, offset, len).map(drop))
        .unwrap_or(Ok(()))
        .map_err(|e| crate::wsgi::io_error::from_exchange(&e))
}

/// Writes the application's result iterable, giving the encoder the body's
/// length when the result is a one-item list or tuple (so the response gets
/// a Content-Length instead of chunked framing).
fn send_result(exchange: &ExchangeRef, result: &Bound<'_, PyAny>) -> PyResult<()> {
    let single_len = |item: &Bound<'_, PyAny>| {
        item.cast::<PyBytes>()
            .ok()
            .map(|b| b.as_bytes().len() as u64)
    };
    if let Ok(list) = result.cast::<PyList>() {
        let hint = if list.len() == 1 {
            single_len(&list.get_item(0)?)
        } else {
            None
        };
        for item in list.iter() {
            write_item(exchange, &item, hint)?;
        }
    } else if let Ok(tuple) = result.cast::<PyTuple>() {
        let hint = if tuple.len() == 1 {
            single_len(&tuple.get_item(0)?)
        } else {
            None
        };
        for item in tuple.iter() {
            write_item(exchange, &item, hint)?;
        }
    } else {
        // A generator: each block goes out before the next is asked for.
        body_in_blocks(exchange);
        for item in result.try_iter()? {
            write_item(exchange, &item?, None)?;
            flush_block(exchange)?;
        }
    }
    // An empty result still needs its head sent.
    write_chunk(exchange, b"", Some(0))
}

fn write_item(exchange: &ExchangeRef, item: &Bound<'_, PyAny>, hint: Option<u64>) -> PyResult<()> {
    let bytes = item.cast::<PyBytes>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "the application's result must yield bytes, not {}",
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    write_chunk(exchange, bytes.as_bytes(), hint)
}

impl App for WsgiApp {
    fn call(&mut self, exchange: &mut Exchange<'_>) {
        Python::attach(|py| self.call_py(py, exchange));
    }

    /// An application thread stays attached to the interpreter for its
    /// whole life (the GIL is released whenever it waits, see
    /// [`release_gil_while`]): `threading.local` data, such as a database
    /// connection kept per thread, lives across requests.
    fn thread_main(&mut self, run: &mut dyn FnMut(&mut Self)) {
        Python::attach(|_py| run(self));
    }

    /// Runs Python's handlers (worker_int/worker_abort) for signals that
    /// arrived while no Python code was running. Their `SystemExit` only
    /// repeats what the worker's loop does with the same signal.
    fn wants_restart(&mut self) -> bool {
        let Some(changed_file) = &mut self.changed_file else {
            return false;
        };
        match Python::attach(changed_file) {
            Some(path) => {
                rcorn_io::info!("Worker reloading: {} modified", path.display());
                true
            }
            None => false,
        }
    }

    /// Taking the GIL is the check: it waits until the thread holding it
    /// lets go, which a healthy interpreter does every switch interval.
    fn runtime_responsive(&mut self) {
        Python::attach(|_py| ());
    }

    fn signals_arrived(&mut self) {
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                if !e.is_instance_of::<PySystemExit>(py) {
                    log_exception(py, &e, "Exception in a signal handler");
                }
            }
        });
    }
}

/// Runs `wait` with the GIL released if this thread holds it, so other
/// application threads (and the application's own threads) run while one
/// waits for a socket or for work. Installed as rcorn-io's wait wrapper.
pub fn release_gil_while(wait: &mut dyn FnMut()) {
    // SAFETY: the thread state is saved only when this thread holds the
    // GIL, and restored on the same thread before returning; `wait` touches
    // no Python object.
    unsafe {
        if holds_gil() {
            let state = pyo3::ffi::PyEval_SaveThread();
            wait();
            pyo3::ffi::PyEval_RestoreThread(state);
        } else {
            wait();
        }
    }
}

/// Whether the calling thread holds the GIL.
#[cfg(not(feature = "abi3"))]
fn holds_gil() -> bool {
    // SAFETY: callable from any thread, GIL or not.
    unsafe { pyo3::ffi::PyGILState_Check() == 1 }
}

/// Whether the calling thread holds the GIL. `PyGILState_Check` is public,
/// documented API that every CPython 3 exports, with the same signature,
/// but it is not in the stable ABI's list, so pyo3 leaves it out of an abi3
/// build; the limited API has no other way to ask that does not abort when
/// the answer is no.
#[cfg(feature = "abi3")]
fn holds_gil() -> bool {
    extern "C" {
        fn PyGILState_Check() -> std::os::raw::c_int;
    }
    // SAFETY: callable from any thread, GIL or not.
    unsafe { PyGILState_Check() == 1 }
}
