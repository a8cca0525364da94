//! The Python side of a request, part by part: building the environ,
//! calling `start_response`, and a whole request through a socket pair
//! answered by the load comparison's hello app (`benches/load/apps/hello.py`)
//! beside the same request answered in Rust. The difference between those
//! two is what serving Python costs; the parts say where it goes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyModule, PyTuple};
use rcorn_benches::{exchange_context, read_head, RustHello, SocketPairServer, BROWSER_GET};
use rcorn_core::http::forwarded::TrustedPeers;
use rcorn_io::Exchange;
use rcorn_python::wsgi::environ::{EnvironBuilder, EnvironConstants};
use rcorn_python::wsgi::exchange_ref::ExchangeRef;
use rcorn_python::wsgi::start_response::StartResponse;
use rcorn_python::wsgi::WsgiApp;
use std::ffi::CString;
use std::hint::black_box;
use std::io::Write;

const HELLO_APP: &str = include_str!("../load/apps/hello.py");

fn constants() -> EnvironConstants {
    EnvironConstants {
        multiprocess: false,
        multithread: false,
        url_scheme: "http",
        script_name: String::new(),
        casefold_method: false,
        map_underscore_headers: false,
        forwarder_headers: Vec::new(),
        forwarders: TrustedPeers::parse(&["127.0.0.1"]).expect("a peer list"),
    }
}

fn hello_app(py: Python<'_>) -> Py<PyAny> {
    let code = CString::new(HELLO_APP).expect("no NUL in the app");
    let module = PyModule::from_code(py, &code, c"hello.py", c"hello").expect("hello.py loads");
    module.getattr("app").expect("hello.app").unbind()
}

/// The environ for the browser GET, and `start_response` as the hello app
/// calls it, each on an exchange whose head was read from a real socket.
fn parts(c: &mut Criterion) {
    let SocketPairServer {
        mut conn,
        mut client,
        mut dates,
        ..
    } = SocketPairServer::new();
    client.write_all(BROWSER_GET).expect("client write");
    read_head(&mut conn);
    let mut ex = Exchange::new(&mut conn, exchange_context(&mut dates)).expect("a head");
    let mut group = c.benchmark_group("wsgi");
    group.throughput(Throughput::Elements(1));
    Python::attach(|py| {
        let mut builder = EnvironBuilder::new(py, constants()).expect("an environ builder");
        group.bench_function("environ/browser_get", |b| {
            b.iter(|| black_box(builder.build(py, &ex).expect("an environ")))
        });

        let exchange = ExchangeRef::default();
        let status = pyo3::types::PyString::new(py, "200 OK");
        let headers = PyList::new(
            py,
            [
                PyTuple::new(py, ["Content-Type", "text/plain"]).expect("a tuple"),
                PyTuple::new(py, ["Content-Length", "13"]).expect("a tuple"),
            ],
        )
        .expect("a list");
        group.bench_function("start_response/two_headers", |b| {
            b.iter(|| {
                let guard = exchange.lend(&mut ex);
                // A fresh callable per request, as the worker makes one.
                let start_response =
                    Py::new(py, StartResponse::new(exchange.clone())).expect("start_response");
                let write = start_response
                    .call1(py, (&status, &headers))
                    .expect("start_response accepts the hello app's head");
                black_box(write);
                exchange.with(|ex| ex.reset_response());
                drop(guard);
            })
        });
    });
    group.finish();
}

/// One whole request answered by the Python hello app, beside the same
/// request answered in Rust, in one run.
fn whole_request(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    let mut server = SocketPairServer::new();
    group.bench_function("rust_hello/browser_get", |b| {
        let mut app = RustHello;
        b.iter(|| black_box(server.serve_one(&mut app, BROWSER_GET)))
    });
    let mut app = Python::attach(|py| WsgiApp::new(py, hello_app(py), constants(), true))
        .expect("the hello app");
    group.bench_function("python_hello/browser_get", |b| {
        b.iter(|| black_box(server.serve_one(&mut app, BROWSER_GET)))
    });
    group.finish();
}

fn python() -> Criterion {
    Python::initialize();
    Criterion::default()
}

criterion_group! {
    name = benches;
    config = python();
    targets = parts, whole_request
}
criterion_main!(benches);
