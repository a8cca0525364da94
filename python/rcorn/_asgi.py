"""The asgi worker's event loop: ASGI 3 HTTP, WebSocket and lifespan.

One asyncio loop per worker process, in its main thread. The Rust driver
(``AsgiDriver``) owns the sockets and every HTTP/1 rule; the loop watches
its descriptor with ``add_reader`` and calls ``driver.poll()`` on each
wake-up, which returns the requests to start a task for and the tasks to
wake. A connection waiting for a request costs no task.
"""

import asyncio
import inspect
import os

# Kinds of event ``AsgiDriver.poll`` returns.
EV_REQUEST = 0
EV_WAKE = 1
EV_GONE = 2
EV_WEBSOCKET = 3
# What ``AsgiDriver.receive`` answers.
DATA = 0
WAIT = 1
DISCONNECT = 2
# What ``AsgiDriver.ws_receive`` and ``ws_send`` answer.
WS_TEXT = 0
WS_BYTES = 1
WS_WAIT = 2
WS_DISCONNECT = 3
SENT = 0
SENT_WAIT = 1
GONE = 2
SENT_FLUSH = 3

BOOT_ERROR = 3
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
# A file sent by ``http.response.pathsend`` goes out in blocks this large.
PATHSEND_BLOCK = 256 * 1024


def run(driver, app, lifespan_mode, loop_name, grace=3, hooks=(None, None, None)):
    """Serves until the worker's lifecycle says exit; the exit code.

    ``grace``: ``asgi_disconnect_grace_period``, the seconds a request's
    task may run on once its client is gone before it is cancelled.
    ``hooks``: ``(pre_request, post_request, worker)`` from the config file.
    """
    try:
        loop = _new_loop(loop_name)
    except ImportError as exc:
        driver.log("error", f"asgi_loop {loop_name}: {exc}")
        return BOOT_ERROR
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(
            _main(driver, app, lifespan_mode, grace, RequestHooks.of(driver, *hooks)))
    except SystemExit as stop:
        # INT/QUIT/ABRT: the worker's signal handler ends the loop.
        return stop.code if isinstance(stop.code, int) else 0
    finally:
        _cancel_all(loop)
        loop.close()


def _new_loop(name):
    if name in ("auto", "uvloop", ""):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _cancel_all(loop):
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def _main(driver, app, lifespan_mode, grace, hooks):
    loop = asyncio.get_running_loop()
    beating = _Beat(loop, driver)
    state = {}
    lifespan = Lifespan(app, lifespan_mode, state, driver)
    try:
        started = await lifespan.startup()
    finally:
        beating.stop()
    if not started:
        return BOOT_ERROR
    code = await Server(loop, driver, app, state, grace, hooks).serve()
    beating = _Beat(loop, driver)
    try:
        await lifespan.shutdown()
    finally:
        beating.stop()
    return code


class _Beat:
    """Beats the heartbeat every second while the loop is not serving."""

    def __init__(self, loop, driver):
        self.loop = loop
        self.driver = driver
        self.handle = loop.call_soon(self._beat)

    def _beat(self):
        self.driver.beat()
        self.handle = self.loop.call_later(1.0, self._beat)

    def stop(self):
        self.handle.cancel()


class Server:
    """Starts a task per request and wakes tasks, as the driver says."""

    def __init__(self, loop, driver, app, state, grace=3, hooks=None):
        self.loop = loop
        self.driver = driver
        self.app = app
        self.state = state
        self.grace = grace
        self.hooks = hooks
        self.exchanges = {}
        self.done = loop.create_future()
        self.create_task = loop.create_task
        self.timer = None
        self.timer_at = 0.0
        self.call_soon = loop.call_soon

    async def serve(self):
        fd = self.driver.fileno()
        self.loop.add_reader(fd, self.wake)
        try:
            self.driver.start()
            self.wake()
            return await self.done
        finally:
            self.loop.remove_reader(fd)
            if self.timer is not None:
                self.timer.cancel()

    def wake(self):
        self.dispatch(self.driver.poll())
        code = self.driver.exit_code()
        if code is not None:
            if not self.done.done():
                self.done.set_result(code)
            return
        # One timer at a time: it is moved only to an earlier deadline (one
        # that came later is served by an early wake-up, which is cheap).
        at = self.loop.time() + self.driver.timeout()
        if self.timer is None or self.timer.cancelled() or at < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(at, self._on_timer)
            self.timer_at = at

    def _on_timer(self):
        self.timer = None
        self.wake()

    def dispatch(self, events):
        state = self.state
        for kind, cid, scope in events:
            if kind == EV_REQUEST or kind == EV_WEBSOCKET:
                scope["state"] = state.copy()
                exchange = (Exchange if kind == EV_REQUEST else WebSocket)(self, cid, scope)
                self.exchanges[cid] = exchange
                exchange.task = self.create_task(exchange.run())
            else:
                exchange = self.exchanges.get(cid)
                if exchange is None:
                    continue
                if kind == EV_GONE:
                    exchange.client_gone()
                else:
                    exchange.wake()

    def flush_websockets(self):
        """Writes the frames websocket tasks sent in this pass of the loop
        (``SENT_FLUSH``): one write per socket, however many messages."""
        events = self.driver.ws_flush()
        if events is not None:
            self.dispatch(events)

    def finished(self, cid):
        self.exchanges.pop(cid, None)
        # The connection's next request may be buffered already.
        self.dispatch(self.driver.take_pending())
        if self.driver.exit_code() is not None:
            self.wake()


class Exchange:
    """One request: the ``receive`` and ``send`` the application awaits."""

    __slots__ = ("server", "driver", "cid", "scope", "waiter", "started",
                 "complete", "task", "trailers", "body_done", "cancel_handle", "req")

    def __init__(self, server, cid, scope):
        self.server = server
        self.driver = server.driver
        self.cid = cid
        self.scope = scope
        self.waiter = None
        self.started = False
        self.complete = False
        self.task = None
        # The response's start said trailers follow the body.
        self.trailers = False
        self.body_done = False
        self.cancel_handle = None
        # The request hooks' ``req``, when the config file has hooks.
        self.req = None

    def wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def client_gone(self):
        """The client closed or reset the connection: ``receive`` says
        ``http.disconnect`` now, and the task is cancelled once
        ``asgi_disconnect_grace_period`` has passed (at once for 0), as in
        gunicorn's asgi worker."""
        self.wake()
        task = self.task
        if task is None or task.done() or self.cancel_handle is not None:
            return
        grace = self.server.grace
        if grace <= 0:
            task.cancel()
        else:
            self.cancel_handle = self.server.loop.call_later(grace, self._cancel_if_running)

    def _cancel_if_running(self):
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _wait(self):
        self.waiter = self.server.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def run(self):
        failed = False
        hooks = self.server.hooks
        try:
            if hooks is not None:
                self.req = HookRequest(self.scope)
                hooks.pre(self.req)
            await self.server.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            # The client left and the grace period passed, or the worker
            # exits with this request still running: not the app's error.
            failed = True
            self.driver.log("debug", "Request cancelled (client disconnected)")
            raise
        except BaseException as exc:  # noqa: B036 - the client gets a 500
            failed = True
            self.driver.log_exception(exc, "Exception in ASGI application")
            if not isinstance(exc, Exception):
                raise
        finally:
            if self.cancel_handle is not None:
                self.cancel_handle.cancel()
            if not failed and not self.complete:
                failed = True
                what = "completing" if self.started else "starting"
                self.driver.log("error", f"ASGI callable returned without {what} response.")
            # One call per request ends the response and hands back what
            # the driver found meanwhile (the next pipelined request).
            status, sent, events, exiting = self.driver.finish_request(self.cid, failed)
            server = self.server
            server.exchanges.pop(self.cid, None)
            if events is not None:
                server.dispatch(events)
            if exiting:
                server.wake()
            if self.req is not None:
                hooks.post(self.req, self.scope, status, sent)

    async def receive(self):
        while True:
            kind, body, more = self.driver.receive(self.cid)
            if kind == DATA:
                return {"type": "http.request", "body": body, "more_body": more}
            if kind == DISCONNECT or self.complete:
                return {"type": "http.disconnect"}
            await self._wait()

    async def send(self, message):
        kind = message["type"]
        if kind == "http.response.body":
            if not self.started or self.body_done:
                self._check_body_allowed(kind)
            more = message.get("more_body", False)
            if self.driver.send_body(self.cid, message.get("body", b""), more):
                await self._wait()
            if not more:
                self._body_ended()
        elif kind == "http.response.start":
            if self.started:
                raise RuntimeError("Unexpected ASGI message 'http.response.start' sent, "
                                   "after response already started.")
            self.trailers = bool(message.get("trailers", False))
            headers = message.get("headers", ())
            self.driver.start_response(self.cid, message["status"], headers, self.trailers)
            self.started = True
            if self.req is not None:
                self.req.response_headers = [
                    (n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        elif kind == "http.response.pathsend":
            self._check_body_allowed(kind)
            await self._send_file(message["path"])
            self._body_ended()
        elif kind == "http.response.trailers":
            if not (self.trailers and self.body_done) or self.complete:
                raise RuntimeError("Unexpected ASGI message 'http.response.trailers' sent, "
                                   "without 'trailers' in the start or before the body ended.")
            self.driver.send_trailers(self.cid, message.get("headers", ()))
            if not message.get("more_trailers", False):
                self._completed()
        elif kind in ("http.response.informational", "http.response.early_hint"):
            if self.started:
                raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, "
                                   "after response already started.")
            if kind == "http.response.early_hint":
                status, headers = 103, [(b"link", link) for link in message.get("links", ())]
            else:
                status, headers = message["status"], message.get("headers", ())
            self.driver.informational(self.cid, status, headers)
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent.")

    def _check_body_allowed(self, kind):
        if not self.started:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, "
                               "before 'http.response.start'.")
        if self.body_done:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, "
                               "after response already completed.")

    def _body_ended(self):
        self.body_done = True
        if not self.trailers:
            self._completed()

    def _completed(self):
        self.complete = True
        if self.waiter is not None:
            self.wake()

    async def _send_file(self, path):
        """``http.response.pathsend``: the file is opened before ``send``
        returns, so the application may remove it afterwards. On a plain
        connection its bytes go out with sendfile(2) (the driver keeps a
        descriptor of its own); over TLS, or with ``--no-sendfile``, it is
        read and sent in blocks."""
        with open(path, "rb") as f:
            left = os.fstat(f.fileno()).st_size
            if self.driver.sendfile_enabled(self.cid) and left > 0:
                wait = self.driver.send_file(self.cid, f.fileno(), left)
            else:
                wait = await self._send_blocks(f, left)
        if wait:
            await self._wait()

    async def _send_blocks(self, f, left):
        while True:
            block = f.read(min(left, PATHSEND_BLOCK)) if left > 0 else b""
            left -= len(block)
            more = left > 0 and bool(block)
            wait = self.driver.send_body(self.cid, block, more)
            if not more:
                return wait
            if wait:
                await self._wait()


class RequestHooks:
    """``pre_request(worker, req)`` and ``post_request(worker, req, environ,
    resp)`` from the config file, as gunicorn's asgi worker calls them:
    ``pre_request`` before the application (an exception in it is the
    application's, answered 500); ``post_request`` once the response is
    finished, its errors logged. ``environ`` is a small WSGI-like dict when
    an access log is written, ``None`` otherwise."""

    def __init__(self, driver, pre, post, worker):
        self.driver = driver
        self.pre_hook = pre
        self.post_hook = post
        self.worker = worker
        self.post_arity = 4
        if post is not None:
            self.post_arity = len(inspect.signature(post).parameters)
        self.environ_wanted = driver.access_log_enabled()

    @classmethod
    def of(cls, driver, pre=None, post=None, worker=None):
        if pre is None and post is None:
            return None
        return cls(driver, pre, post, worker)

    def pre(self, req):
        if self.pre_hook is not None:
            self.pre_hook(self.worker, req)

    def post(self, req, scope, status, sent):
        if self.post_hook is None:
            return
        try:
            environ = _log_environ(scope) if self.environ_wanted else None
            resp = HookResponse(status, req.response_headers, sent)
            args = (self.worker, req, environ, resp)[:self.post_arity]
            self.post_hook(*args)
        except Exception as exc:
            self.driver.log_exception(exc, "Exception in post_request hook")


class HookRequest:
    """The ``req`` of the request hooks: gunicorn's request attributes."""

    def __init__(self, scope):
        raw_path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        self.method = scope["method"]
        self.path = raw_path
        self.query = query
        self.fragment = ""
        self.uri = raw_path + ("?" + query if query else "")
        self.version = tuple(int(n) for n in scope["http_version"].split("."))
        self.headers = [(n.decode("latin-1").upper(), v.decode("latin-1"))
                        for n, v in scope["headers"]]
        self.scheme = scope["scheme"]
        self.remote_addr = scope["client"]
        self.response_headers = []


class HookResponse:
    """The ``resp`` of ``post_request``: the status sent, the body bytes."""

    def __init__(self, status, headers, sent):
        self.status = status
        self.status_code = status
        self.headers = headers
        self.sent = sent


def _log_environ(scope):
    """A minimal WSGI-like environ of the request, as gunicorn's asgi
    worker gives ``post_request``."""
    query = scope["query_string"].decode("latin-1")
    raw = scope["raw_path"].decode("latin-1")
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "RAW_URI": raw + ("?" + query if query else ""),
        "PATH_INFO": raw,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/" + scope["http_version"],
        "REMOTE_ADDR": client[0] if client else "-",
    }
    for name, value in scope["headers"]:
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        environ[key] = value.decode("latin-1")
    return environ


class ClientDisconnected(OSError):
    """``send`` on a WebSocket whose client is gone (uvicorn's name)."""


class WebSocket:
    """One ``websocket`` scope: the handshake the application accepts or
    denies, then its messages. The protocol is the driver's (Rust)."""

    __slots__ = ("server", "driver", "cid", "scope", "waiter", "task",
                 "connected", "accepted", "closed", "responding", "complete")

    def __init__(self, server, cid, scope):
        self.server = server
        self.driver = server.driver
        self.cid = cid
        self.scope = scope
        self.waiter = None
        self.task = None
        self.connected = False
        self.accepted = False
        self.closed = False
        # The denial response (``websocket.http.response.*``) is under way.
        self.responding = False
        self.complete = False

    wake = Exchange.wake
    _wait = Exchange._wait

    def client_gone(self):
        # Gone before the handshake was answered: what the application
        # awaits next tells it (a disconnect, or ClientDisconnected).
        self.wake()

    async def run(self):
        failed = False
        try:
            await self.server.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            failed = True
            raise
        except ClientDisconnected:
            pass
        except BaseException as exc:  # noqa: B036 - the client gets a 500 or 1011
            failed = True
            self.driver.log_exception(exc, "Exception in ASGI application")
            if not isinstance(exc, Exception):
                raise
        finally:
            self._finish(failed)
            self.server.finished(self.cid)

    def _finish(self, failed):
        if self.accepted:
            self.driver.ws_finish(self.cid, failed)
            return
        if not failed and not self.closed and not self.complete:
            failed = True
            self.driver.log("error", "ASGI callable returned without sending handshake.")
        if self.closed and not self.responding:
            # Closed before the accept: the handshake is refused with 403.
            self.driver.start_response(self.cid, 403, (), False)
            self.driver.send_body(self.cid, b"", False)
        self.driver.finish(self.cid, failed and not self.complete)

    async def receive(self):
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        while True:
            kind, data = self.driver.ws_receive(self.cid)
            if kind == WS_TEXT:
                return {"type": "websocket.receive", "text": data}
            if kind == WS_BYTES:
                return {"type": "websocket.receive", "bytes": data}
            if kind == WS_DISCONNECT:
                code, reason = data
                return {"type": "websocket.disconnect", "code": code, "reason": reason}
            if self.closed and not self.accepted:
                return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            await self._wait()

    async def send(self, message):
        kind = message["type"]
        if kind == "websocket.send":
            if not self.accepted:
                raise RuntimeError("Unexpected ASGI message 'websocket.send' sent, "
                                   "before 'websocket.accept'.")
            # The hot path of a broadcast: no coroutine besides this one.
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
                if data is None:
                    raise RuntimeError("websocket.send needs 'bytes' or 'text'")
            else:
                data = bytes(data)
            sent = self.driver.ws_send(self.cid, data)
            if sent:
                await self._after_send(sent)
        elif kind == "websocket.accept":
            self._expect_handshake(kind)
            headers = [(bytes(n), bytes(v)) for n, v in message.get("headers") or ()]
            self.driver.ws_accept(self.cid, message.get("subprotocol"), headers)
            self.accepted = True
        elif kind == "websocket.close":
            if self.accepted:
                if self.closed:
                    raise ClientDisconnected("the websocket is closed")
                self.driver.ws_close(self.cid, message.get("code") or 1000,
                                     message.get("reason") or "")
            else:
                self._expect_handshake(kind)
            self.closed = True
            self.wake()
        elif kind == "websocket.http.response.start":
            self._expect_handshake(kind)
            self.driver.start_response(self.cid, message["status"], message.get("headers", ()), False)
            self.responding = True
        elif kind == "websocket.http.response.body":
            if not self.responding or self.complete:
                raise RuntimeError(f"Unexpected ASGI message {kind!r} sent.")
            more = message.get("more_body", False)
            if self.driver.send_body(self.cid, message.get("body", b""), more):
                await self._wait()
            if not more:
                self.complete = True
                self.closed = True
                self.wake()
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent.")

    def _expect_handshake(self, kind):
        if self.accepted or self.closed or self.responding:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} sent, after the handshake.")

    async def _after_send(self, sent):
        """What ``ws_send`` answered besides ``SENT``."""
        if sent == SENT_FLUSH:
            server = self.server
            server.call_soon(server.flush_websockets)
        elif sent == GONE:
            raise ClientDisconnected("the websocket client is gone")
        elif sent == SENT_WAIT:
            await self._wait()


class Lifespan:
    """The lifespan protocol, as uvicorn runs it: ``auto`` tolerates an
    application that does not speak it; ``on`` does not."""

    def __init__(self, app, mode, state, driver):
        self.app = app
        self.mode = mode or "auto"
        self.state = state
        self.driver = driver
        self.queue = asyncio.Queue()
        self.startup_done = asyncio.Event()
        self.shutdown_done = asyncio.Event()
        self.startup_failed = False
        self.shutdown_failed = False
        self.error = False
        self.task = None

    async def startup(self):
        if self.mode == "off":
            return True
        self.driver.log("info", "Waiting for application startup.")
        self.task = asyncio.get_running_loop().create_task(self.main())
        await self.queue.put({"type": "lifespan.startup"})
        await self.startup_done.wait()
        if self.startup_failed or (self.error and self.mode == "on"):
            self.driver.log("error", "Application startup failed. Exiting.")
            return False
        if not self.error:
            self.driver.log("info", "Application startup complete.")
        return True

    async def shutdown(self):
        if self.mode == "off" or self.error or self.task is None:
            return
        self.driver.log("info", "Waiting for application shutdown.")
        await self.queue.put({"type": "lifespan.shutdown"})
        await self.shutdown_done.wait()
        if self.shutdown_failed or (self.error and self.mode == "on"):
            self.driver.log("error", "Application shutdown failed.")
        else:
            self.driver.log("info", "Application shutdown complete.")

    async def main(self):
        scope = {"type": "lifespan", "asgi": dict(ASGI_VERSION), "state": self.state}
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException as exc:  # noqa: B036 - reported, then re-raised if fatal
            self.error = True
            if self.startup_failed or self.shutdown_failed:
                return
            if self.mode == "auto":
                self.driver.log("info", "ASGI 'lifespan' protocol appears unsupported.")
            else:
                self.driver.log_exception(exc, "Exception in 'lifespan' protocol")
            if not isinstance(exc, Exception):
                raise
        finally:
            self.startup_done.set()
            self.shutdown_done.set()

    async def receive(self):
        return await self.queue.get()

    async def send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self.startup_done.set()
        elif kind == "lifespan.startup.failed":
            self.startup_failed = True
            self.startup_done.set()
            if message.get("message"):
                self.driver.log("error", message["message"])
        elif kind == "lifespan.shutdown.complete":
            self.shutdown_done.set()
        elif kind == "lifespan.shutdown.failed":
            self.shutdown_failed = True
            self.shutdown_done.set()
            if message.get("message"):
                self.driver.log("error", message["message"])
        else:
            raise RuntimeError(f"Unexpected ASGI lifespan message {kind!r}")
