//! WSGI (PEP 3333): the application as an `rcorn_io::App`, and the Python
//! objects a request hands it — the environ, `start_response` and
//! `write()`, `wsgi.input`, `wsgi.errors`, `wsgi.file_wrapper`, and
//! gunicorn's `wsgi.early_hints` and `gunicorn.http2.send_trailers` —
//! plus the `pre_request`/`post_request` hooks that run around each call.
//!
//! `environ`, `exchange_ref`, `start_response` and `app` are public so
//! that the criterion benches can time them apart.

pub mod app;
pub mod environ;
pub(crate) mod errors_stream;
pub mod exchange_ref;
pub(crate) mod file_wrapper;
pub(crate) mod http_extras;
pub(crate) mod input;
pub(crate) mod io_error;
pub(crate) mod latin1;
pub(crate) mod request_hooks;
pub mod start_response;

pub use app::WsgiApp;
