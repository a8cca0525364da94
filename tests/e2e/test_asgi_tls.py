"""The asgi worker's `tls` scope extension with real TLS clients: the
server's certificate, and a client certificate's chain and subject name
(RFC 4514, checked against OpenSSL's own rendering of it)."""

import ssl
import subprocess

import httpx
import pytest

ASGI = ["-k", "asgi"]


def openssl(cwd, *args):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True,
                          timeout=60, cwd=cwd).stdout


@pytest.fixture
def pki(tmp_path):
    """A server certificate, and a CA with a client certificate it signed
    whose subject needs RFC 4514's escaping and has several RDNs."""
    openssl(tmp_path, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
            "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    openssl(tmp_path, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=test client CA")
    openssl(tmp_path, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key",
            "-out", "client.csr", "-utf8", "-subj", "/C=FR/O=Example, Inc./OU=r\\+d/CN=client été")
    (tmp_path / "ext.cnf").write_text("extendedKeyUsage=clientAuth\n")
    openssl(tmp_path, "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "client.pem", "-days", "2", "-extfile", "ext.cnf")
    return tmp_path


def serve_tls(serve, pki, *args):
    server = serve([*ASGI, "asgi_extras:app", "--certfile", str(pki / "cert.pem"),
                    "--keyfile", str(pki / "key.pem"), *args], ready=False)
    return server.wait_https(trusting(pki))


def trusting(pki, client=False):
    ctx = ssl.create_default_context(cafile=str(pki / "cert.pem"))
    if client:
        ctx.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    return ctx


def der(pem_text):
    return ssl.PEM_cert_to_DER_cert(pem_text)


def test_tls_extension_shows_the_server_certificate(serve, pki):
    url = serve_tls(serve, pki)
    tls = httpx.get(url + "/tls", verify=trusting(pki), timeout=5).json()
    assert der(tls["server_cert"]) == der((pki / "cert.pem").read_text())
    assert tls["client_cert_chain"] == [] and tls["client_cert_name"] is None
    assert tls["client_cert_error"] is None and tls["tls_version"] in (0x303, 0x304)


def test_tls_extension_names_the_client_certificates_subject(serve, pki):
    url = serve_tls(serve, pki, "--ca-certs", str(pki / "ca.pem"), "--cert-reqs", "1")
    tls = httpx.get(url + "/tls", verify=trusting(pki, client=True), timeout=5).json()
    assert [der(c) for c in tls["client_cert_chain"]] == [der((pki / "client.pem").read_text())]
    expected = openssl(pki, "x509", "-in", "client.pem", "-noout", "-subject",
                       "-nameopt", "RFC2253,-esc_msb").strip().removeprefix("subject=")
    assert tls["client_cert_name"] == expected == "CN=client été,OU=r\\+d,O=Example\\, Inc.,C=FR"
    # The same server without a client certificate: no name.
    tls = httpx.get(url + "/tls", verify=trusting(pki), timeout=5).json()
    assert tls["client_cert_chain"] == [] and tls["client_cert_name"] is None
