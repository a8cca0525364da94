"""The client HTTP workers call dirty apps with: gunicorn's API (sync for
sync and gthread workers, async for asgi), over the socket named by
``GUNICORN_DIRTY_SOCKET``.
"""

import asyncio
import contextvars
import os
import random
import socket
import threading
import time

from . import protocol
from .errors import DirtyConnectionError, DirtyError, DirtyTimeoutError


def _new_id():
    return random.getrandbits(64)


def _result(message):
    kind = message.get("type")
    if kind == "response":
        return message.get("result")
    if kind == "error":
        raise DirtyError.from_dict(message.get("error", {}))
    raise DirtyError(f"Unknown response type: {kind}")


class DirtyClient:
    """A connection to the dirty arbiter; one call at a time."""

    def __init__(self, socket_path, timeout=30.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._reader = None
        self._writer = None
        self._lock = threading.Lock()

    # ---- sync
    def connect(self):
        if self._sock is not None:
            return
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError as e:
            raise DirtyConnectionError(
                f"Failed to connect to dirty arbiter: {e}", socket_path=self.socket_path
            ) from e
        self._sock = sock

    def execute(self, app_path, action, *args, **kwargs):
        with self._lock:
            self.connect()
            try:
                self._sock.settimeout(self.timeout)
                self._sock.sendall(protocol.encode_request(_new_id(), app_path, action, args, kwargs))
                return _result(protocol.read_message(self._sock))
            except socket.timeout:
                self._close_socket()
                raise DirtyTimeoutError(
                    "Timeout waiting for dirty app response", timeout=self.timeout
                ) from None
            except DirtyError:
                raise
            except Exception as e:
                self._close_socket()
                raise DirtyConnectionError(f"Communication error: {e}") from e

    def stream(self, app_path, action, *args, **kwargs):
        return DirtyStreamIterator(self, app_path, action, args, kwargs)

    def _close_socket(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def close(self):
        with self._lock:
            self._close_socket()

    # ---- async
    async def connect_async(self):
        if self._writer is not None:
            return
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path), timeout=self.timeout
            )
        except asyncio.TimeoutError:
            raise DirtyTimeoutError("Timeout connecting to dirty arbiter", timeout=self.timeout) from None
        except OSError as e:
            raise DirtyConnectionError(
                f"Failed to connect to dirty arbiter: {e}", socket_path=self.socket_path
            ) from e

    async def execute_async(self, app_path, action, *args, **kwargs):
        await self.connect_async()
        try:
            self._writer.write(protocol.encode_request(_new_id(), app_path, action, args, kwargs))
            await self._writer.drain()
            message = await asyncio.wait_for(
                protocol.read_message_async(self._reader), timeout=self.timeout
            )
            return _result(message)
        except asyncio.TimeoutError:
            await self._close_async()
            raise DirtyTimeoutError("Timeout waiting for dirty app response", timeout=self.timeout) from None
        except DirtyError:
            raise
        except Exception as e:
            await self._close_async()
            raise DirtyConnectionError(f"Communication error: {e}") from e

    def stream_async(self, app_path, action, *args, **kwargs):
        return DirtyAsyncStreamIterator(self, app_path, action, args, kwargs)

    async def _close_async(self):
        if self._writer is not None:
            try:
                self._writer.close()
                await self._writer.wait_closed()
            except Exception:
                pass
            self._writer = None
            self._reader = None

    async def close_async(self):
        await self._close_async()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    async def __aenter__(self):
        await self.connect_async()
        return self

    async def __aexit__(self, *exc):
        await self.close_async()


def _stream_step(message):
    """The chunk a streamed message carries; StopIteration at its end."""
    kind = message.get("type")
    if kind == "chunk":
        return message.get("data")
    if kind in ("end", "response"):
        raise StopIteration
    if kind == "error":
        raise DirtyError.from_dict(message.get("error", {}))
    raise DirtyError(f"Unknown message type: {kind}")


class _StreamState:
    """What a streamed call's iterator keeps, sync or async: the request
    not yet sent, whether it ended, its total deadline and idle timeout."""

    DEFAULT_IDLE_TIMEOUT = 30.0

    def __init__(self, client, app_path, action, args, kwargs, idle_timeout=None):
        self.client = client
        self._request = (app_path, action, args, kwargs)
        self._started = False
        self._exhausted = False
        self._deadline = None
        self._idle_timeout = (
            idle_timeout if idle_timeout is not None else min(self.DEFAULT_IDLE_TIMEOUT, client.timeout)
        )


class DirtyStreamIterator(_StreamState):
    """The chunks of a streamed call; each wait bounded by the client's
    timeout (and the idle timeout), the whole stream too."""

    def __iter__(self):
        return self

    def __next__(self):
        if self._exhausted:
            raise StopIteration
        with self.client._lock:
            if not self._started:
                self.client.connect()
                self._deadline = time.monotonic() + self.client.timeout
                app_path, action, args, kwargs = self._request
                self.client._sock.sendall(protocol.encode_request(_new_id(), app_path, action, args, kwargs))
                self._started = True
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._exhausted = True
                self.client._close_socket()
                raise DirtyTimeoutError("Stream exceeded total timeout", timeout=self.client.timeout)
            try:
                self.client._sock.settimeout(min(remaining, self._idle_timeout))
                message = protocol.read_message(self.client._sock)
            except socket.timeout:
                self._exhausted = True
                self.client._close_socket()
                raise DirtyTimeoutError("Timeout waiting for next chunk", timeout=self._idle_timeout) from None
            except Exception as e:
                self._exhausted = True
                self.client._close_socket()
                raise DirtyConnectionError(f"Communication error: {e}") from e
        try:
            return _stream_step(message)
        except (StopIteration, DirtyError):
            self._exhausted = True
            raise


class DirtyAsyncStreamIterator(_StreamState):
    """The chunks of a streamed call, for ``async for``."""

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._exhausted:
            raise StopAsyncIteration
        if not self._started:
            await self.client.connect_async()
            self._deadline = time.monotonic() + self.client.timeout
            app_path, action, args, kwargs = self._request
            self.client._writer.write(protocol.encode_request(_new_id(), app_path, action, args, kwargs))
            await self.client._writer.drain()
            self._started = True
        remaining = self._deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            message = await asyncio.wait_for(
                protocol.read_message_async(self.client._reader),
                timeout=min(remaining, self._idle_timeout),
            )
        except asyncio.TimeoutError:
            self._exhausted = True
            await self.client._close_async()
            raise DirtyTimeoutError("Timeout waiting for next chunk", timeout=self._idle_timeout) from None
        except Exception as e:
            self._exhausted = True
            await self.client._close_async()
            raise DirtyConnectionError(f"Communication error: {e}") from e
        try:
            return _stream_step(message)
        except StopIteration:
            self._exhausted = True
            raise StopAsyncIteration from None
        except DirtyError:
            self._exhausted = True
            raise


_thread_local = threading.local()
_async_client_var = contextvars.ContextVar("rcorn_dirty_client")
_dirty_socket_path = None


def set_dirty_socket_path(path):
    global _dirty_socket_path
    _dirty_socket_path = path


def get_dirty_socket_path():
    path = _dirty_socket_path or os.environ.get("GUNICORN_DIRTY_SOCKET")
    if not path:
        raise DirtyError(
            "Dirty socket path not configured. "
            "Make sure dirty_workers > 0 and dirty_apps are configured."
        )
    return path


def get_dirty_client(timeout=30.0):
    """This thread's client."""
    client = getattr(_thread_local, "dirty_client", None)
    if client is None:
        client = DirtyClient(get_dirty_socket_path(), timeout=timeout)
        _thread_local.dirty_client = client
    return client


async def get_dirty_client_async(timeout=30.0):
    """This context's client (one per asyncio task)."""
    try:
        return _async_client_var.get()
    except LookupError:
        client = DirtyClient(get_dirty_socket_path(), timeout=timeout)
        _async_client_var.set(client)
        return client


def close_dirty_client():
    client = getattr(_thread_local, "dirty_client", None)
    if client is not None:
        client.close()
        _thread_local.dirty_client = None


async def close_dirty_client_async():
    try:
        await _async_client_var.get().close_async()
    except LookupError:
        pass
