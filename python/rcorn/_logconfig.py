"""Python logging for rcorn's lines, when ``logconfig``, ``logconfig_dict``
or ``logconfig_json`` is set.

rcorn's error lines then go to the ``gunicorn.error`` logger and its access
lines to ``gunicorn.access`` (at INFO), as gunicorn's own are, so the
operator's handlers and formatters decide where they end up and how they
look. Before the operator's configuration is applied, each of the two
loggers gets a handler that writes to rcorn's own destinations
(``--error-logfile``, ``--access-logfile``, ``--log-syslog``), just where
gunicorn puts its own handlers: a configuration that names a logger
replaces that handler, one that leaves the logger alone keeps it.

Every failure to apply a configuration is a :class:`LogConfigError` whose
message is one line naming the setting and its file or value.
"""

import copy
import json
import logging
import logging.config
import os

from rcorn import _rcorn

ERROR_LOGGER = "gunicorn.error"
ACCESS_LOGGER = "gunicorn.access"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# What gunicorn configures before merging the operator's dictionary onto it
# (its ``glogging.CONFIG_DEFAULTS``): the root logger and both gunicorn
# loggers at INFO, access lines on stdout, error lines on stderr, one
# plain formatter. The merge is gunicorn's too: top-level keys of the
# operator's dictionary replace these whole.
_GENERIC_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
_DICT_DEFAULTS = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        ERROR_LOGGER: {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": True,
            "qualname": ERROR_LOGGER,
        },
        ACCESS_LOGGER: {
            "level": "INFO",
            "handlers": ["console"],
            "propagate": True,
            "qualname": ACCESS_LOGGER,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
    },
    "formatters": {
        "generic": {
            "format": _GENERIC_FORMAT,
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        }
    },
}


class LogConfigError(Exception):
    """A logging configuration that cannot be applied; the message is one line."""


class RcornSinkHandler(logging.Handler):
    """Writes records to rcorn's own error-log or access-log destinations."""

    def __init__(self, access):
        super().__init__()
        self.access = access
        # The message only: rcorn adds the date, pid and level of its format.
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        try:
            text = self.format(record)
            if self.access:
                _rcorn._sink_access_line(text)
            else:
                _rcorn._sink_error_line(record.levelno, text)
        except Exception:
            self.handleError(record)


def _one_line(exc):
    """An exception and what caused it, on one line; a cause whose message
    its consequence already quotes is not repeated."""
    parts = []
    seen = exc
    while seen is not None and len(parts) < 4:
        text = str(seen).strip()
        if not any(text in part for part in parts):
            if not text:
                text = type(seen).__name__
            elif not isinstance(seen, (ValueError, TypeError, RuntimeError, OSError)):
                text = f"{type(seen).__name__}: {text}"
            parts.append(text)
        if seen.__cause__ is not None:
            seen = seen.__cause__
        elif seen.__suppress_context__:
            seen = None
        else:
            seen = seen.__context__
    joined = ": ".join(parts)
    return " ".join(line.strip() for line in joined.splitlines() if line.strip())


def _merged(user, problem):
    """gunicorn's defaults with the operator's top-level keys put over them."""
    if not isinstance(user, dict):
        raise LogConfigError(problem(type(user).__name__))
    config = copy.deepcopy(_DICT_DEFAULTS)
    config.update(user)
    return config


def _apply_dict(config, setting, shown):
    try:
        logging.config.dictConfig(config)
    except Exception as exc:
        raise LogConfigError(
            f"{setting}: logging.config.dictConfig refused {shown}: {_one_line(exc)}"
        ) from None


def _from_dict(user):
    config = _merged(user, lambda kind: f"logconfig_dict: expected a dictionary, not {kind}")
    _apply_dict(config, "logconfig_dict", "the dictionary")


def _from_json(path):
    shown = f"'{path}'"
    try:
        with open(path, encoding="utf-8") as f:
            user = json.load(f)
    except FileNotFoundError:
        raise LogConfigError(f"logconfig_json: log config file {shown} not found") from None
    except OSError as exc:
        raise LogConfigError(
            f"logconfig_json: cannot read {shown}: {exc.strerror or exc}"
        ) from None
    except ValueError as exc:
        raise LogConfigError(f"logconfig_json: {shown} is not valid JSON: {exc}") from None
    config = _merged(
        user, lambda kind: f"logconfig_json: {shown} holds a JSON {kind}, not an object"
    )
    _apply_dict(config, "logconfig_json", shown)


def _from_file(path):
    shown = f"'{path}'"
    if not os.path.exists(path):
        raise LogConfigError(f"logconfig: log config file {shown} not found")
    # gunicorn hands fileConfig its dictionary defaults too, plus the file's
    # own path and directory, for %(here)s and %(__file__)s in the file.
    defaults = {key: str(value) for key, value in _DICT_DEFAULTS.items()}
    defaults["__file__"] = path
    defaults["here"] = os.path.dirname(path)
    try:
        logging.config.fileConfig(path, defaults=defaults, disable_existing_loggers=False)
    except Exception as exc:
        raise LogConfigError(
            f"logconfig: cannot configure logging from {shown}: {_one_line(exc)}"
        ) from None


def setup(loglevel, own_access, kind, source):
    """Applies the operator's configuration.

    ``kind`` is ``"dict"`` (``source`` the dictionary), ``"json"`` or
    ``"file"`` (``source`` the path). ``own_access`` says whether rcorn has
    an access-log destination of its own (a file, stdout or syslog).
    """
    error_log = logging.getLogger(ERROR_LOGGER)
    access_log = logging.getLogger(ACCESS_LOGGER)
    for logger in (error_log, access_log):
        logger.propagate = False
        for handler in [h for h in logger.handlers if isinstance(h, RcornSinkHandler)]:
            logger.removeHandler(handler)
    error_log.setLevel(_LEVELS.get(loglevel.lower(), logging.INFO))
    access_log.setLevel(logging.INFO)
    error_log.addHandler(RcornSinkHandler(access=False))
    if own_access:
        access_log.addHandler(RcornSinkHandler(access=True))
    if kind == "dict":
        _from_dict(source)
    elif kind == "json":
        _from_json(source)
    else:
        _from_file(source)
    return error_log.log, access_log.info


def reopen_files():
    """USR1: every file handler of every logger reopens its file, so a
    rotated log is let go (gunicorn does the same)."""
    loggers = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                continue
            handler.acquire()
            try:
                if handler.stream is not None:
                    handler.stream.close()
                    handler.stream = handler._open()
            finally:
                handler.release()
