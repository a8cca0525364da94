"""The logging configuration settings against gunicorn's (from PyPI, in the
test environment): the same configuration, the same request, the same
access lines on stdout — as many, through the same loggers — and the same
use or neglect of --access-logfile."""

import json
import subprocess
import sys

import httpx
import pytest

from conftest import APPS, RCORN, end_process, free_port, wait_for

ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s'


def merged_json(tmp_path):
    """Only a formatter: gunicorn's default handlers, merged, use it."""
    path = tmp_path / "logging.json"
    path.write_text(json.dumps({"formatters": {"generic": {"format": "%(name)s|%(levelname)s|%(message)s"}}}))
    return ["--log-config-json", str(path)]


def access_only_ini(tmp_path):
    """Names gunicorn.access only; gunicorn.error is left as it was."""
    path = tmp_path / "logging.ini"
    path.write_text("""\
[loggers]
keys=root,access

[handlers]
keys=out

[formatters]
keys=plain

[logger_root]
level=WARNING
handlers=

[logger_access]
level=INFO
handlers=out
propagate=0
qualname=gunicorn.access

[handler_out]
class=StreamHandler
formatter=plain
args=(sys.stdout,)

[formatter_plain]
format=INI %(name)s %(levelname)s %(message)s
""")
    return ["--log-config", str(path)]


def logging_dict_conf(tmp_path):
    """A dictionary whose `loggers` replaces gunicorn's whole."""
    path = tmp_path / "conf.py"
    path.write_text("""\
logconfig_dict = {
    "formatters": {"generic": {"format": "DICT %(name)s %(message)s"}},
    "loggers": {"gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False}},
}
""")
    return ["-c", str(path)]


def run_and_request(command, config_args, tmp_path, name, path):
    """Starts a server, sends one request, stops it; returns its stdout
    lines holding `path` and the content of its --access-logfile."""
    port = free_port()
    out = tmp_path / f"{name}.out"
    access = tmp_path / f"{name}-access.log"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(
            [*command, "-b", f"127.0.0.1:{port}", "--access-logformat", ACCESS_FORMAT,
             "--access-logfile", str(access), *config_args, "basic:app"],
            cwd=APPS, stdout=stdout, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            def answered():
                try:
                    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False
            wait_for(answered, 20, f"{name} to serve")
            wait_for(lambda: path in out.read_text(), 10, f"{name}'s access line on stdout")
        finally:
            end_process(proc)
    lines = [line for line in out.read_text().splitlines() if path in line]
    return lines, access.read_text() if access.exists() else None


@pytest.mark.parametrize("config", [merged_json, access_only_ini, logging_dict_conf])
def test_access_lines_match_gunicorns_under_the_same_configuration(config, tmp_path):
    if subprocess.run([sys.executable, "-c", "import gunicorn"], capture_output=True).returncode != 0:
        pytest.fail("gunicorn is not installed (tests/requirements.txt lists it)")
    args = config(tmp_path)
    path = f"/hello?{config.__name__}"
    theirs = run_and_request([sys.executable, "-m", "gunicorn"], args, tmp_path, "gunicorn", path)
    ours = run_and_request([RCORN], args, tmp_path, "rcorn", path)
    assert theirs[0], theirs
    assert ours == theirs
