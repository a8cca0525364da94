"""A dirty worker process: loads its apps once, serves the calls the
dirty arbiter hands it over a private socket, closes its apps on exit.

Calls arrive as gunicorn request messages whose id is the arbiter's call
id; each runs on one of ``dirty_threads`` threads and answers with a
response, an error, or chunks and an end (generators and async
generators are streamed). Besides answers the worker sends status
messages with id 0: ``{"ready": true}`` once its apps are loaded, then
``{"beat": true}`` every second (a quarter of ``dirty_timeout`` if that is
shorter), the arbiter's heartbeat.
"""

import asyncio
import inspect
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from . import protocol
from .app import import_app_class
from .errors import DirtyAppError, DirtyAppNotFoundError

# The server's logger (rcorn's error log), set when the worker starts.
log = logging.getLogger("gunicorn.error")

BOOT_ERROR = 3
BEAT_INTERVAL = 1.0


class _Stop(Exception):
    """TERM: finish the calls in hand, then exit."""


class DirtyWorkerProcess:
    """What hooks see as ``worker``: pid, ppid, age, its apps."""

    def __init__(self, sock, app_paths, cfg, age, ppid):
        self.sock = sock
        self.app_paths = app_paths
        self.cfg = cfg
        self.age = age
        self.ppid = ppid
        self.pid = os.getpid()
        self.apps = {}
        self.alive = True
        # Well within dirty_timeout, so a healthy worker is never judged
        # silent for a beat still on its way.
        timeout = cfg.get("timeout") or 0
        self.beat_interval = min(BEAT_INTERVAL, timeout / 4) if timeout else BEAT_INTERVAL
        self._write_lock = threading.Lock()
        self.log = log

    # ---- sending
    def send(self, data):
        with self._write_lock:
            self.sock.sendall(data)

    def send_status(self, payload):
        self.send(protocol.encode(protocol.MSG_TYPE_STATUS, 0, payload))

    def _beat(self):
        while self.alive:
            try:
                self.send_status({"beat": True})
            except OSError:
                return
            threading.Event().wait(self.beat_interval)

    # ---- life
    def load(self):
        for path in self.app_paths:
            app = import_app_class(path)()
            app.init()
            self.apps[path] = app

    def close_apps(self):
        for path, app in self.apps.items():
            try:
                app.close()
            except Exception:
                log.exception("Error closing dirty app %s", path)

    def serve(self, threads):
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dirty")
        try:
            while True:
                header = protocol._recv_exactly(self.sock, protocol.HEADER_SIZE)
                msg_type, call, length = protocol._header(header)
                payload = protocol._recv_exactly(self.sock, length) if length else b""
                if msg_type == protocol.MSG_TYPE_REQUEST:
                    message = protocol.parse(header, payload)[2]
                    pool.submit(self.run_call, call, message)
        except _Stop:
            pass
        except protocol.DirtyProtocolError:
            # The arbiter went away: nothing more will come.
            pass
        finally:
            self.alive = False
            pool.shutdown(wait=True)

    # ---- one call
    def run_call(self, call, message):
        app_path = message.get("app_path")
        action = message.get("action")
        try:
            app = self.apps.get(app_path)
            if app is None:
                raise DirtyAppNotFoundError(app_path)
            result = app(action, *message.get("args", []), **message.get("kwargs", {}))
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if inspect.isgenerator(result):
                self._stream(call, result)
            elif inspect.isasyncgen(result):
                self._stream(call, _iterate_async(result))
            else:
                self.send(protocol.encode(protocol.MSG_TYPE_RESPONSE, call, {"result": result}))
        except DirtyAppNotFoundError as e:
            self._send_error(call, e)
        except Exception as e:
            tb = traceback.format_exc()
            log.error("Error executing %s.%s: %s\n%s", app_path, action, e, tb)
            self._send_error(call, DirtyAppError(str(e), app_path=app_path, action=action, traceback=tb))

    def _stream(self, call, chunks):
        for chunk in chunks:
            self.send(protocol.encode(protocol.MSG_TYPE_CHUNK, call, {"data": chunk}))
        self.send(protocol.encode(protocol.MSG_TYPE_END, call))

    def _send_error(self, call, error):
        try:
            self.send(protocol.encode_error(call, error))
        except OSError:
            pass


def _iterate_async(agen):
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(agen.aclose())
        loop.close()


def _install_signals():
    def stop(signum, frame):
        raise _Stop()

    def quick(signum, frame):
        os._exit(0)

    def reopen(signum, frame):
        log.reopen_files()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, quick)
    signal.signal(signal.SIGQUIT, quick)
    # USR1 from the dirty arbiter: let go of a rotated log file. The
    # arbiter forks with USR1 blocked, so none comes before this handler.
    signal.signal(signal.SIGUSR1, reopen)
    for sig in (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD, signal.SIGABRT):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def run(sock, app_paths, cfg, age, ppid):
    """The forked worker's whole life; its exit code."""
    global log
    log = cfg["log"]
    _install_signals()
    worker = DirtyWorkerProcess(sock, app_paths, cfg, age, ppid)
    try:
        worker.load()
    except _Stop:
        return 0
    except BaseException:
        log.exception("Dirty worker failed to load its apps")
        return BOOT_ERROR
    hook = cfg["hooks"].get("dirty_worker_init")
    if hook is not None:
        try:
            hook(worker)
        except Exception:
            log.exception("Exception in dirty_worker_init hook")
    try:
        worker.send_status({"ready": True})
        threading.Thread(target=worker._beat, daemon=True, name="dirty-beat").start()
        worker.serve(cfg["threads"])
    except _Stop:
        pass
    except OSError:
        pass
    finally:
        worker.alive = False
        worker.close_apps()
        sys.stdout.flush()
    return 0
