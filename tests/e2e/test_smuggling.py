"""Request smuggling through a real reverse proxy.

Debian's nginx, started by the test on loopback, forwards to rcorn over
kept-alive upstream connections without buffering request bodies (so
chunked bodies stream through as they came). Each payload of a known
desynchronisation family carries a hidden second request to
`/smuggled-N`; after it, a normal request follows on the same client
connection. The property: every request rcorn hands to the application is
one nginx logged as a request too. A request only rcorn saw would be a
desynchronisation between the two parsers.
"""

import shutil
import socket
import subprocess

import pytest

from conftest import end_process, free_port, recv_all, wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def smuggled(n):
    return b"GET /smuggled-%d HTTP/1.1\r\nHost: x\r\n\r\n" % n


def payloads():
    """(family, bytes) pairs; each hides a request to /smuggled-N."""
    cases = []

    def add(family, build):
        n = len(cases)
        cases.append((family, build(n)))

    # CL.TE and TE.CL: both framings at once, disagreeing.
    add("CL.TE", lambda n: b"POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s" % (5 + len(smuggled(n)), smuggled(n)))
    add("TE.CL", lambda n: b"POST /te-cl HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled(n)), smuggled(n)))
    # TE.TE: obfuscated Transfer-Encoding one side may ignore.
    for i, te in enumerate([
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x",
        b"Transfer-Encoding: xchunked",
        b"Transfer-Encoding : chunked",
        b"Transfer-Encoding:\tchunked",
        b"Transfer-Encoding: chunked, identity",
        b"Transfer-Encoding: identity, chunked",
        b"Transfer-encoding: cHuNkEd",
        b"X: y\r\n Transfer-Encoding: chunked",
    ]):
        add(f"TE.TE-{i}", lambda n, te=te: b"POST /te-te HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"%s\r\n\r\n0\r\n\r\n%s" % (5 + len(smuggled(n)), te, smuggled(n)))
    # Chunk sizes: extensions, prefixes, overflow, signs.
    for i, size in enumerate([b"0;ext=1", b"0x0", b"00000000000000000000", b"-0", b"0 ", b"ffffffffffffffff1"]):
        add(f"chunk-size-{i}", lambda n, size=size: b"POST /chunk HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%s\r\n\r\n%s" % (size, smuggled(n)))
    # Bare LF where CRLF is required.
    add("bare-LF-head", lambda n: b"POST /lf HTTP/1.1\nHost: x\nContent-Length: %d\n\n%s"
        % (len(smuggled(n)), smuggled(n)))
    add("bare-LF-chunk", lambda n: b"POST /lf-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\n\n%s" % smuggled(n))
    # obs-fold of a framing header.
    add("obs-fold", lambda n: b"POST /fold HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        b"X-Fold: a\r\n Content-Length: %d\r\n\r\n%s" % (len(smuggled(n)), smuggled(n)))
    # Whitespace around a framing header's name or value.
    for i, cl in enumerate([b"Content-Length : %d", b" Content-Length: %d", b"Content-Length:\x0b%d",
                            b"Content-Length: +%d", b"Content-Length: %d, 0"]):
        add(f"header-space-{i}", lambda n, cl=cl: b"POST /ws HTTP/1.1\r\nHost: x\r\n" + (cl % len(smuggled(n)))
            + b"\r\n\r\n" + smuggled(n))
    return cases


@pytest.fixture
def proxied(serve, tmp_path):
    if not shutil.which("nginx") and not shutil.which(NGINX):
        pytest.fail("nginx is not installed (tests/run.sh installs it)")
    record = tmp_path / "app-saw.log"
    record.touch()
    server = serve(["recorder:app", "-w", "1", "--threads", "4"], env={"RECORDER_LOG": str(record)})
    record.write_text("")  # forget the readiness probe, which came direct
    port = free_port()
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    conf = nginx_dir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format uris '$request_method $request_uri';
    access_log {nginx_dir}/access.log uris;
    client_body_temp_path {nginx_dir}/body;
    proxy_temp_path {nginx_dir}/proxy;
    fastcgi_temp_path {nginx_dir}/fastcgi;
    uwsgi_temp_path {nginx_dir}/uwsgi;
    scgi_temp_path {nginx_dir}/scgi;
    upstream rcorn {{ server 127.0.0.1:{server.port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://rcorn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
        }}
    }}
}}
""")
    proc = subprocess.Popen([NGINX, "-p", str(nginx_dir), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "nginx to listen")
        yield port, record, nginx_dir / "access.log"
    finally:
        end_process(proc)


def test_no_request_reaches_the_app_that_nginx_did_not_see(proxied):
    port, record, access = proxied
    cases = payloads()
    for n, (family, payload) in enumerate(cases):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(payload + b"GET /normal-%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
            recv_all(s)
    # A last request through the same upstream connections flushes out
    # anything left in them.
    for n in range(8):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /final-%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
            recv_all(s)
    wait_for(lambda: "/final-7" in record.read_text(), 10, "the last request to reach the app")
    # nginx writes its access log line when the request ends.
    wait_for(lambda: "/final-7" in access.read_text(), 10, "nginx's log of the last request")
    nginx_saw = [line.split()[1] for line in access.read_text().splitlines() if line.strip()]
    app_saw = [line.split()[1] for line in record.read_text().splitlines() if line.strip()]
    only_app = [uri for uri in app_saw if uri not in nginx_saw]
    assert only_app == [], f"requests rcorn handed the app that nginx never saw: {only_app}"
    # nginx refuses most of these payloads itself (400, then it closes);
    # the ones it passes on (chunk extensions and zero-padded sizes, bare
    # LF) must reach the app as the same requests, pipelined ones included.
    passed_on = [u for u in nginx_saw if u in app_saw]
    assert any(u.startswith("/smuggled-") for u in passed_on), (nginx_saw, app_saw)
    assert len(passed_on) >= 10, (nginx_saw, app_saw)
