-- wrk script: every request is a POST with a 10 KB body (wrk adds Content-Length).
wrk.method = "POST"
wrk.body = string.rep("x", 10240)
wrk.headers["Content-Type"] = "application/octet-stream"
