"""docs/deploy/kubernetes.md: the manifest validated against Kubernetes'
own schemas (bundled by the `kubernetes-validate` package, offline), its
timeouts checked against each other, and its container's command run with
the WEB_CONCURRENCY the downward API would give it, probed as the kubelet
would probe it."""

import math

import httpx
import kubernetes_validate
import yaml

from conftest import RCORN, Server
from guides import block, command

KUBERNETES_VERSION = "1.30"


def manifest():
    return list(yaml.safe_load_all(block("kubernetes.md", "kubernetes.yaml")))


def container():
    (deployment,) = [doc for doc in manifest() if doc["kind"] == "Deployment"]
    (web,) = deployment["spec"]["template"]["spec"]["containers"]
    return deployment["spec"]["template"]["spec"], web


def test_the_manifest_is_valid_against_kubernetes_schemas():
    docs = manifest()
    assert {doc["kind"] for doc in docs} == {"Deployment", "Service"}
    for doc in docs:
        # strict: a misspelt or misplaced field is an error, not ignored.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def graceful_timeout(argv):
    return int(argv[argv.index("--graceful-timeout") + 1])


def test_the_grace_period_covers_the_pre_stop_sleep_and_the_graceful_timeout():
    pod, web = container()
    sleep = web["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(sleep[1]) + graceful_timeout(web["command"])


def test_web_concurrency_comes_from_the_cpu_limit():
    _, web = container()
    (env,) = [e for e in web["env"] if e["name"] == "WEB_CONCURRENCY"]
    ref = env["valueFrom"]["resourceFieldRef"]
    assert ref == {"containerName": web["name"], "resource": "limits.cpu", "divisor": "1"}
    # No --workers: it would take precedence over WEB_CONCURRENCY.
    assert not {"-w", "--workers"} & set(web["command"])


def downward_cpu(limit):
    """What the downward API hands the container for limits.cpu with
    divisor 1: the limit in whole CPUs, rounded up."""
    cpus = int(limit[:-1]) / 1000 if limit.endswith("m") else float(limit)
    return str(math.ceil(cpus))


def test_the_container_command_serves_its_probes_with_a_worker_per_cpu(tmp_path):
    _, web = container()
    (container_port,) = [p["containerPort"] for p in web["ports"] if p["name"] == "http"]
    argv = command(" ".join(web["command"]), RCORN,
                   {f"--bind 0.0.0.0:{container_port} ": "", "myapp:app": "deployed:app"})
    workers = downward_cpu(web["resources"]["limits"]["cpu"])
    server = Server(argv[1:], tmp=tmp_path, env={"WEB_CONCURRENCY": workers})
    try:
        server.wait_ready(workers=int(workers))
        for probe in (web["readinessProbe"], web["livenessProbe"]):
            assert probe["httpGet"]["port"] == "http"
            response = httpx.get(f"{server.url}{probe['httpGet']['path']}", timeout=probe["timeoutSeconds"])
            assert response.status_code == 200
    finally:
        server.stop()
