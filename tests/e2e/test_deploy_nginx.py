"""docs/deploy/nginx.md, run as written: Debian's nginx, started by the test
on loopback with the guide's configuration, in front of rcorn started with
the guide's command, over TCP and over a unix socket."""

import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys

import httpx
import pytest

from conftest import RCORN, Server, end_process, free_port, make_cert, wait_for
from guides import block, command, swap

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LOADGEN = pathlib.Path(__file__).parent / "loadgen.py"
# The client connects from another loopback address than nginx's, so the
# two are told apart in what reaches the application.
CLIENT_ADDR = "127.0.0.2"


def nginx_conf(nginx_dir, site):
    """A whole nginx.conf around the guide's site: everything nginx writes
    goes to the test's directory."""
    return f"""
user root;
worker_processes 1;
daemon off;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {nginx_dir}/access.log;
    client_body_temp_path {nginx_dir}/body;
    proxy_temp_path {nginx_dir}/proxy;
    fastcgi_temp_path {nginx_dir}/fastcgi;
    uwsgi_temp_path {nginx_dir}/uwsgi;
    scgi_temp_path {nginx_dir}/scgi;
{site}
}}
"""


def listens(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Deployment:
    """rcorn and nginx as the guide sets them up."""

    def __init__(self, server, upstream, http_port, https_port, cert):
        self.server, self.upstream, self.cert = server, upstream, cert
        self.http = f"http://127.0.0.1:{http_port}"
        self.https = f"https://127.0.0.1:{https_port}"

    def client(self, **kwargs):
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDR, verify=ssl.create_default_context(cafile=str(self.cert)))
        return httpx.Client(transport=transport, timeout=10, **kwargs)


@pytest.fixture(scope="module", params=["tcp", "unix"])
def deployment(request, tmp_path_factory):
    """One deployment per upstream for the whole module: the tests leave
    nothing behind in it."""
    upstream = request.param
    tmp_path = tmp_path_factory.mktemp(f"nginx-{upstream}")
    if upstream == "tcp":
        rcorn_port = free_port()
        bind, upstream_server = f"127.0.0.1:{rcorn_port}", f"server 127.0.0.1:{rcorn_port};"
    else:
        sock = tmp_path / "rcorn.sock"
        bind, upstream_server = f"unix:{sock}", f"server unix:{sock};"
    # The test's Server passes the bind itself (`-b`): the guide's goes.
    argv = command(block("nginx.md", "rcorn-command"), RCORN,
                   {"--bind 127.0.0.1:8000 ": "", "myapp:app": "deployed:app"})
    server = Server(argv[1:], bind=bind, tmp=tmp_path)
    proc = None
    try:
        server.wait_ready(workers=4)
        crt, key = make_cert(tmp_path)
        http_port, https_port = free_port(), free_port()
        site = swap(block("nginx.md", "nginx.conf"), {
            "server 127.0.0.1:8000;": upstream_server,
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "/etc/ssl/certs/example.com.pem": str(crt),
            "/etc/ssl/private/example.com.key": str(key),
        })
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        conf = nginx_dir / "nginx.conf"
        conf.write_text(nginx_conf(nginx_dir, site))
        proc = subprocess.Popen([NGINX, "-p", str(nginx_dir), "-c", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: listens(http_port) and listens(https_port), 10, "nginx to listen")
        yield Deployment(server, upstream, http_port, https_port, crt)
    finally:
        if proc is not None:
            end_process(proc)
        server.stop()


def test_the_app_sees_the_client_and_scheme_nginx_forwards(deployment):
    with deployment.client() as client:
        for base, scheme in ((deployment.http, "http"), (deployment.https, "https")):
            seen = client.get(base + "/forwarded", headers={"Host": "example.com"}).json()
            assert seen["HTTP_HOST"] == "example.com"
            assert seen["HTTP_X_FORWARDED_FOR"] == CLIENT_ADDR
            assert seen["HTTP_X_FORWARDED_PROTO"] == scheme
            assert seen["wsgi.url_scheme"] == scheme
            # REMOTE_ADDR is the proxy's, as with gunicorn; empty over a unix socket.
            assert seen["REMOTE_ADDR"] == ("127.0.0.1" if deployment.upstream == "tcp" else "")
        # What a client claims is appended to, or replaced.
        seen = client.get(deployment.http + "/forwarded",
                          headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}).json()
        assert seen["HTTP_X_FORWARDED_FOR"] == f"203.0.113.7, {CLIENT_ADDR}"
        assert seen["wsgi.url_scheme"] == "http"


def test_upstream_connections_are_kept_alive(deployment):
    if deployment.upstream != "tcp":
        pytest.skip("a unix-socket peer has no port to tell its connections apart")
    with deployment.client() as client:
        ports = {client.get(deployment.http + "/forwarded").json()["REMOTE_PORT"] for _ in range(20)}
    # One nginx worker, requests one after another: one connection (two,
    # should nginx retire one meanwhile), not twenty.
    assert len(ports) <= 2, ports


def first_piece_then_rest(deployment, gate, size, timeout=10):
    """Reads a gated stream through nginx: the first piece, which must come
    before the application sends the second, then the rest."""
    url = f"{deployment.https}/stream/events?size={size}&gate={gate}"
    try:
        with deployment.client() as client:
            with client.stream("GET", url, timeout=timeout) as response:
                pieces = response.iter_bytes()
                received = b""
                while not received.endswith(b"\n"):
                    received += next(pieces)
                # The application has not sent the second piece yet: it waits for this.
                assert len(received) == size
                gate.touch()
                received += b"".join(pieces)
        assert received.endswith(b"\nsecond piece\n")
    finally:
        gate.touch()  # lets the application finish, whatever happened


def test_a_streamed_response_arrives_in_pieces(deployment, tmp_path):
    # Each piece goes out as the application yields it, small or large.
    first_piece_then_rest(deployment, tmp_path / "gate", 64 * 1024)
    first_piece_then_rest(deployment, tmp_path / "gate-small", 64, timeout=5)


def test_load_through_nginx_loses_no_request(deployment):
    port = int(deployment.http.rsplit(":", 1)[1])
    out = subprocess.run([sys.executable, str(LOADGEN), "--port", str(port), "--connections", "16",
                          "--duration", "2"], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout)
    assert result["failures"] == {}, result
    assert result["ok"] == result["sent"] and result["ok"] > 100, result


def test_a_client_bypassing_nginx_cannot_claim_https(deployment):
    if deployment.upstream != "tcp":
        pytest.skip("a unix-socket peer is always believed")
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDR)
    host, port = deployment.server.bind.rsplit(":", 1)
    with httpx.Client(transport=transport, timeout=10) as client:
        seen = client.get(f"http://{host}:{port}/forwarded", headers={"X-Forwarded-Proto": "https"}).json()
    assert seen["REMOTE_ADDR"] == CLIENT_ADDR
    assert seen["wsgi.url_scheme"] == "http"
