"""The gevent worker's greenlets: one per connection, on gevent's hub.

The Rust driver (``GeventDriver``) owns the listeners, the heartbeat and
the worker's lifecycle; each connection (``GreenConn``) is served to its
end by ``conn.serve()`` in a greenlet of its own, where every HTTP/1 rule
is Rust's. Whenever Rust would block (a request head, body bytes, a full
socket) it calls ``wait`` below, which parks the greenlet on the hub so the
others run.
"""

import gevent
from gevent import get_hub, getcurrent
from gevent.exceptions import InvalidSwitchError
from gevent.hub import Waiter

# How long the exiting worker lets greenlets still serving unwind.
KILL_TIMEOUT = 1.0


def patch():
    """Monkey-patches the standard library, as gunicorn's gevent worker
    does before it loads the application, and re-initialises the hub in
    this forked process."""
    from gevent import monkey

    monkey.noisy = False
    monkey.patch_all(subprocess=True)
    from gevent import hub

    hub.reinit()


class _Retire(Exception):
    """Thrown into a greenlet waiting for its connection's next request:
    the worker drains, so the connection is read once and retired."""


# The io watchers of the greenlets waiting for a next request.
_idle = set()

# Each greenlet's io watchers, by (fd, write), made at its first wait and
# reused for all the others: a connection waits about once a request. A
# connection's greenlet closes its own in `run.serve` once its socket is
# closed and before it yields, so a descriptor number reused by a later
# connection never meets a stale watcher.
_watchers = {}


def wait(fd, write, idle, timeout):
    """Parks the calling greenlet until ``fd`` is ready (``True``), or
    ``timeout`` seconds pass (``False``; ``None``: no limit). An ``idle``
    wait (for a next request) also ends, as ready, when the worker drains.
    """
    hub = get_hub()
    mine = _watchers.get(getcurrent())
    if mine is None:
        mine = _watchers[getcurrent()] = {}
    watcher = mine.get((fd, write))
    if watcher is None:
        watcher = mine[(fd, write)] = hub.loop.io(fd, 2 if write else 1)
    # hub.wait, with a plain timer for the deadline rather than a
    # gevent.Timeout (an exception object and a throw on every timeout).
    waiter = Waiter(hub)
    watcher.start(waiter.switch, True)
    timer = None
    if timeout is not None:
        timer = hub.loop.timer(max(timeout, 0.0))
        timer.start(waiter.switch, False)
    if idle:
        _idle.add(watcher)
    try:
        ready = waiter.get()
    except _Retire:
        return True
    finally:
        watcher.stop()
        if timer is not None:
            timer.close()
        if idle:
            _idle.discard(watcher)
    if ready is not True and ready is not False:
        raise InvalidSwitchError(f"Invalid switch into a wait on fd {fd}: {ready!r}")
    return ready


def _forget_watchers(greenlet):
    for watcher in _watchers.pop(greenlet, {}).values():
        watcher.close()


def _retire_idle(hub):
    for watcher in list(_idle):
        hub.cancel_wait(watcher, _Retire())


def run(driver):
    """Serves until the worker's lifecycle says exit; the exit code."""
    hub = get_hub()
    serving = set()

    def serve(conn):
        try:
            conn.serve()
        finally:
            serving.discard(gevent.getcurrent())
            _forget_watchers(gevent.getcurrent())

    fd = driver.fileno()
    try:
        driver.start()
        while True:
            for conn in driver.poll():
                serving.add(gevent.spawn(serve, conn))
            if driver.take_retire():
                _retire_idle(hub)
            code = driver.exit_code()
            if code is not None:
                return code
            wait(fd, False, False, driver.timeout())
    except SystemExit as stop:
        # INT/QUIT/ABRT: the worker's signal handler ended the wait.
        code = driver.exit_code()
        if code is None:
            code = stop.code if isinstance(stop.code, int) else 0
        return code
    finally:
        # graceful_timeout passed, or a quick stop: what still runs is cut
        # off (its connection closes), as gunicorn's worker kills them.
        if serving:
            driver.log("debug", f"closing {len(serving)} connections still served")
            gevent.killall(list(serving), timeout=KILL_TIMEOUT)

