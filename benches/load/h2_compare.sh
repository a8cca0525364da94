#!/usr/bin/env bash
# HTTP/2 requests per second, one worker, the hello app, cleartext h2 by
# prior knowledge: rcorn's gthread worker against granian (--http 2) and
# gunicorn's gthread worker (h2c). The server runs pinned to core 0,
# h2load to core 1: 64 clients, 10 streams each, for DURATION seconds.
#
# Usage: bash benches/load/h2_compare.sh [DURATION]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/apps"
duration=${1:-10}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
h2c=(--http-protocols h2,h1 --http2-cleartext prior-knowledge)

run() {
    local name=$1; shift
    taskset -c 0 "$@" >/tmp/h2_compare_"$name".log 2>&1 &
    local pid=$!
    local deadline=$((SECONDS + 30))
    until curl -s --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$port/"; do
        if ((SECONDS > deadline)) || ! kill -0 "$pid" 2>/dev/null; then
            echo "$name: did not start (see /tmp/h2_compare_$name.log)"; kill "$pid" 2>/dev/null || true
            return
        fi
        sleep 0.2
    done
    local out
    out=$(taskset -c 1 h2load -c 64 -m 10 -D "$duration" "http://127.0.0.1:$port/")
    printf '%-18s %s | %s\n' "$name" \
        "$(grep -o 'finished in .*req/s' <<<"$out" | sed 's/.*, \(.*req\/s\)/\1/')" \
        "$(grep -o 'requests: .*' <<<"$out")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

run rcorn-gthread rcorn -w 1 -k gthread --threads 4 "${h2c[@]}" -b "127.0.0.1:$port" hello:app
run granian granian --interface wsgi --http 2 --workers 1 --host 127.0.0.1 --port "$port" hello:app
run gunicorn-gthread gunicorn -w 1 -k gthread --threads 4 "${h2c[@]}" -b "127.0.0.1:$port" hello:app
