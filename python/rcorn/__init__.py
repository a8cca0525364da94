"""rcorn: a pre-fork WSGI HTTP server written in Rust, run like gunicorn."""

from rcorn._rcorn import __version__

__all__ = ["__version__"]
