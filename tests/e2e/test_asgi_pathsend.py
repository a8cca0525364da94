"""`http.response.pathsend` in the asgi worker: sendfile(2) on a plain
connection (strace watches the worker), the file read and sent over TLS or
with `--no-sendfile`, and the same bytes every way."""

import shutil
import ssl

import httpx
import pytest

from conftest import recv_all, traced_sendfiles

ASGI = ["-k", "asgi"]
SIZE = 300_000
CONTENT = bytes(range(256)) * (SIZE // 256) + b"x" * (SIZE % 256)

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def fetch_file(url, **kwargs):
    r = httpx.get(url + "/pathsend", timeout=10, **kwargs)
    assert r.status_code == 200 and r.content == CONTENT
    assert r.headers["content-length"] == str(SIZE)


@needs_strace
def test_pathsend_goes_out_with_sendfile_on_a_plain_connection(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    calls = traced_sendfiles(server, lambda: fetch_file(server.url))
    assert calls, "no sendfile call for http.response.pathsend"
    # A slow reader: the file goes out as the socket takes it, all of it.
    with server.connect(timeout=10) as s:
        s.sendall(b"GET /pathsend?5000000 HTTP/1.0\r\n\r\n")
        response = recv_all(s)
    assert len(response.partition(b"\r\n\r\n")[2]) == 5_000_000
    # No Content-Length from the app: the file's size frames it, and the
    # keep-alive connection goes on after the file.
    with httpx.Client(timeout=10) as client:
        r = client.get(server.url + "/pathsend-unframed?1000")
        assert r.headers["content-length"] == "1000"
        assert r.content == bytes(range(256)) * 3 + b"x" * 232
        assert client.get(server.url + "/pathsend?10").content == b"x" * 10


@needs_strace
def test_no_sendfile_reads_the_file_instead(serve):
    server = serve([*ASGI, "asgi_extras:app", "--no-sendfile"])
    assert traced_sendfiles(server, lambda: fetch_file(server.url)) == []


@needs_strace
def test_over_tls_the_file_is_read_and_encrypted(serve, cert):
    crt, key = cert
    server = serve([*ASGI, "asgi_extras:app", "--certfile", str(crt), "--keyfile", str(key)],
                   ready=False)
    ctx = ssl.create_default_context(cafile=str(crt))
    url = server.wait_https(ctx)
    assert traced_sendfiles(server, lambda: fetch_file(url, verify=ctx)) == []
