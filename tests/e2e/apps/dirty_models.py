"""Dirty apps for the dirty arbiter tests."""

import os
import time

from rcorn.dirty import DirtyApp


def _stash(client):
    if client == "gunicorn":
        from gunicorn.dirty import stash
    else:
        from rcorn.dirty import stash
    return stash


class Model(DirtyApp):
    stashes = ["declared"]

    def init(self):
        self.loaded_by = os.getpid()
        marker = os.environ.get("DIRTY_INIT_LOG")
        if marker:
            with open(marker, "a") as f:
                f.write(f"init {self.loaded_by}\n")

    def predict(self, x, scale=2):
        return {"y": x * scale, "pid": self.loaded_by}

    def tokens(self, n):
        for i in range(n):
            yield f"t{i}"

    async def atokens(self, n):
        for i in range(n):
            yield i

    def remember(self, client):
        """Writes to the stash from a dirty worker; reads what the web wrote."""
        st = _stash(client)
        st.put("models", "from-dirty", self.loaded_by)
        return st.get("shared", "from-web")

    async def aremember(self, client):
        st = _stash(client)
        st.put("models", "from-dirty", -self.loaded_by)
        return [st.get("shared", "from-web"), "declared" in st.tables()]

    def boom(self):
        raise RuntimeError("kaboom")

    def crash(self):
        os._exit(7)

    def sleep(self, seconds):
        time.sleep(seconds)
        return "woke"

    def close(self):
        marker = os.environ.get("DIRTY_INIT_LOG")
        if marker:
            with open(marker, "a") as f:
                f.write(f"close {self.loaded_by}\n")
