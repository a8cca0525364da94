"""``DirtyApp``, the base class of an app the dirty workers load.

A dirty worker makes one instance of each app it serves, calls ``init()``
once, then ``__call__(action, *args, **kwargs)`` for every call (which
runs the method named by ``action``), and ``close()`` when it exits. A
class attribute ``workers = N`` (or ``MODULE:CLASS:N`` in ``dirty_apps``)
limits how many workers load it.
"""

import importlib


class DirtyApp:
    """Base class for dirty applications (gunicorn's interface)."""

    #: How many workers load this app; ``None`` for all.
    workers = None

    def init(self):
        """Load resources; called once in each worker, after the fork."""

    def __call__(self, action, *args, **kwargs):
        method = getattr(self, action, None)
        if method is None or action.startswith("_"):
            raise ValueError(f"Unknown action: {action}")
        return method(*args, **kwargs)

    def close(self):
        """Release resources; called when the worker exits."""


def import_app_class(import_path):
    """The class named by ``module.path:ClassName``."""
    module_path, _, class_name = import_path.rpartition(":")
    module = importlib.import_module(module_path)
    return getattr(module, class_name)
