"""TLS (`--certfile`/`--keyfile`) with a certificate the test makes, and
real clients: httpx and curl."""

import re
import socket
import ssl
import subprocess

import httpx
import pytest

from conftest import APPS, run_to_exit, wait_for


def trusting(cafile):
    return ssl.create_default_context(cafile=str(cafile))


def tls_server(serve, cert, *args):
    crt, key = cert
    server = serve(["basic:app", "--certfile", str(crt), "--keyfile", str(key), *args], ready=False)
    return server, server.wait_https(trusting(crt))


@pytest.mark.parametrize("worker_args", [[], ["--threads", "2"], ["-k", "gevent"]],
                         ids=["sync", "gthread", "gevent"])
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
        bad = run_to_exit([*args, "basic:app"])
        assert bad.returncode == 1, (args, bad.stderr)
        lines = [line for line in bad.stderr.splitlines() if "[ERROR]" in line]
        assert len(lines) == 1 and setting in lines[0], (args, bad.stderr)


def _exchange(port, crt, *, tls12_only=True, ciphers=None):
    """One request over a fresh handshake: (protocol version, suite, reply)."""
    ctx = trusting(crt)
    if tls12_only:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            agreed = s.version(), s.cipher()[0]
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
            return *agreed, reply


def test_ciphers_select_the_tls12_suite_and_a_client_without_it_is_refused(serve, cert):
    server, _ = tls_server(serve, cert, "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256")
    crt, _ = cert
    version, suite, reply = _exchange(server.port, crt)
    assert (version, suite) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"Hello, World!\n")
    # A client offering only a suite the list leaves out gets no handshake.
    with pytest.raises(ssl.SSLError):
        _exchange(server.port, crt, ciphers="ECDHE-RSA-AES256-GCM-SHA384")
    # The list names no TLS 1.3 suite, so TLS 1.3 keeps rustls's (as
    # OpenSSL's set_ciphers leaves TLS 1.3 alone).
    version, suite, reply = _exchange(server.port, crt, tls12_only=False)
    assert version == "TLSv1.3" and suite.startswith("TLS_") and reply.startswith(b"HTTP/1.1 200")
    curl = subprocess.run(["curl", "-sS", "--cacert", str(crt), "--tls-max", "1.2", "--ciphers",
                           "ECDHE-RSA-CHACHA20-POLY1305", "https://127.0.0.1:%d/" % server.port],
                          capture_output=True, text=True, timeout=20)
    assert curl.returncode != 0 and curl.stdout == "", curl
    assert "WARNING" not in server.log() and len(server.workers()) == 1


def test_ciphers_order_is_the_servers_preference_and_keywords_are_named(serve, cert):
    server, _ = tls_server(serve, cert, "--ciphers",
                           "HIGH:ECDHE-RSA-CHACHA20-POLY1305:!aNULL:ECDHE-RSA-AES256-GCM-SHA384")
    crt, _ = cert
    offered = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
    assert _exchange(server.port, crt, ciphers=offered)[1] == "ECDHE-RSA-CHACHA20-POLY1305"
    assert _exchange(server.port, crt, ciphers="ECDHE-RSA-AES256-GCM-SHA384")[1] == \
        "ECDHE-RSA-AES256-GCM-SHA384"
    warned = [line for line in server.log().splitlines() if "[WARNING]" in line and "--ciphers" in line]
    assert len(warned) == 1 and "HIGH, !aNULL" in warned[0], server.log()


def test_without_ciphers_the_servers_suite_order_still_wins(serve, cert):
    # Python's ssl.SSLContext (gunicorn's) sets OP_CIPHER_SERVER_PREFERENCE
    # by default: a client preferring a suite rustls ranks last still gets
    # the server's first choice for its RSA key.
    server, _ = tls_server(serve, cert)
    crt, _ = cert
    offered = "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
    version, suite, reply = _exchange(server.port, crt, ciphers=offered)
    assert (version, suite) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    assert reply.startswith(b"HTTP/1.1 200")
    # The client's only suite is still agreed to.
    assert _exchange(server.port, crt, ciphers="ECDHE-RSA-CHACHA20-POLY1305")[1] == \
        "ECDHE-RSA-CHACHA20-POLY1305"
    # TLS 1.3 too (Python's client cannot order TLS 1.3 suites; openssl can).
    s_client = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3",
         "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert re.search(r"Cipher is TLS_AES_256_GCM_SHA384\b", s_client.stdout), s_client.stdout


def test_bad_ciphers_stop_start_up_with_one_line_naming_the_setting(cert):
    crt, key = cert
    for value in ["NOT-A-CIPHER", "ECDHE-RSA-AES128-GCM-SHA256:high", "DHE-RSA-AES128-GCM-SHA256",
                  "ECDHE-ECDSA-AES128-GCM-SHA256"]:
        bad = run_to_exit(["--certfile", str(crt), "--keyfile", str(key), "--ciphers", value, "basic:app"])
        assert bad.returncode != 0, (value, bad.stderr)
        lines = [line for line in bad.stderr.splitlines() if "--ciphers" in line]
        assert len(lines) == 1 and value in lines[0], (value, bad.stderr)
        assert "Listening at" not in bad.stderr
