"""``stash``: gunicorn's shared key/value tables, held by the dirty arbiter
and reached by every HTTP worker and dirty worker over its socket.

The same API and bytes as ``gunicorn.dirty.stash``::

    from rcorn.dirty import stash

    stash.put("sessions", "user:1", {"name": "Alice"})   # creates the table
    stash.get("sessions", "user:1")                      # or the default
    sessions = stash.table("sessions")                   # dict-like
    stash.keys("sessions", pattern="user:*")             # fnmatch

Rules: one connection per thread (as gunicorn's thread-local client); a
missing key is ``StashKeyNotFoundError`` (``get`` returns its default), a
missing table for ``info`` is ``StashTableNotFoundError``, anything else
the arbiter refuses (a full stash, an unhashable key) is ``StashError``
with the arbiter's message; a broken connection is ``StashError`` and the
next operation reconnects. The tables live as long as the dirty arbiter.
"""

import itertools
import os
import socket
import threading

from . import protocol
from .errors import DirtyError

STASH_OP_PUT = 1
STASH_OP_GET = 2
STASH_OP_DELETE = 3
STASH_OP_KEYS = 4
STASH_OP_CLEAR = 5
STASH_OP_INFO = 6
STASH_OP_ENSURE = 7
STASH_OP_DELETE_TABLE = 8
STASH_OP_TABLES = 9
STASH_OP_EXISTS = 10


class StashError(DirtyError):
    """Base exception for stash operations."""


class StashTableNotFoundError(StashError):
    """Raised when a table does not exist."""

    def __init__(self, table_name):
        self.table_name = table_name
        super().__init__(f"Stash table not found: {table_name}")


class StashKeyNotFoundError(StashError):
    """Raised when a key does not exist in a table."""

    def __init__(self, table_name, key):
        self.table_name = table_name
        self.key = key
        super().__init__(f"Key not found in {table_name}: {key}")


def stash_message(request_id, op, table, key=None, value=None, pattern=None):
    """One stash message as gunicorn's ``encode_stash`` writes it: fields
    that are ``None`` are left out."""
    payload = {"op": op, "table": table}
    for name, field in (("key", key), ("value", value), ("pattern", pattern)):
        if field is not None:
            payload[name] = field
    return protocol.encode(protocol.MSG_TYPE_STASH, request_id, payload)


class StashClient:
    """One connection to the dirty arbiter, used by one thread at a time."""

    def __init__(self, socket_path, timeout=30.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def _connect(self):
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError as e:
            raise StashError(f"Failed to connect to arbiter: {e}") from e
        self._sock = sock

    def _close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def _execute(self, op, table, key=None, value=None, pattern=None):
        with self._lock:
            if self._sock is None:
                self._connect()
            try:
                message = stash_message(next(self._ids), op, table, key, value, pattern)
                self._sock.sendall(message)
                response = protocol.read_message(self._sock)
            except Exception as e:
                self._close()
                raise StashError(f"Stash operation failed: {e}") from e
        return _result(response, table, key)

    # ---- gunicorn's operations
    def put(self, table, key, value):
        self._execute(STASH_OP_PUT, table, key=key, value=value)

    def get(self, table, key, default=None):
        try:
            return self._execute(STASH_OP_GET, table, key=key)
        except StashKeyNotFoundError:
            return default

    def delete(self, table, key):
        return self._execute(STASH_OP_DELETE, table, key=key)

    def keys(self, table, pattern=None):
        return self._execute(STASH_OP_KEYS, table, pattern=pattern)

    def clear(self, table):
        self._execute(STASH_OP_CLEAR, table)

    def info(self, table):
        return self._execute(STASH_OP_INFO, table)

    def ensure(self, table):
        self._execute(STASH_OP_ENSURE, table)

    def exists(self, table, key=None):
        return self._execute(STASH_OP_EXISTS, table, key=key)

    def delete_table(self, table):
        self._execute(STASH_OP_DELETE_TABLE, table)

    def tables(self):
        return self._execute(STASH_OP_TABLES, "")

    def table(self, name):
        return StashTable(self, name)

    def close(self):
        with self._lock:
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()


def _result(response, table, key):
    """The operation's result, or its error as gunicorn's exception."""
    kind = response.get("type")
    if kind == "response":
        return response.get("result")
    if kind != "error":
        raise StashError(f"Unexpected response type: {kind}")
    error = response.get("error") or {}
    error_type = error.get("error_type", "StashError")
    if error_type == "StashTableNotFoundError":
        raise StashTableNotFoundError(table)
    if error_type == "StashKeyNotFoundError":
        raise StashKeyNotFoundError(table, key)
    raise StashError(error.get("message", "Unknown error"))


class StashTable:
    """A dict-like view of one table."""

    def __init__(self, client, name):
        self._client = client
        self._name = name

    @property
    def name(self):
        return self._name

    def __getitem__(self, key):
        try:
            return self._client._execute(STASH_OP_GET, self._name, key=key)
        except StashKeyNotFoundError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        self._client.put(self._name, key, value)

    def __delitem__(self, key):
        if not self._client.delete(self._name, key):
            raise KeyError(key)

    def __contains__(self, key):
        return self._client.exists(self._name, key)

    def __iter__(self):
        return iter(self._client.keys(self._name))

    def __len__(self):
        try:
            return self._client.info(self._name).get("size", 0)
        except StashTableNotFoundError:
            return 0

    def get(self, key, default=None):
        return self._client.get(self._name, key, default)

    def keys(self, pattern=None):
        return self._client.keys(self._name, pattern=pattern)

    def clear(self):
        self._client.clear(self._name)

    def items(self):
        for key in self._client.keys(self._name):
            yield key, self._client.get(self._name, key)

    def values(self):
        for key in self._client.keys(self._name):
            yield self._client.get(self._name, key)


# ---- the module-level API: one client per thread
_thread_local = threading.local()
_stash_socket_path = None


def set_stash_socket_path(path):
    global _stash_socket_path
    _stash_socket_path = path


def get_stash_socket_path():
    if _stash_socket_path is not None:
        return _stash_socket_path
    path = os.environ.get("GUNICORN_DIRTY_SOCKET")
    if path:
        return path
    raise StashError(
        "Stash socket path not configured. Make sure dirty_workers > 0 and dirty_apps are configured."
    )


def _get_client():
    client = getattr(_thread_local, "stash_client", None)
    if client is None:
        client = StashClient(get_stash_socket_path())
        _thread_local.stash_client = client
    return client


def put(table, key, value):
    _get_client().put(table, key, value)


def get(table, key, default=None):
    return _get_client().get(table, key, default)


def delete(table, key):
    return _get_client().delete(table, key)


def keys(table, pattern=None):
    return _get_client().keys(table, pattern)


def clear(table):
    _get_client().clear(table)


def info(table):
    return _get_client().info(table)


def ensure(table):
    _get_client().ensure(table)


def exists(table, key=None):
    return _get_client().exists(table, key)


def delete_table(table):
    _get_client().delete_table(table)


def tables():
    return _get_client().tables()


def table(name):
    return _get_client().table(name)
