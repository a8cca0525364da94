"""docs/deploy/nginx.md's uwsgi_pass section, run as written: nginx in
front of rcorn `--protocol uwsgi`, with Flask (sync worker, TCP), Django
(gthread worker, unix socket) and FastAPI (asgi worker); the environ and a
streamed response; a refused peer; a malformed packet."""

import contextlib
import socket
import ssl
import subprocess

import httpx
import pytest

from conftest import RCORN, Server, end_process, free_port, make_cert, recv_all, wait_for
from guides import block, command, swap
from test_deploy_nginx import NGINX, listens, nginx_conf

# The guide's upstream and the test's own.
GUIDE_UPSTREAM = "server 127.0.0.1:8001;"


def uwsgi_packet(variables, body=b""):
    """A request as nginx's uwsgi_pass writes it."""
    block_ = b""
    for key, value in variables.items():
        for part in (key.encode("latin-1"), value.encode("latin-1")):
            block_ += len(part).to_bytes(2, "little") + part
    return b"\0" + len(block_).to_bytes(2, "little") + b"\0" + block_ + body


READY_PACKET = uwsgi_packet({"REQUEST_METHOD": "GET", "PATH_INFO": "/ready"})


class Deployment:
    def __init__(self, server, http_port, https_port, cert):
        self.server, self.cert = server, cert
        self.http = f"http://127.0.0.1:{http_port}"
        self.https = f"https://127.0.0.1:{https_port}"

    def client(self):
        return httpx.Client(timeout=10, verify=ssl.create_default_context(cafile=str(self.cert)))


def answered(server):
    """Whether a uwsgi request of the test's own is answered (HTTP)."""
    try:
        return server.request(READY_PACKET, timeout=2).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


@contextlib.contextmanager
def deployment(tmp_path, app, extra=(), upstream="tcp", allow="127.0.0.1"):
    """rcorn and nginx as the guide sets them up, serving `app`."""
    if upstream == "tcp":
        port = free_port()
        bind, server_line = f"127.0.0.1:{port}", f"server 127.0.0.1:{port};"
    else:
        sock = tmp_path / "rcorn.sock"
        bind, server_line = f"unix:{sock}", f"server unix:{sock};"
    argv = command(block("nginx.md", "uwsgi-rcorn-command"), RCORN, {
        "--workers 4 ": "--workers 2 ",
        "--bind 127.0.0.1:8001 ": "",
        "--uwsgi-allow-from 127.0.0.1": f"--uwsgi-allow-from {allow}",
        "myapp:app": app,
    })
    server = Server([*argv[1:], *extra], bind=bind, tmp=tmp_path)
    proc = None
    try:
        if allow == "127.0.0.1":
            wait_for(lambda: len(server.workers()) == 2 and answered(server), 20,
                     f"rcorn to serve uwsgi; log:\n{server.log()}")
        else:
            server.wait_workers(2)
        crt, key = make_cert(tmp_path)
        http_port, https_port = free_port(), free_port()
        site = swap(block("nginx.md", "uwsgi-nginx.conf"), {
            GUIDE_UPSTREAM: server_line,
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "/etc/ssl/certs/example.com.pem": str(crt),
            "/etc/ssl/private/example.com.key": str(key),
            # The test's nginx has its own prefix; the params are Debian's.
            "include uwsgi_params;": "include /etc/nginx/uwsgi_params;",
        })
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        conf = nginx_dir / "nginx.conf"
        conf.write_text(nginx_conf(nginx_dir, site))
        proc = subprocess.Popen([NGINX, "-p", str(nginx_dir), "-c", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: listens(http_port) and listens(https_port), 10, "nginx to listen")
        yield Deployment(server, http_port, https_port, crt)
    finally:
        if proc is not None:
            end_process(proc)
        server.stop()


UPLOAD = bytes(range(256)) * 2048  # 512 KiB (under nginx's 1m client_max_body_size), every byte value


def test_flask_on_the_sync_worker(tmp_path):
    with deployment(tmp_path, "flask_app:app") as d, d.client() as c:
        assert c.get(d.http + "/").text == "Hello from Flask"
        assert c.post(d.http + "/form", data={"name": "Ada", "age": "36"}).text == "name=Ada age=36"
        r = c.get(d.https + "/api/items/7?q=x%20y", headers={"User-Agent": "t/1"})
        assert r.json() == {"id": 7, "q": "x y", "agent": "t/1"}
        r = c.post(d.http + "/upload", files={"file": ("notes.bin", UPLOAD, "application/octet-stream")})
        assert r.json() == {"filename": "notes.bin", "size": len(UPLOAD), "head": UPLOAD[:10].decode("latin-1")}
        assert c.get(d.http + "/error").status_code == 500
        assert c.get(d.http + "/missing").status_code == 404
    wait_for(lambda: "flask view failed" in d.server.log(), 5, "Flask's traceback in the error log")


def test_django_on_the_gthread_worker_over_a_unix_socket(tmp_path):
    with deployment(tmp_path, "djsite.wsgi:application", ["--threads", "4"], upstream="unix") as d, \
            d.client() as c:
        assert c.get(d.http + "/").text == "Hello from Django"
        assert c.post(d.https + "/form", data={"name": "Grace"}).text == "name=Grace method=POST"
        assert c.get(d.http + "/api/items/3?q=y").json() == {"id": 3, "q": "y", "host": "127.0.0.1"}
        r = c.post(d.http + "/upload", files={"file": ("data.bin", UPLOAD)})
        assert r.json() == {"filename": "data.bin", "size": len(UPLOAD)}


def test_fastapi_on_the_asgi_worker(tmp_path):
    with deployment(tmp_path, "asgi_frameworks:fastapi_app", ["-k", "asgi"]) as d, d.client() as c:
        assert c.get(d.http + "/json").json() == {"hello": "world"}
        assert c.post(d.https + "/items", json={"name": "pen", "price": 1.5}).json() == \
            {"name": "pen", "double": 3.0}
        with c.stream("GET", d.http + "/stream/parts") as r:
            assert "".join(r.iter_text()) == "".join(f"part {i}\n" for i in range(5))
        assert c.get(d.http + "/state").json() == {"started": "yes"}


def test_the_environ_and_a_streamed_response(tmp_path):
    with deployment(tmp_path, "deployed:app") as d, d.client() as c:
        for base, scheme in ((d.http, "http"), (d.https, "https")):
            seen = c.get(base + "/forwarded", headers={"X-Forwarded-Proto": "https"}).json()
            assert seen["wsgi.url_scheme"] == scheme, seen
            assert seen["HTTP_HOST"] == "127.0.0.1"
            # The socket's peer, nginx, as with proxy_pass.
            assert seen["REMOTE_ADDR"] == "127.0.0.1"
            assert seen["HTTP_X_FORWARDED_PROTO"] == "https"
        gate = tmp_path / "gate"
        try:
            with c.stream("GET", f"{d.http}/stream/events?size=65536&gate={gate}") as response:
                pieces = response.iter_bytes()
                received = b""
                while not received.endswith(b"\n"):
                    received += next(pieces)
                # The application sends its second piece only after this.
                assert len(received) == 65536
                gate.touch()
                received += b"".join(pieces)
        finally:
            gate.touch()
        assert received.endswith(b"\nsecond piece\n")


@pytest.mark.parametrize("app, extra", [("deployed:app", []),
                                        ("asgi_frameworks:fastapi_app", ["-k", "asgi"])],
                         ids=["sync", "asgi"])
def test_a_peer_outside_uwsgi_allow_ips_is_refused(tmp_path, app, extra):
    with deployment(tmp_path, app, extra, allow="10.9.9.9") as d, d.client() as c:
        assert c.get(d.http + "/json").status_code == 500
        wait_for(lambda: "ForbiddenUWSGIRequest" in d.server.log(), 5, "the refusal in the log")
        assert "Error handling request" in d.server.log()


def test_a_malformed_packet_closes_its_connection_only(tmp_path):
    with deployment(tmp_path, "deployed:app") as d, d.client() as c:
        host, port = d.server.bind.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            # A block announced as 16 bytes of which 3 come, then the end.
            s.sendall(b"\0\x10\0\0abc")
            s.shutdown(socket.SHUT_WR)
            answer = recv_all(s)  # returns only once rcorn closed
        assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), answer
        wait_for(lambda: "InvalidUWSGIHeader" in d.server.log(), 5, "the malformed packet in the log")
        # A connection that never finishes its packet does not hold the others.
        with socket.create_connection((host, int(port)), timeout=5):
            for _ in range(5):
                assert c.get(d.http + "/forwarded").status_code == 200
