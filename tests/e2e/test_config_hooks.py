"""A gunicorn.conf.py with server hooks runs unchanged."""

import os
import re
import signal

import httpx

from conftest import wait_for

HOOKS_CONF = '''
import os

workers = 2
loglevel = "debug"

def on_starting(server):
    server.log.info("hook on_starting pid=%s workers=%s", server.pid, server.cfg.workers)

def when_ready(server):
    server.log.info("hook when_ready")

def post_fork(server, worker):
    server.log.info("hook post_fork worker=%s", worker.pid)

def post_worker_init(worker):
    worker.log.info("hook post_worker_init worker=%s parent=%s", worker.pid, worker.ppid)

def worker_exit(server, worker):
    server.log.info("hook worker_exit worker=%s", worker.pid)

def on_exit(server):
    server.log.info("hook on_exit")

def broken(server):
    raise RuntimeError("a broken hook")
'''


def test_gunicorn_conf_hooks_run_at_their_moments(serve, tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(HOOKS_CONF + "\nwhen_ready = broken\n")
    server = serve(["basic:app", "-c", str(conf)], workers=2)
    log = server.log()
    assert "hook on_starting pid=%d workers=2" % server.pid in log
    for pid in server.workers():
        wait_for(lambda: f"hook post_worker_init worker={pid} parent={server.pid}" in server.log(), 5, "post_worker_init")
        assert f"hook post_fork worker={pid}" in server.log()
    # An exception in a hook is logged, not fatal.
    assert "Exception in when_ready hook" in log and "RuntimeError: a broken hook" in log
    assert httpx.get(server.url, timeout=5).status_code == 200
    workers = server.workers()
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    log = server.log()
    for pid in workers:
        assert f"hook worker_exit worker={pid}" in log
    assert "hook on_exit" in log


def test_default_config_file_is_found_in_the_working_directory(serve, tmp_path):
    import shutil

    from conftest import APPS

    workdir = tmp_path / "app"
    shutil.copytree(APPS, workdir, ignore=shutil.ignore_patterns("__pycache__"))
    (workdir / "gunicorn.conf.py").write_text("workers = 2\n")
    server = serve(["basic:app"], workers=2, cwd=workdir)
    assert len(server.workers()) == 2
    # rcorn.conf.py wins over gunicorn.conf.py when both exist.
    (workdir / "rcorn.conf.py").write_text("workers = 3\n")
    server = serve(["basic:app"], workers=3, cwd=workdir)
    assert len(server.workers()) == 3


MASTER_HOOKS_CONF = '''
def nworkers_changed(server, new_value, old_value):
    server.log.info("hook nworkers_changed %s -> %s (server says %s)", old_value, new_value, server.num_workers)

def pre_fork(server, worker):
    server.log.info("hook pre_fork age=%s", worker.age)

def child_exit(server, worker):
    server.log.info("hook child_exit worker=%s", worker.pid)

def on_reload(server):
    server.log.info("hook on_reload")
'''


def test_master_hooks_run_on_spawn_scale_reload_and_exit(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text(MASTER_HOOKS_CONF)
    server = serve(["basic:app", "-c", str(conf)], workers=1)
    log = server.log()
    assert "hook nworkers_changed None -> 1 (server says 1)" in log
    assert "hook pre_fork age=1" in log

    server.signal(signal.SIGTTIN)
    wait_for(lambda: "hook nworkers_changed 1 -> 2 (server says 2)" in server.log(), 10, "nworkers_changed on TTIN")
    server.wait_workers(2)
    assert "hook pre_fork age=2" in server.log()

    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: f"hook child_exit worker={victim}" in server.log(), 10, "child_exit for the killed worker")

    server.signal(signal.SIGHUP)
    wait_for(lambda: "hook on_reload" in server.log(), 10, "on_reload on HUP")


WORKER_SIGNAL_HOOKS_CONF = '''
def worker_abort(worker):
    worker.log.info("hook worker_abort worker=%s alive=%s", worker.pid, worker.alive)

def worker_int(worker):
    worker.log.info("hook worker_int worker=%s", worker.pid)
'''


def _get_ignoring_errors(url, timeout):
    try:
        httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        pass  # the connection dies with the worker


def test_worker_abort_runs_inside_a_hung_request(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text(WORKER_SIGNAL_HOOKS_CONF)
    server = serve(["basic:app", "-c", str(conf), "-t", "2"])
    victim = server.workers()[0]
    _get_ignoring_errors(server.url + "/sleep?30", 15)
    wait_for(lambda: f"hook worker_abort worker={victim} alive=False" in server.log(), 10, "worker_abort in the hung worker")
    assert "WORKER TIMEOUT" in server.log()
    wait_for(lambda: server.workers() and victim not in server.workers(), 10, "a replacement worker")
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_worker_int_runs_in_idle_and_busy_workers(serve, tmp_path):
    import threading

    conf = tmp_path / "hooks.conf.py"
    conf.write_text(WORKER_SIGNAL_HOOKS_CONF)
    server = serve(["basic:app", "-c", str(conf), "-w", "2"], workers=2)
    workers = server.workers()
    # One worker is inside a 30 s request; QUIT must not wait for it.
    busy = threading.Thread(target=_get_ignoring_errors, args=(server.url + "/sleep?30", 15))
    busy.start()
    started = wait_for(lambda: re.search(r"sleep started in (\d+)", server.log()), 10, "the slow request to start")
    server.signal(signal.SIGQUIT)
    assert server.wait_exit(10) == 0
    busy.join(15)
    log = server.log()
    assert f"hook worker_int worker={started.group(1)}" in log
    for pid in workers:
        assert f"hook worker_int worker={pid}" in log


def test_quit_stops_a_busy_worker_without_hooks(serve):
    import threading

    server = serve(["basic:app"])
    busy = threading.Thread(target=_get_ignoring_errors, args=(server.url + "/sleep?30", 15))
    busy.start()
    wait_for(lambda: "sleep started in" in server.log(), 10, "the slow request to start")
    server.signal(signal.SIGQUIT)
    # Well before the request's 30 s: the worker was interrupted.
    assert server.wait_exit(10) == 0
    busy.join(15)


REQUEST_HOOKS_CONF = '''
def pre_request(worker, req):
    worker.log.info("hook pre_request %s %s %s query=%s version=%s host=%s",
                    req.method, req.path, req.uri, req.query, req.version, dict(req.headers).get("HOST"))

def post_request(worker, req, environ, resp):
    worker.log.info("hook post_request %s -> %s (%s) sent=%s type=%s environ_path=%s",
                    req.path, resp.status, resp.status_code, resp.sent,
                    dict(resp.headers).get("Content-Type"), environ["PATH_INFO"])
'''


def test_pre_and_post_request_hooks_see_request_and_response(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text(REQUEST_HOOKS_CONF)
    server = serve(["basic:app", "-c", str(conf)])
    r = httpx.get(server.url + "/pid?x=1", timeout=5)
    assert r.status_code == 200
    wait_for(lambda: "hook post_request /pid" in server.log(), 5, "post_request")
    log = server.log()
    assert f"hook pre_request GET /pid /pid?x=1 query=x=1 version=(1, 1) host=127.0.0.1:{server.port}" in log
    assert (f"hook post_request /pid -> 200 OK (200) sent={len(r.content)} type=text/plain environ_path=/pid"
            in log)
    # An application error: the hook sees the 500 the server sent.
    assert httpx.get(server.url + "/crash-before", timeout=5).status_code == 500
    wait_for(lambda: "hook post_request /crash-before -> 500 Internal Server Error (500)" in server.log(), 5,
             "post_request after an error")


def test_post_request_with_two_arguments_is_adapted(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text('def post_request(worker, req):\n    worker.log.info("short hook %s", req.method)\n')
    server = serve(["basic:app", "-c", str(conf)])
    httpx.get(server.url + "/", timeout=5)
    wait_for(lambda: "short hook GET" in server.log(), 5, "the two-argument post_request")
