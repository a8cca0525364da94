"""Dirty arbiters: a WSGI app and an ASGI app calling a dirty app through
gunicorn's client and rcorn's, plain and streamed; errors reach the caller
as gunicorn's exceptions, never as a hang; a dying dirty worker or dirty
arbiter never takes an HTTP worker down."""

import os
import signal
import time

import httpx
import pytest

from conftest import children_of, wait_for

DIRTY = ["--dirty-app", "dirty_models:Model", "--dirty-workers", "2"]
CLIENTS = ["gunicorn", "rcorn"]


def call(server, op, client="rcorn", timeout=15):
    r = httpx.get(f"{server.url}/?client={client}&op={op}", timeout=timeout)
    assert r.status_code == 200
    return r.json()


def start(serve, *args, workers=1, **kwargs):
    """Starts rcorn with a dirty pool; ready once a dirty call answers (the
    master's children: the HTTP workers and the dirty arbiter)."""
    server = serve([*DIRTY, *args], workers=workers + 1, **kwargs)
    wait_for(lambda: "result" in call(server, "predict"), 20, f"the dirty pool; log:\n{server.log()}")
    return server


@pytest.mark.parametrize("client", CLIENTS)
def test_wsgi_app_calls_and_streams_through_both_clients(serve, client):
    server = start(serve, "dirty_web:app")
    assert call(server, "predict", client)["result"]["y"] == 63
    assert call(server, "tokens", client)["result"] == ["t0", "t1", "t2"]
    assert call(server, "atokens", client)["result"] == [0, 1, 2]


@pytest.mark.parametrize("client", CLIENTS)
def test_asgi_app_calls_and_streams_with_the_async_clients(serve, client):
    server = start(serve, "-k", "asgi", "dirty_web:asgi")
    assert call(server, "predict", client)["result"]["y"] == 63
    assert call(server, "tokens", client)["result"] == ["t0", "t1", "t2"]
    assert call(server, "atokens", client)["result"] == [0, 1, 2]


def test_each_dirty_worker_loads_its_app_once_and_closes_it(serve, tmp_path):
    marker = tmp_path / "init.log"
    server = start(serve, "dirty_web:app", env={"DIRTY_INIT_LOG": str(marker)})
    pids = {call(server, "predict")["result"]["pid"] for _ in range(6)}
    assert len(pids) == 2
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    events = [line.split() for line in marker.read_text().splitlines()]
    assert sorted(int(pid) for kind, pid in events if kind == "init") == sorted(pids)
    assert sorted(int(pid) for kind, pid in events if kind == "close") == sorted(pids)


@pytest.mark.parametrize("client", CLIENTS)
def test_an_app_error_is_a_dirty_app_error_with_its_traceback(serve, client):
    server = start(serve, "dirty_web:app")
    out = call(server, "boom", client)
    assert out["error"] == "DirtyAppError" and out["module"] == f"{client}.dirty.errors"
    assert out["message"] == "kaboom"
    assert "RuntimeError: kaboom" in out["details"]["traceback"]


def test_a_crashing_dirty_worker_never_takes_an_http_worker_down(serve):
    server = start(serve, "dirty_web:app")
    first = call(server, "predict")["worker"]
    out = call(server, "crash")
    assert out["error"] == "DirtyWorkerError"
    assert out["worker"] == first
    # The pool refills; the same HTTP worker goes on serving.
    wait_for(lambda: "result" in call(server, "predict"), 10, "a replacement dirty worker")
    assert call(server, "predict")["worker"] == first


@pytest.mark.parametrize("client", CLIENTS)
def test_a_stuck_call_gets_a_timeout_error_not_a_hang(serve, client):
    server = start(serve, "dirty_web:app", "--dirty-timeout", "1")
    began = time.monotonic()
    out = call(server, "sleep", client)
    assert out["error"] == "DirtyTimeoutError", out
    assert time.monotonic() - began < 4
    wait_for(lambda: "Dirty call timed out" in server.log(), 5, "the timeout in the log")
    wait_for(lambda: "result" in call(server, "predict"), 10, "the pool after the timeout")


@pytest.mark.parametrize("client", CLIENTS)
def test_an_app_no_worker_loads_is_no_workers_available(serve, client):
    server = start(serve, "dirty_web:app")
    out = call(server, "unknown", client)
    assert out["error"] == "DirtyNoWorkersAvailableError"
    assert out["details"] == {"app_path": "dirty_models:Nope"}


@pytest.mark.parametrize("client", CLIENTS)
def test_without_a_dirty_pool_the_client_says_so(serve, client):
    server = serve(["dirty_web:app"])
    out = call(server, "predict", client)
    assert out["error"] == "DirtyError"
    assert "Dirty socket path not configured" in out["message"]
    out = call(server, "stash_read", client)
    assert out["error"] == "StashError"
    assert "Stash socket path not configured" in out["message"]


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_every_stash_operation_through_both_clients(serve, kind):
    server = start(serve, *(["dirty_web:app"] if kind == "wsgi" else ["-k", "asgi", "dirty_web:asgi"]))
    table = "web" if kind == "wsgi" else "asgi"
    for client in CLIENTS:
        out = call(server, "stash_tour", client)
        assert "result" in out, out
        tour = out["result"]
        assert tour["get"] == {"name": "Alice"} and tour["default"] == "dflt"
        assert tour["keys"] == ["user:1", "user:2", 7, "n"]
        assert tour["pattern"] == ["user:1", "user:2"]
        assert tour["len"] == 4 and tour["item"] == 5 and tour["bytes"] is True
        assert tour["contains"] == [True, False]
        assert tour["deleted"] == [True, False]
        assert tour["exists"] == [True, True, False]
        assert tour["info"] == {"size": 3, "table": table}
        # `declared` is the dirty app's `stashes` attribute, made at start.
        assert tour["tables"] == ["declared", table]
        assert tour["cleared"] == [] and tour["dropped"] is False


@pytest.mark.parametrize("writer,reader", [("gunicorn", "rcorn"), ("rcorn", "gunicorn")])
def test_the_stash_is_shared_by_http_workers_and_dirty_apps(serve, writer, reader):
    server = start(serve, "dirty_web:app")
    assert call(server, "stash_put", writer) == {"result": None, "worker": call(server, "predict")["worker"]}
    # A sync and an async dirty action read what the web wrote and write back.
    assert call(server, "remember", reader)["result"] == "web"
    web, dirty_pid = call(server, "stash_read", writer)["result"]
    assert web == "web" and dirty_pid > 0
    assert call(server, "aremember", writer)["result"] == ["web", True]
    web, dirty_pid = call(server, "stash_read", reader)["result"]
    assert web == "web" and dirty_pid < 0  # the async action's mark


@pytest.mark.parametrize("client", CLIENTS)
def test_stash_errors_are_gunicorns_exceptions(serve, client):
    server = start(serve, "dirty_web:app")
    out = call(server, "stash_no_table", client)
    assert out["error"] == "StashTableNotFoundError" and out["module"] == f"{client}.dirty.stash"
    assert out["message"] == "Stash table not found: no-such-table"
    call(server, "stash_put", client)
    assert call(server, "stash_no_key", client)["error"] == "KeyError"
    out = call(server, "stash_bad_key", client)
    assert out["error"] == "StashError" and out["message"] == "unhashable type: 'list'"
    # The connection that carried the errors goes on serving.
    assert call(server, "stash_read", client)["result"][0] == "web"


def test_the_dirty_arbiter_is_restarted_and_stops_with_the_master(serve):
    server = start(serve, "dirty_web:app")
    http_worker = call(server, "predict")["worker"]
    arbiters = [p for p in children_of(server.pid) if p != http_worker]
    assert len(arbiters) == 1
    os.kill(arbiters[0], signal.SIGKILL)
    # A client's connection to the dead arbiter fails once, then reconnects.
    wait_for(lambda: "result" in call(server, "predict"), 15, f"a new dirty arbiter; log:\n{server.log()}")
    assert "Dirty arbiter" in server.log()
    assert call(server, "predict")["worker"] == http_worker
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert children_of(server.pid) == []


HOOKS = """
import os
def record(line):
    with open(os.environ["DIRTY_HOOK_LOG"], "a") as f:
        f.write(line + "\\n")
def on_dirty_starting(arbiter):
    record(f"starting {arbiter.pid}")
def dirty_post_fork(arbiter, worker):
    record(f"post_fork {worker.pid} {worker.app_paths}")
def dirty_worker_init(worker):
    record(f"init {worker.pid}")
def dirty_worker_exit(arbiter, worker):
    record(f"exit {worker.pid}")
"""


def test_dirty_hooks_are_called_with_gunicorns_arguments(serve, tmp_path):
    config = tmp_path / "hooks.py"
    config.write_text(HOOKS)
    record = tmp_path / "hooks.log"
    server = start(serve, "-c", str(config), "dirty_web:app", env={"DIRTY_HOOK_LOG": str(record)})
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    lines = record.read_text().splitlines()
    assert lines[0].startswith("starting ")
    kinds = sorted(line.split()[0] for line in lines[1:])
    assert kinds == ["exit", "exit", "init", "init", "post_fork", "post_fork"]
    assert "['dirty_models:Model']" in next(line for line in lines if line.startswith("post_fork"))


def dirty_request(path, message):
    """One of gunicorn's protocol messages to the dirty arbiter; its answer."""
    import socket as sockets

    from gunicorn.dirty.protocol import BinaryProtocol

    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(message)
        return BinaryProtocol.read_message(s)


def test_workers_are_added_and_removed_by_message_and_by_signal(serve):
    from gunicorn.dirty.protocol import MANAGE_OP_ADD, MANAGE_OP_REMOVE, BinaryProtocol

    server = start(serve, "dirty_web:app")
    path = call(server, "socket")["result"]
    status = dirty_request(path, BinaryProtocol.encode_status(1))["result"]
    assert status["worker_count"] == 2 and status["apps"] == ["dirty_models:Model"]
    # Seconds since each worker's last heartbeat, as gunicorn reports it.
    assert all(0 <= w["last_heartbeat"] < 10 for w in status["workers"]), status
    answer = dirty_request(path, BinaryProtocol.encode_manage(2, MANAGE_OP_ADD, 1))
    assert answer["result"]["target_workers"] == 3
    wait_for(lambda: dirty_request(path, BinaryProtocol.encode_status(3))["result"]["worker_count"] == 3,
             10, "a third dirty worker")
    arbiter = dirty_request(path, BinaryProtocol.encode_status(4))["result"]["arbiter_pid"]
    # One at a time: a second TTOU sent before the first is handled
    # would merge with it, as pending signals do.
    for left in (2, 1):
        os.kill(arbiter, signal.SIGTTOU)
        wait_for(lambda: dirty_request(path, BinaryProtocol.encode_status(5))["result"]["worker_count"] == left,
                 10, f"{left} dirty workers left")
    answer = dirty_request(path, BinaryProtocol.encode_manage(6, MANAGE_OP_REMOVE, 1))
    assert answer["result"]["removed"] == 0  # never below one
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert not os.path.exists(os.path.dirname(path))


def test_rcorn_encodes_every_value_as_gunicorn_does():
    import random

    from gunicorn.dirty.protocol import BinaryProtocol

    from rcorn.dirty import protocol

    rng = random.Random(7)

    def value(depth=0):
        makers = [
            lambda: None,
            lambda: rng.random() < 0.5,
            lambda: rng.randrange(-2**63, 2**63),
            lambda: rng.uniform(-1e9, 1e9),
            lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(8))),
            lambda: "".join(rng.choice("aé€\U0001f600") for _ in range(rng.randrange(5))),
            lambda: [value(depth + 1) for _ in range(rng.randrange(4))],
            lambda: {f"k{i}": value(depth + 1) for i in range(rng.randrange(4))},
        ]
        return makers[rng.randrange(8 if depth < 3 else 6)]()

    for i in range(500):
        args, kwargs = [value() for _ in range(3)], {"x": value()}
        ours = protocol.encode_request(i, "m:C", "act", args, kwargs)
        assert ours == BinaryProtocol.encode_request(i, "m:C", "act", args, kwargs)
        header, payload = ours[:16], ours[16:]
        assert protocol.as_dict(*protocol.parse(header, payload)) == BinaryProtocol.decode_message(ours)[2] | {
            "type": "request", "id": i}


def test_hup_replaces_the_dirty_workers_without_failing_a_call(serve):
    server = start(serve, "dirty_web:app")
    before = {call(server, "predict")["result"]["pid"] for _ in range(4)}
    server.signal(signal.SIGHUP)

    def replaced():
        out = call(server, "predict")
        assert "result" in out, out  # no call fails while the pool reloads
        return out["result"]["pid"] not in before

    wait_for(replaced, 15, f"new dirty workers; log:\n{server.log()}")
    assert "Reloading dirty workers" in server.log()


def _files_open(pid):
    fds = f"/proc/{pid}/fd"
    return {os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)}


def test_usr1_reopens_the_logs_of_the_dirty_arbiter_and_its_workers(serve, tmp_path):
    from gunicorn.dirty.protocol import BinaryProtocol

    log = tmp_path / "dirty.log"
    server = start(serve, "dirty_web:app", "--error-logfile", str(log))
    path = call(server, "socket")["result"]
    status = dirty_request(path, BinaryProtocol.encode_status(1))["result"]
    pids = [status["arbiter_pid"], *(w["pid"] for w in status["workers"])]
    assert all(str(log) in _files_open(pid) for pid in pids)
    rotated = tmp_path / "dirty.log.1"
    log.rename(rotated)
    server.signal(signal.SIGUSR1)
    wait_for(lambda: all(str(rotated) not in _files_open(pid) for pid in pids), 10,
             f"the dirty processes to let go of {rotated}")
    assert all(str(log) in _files_open(pid) for pid in pids)
    # USR1 stopped no one: the same workers answer.
    after = dirty_request(path, BinaryProtocol.encode_status(2))["result"]
    assert sorted(w["pid"] for w in after["workers"]) == sorted(pids[1:])
