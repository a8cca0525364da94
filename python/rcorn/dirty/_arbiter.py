"""The dirty arbiter process: one asyncio loop that carries out what
core's dirty arbiter state machine (``rcorn._rcorn.DirtyCore``) decides.

It listens on ``GUNICORN_DIRTY_SOCKET`` for HTTP workers' calls (gunicorn's
protocol), forks the dirty workers, each with a private socket, and moves
messages between the two: a request goes to the worker the state machine
names under the call's own id, and the worker's answers go back to the
client under the client's id. Errors the state machine decides (no
workers, timeout, a worker that died with the call) are answered here as
gunicorn's exceptions. Stash messages are answered by core's stash
(``rcorn._rcorn.DirtyStash``), which holds the tables. Signals, reaped
children, heartbeats and timers are events for the state machine; nothing
is decided in this file.
"""

import asyncio
import os
import signal
import socket
import tempfile
import types

from rcorn._rcorn import DirtyCore, DirtyStash

from . import _worker, protocol
from .app import import_app_class
from .errors import (
    DirtyError,
    DirtyNoWorkersAvailableError,
    DirtyProtocolError,
    DirtyTimeoutError,
    DirtyWorkerError,
)

SIGNALS = {
    signal.SIGTERM: "term",
    signal.SIGINT: "int",
    signal.SIGQUIT: "quit",
    signal.SIGHUP: "hup",
    signal.SIGTTIN: "ttin",
    signal.SIGTTOU: "ttou",
    signal.SIGUSR1: "usr1",
}
FINAL = (protocol.MSG_TYPE_RESPONSE, protocol.MSG_TYPE_ERROR, protocol.MSG_TYPE_END)


def prepare_socket():
    """In the master, before any fork: the socket's private directory and
    the variable every HTTP worker inherits."""
    directory = tempfile.mkdtemp(prefix="rcorn-dirty-")
    os.environ["GUNICORN_DIRTY_SOCKET"] = os.path.join(directory, "arbiter.sock")


def main(cfg):
    """The dirty arbiter's whole life, in the process the master forked."""
    return asyncio.run(DirtyArbiter(cfg).run())


def _resolve_limits(apps, log):
    """A class's ``workers`` attribute is its limit when the spec has none."""
    resolved = []
    for path, limit in apps:
        if limit is None:
            try:
                limit = getattr(import_app_class(path), "workers", None)
            except Exception as e:
                log.warning("Could not read workers attribute from %s: %s", path, e)
        resolved.append((path, limit))
    return resolved


def _declare_stashes(stash, paths, log):
    """The tables a ``DirtyApp`` lists in ``stashes`` exist from the start,
    as gunicorn's stash documentation promises."""
    for path in paths:
        try:
            names = getattr(import_app_class(path), "stashes", None) or ()
            for name in names:
                stash.ensure(str(name))
        except Exception as e:
            log.warning("Could not create the stashes of %s: %s", path, e)


class DirtyArbiter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.log = cfg["server"].log
        cfg["log"] = self.log
        self.socket_path = os.environ["GUNICORN_DIRTY_SOCKET"]
        self.pid = os.getpid()
        self.ppid = os.getppid()
        apps = _resolve_limits(cfg["apps"], self.log)
        self.app_paths = [path for path, _ in apps]
        self.core = DirtyCore(
            cfg["workers"], apps, cfg["threads"], cfg["timeout"], cfg["graceful_timeout"]
        )
        self.stash = DirtyStash()  # the stash tables, held here for the pool's life
        _declare_stashes(self.stash, self.app_paths, self.log)
        self.links = {}  # worker pid -> StreamWriter to it
        self.workers = {}  # worker pid -> the hooks' worker object
        self.calls = {}  # call id -> (client writer, client's id, request bytes, app path)
        self.next_call = 1
        self.timer = None
        self.done = None
        self.server = None

    # ---- the loop
    async def run(self):
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        loop.set_exception_handler(self.on_loop_error)
        for sig, name in SIGNALS.items():
            loop.add_signal_handler(sig, self.on_signal, name)
        loop.add_signal_handler(signal.SIGCHLD, self.reap)
        self.call_hook("on_dirty_starting", self)
        # A restarted dirty arbiter finds the directory its predecessor
        # removed on the way out, or the stale socket of one killed.
        os.makedirs(os.path.dirname(self.socket_path), mode=0o700, exist_ok=True)
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self.server = await asyncio.start_unix_server(self.serve_client, path=self.socket_path)
        os.chmod(self.socket_path, 0o600)
        self.log.info("Dirty arbiter listening on %s", self.socket_path)
        self.apply(self.core.boot())
        loop.call_later(1.0, self.watch_parent)
        try:
            return await self.done
        finally:
            self.server.close()
            try:
                os.unlink(self.socket_path)
                os.rmdir(os.path.dirname(self.socket_path))
            except OSError:
                pass

    def on_loop_error(self, loop, context):
        error = context.get("exception")
        if error is not None:
            self.log.error("Dirty arbiter: %s: %r", context.get("message"), error)
        else:
            self.log.error("Dirty arbiter: %s", context.get("message"))

    def on_signal(self, name):
        self.apply(self.core.signal(name))

    def watch_parent(self):
        if os.getppid() != self.ppid:
            self.log.warning("Parent changed, shutting down dirty arbiter")
            self.apply(self.core.signal("quit"))
        if not self.done.done():
            asyncio.get_running_loop().call_later(1.0, self.watch_parent)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if os.WIFSIGNALED(status):
                self.apply(self.core.exited(pid, signal=os.WTERMSIG(status)))
            else:
                self.apply(self.core.exited(pid, code=os.waitstatus_to_exitcode(status)))

    def on_tick(self):
        self.timer = None
        self.apply(self.core.tick())

    # ---- carrying out commands
    def apply(self, commands):
        for command in commands:
            getattr(self, "do_" + command[0])(*command[1:])
        self.reschedule()

    def reschedule(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        wait = self.core.next_deadline()
        if wait is not None and not self.done.done():
            self.timer = asyncio.get_running_loop().call_later(wait + 0.001, self.on_tick)

    def do_log(self, level, text):
        getattr(self.log, level)(text)

    def do_reopen_logs(self):
        self.log.reopen_files()

    def do_exit(self, code):
        if not self.done.done():
            self.done.set_result(code)

    def do_kill(self, pid, signum):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def do_worker_exit(self, pid, age):
        worker = self.workers.pop(pid, None)
        if worker is not None:
            self.call_hook("dirty_worker_exit", self, worker)

    def do_spawn(self, age, app_indices):
        paths = [self.app_paths[i] for i in app_indices]
        ours, theirs = socket.socketpair()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set(SIGNALS) | {signal.SIGCHLD})
        try:
            pid = os.fork()
        except OSError as e:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            self.log.error("Unable to fork a dirty worker: %s", e)
            ours.close()
            theirs.close()
            self.apply(self.core.spawn_failed(age))
            return
        if pid == 0:
            self.become_worker(ours, theirs, paths, age)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        theirs.close()
        worker = types.SimpleNamespace(pid=pid, age=age, app_paths=paths, ppid=self.pid, log=self.log)
        self.workers[pid] = worker
        self.log.info("Spawned dirty worker (pid: %s) with apps: %s", pid, paths)
        asyncio.get_running_loop().create_task(self.serve_worker(pid, ours))
        self.call_hook("dirty_post_fork", self, worker)
        self.apply(self.core.spawned(age, pid))

    def become_worker(self, ours, theirs, paths, age):
        """In the forked child: never returns to the arbiter's loop."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            ours.close()
            # Plain closes only: the loop's epoll instance is shared with
            # the parent, so unregistering anything here would unregister
            # it there too.
            for listening in self.server.sockets:
                os.close(listening.fileno())
            # Other workers' links: each must see its end close with the
            # arbiter, not stay open in a sibling.
            for link in self.links.values():
                os.close(link.get_extra_info("socket").fileno())
            code = _worker.run(theirs, paths, self.cfg, age, self.pid)
        except BaseException:
            self.log.exception("Exception in dirty worker process")
        finally:
            os._exit(code)

    def do_dispatch(self, call, pid):
        link = self.links.get(pid)
        if link is None or link.is_closing():
            # Ready means its link was up; it has just gone: the exit
            # reaped next fails the call.
            return
        link.write(protocol.with_request_id(self.calls[call][2], call))

    def do_fail(self, call, kind, pid):
        entry = self.calls.pop(call, None)
        if entry is None:
            return
        writer, client_id, _, app_path = entry
        if kind == "no_workers":
            error = DirtyError("No dirty workers available")
        elif kind == "no_workers_for_app":
            error = DirtyNoWorkersAvailableError(app_path)
        elif kind == "timeout":
            error = DirtyTimeoutError("Worker timeout", self.cfg["timeout"])
        elif kind == "worker_died":
            error = DirtyWorkerError(f"Dirty worker (pid:{pid}) exited during the call", worker_id=pid)
        else:
            error = DirtyError("Dirty arbiter is shutting down")
        self.reply(writer, protocol.encode_error(client_id, error))

    @staticmethod
    def reply(writer, data):
        if not writer.is_closing():
            writer.write(data)

    def call_hook(self, name, *args):
        hook = self.cfg["hooks"].get(name)
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:
            self.log.exception("Exception in %s hook", name)

    # ---- sockets
    async def serve_worker(self, pid, sock):
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        self.links[pid] = writer
        try:
            while True:
                msg_type, call, frame = await protocol.read_frame(reader)
                if msg_type == protocol.MSG_TYPE_STATUS and call == 0:
                    status = protocol.parse(frame[:16], frame[16:])[2]
                    event = self.core.ready if status.get("ready") else self.core.heartbeat
                    self.apply(event(pid))
                    continue
                entry = self.calls.get(call)
                if entry is None:
                    continue  # a late answer to a call already failed
                self.reply(entry[0], protocol.with_request_id(frame, entry[1]))
                if msg_type in FINAL:
                    del self.calls[call]
                    self.apply(self.core.finished(call))
        except (asyncio.IncompleteReadError, ConnectionError, DirtyProtocolError):
            pass
        except Exception:
            self.log.exception("Dirty arbiter: error serving worker %s", pid)
        finally:
            self.links.pop(pid, None)
            writer.close()

    async def serve_client(self, reader, writer):
        try:
            while True:
                msg_type, client_id, frame = await protocol.read_frame(reader)
                if msg_type == protocol.MSG_TYPE_REQUEST:
                    self.take_call(writer, client_id, frame)
                elif msg_type == protocol.MSG_TYPE_STATUS:
                    self.reply(writer, protocol.encode(protocol.MSG_TYPE_RESPONSE, client_id, {"result": self.status()}))
                elif msg_type == protocol.MSG_TYPE_MANAGE:
                    payload = protocol.parse(frame[:16], frame[16:])[2]
                    self.reply(writer, self.manage(client_id, payload))
                elif msg_type == protocol.MSG_TYPE_STASH:
                    self.reply(writer, self.stash.reply(frame))
                else:
                    error = DirtyError(f"Unexpected message type from a client: {protocol.NAMES[msg_type]}")
                    self.reply(writer, protocol.encode_error(client_id, error))
        except (asyncio.IncompleteReadError, ConnectionError, DirtyProtocolError):
            pass
        except Exception:
            self.log.exception("Dirty arbiter: error serving a client")
        finally:
            writer.close()

    def take_call(self, writer, client_id, frame):
        payload = protocol.parse(frame[:16], frame[16:])[2]
        app_path = payload.get("app_path") if isinstance(payload, dict) else None
        index = self.app_paths.index(app_path) if app_path in self.app_paths else None
        call = self.next_call
        self.next_call += 1
        self.calls[call] = (writer, client_id, frame, app_path)
        self.apply(self.core.call(call, index))

    def status(self):
        workers = [
            {"pid": pid, "age": age, "apps": apps, "booted": ready, "last_heartbeat": round(silent, 2)}
            for pid, age, apps, ready, silent in self.core.workers()
        ]
        workers.sort(key=lambda w: w["age"])
        return {
            "arbiter_pid": self.pid,
            "workers": workers,
            "worker_count": len(workers),
            "apps": list(self.app_paths),
        }

    def manage(self, client_id, payload):
        op = payload.get("op")
        count = max(1, int(payload.get("count", 1)))
        if op not in (protocol.MANAGE_OP_ADD, protocol.MANAGE_OP_REMOVE):
            return protocol.encode_error(client_id, DirtyError(f"Unknown manage operation: {op}"))
        before = self.core.target()
        name = "ttin" if op == protocol.MANAGE_OP_ADD else "ttou"
        for _ in range(count):
            self.apply(self.core.signal(name))
        changed = abs(self.core.target() - before)
        result = {
            "success": True,
            "operation": "add" if op == protocol.MANAGE_OP_ADD else "remove",
            "requested": count,
            "spawned" if op == protocol.MANAGE_OP_ADD else "removed": changed,
            "total_workers": len(self.core.workers()),
            "target_workers": self.core.target(),
        }
        return protocol.encode(protocol.MSG_TYPE_RESPONSE, client_id, {"result": result})
