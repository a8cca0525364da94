"""TLS (`--certfile`/`--keyfile`) with a certificate the test makes, and
real clients: httpx and curl."""

import re
import socket
import ssl
import subprocess

import httpx
import pytest

from conftest import APPS, RCORN, wait_for


@pytest.fixture
def cert(tmp_path):
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


def trusting(cafile):
    return ssl.create_default_context(cafile=str(cafile))


def tls_server(serve, cert, *args):
    crt, key = cert
    server = serve(["basic:app", "--certfile", str(crt), "--keyfile", str(key), *args], ready=False)
    url = f"https://127.0.0.1:{server.port}"

    def answers():
        if server.proc.poll() is not None:
            raise AssertionError(f"rcorn exited; log:\n{server.log()}")
        try:
            return httpx.get(url + "/", verify=trusting(crt), timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, 20, "rcorn to serve over TLS")
    return server, url


@pytest.mark.parametrize("worker_args", [[], ["--threads", "2"]], ids=["sync", "gthread"])
def test_https_serves_keeps_alive_streams_and_reports_the_scheme(serve, cert, worker_args):
    server, url = tls_server(serve, cert, *worker_args)
    crt, _ = cert
    assert re.search(r"Listening at: https://127\.0\.0\.1:\d+", server.log())
    with httpx.Client(verify=trusting(crt), timeout=10) as c:
        assert c.get(url + "/environ").json()["wsgi.url_scheme"] == "https"
        body = bytes(range(256)) * 4096  # 1 MiB each way
        assert c.post(url + "/echo", content=body).content == body
        big = c.get(url + "/big?5000000")
        assert len(big.content) == 5_000_000
        # wsgi.file_wrapper goes through TLS (no sendfile).
        assert c.get(url + "/file").content == (APPS / "basic.py").read_bytes()
        assert c.get(url + "/stream").text == "".join(f"part {i}\n" for i in range(5))
    curl = subprocess.run(["curl", "-sS", "--cacert", str(crt), url + "/"], capture_output=True,
                          text=True, timeout=20)
    assert curl.stdout == "Hello, World!\n", curl.stderr


def test_plain_http_and_a_failed_handshake_are_dropped_and_tls_goes_on(serve, cert):
    server, url = tls_server(serve, cert)
    crt, _ = cert
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(1024)
        except ConnectionResetError:
            data = b""
        assert not data.startswith(b"HTTP/1.1 200")
    # A client that does not trust the certificate gives up mid-handshake.
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=5)
    assert httpx.get(url + "/", verify=trusting(crt), timeout=5).status_code == 200
    assert len(server.workers()) == 1 and "Traceback" not in server.log()


@pytest.fixture
def client_ca(tmp_path):
    """A CA and a client certificate it signed."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, cwd=tmp_path)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=test client CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
        "-subj", "/CN=client")
    (tmp_path / "ext.cnf").write_text("extendedKeyUsage=clientAuth\n")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "2", "-extfile", "ext.cnf")
    return tmp_path / "ca.pem", (str(tmp_path / "client.pem"), str(tmp_path / "client.key"))


def test_client_certificates_required_or_optional(serve, cert, client_ca):
    crt, _ = cert
    ca, client = client_ca

    def with_client_cert():
        ctx = trusting(crt)
        ctx.load_cert_chain(*client)
        return ctx

    _, key = cert
    required = serve(["basic:app", "--certfile", str(crt), "--keyfile", str(key), "--ca-certs", str(ca),
                      "--cert-reqs", "2"], ready=False)
    url = f"https://127.0.0.1:{required.port}"
    wait_for(lambda: _answers(url, with_client_cert()), 20, "rcorn to serve over TLS")
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/", verify=trusting(crt), timeout=5)
    optional = serve(["basic:app", "--certfile", str(crt), "--keyfile", str(key), "--ca-certs", str(ca),
                      "--cert-reqs", "1"], ready=False)
    url = f"https://127.0.0.1:{optional.port}"
    wait_for(lambda: _answers(url, trusting(crt)), 20, "rcorn to serve without a client certificate")
    assert _answers(url, with_client_cert())


def _answers(url, verify):
    try:
        return httpx.get(url + "/", verify=verify, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_bad_certificate_files_are_named_in_one_line(tmp_path, cert):
    crt, key = cert
    cases = [
        (["--certfile", str(tmp_path / "missing.pem")], "certfile"),
        (["--certfile", str(crt), "--keyfile", str(crt)], "keyfile"),
        (["--keyfile", str(key)], "keyfile"),
        (["--certfile", str(crt), "--keyfile", str(key), "--cert-reqs", "2"], "cert_reqs"),
    ]
    for args, setting in cases:
        bad = subprocess.run([RCORN, *args, "basic:app"], cwd=APPS, capture_output=True, text=True,
                             timeout=20)
        assert bad.returncode == 1, (args, bad.stderr)
        lines = [line for line in bad.stderr.splitlines() if "[ERROR]" in line]
        assert len(lines) == 1 and setting in lines[0], (args, bad.stderr)
