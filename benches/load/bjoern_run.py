"""Serve a WSGI app with bjoern, which has no command line of its own.

Usage: python bjoern_run.py MODULE:APP HOST PORT
"""

import importlib
import sys

import bjoern


def main() -> None:
    target, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module_name, _, attr = target.partition(":")
    app = getattr(importlib.import_module(module_name), attr or "app")
    bjoern.run(app, host, port)


if __name__ == "__main__":
    main()
