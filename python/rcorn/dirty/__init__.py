"""Dirty Arbiters: a separate pool of processes for long, stateful work
(loading and running models) that HTTP workers call.

The same API as ``gunicorn.dirty``, for apps that run on rcorn alone;
gunicorn's own client works against rcorn's dirty arbiter unchanged, as
both speak gunicorn's protocol over the socket ``GUNICORN_DIRTY_SOCKET``
names.
"""

from . import stash
from .app import DirtyApp
from .client import (
    DirtyClient,
    close_dirty_client,
    close_dirty_client_async,
    get_dirty_client,
    get_dirty_client_async,
    set_dirty_socket_path,
)
from .stash import (
    StashClient,
    StashError,
    StashKeyNotFoundError,
    StashTable,
    StashTableNotFoundError,
)
from .errors import (
    DirtyAppError,
    DirtyAppNotFoundError,
    DirtyConnectionError,
    DirtyError,
    DirtyNoWorkersAvailableError,
    DirtyProtocolError,
    DirtyTimeoutError,
    DirtyWorkerError,
)

__all__ = [
    "DirtyError",
    "DirtyTimeoutError",
    "DirtyConnectionError",
    "DirtyWorkerError",
    "DirtyAppError",
    "DirtyAppNotFoundError",
    "DirtyNoWorkersAvailableError",
    "DirtyProtocolError",
    "DirtyApp",
    "DirtyClient",
    "get_dirty_client",
    "get_dirty_client_async",
    "close_dirty_client",
    "close_dirty_client_async",
    "set_dirty_socket_path",
    "stash",
    "StashClient",
    "StashTable",
    "StashError",
    "StashTableNotFoundError",
    "StashKeyNotFoundError",
]
