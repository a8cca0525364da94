"""--log-config, logconfig_dict and --log-config-json: Python's logging,
configured by the operator, takes rcorn's error lines (logger
`gunicorn.error`) and access lines (`gunicorn.access`) from the master,
the workers and gthread's application threads; a configuration that cannot
be applied stops the start-up with one line naming the setting."""

import json
import re
import signal

import httpx
import pytest

from conftest import run_to_exit, wait_for

ACCESS_TAIL = re.compile(r'127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
                         r'"GET (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')


def read(path):
    return path.read_text(errors="replace") if path.exists() else ""


def ini_file(tmp_path, log_path):
    """A fileConfig file sending both gunicorn loggers to `log_path` with a
    format no rcorn line has on its own."""
    ini = tmp_path / "logging.ini"
    ini.write_text(f"""\
[loggers]
keys=root,error,access

[handlers]
keys=file

[formatters]
keys=marked

[logger_root]
level=WARNING
handlers=

[logger_error]
level=INFO
handlers=file
propagate=0
qualname=gunicorn.error

[logger_access]
level=INFO
handlers=file
propagate=0
qualname=gunicorn.access

[handler_file]
class=FileHandler
formatter=marked
args=('%(here)s/{log_path.name}', 'a')

[formatter_marked]
format=INI|%(process)d|%(name)s|%(levelname)s|%(message)s
""")
    return ini


def test_file_config_formats_error_and_access_lines_and_reopens_on_usr1(serve, tmp_path):
    log = tmp_path / "through-logging.log"
    server = serve(["basic:app", "--log-config", str(ini_file(tmp_path, log))])
    assert httpx.get(server.url + "/hello", timeout=5).status_code == 200
    assert httpx.get(server.url + "/crash-before", timeout=5).status_code == 500
    text = wait_for(lambda: "/crash-before HTTP/1.1" in read(log) and read(log), what=f"access lines in {log}")
    lines = text.splitlines()
    master = server.pid
    assert f"INI|{master}|gunicorn.error|INFO|Starting rcorn" in text, text
    assert f"INI|{master}|gunicorn.error|INFO|Listening at: {server.url} ({master})" in text, text
    [worker] = server.workers()
    assert f"INI|{worker}|gunicorn.error|INFO|Booting worker with pid: {worker}" in lines, text
    access = [ACCESS_TAIL.search(line).group("path", "status")
              for line in lines if line.startswith(f"INI|{worker}|gunicorn.access|INFO|")]
    # The first is the readiness probe of the test harness.
    assert access == [("/ready", "200"), ("/hello", "200"), ("/crash-before", "500")], text
    # The application's exception: one ERROR record, the exception in it.
    error = text[text.index(f"INI|{worker}|gunicorn.error|ERROR|Error handling request /crash-before"):]
    assert "RuntimeError: boom before the response" in error, text
    # Nothing took rcorn's own way to stderr: the configuration replaced it.
    assert "Starting rcorn" not in server.log() and "GET /hello" not in server.log(), server.log()

    # USR1: the configuration's file handlers let go of a rotated file, in
    # the master and in the worker.
    rotated = tmp_path / "through-logging.log.1"
    log.rename(rotated)
    server.signal(signal.SIGUSR1)
    wait_for(lambda: log.exists(), what="the master to reopen its log file")

    def after_rotation():
        httpx.get(server.url + "/hello?rotated", timeout=5)
        return "/hello?rotated" in read(log)
    wait_for(after_rotation, what=f"an access line in the reopened {log}")
    assert "/hello?rotated" not in read(rotated)


def test_logconfig_dict_sends_access_lines_through_its_formatter(serve, tmp_path):
    access = tmp_path / "access-dict.log"
    conf = tmp_path / "conf.py"
    conf.write_text(f"""\
import logging

class Tagged(logging.Formatter):
    def format(self, record):
        return "DICT<" + record.levelname + "> " + super().format(record)

logconfig_dict = {{
    "root": {{"level": "WARNING", "handlers": []}},
    "formatters": {{"tagged": {{"()": Tagged, "format": "%(name)s %(message)s"}}}},
    "handlers": {{"access_file": {{"class": "logging.FileHandler",
                                  "filename": {str(access)!r}, "formatter": "tagged"}}}},
    "loggers": {{"gunicorn.access": {{"handlers": ["access_file"], "level": "INFO",
                                     "propagate": False}}}},
}}
""")
    # A dictionary takes precedence over a file; this one would not load.
    server = serve(["-c", str(conf), "-k", "gthread", "--threads", "2", "-w", "2",
                    "--log-config", str(tmp_path / "never-read.ini"), "basic:app"], workers=2)
    for n in range(6):
        assert httpx.get(f"{server.url}/hello?n={n}", timeout=5).status_code == 200
    text = wait_for(lambda: read(access).count("/hello?n=") == 6 and read(access),
                    what=f"six access lines in {access}")
    lines = [line for line in text.splitlines() if "/hello?n=" in line]
    assert all(line.startswith("DICT<INFO> gunicorn.access 127.0.0.1 - - [") for line in lines), text
    assert sorted(ACCESS_TAIL.search(line).group("path") for line in lines) == [
        f"/hello?n={n}" for n in range(6)], text
    # gunicorn.error was left alone: it keeps rcorn's own error log
    # (stderr), in rcorn's own format.
    log = server.log()
    assert re.search(r"^\[[-\d: +]+\] \[\d+\] \[INFO\] Starting rcorn", log, re.M), log
    assert "logconfig is ignored: logconfig_dict takes precedence" in log, log
    assert "/hello?n=" not in log, log


def test_log_config_json_is_merged_onto_gunicorns_defaults(serve, tmp_path):
    config = tmp_path / "logging.json"
    # Only the formatter: gunicorn's default handlers (errors to stderr,
    # access lines to stdout) use it.
    config.write_text(json.dumps({
        "formatters": {"generic": {"format": "JSON|%(name)s|%(levelname)s|%(message)s"}},
    }))
    own_access = tmp_path / "own-access.log"
    server = serve(["basic:app", "--log-config-json", str(config),
                    "--access-logfile", str(own_access)])
    assert httpx.get(server.url + "/hello?json", timeout=5).status_code == 200
    log = wait_for(lambda: "/hello?json" in server.log() and server.log(),
                   what="the access line on stdout")
    assert "JSON|gunicorn.error|INFO|Starting rcorn" in log, log
    access = [line for line in log.splitlines() if "/hello?json" in line]
    assert access and all(line.startswith("JSON|gunicorn.access|INFO|127.0.0.1 - - [") for line in access), log
    # The defaults configure gunicorn.access, which replaces the handler
    # --access-logfile gave it, as in gunicorn: the file stays empty.
    assert own_access.exists() and read(own_access) == ""


BAD_INPUTS = {
    "missing-ini": lambda tmp: (["--log-config", str(tmp / "nosuch.ini")], "logconfig",
                                str(tmp / "nosuch.ini")),
    "malformed-ini": lambda tmp: (["--log-config", write(tmp / "bad.ini", "not an ini file\n")],
                                  "logconfig", str(tmp / "bad.ini")),
    "ini-without-sections": lambda tmp: (["--log-config", write(tmp / "half.ini", "[loggers]\nkeys=root\n")],
                                         "logconfig", str(tmp / "half.ini")),
    "rejected-dict": lambda tmp: (["-c", write(tmp / "conf.py", 'logconfig_dict = {"handlers": '
                                              '{"h": {"class": "nosuch.module.Handler"}}}\n')],
                                  "logconfig_dict", "nosuch.module.Handler"),
    "dict-not-a-dict": lambda tmp: (["-c", write(tmp / "conf.py", "import collections\n"
                                                "logconfig_dict = collections.UserDict(version=1)\n")],
                                    "logconfig_dict", "UserDict"),
    "invalid-json": lambda tmp: (["--log-config-json", write(tmp / "bad.json", '{"version": 1,')],
                                 "logconfig_json", str(tmp / "bad.json")),
    "json-not-an-object": lambda tmp: (["--log-config-json", write(tmp / "list.json", "[1, 2]")],
                                       "logconfig_json", str(tmp / "list.json")),
    "missing-json": lambda tmp: (["--log-config-json", str(tmp / "nosuch.json")], "logconfig_json",
                                 str(tmp / "nosuch.json")),
}


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_bad_logging_configuration_stops_start_up_with_one_line(case, tmp_path):
    args, setting, named = BAD_INPUTS[case](tmp_path)
    r = run_to_exit(["-b", "127.0.0.1:0", *args, "basic:app"])
    code, stdout, stderr = r.returncode, r.stdout, r.stderr
    assert code != 0, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"Error: {setting}: "), stderr
    assert named in lines[0], stderr
    assert "Traceback" not in stderr + stdout
