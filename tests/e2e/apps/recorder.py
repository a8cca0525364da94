"""Records every request the application is handed, one line each, in the
file named by RECORDER_LOG: the smuggling tests compare it with what the
proxy in front saw."""

import os


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    line = f"{environ['REQUEST_METHOD']} {environ.get('RAW_URI') or environ['PATH_INFO']} {len(body)}\n"
    with open(os.environ["RECORDER_LOG"], "a") as f:
        f.write(line)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
