"""The process lifecycle end to end: real signals to the real master."""

import os
import signal

import httpx
import pytest

import subprocess

from conftest import APPS, RCORN, children_of, hup_under_load, run_to_exit, wait_for


def get_pid(server):
    return int(httpx.get(server.url + "/pid", timeout=5).text)


def test_workers_flag_starts_that_many_workers(serve):
    server = serve(["basic:app", "-w", "3"], workers=3)
    assert len(server.workers()) == 3


def test_hup_replaces_every_worker_and_keeps_serving(serve):
    server = serve(["basic:app", "-w", "2"], workers=2)
    old = set(server.workers())
    server.signal(signal.SIGHUP)
    wait_for(lambda: len(server.workers()) == 2 and not old & set(server.workers()), 15, "a new generation")
    assert httpx.get(server.url + "/", timeout=5).status_code == 200
    assert "Handling signal: hup" in server.log()


def test_ttin_and_ttou_change_the_worker_count(serve):
    server = serve(["basic:app", "-w", "2"], workers=2)
    server.signal(signal.SIGTTIN)
    server.wait_workers(3)
    server.signal(signal.SIGTTOU)
    server.wait_workers(2)
    server.signal(signal.SIGTTOU)
    server.wait_workers(1)
    server.signal(signal.SIGTTOU)  # never below one
    server.signal(signal.SIGTTIN)
    server.wait_workers(2)


def test_term_is_graceful_and_finishes_the_request_in_flight(serve):
    server = serve(["basic:app", "--graceful-timeout", "10"])
    with httpx.Client(timeout=10) as client:
        import threading

        result = {}

        def slow():
            result["r"] = client.get(server.url + "/sleep?1")

        t = threading.Thread(target=slow)
        t.start()
        wait_for(lambda: "slept" not in server.log() and len(server.workers()) == 1, 5, "the request to start")
        # Let the request reach the worker before signalling.
        wait_for(lambda: _has_connection(server), 5, "the slow request to be accepted")
        server.signal(signal.SIGTERM)
        t.join(15)
    assert result["r"].status_code == 200
    assert result["r"].text == "slept"
    assert server.wait_exit() == 0


def _has_connection(server):
    for worker in server.workers():
        try:
            fds = os.listdir(f"/proc/{worker}/fd")
        except FileNotFoundError:
            continue
        sockets = [f for f in fds if os.readlink(f"/proc/{worker}/fd/{f}").startswith("socket:")]
        # listener + the accepted connection at least
        if len(sockets) >= 2:
            return True
    return False


def test_int_and_quit_stop_quickly(serve):
    for sig in (signal.SIGINT, signal.SIGQUIT):
        server = serve(["basic:app", "-w", "2"], workers=2)
        workers = server.workers()
        server.signal(sig)
        assert server.wait_exit(10) == 0
        for pid in workers:
            wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 5, f"worker {pid} to exit")


SLOW_BOOT_CONF = """
import os, pathlib, time

graceful_timeout = 30

def post_worker_init(worker):
    pathlib.Path(os.environ["BOOT_MARKER_DIR"], str(worker.pid)).touch()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        time.sleep(0.05)
"""


def test_quit_while_a_worker_boots_is_not_lost(serve, tmp_path):
    # The signal lands while the worker runs its boot hooks, after its
    # Python handlers are set and before its loop runs: it must still reach
    # the loop, or the master waits graceful_timeout (30 s) for the worker.
    conf = tmp_path / "slow_boot.conf.py"
    conf.write_text(SLOW_BOOT_CONF)
    markers = tmp_path / "booting"
    markers.mkdir()
    server = serve(["basic:app", "-c", str(conf)], ready=False, env={"BOOT_MARKER_DIR": str(markers)})
    wait_for(lambda: any(markers.iterdir()), 20, "the worker to run post_worker_init")
    worker = int(next(markers.iterdir()).name)
    server.signal(signal.SIGQUIT)
    assert server.wait_exit(10) == 0
    wait_for(lambda: not os.path.exists(f"/proc/{worker}") or _zombie(worker), 5, f"worker {worker} to exit")


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_usr1_reopens_log_files(serve, tmp_path):
    log = tmp_path / "access.log"
    server = serve(["basic:app", "--access-logfile", str(log)])
    httpx.get(server.url + "/first", timeout=5)
    wait_for(lambda: log.exists() and "/first" in log.read_text(), 5, "first access line")
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    server.signal(signal.SIGUSR1)
    # Workers reopen on USR1 too; keep asking until the new file appears.
    wait_for(lambda: httpx.get(server.url + "/second", timeout=5) and log.exists() and "/second" in log.read_text(),
             10, "a reopened access log")
    assert "/first" in rotated.read_text()


def test_a_killed_worker_is_replaced(serve):
    server = serve(["basic:app", "-w", "2"], workers=2)
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 2, 10, "a replacement worker")
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_a_request_over_the_timeout_gets_its_worker_killed_and_replaced(serve):
    server = serve(["basic:app", "-t", "2"])
    victim = server.workers()[0]
    try:
        httpx.get(server.url + "/sleep?30", timeout=10)
    except httpx.HTTPError:
        pass  # the connection dies with the worker
    wait_for(lambda: server.workers() and victim not in server.workers(), 10, "the hung worker to be replaced")
    assert "WORKER TIMEOUT" in server.log()
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_max_requests_recycles_the_worker(serve):
    server = serve(["basic:app", "--max-requests", "5"])
    first = get_pid(server)
    pids = {first}
    for _ in range(12):
        pids.add(get_pid(server))
    assert len(pids) >= 2, "the worker was replaced after max_requests"


def test_pidfile_is_written_and_removed(serve, tmp_path):
    pidfile = tmp_path / "rcorn.pid"
    server = serve(["basic:app", "--pid", str(pidfile)])
    assert pidfile.read_text().strip() == str(server.pid)
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert not pidfile.exists()


def test_a_pidfile_naming_a_live_process_stops_start_up(serve, tmp_path):
    # gunicorn's Pidfile.create: another live process in the file is a
    # server already running, and nothing is bound or started.
    pidfile = tmp_path / "rcorn.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    server = serve(["basic:app", "--pid", str(pidfile)], ready=False)
    assert server.wait_exit() == 1
    line = f"Already running on PID {os.getpid()} (or pid file '{pidfile}' is stale)"
    assert line in server.log(), server.log()
    assert "Listening at" not in server.log()
    assert pidfile.read_text() == f"{os.getpid()}\n"  # left as it was


@pytest.mark.parametrize("stale", ["dead", "garbage", "empty"])
def test_a_stale_pidfile_is_replaced(serve, tmp_path, stale):
    pidfile = tmp_path / "rcorn.pid"
    if stale == "dead":
        gone = subprocess.Popen(["true"])
        gone.wait(5)
        pidfile.write_text(f"{gone.pid}\n")
    else:
        pidfile.write_text("not a pid\n" if stale == "garbage" else "")
    server = serve(["basic:app", "--pid", str(pidfile)])
    assert pidfile.read_text() == f"{server.pid}\n"
    assert "Already running" not in server.log()
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert not pidfile.exists()


def test_raw_env_and_config_file(serve, tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 2\nraw_env = ['GREETING=from-config']\n")
    server = serve(["basic:app", "-c", str(conf), "-e", "OTHER=cli"], workers=2)
    env = httpx.get(server.url + "/osenv", timeout=5).json()
    assert len(server.workers()) == 2
    # -e on the command line replaces the file's raw_env, as in gunicorn.
    assert env.get("OTHER") == "cli"
    assert "GREETING" not in env


def test_config_file_values_and_bad_value_names_file_and_line(serve, tmp_path):
    conf = tmp_path / "rcorn.conf.py"
    conf.write_text("import os\nworkers = 2\nraw_env = ['GREETING=from-config']\n")
    server = serve(["basic:app", "-c", str(conf)], workers=2)
    assert httpx.get(server.url + "/osenv", timeout=5).json().get("GREETING") == "from-config"

    bad = tmp_path / "bad.conf.py"
    bad.write_text("workers = 'lots'\n")
    r = run_to_exit(["-c", str(bad), "basic:app"])
    assert r.returncode != 0
    assert "workers" in r.stderr and "lots" in r.stderr and f"{bad} line 1" in r.stderr


def _alive(pid):
    return os.path.exists(f"/proc/{pid}") and not _zombie(pid)


def _titles_shown():
    try:
        import setproctitle  # noqa: F401
    except ImportError:
        return False
    return True


def _pid_in(path):
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _start_upgrade(server, pidfile):
    """USR2, then the new master's pid once it has written `FILE.2`."""
    old = server.pid
    server.signal(signal.SIGUSR2)
    second = pidfile.with_name(pidfile.name + ".2")
    new = wait_for(lambda: _pid_in(second) not in (0, old) and _pid_in(second), 20,
                   f"the new master's {second.name}; log:\n{server.log()}")
    assert new in children_of(old)
    wait_for(lambda: children_of(new), 20, "the new master's workers")
    # As in gunicorn: the old master keeps FILE, nothing moves aside.
    assert _pid_in(pidfile) == old
    assert not pidfile.with_name(pidfile.name + ".oldbin").exists()
    return new, second


def test_usr2_upgrade_then_term_the_old_master(serve, tmp_path):
    pidfile = tmp_path / "rcorn.pid"
    server = serve(["basic:app", "--pid", str(pidfile), "-n", "shop"])
    new, second = _start_upgrade(server, pidfile)
    if _titles_shown():
        # Titles are set a moment after the pidfile is written, and a
        # worker's a moment after its fork.
        wait_for(lambda: _cmdline(new) == "rcorn: master [shop.2]", 5, "the new master's title")
        wait_for(lambda: all(_cmdline(w) == "rcorn: worker [shop.2]" for w in children_of(new)), 5,
                 "the new master's workers' titles")
    assert httpx.get(server.url + "/", timeout=5).status_code == 200

    # Retire the old master: the new one keeps the sockets and serves, and
    # once it sees its parent gone it is promoted and takes FILE.
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    wait_for(lambda: _pid_in(pidfile) == new, 10, f"the promotion; log:\n{server.log()}")
    assert not second.exists()
    assert "Master has been promoted." in server.log()
    if _titles_shown():
        # The promoted master renames its pidfile, then its title.
        wait_for(lambda: _cmdline(new) == "rcorn: master [shop]", 5, "the promoted master's title")
    new_workers = children_of(new)
    for _ in range(5):
        pid = int(httpx.get(server.url + "/pid", timeout=5).text)
        assert pid in new_workers
    os.kill(new, signal.SIGTERM)
    wait_for(lambda: not _alive(new), 15, "the new master to stop")
    assert not pidfile.exists() and not second.exists()
    assert server.log().rstrip().endswith("Shutting down: Master")


def test_usr2_rollback_when_the_new_master_dies(serve, tmp_path):
    pidfile = tmp_path / "rcorn.pid"
    server = serve(["basic:app", "--pid", str(pidfile)])
    old = server.pid
    new, second = _start_upgrade(server, pidfile)
    # The operator kills the new master: its FILE.2 goes, FILE still names
    # the old master, which goes on serving.
    os.kill(new, signal.SIGTERM)
    wait_for(lambda: "New master (pid:%d) exited" % new in server.log(), 15, "the new master's exit")
    assert "Shutting down: Master.2" in server.log()
    assert not second.exists()
    assert _pid_in(pidfile) == old
    assert httpx.get(server.url + "/", timeout=5).status_code == 200
    # A second upgrade is possible again, and FILE.2 names its master.
    newer, _ = _start_upgrade(server, pidfile)
    assert newer != new


def test_usr2_new_master_hooks_see_proc_name_with_2_until_promoted(serve, tmp_path):
    # gunicorn's arbiter.proc_name carries ".2" in a new master until its
    # promotion; cfg.proc_name does not change.
    conf = tmp_path / "hooks.conf.py"
    conf.write_text(
        "import os\n"
        "def when_ready(server):\n"
        "    server.log.info('hook when_ready pid=%s proc_name=%s cfg=%s', os.getpid(),\n"
        "                    server.proc_name, server.cfg.proc_name)\n"
        "def nworkers_changed(server, new, old):\n"
        "    server.log.info('hook nworkers_changed pid=%s %s->%s proc_name=%s', os.getpid(), old, new,\n"
        "                    server.proc_name)\n"
    )
    pidfile = tmp_path / "rcorn.pid"
    server = serve(["basic:app", "--pid", str(pidfile), "-n", "shop", "-c", str(conf)])
    old = server.pid
    assert f"hook when_ready pid={old} proc_name=shop cfg=shop" in server.log()
    new, _ = _start_upgrade(server, pidfile)
    wait_for(lambda: f"hook when_ready pid={new} proc_name=shop.2 cfg=shop" in server.log(), 10,
             f"the new master's when_ready; log:\n{server.log()}")
    os.kill(new, signal.SIGTTIN)
    wait_for(lambda: f"hook nworkers_changed pid={new} 1->2 proc_name=shop.2" in server.log(), 10,
             f"nworkers_changed before promotion; log:\n{server.log()}")
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    wait_for(lambda: _pid_in(pidfile) == new, 10, f"the promotion; log:\n{server.log()}")
    os.kill(new, signal.SIGTTOU)
    wait_for(lambda: f"hook nworkers_changed pid={new} 2->1 proc_name=shop" in server.log(), 10,
             f"nworkers_changed after promotion; log:\n{server.log()}")
    os.kill(new, signal.SIGTERM)
    wait_for(lambda: not _alive(new), 15, "the new master to stop")


def _ids(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0]), fields["Groups"].split()


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_workers_run_as_user_and_group_while_the_master_keeps_root(serve, tmp_path):
    import pwd

    nobody = pwd.getpwnam("nobody")
    sock = tmp_path / "app.sock"
    os.chmod(tmp_path, 0o755)
    # --preload: this machine's Python lives under /root, which nobody may
    # not read, so the worker cannot import anything after it switches.
    server = serve(["basic:app", "--preload", "--user", "nobody", "--group", str(nobody.pw_gid),
                    "--umask", "0o007"], bind=f"unix:{sock}")
    worker = server.workers()[0]
    assert _ids(worker) == (nobody.pw_uid, nobody.pw_gid, [str(nobody.pw_gid)])
    assert _ids(server.pid)[0] == 0
    # The socket belongs to the workers' user, with the umask applied.
    st = sock.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (nobody.pw_uid, nobody.pw_gid, 0o770)
    assert server.request(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")


def test_an_unknown_user_is_named_and_stops_start_up(serve):
    server = serve(["basic:app", "--user", "no-such-user-here"], ready=False)
    assert server.wait_exit() == 1
    assert "no such user \"no-such-user-here\"" in server.log()


def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode().strip()


def test_process_titles_name_master_and_workers(serve):
    pytest.importorskip("setproctitle")
    server = serve(["basic:app", "-n", "shop"])
    assert _cmdline(server.pid) == "rcorn: master [shop]"
    worker = server.workers()[0]
    wait_for(lambda: _cmdline(worker) == "rcorn: worker [shop]", 5, "the worker's title")


def test_daemon_detaches_and_keeps_serving(tmp_path):
    from conftest import free_port

    port = free_port()
    pidfile = tmp_path / "d.pid"
    log = tmp_path / "d.log"
    r = subprocess.run([RCORN, "--daemon", "--pid", str(pidfile), "--error-logfile", str(log),
                        "-b", f"127.0.0.1:{port}", "basic:app"], cwd=APPS, timeout=30, capture_output=True)
    assert r.returncode == 0, r.stderr
    daemon = wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() and int(pidfile.read_text()), 15,
                      "the daemon's pidfile")
    try:
        # Not a session leader, in a session of its own, parented by init.
        with open(f"/proc/{daemon}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ppid, session = int(fields[1]), int(fields[3])
        assert session != daemon and session != os.getsid(0)
        assert ppid != os.getpid()
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200, 15, "the daemon to serve")
        assert "Starting rcorn" in log.read_text()
    finally:
        os.kill(daemon, signal.SIGTERM)
        wait_for(lambda: not _alive(daemon), 15, "the daemon to stop")
    assert not pidfile.exists()


RELOAD_APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"{body}"]
'''


def _bump_mtime(path):
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 5))


def test_reload_restarts_the_worker_on_a_source_change(serve, tmp_path):
    app_dir = tmp_path / "src"
    app_dir.mkdir()
    module = app_dir / "reloadapp.py"
    module.write_text(RELOAD_APP.format(body="one"))
    extra = app_dir / "settings.ini"
    extra.write_text("x")
    server = serve(["reloadapp:app", "--reload", "--reload-extra-file", str(app_dir / "*.ini")], cwd=app_dir)
    assert httpx.get(server.url + "/", timeout=5).text == "one"
    first = server.workers()

    module.write_text(RELOAD_APP.format(body="two"))
    _bump_mtime(module)
    wait_for(lambda: httpx.get(server.url + "/", timeout=5).text == "two", 15, "the new code to be served")
    assert f"Worker reloading: {module} modified" in server.log()
    assert server.workers() != first

    second = server.workers()
    _bump_mtime(extra)
    wait_for(lambda: server.workers() and server.workers() != second, 15, "a restart for the extra file")
    assert f"Worker reloading: {extra} modified" in server.log()


@pytest.mark.parametrize("worker_args", [[], ["--threads", "4"]], ids=["sync", "gthread"])
def test_hup_and_worker_recycling_under_load_lose_no_request(serve, worker_args):
    """Clients on fresh and kept-alive connections while the workers are
    replaced again and again: every request gets its answer."""
    server = serve(["basic:app", "-w", "2", "--max-requests", "40", *worker_args], workers=2)
    done, failures = hup_under_load(server, "/")
    assert len(done) > 100
    assert failures == [], failures[:5]
