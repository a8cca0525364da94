"""Dirty apps for the dirty arbiter tests."""

import os
import time

from rcorn.dirty import DirtyApp


class Model(DirtyApp):
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
