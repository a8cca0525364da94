"""``stash``: gunicorn's shared tables between dirty workers.

rcorn's dirty arbiter does not keep stash tables yet: every operation
raises ``StashError`` naming that, so an app finds out at its first use
rather than from wrong data.
"""

from .errors import DirtyError


class StashError(DirtyError):
    """Base exception for stash operations."""


class StashTableNotFoundError(StashError):
    """The table does not exist."""


class StashKeyNotFoundError(StashError):
    """The key does not exist."""


def _unsupported(*args, **kwargs):
    raise StashError("stash tables are not supported by rcorn's dirty arbiter yet")


put = get = delete = keys = clear = info = ensure = delete_table = tables = exists = _unsupported
