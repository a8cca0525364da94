"""An app that reports what its worker's garbage collector examines.

It is imported in the master with --preload and in the worker without, so
a test can tell which objects a worker inherited frozen.
"""

import gc
import json
import weakref

# Long-lived objects built at import, as an app's modules are.
TABLE = [[i] for i in range(1000)]


class _Node:
    pass


# A garbage cycle left behind at import. The collector is paused so the
# cycle outlives the import; only a collection before the fork clears it.
gc.disable()
_node = _Node()
_node.self = _node
IMPORT_GARBAGE = weakref.ref(_node)
del _node


def app(environ, start_response):
    report = {
        "frozen": gc.get_freeze_count(),
        "table_examined": any(obj is TABLE for obj in gc.get_objects()),
        "import_garbage_alive": IMPORT_GARBAGE() is not None,
    }
    # Paused at import only to keep the cycle until the fork: from the
    # first request on, the worker collects as usual.
    gc.enable()
    body = json.dumps(report).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
