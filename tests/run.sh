#!/usr/bin/env bash
# Runs every test of rcorn from a fresh machine: installs what the tests
# need (Debian and Python packages), builds and installs rcorn into the
# current Python environment, then runs the Rust checks and tests, the
# simulator, the wheel in a fresh virtualenv of every supported CPython,
# and the end-to-end suite against the installed `rcorn`.
#
#   bash tests/run.sh            # everything
#   RCORN_SKIP_INSTALL=1 ...     # reuse what is installed (quicker reruns)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

if [ -z "${RCORN_SKIP_INSTALL:-}" ]; then
    step "system packages"
    # curl is a client of the end-to-end tests; strace shows they use
    # sendfile; ss (iproute2) shows a listener's backlog; wrk drives the
    # soak test; nginx is the reverse proxy of the smuggling test and of
    # the nginx guide's; openssl makes test certificates; the deployment
    # guides' tests pass sockets with systemd-socket-activate (systemd),
    # reload with /bin/kill (procps) and run rcorn as PID 1 with unshare
    # (util-linux); the HTTP/2 tests load the server with h2load
    # (nghttp2-client).
    if ! command -v curl >/dev/null || ! command -v strace >/dev/null \
        || ! command -v ss >/dev/null || ! command -v wrk >/dev/null \
        || ! command -v nginx >/dev/null || ! command -v openssl >/dev/null \
        || ! command -v systemd-socket-activate >/dev/null \
        || ! [ -x /bin/kill ] || ! command -v unshare >/dev/null \
        || ! command -v h2load >/dev/null; then
        apt-get update -qq && apt-get install -y -qq curl strace iproute2 wrk nginx-light \
            openssl systemd procps util-linux nghttp2-client >/dev/null
    fi
    step "python packages"
    python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt
    step "httpwg (HTTP/2 conformance cases)"
    # Built once into cargo's bin directory (about 2 minutes of CPU) and
    # kept there: a rerun finds it. --locked: its own lock file, since the
    # newest releases of its dependencies no longer build together. It
    # runs on io_uring, so the machine must allow io_uring_setup.
    if ! command -v httpwg >/dev/null && ! [ -x "$HOME/.cargo/bin/httpwg" ]; then
        cargo install --locked --quiet httpwg-cli@0.2.5
    fi
    step "build the rcorn wheel and install it"
    # One release build: the wheel the wheel tests install into every
    # supported CPython is the same file installed here.
    rm -rf target/wheel
    python3 -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps -w target/wheel .
    python3 -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheel/rcorn-*.whl
fi

step "cargo fmt"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The wheel's build: the stable-ABI code paths only compile with this.
cargo clippy -p rcorn-python --all-targets --features abi3 -- -D warnings
step "cargo test"
# The Python bridge's unit tests link against libpython.
LD_LIBRARY_PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    cargo test --workspace
step "loom models: heartbeat slot, gthread hand-off"
# Its own target dir: `--cfg loom` would otherwise rebuild the main one.
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
    cargo test -p sim --test loom_heartbeat --test loom_handoff
step "the wheel on every supported CPython"
# Each of CPython 3.10-3.13 gets a fresh virtualenv, the wheel and no Rust
# on PATH, then serves a request; a version missing from the machine is
# skipped and named in the summary (-rs). With RCORN_SKIP_INSTALL=1 this
# is the wheel of the last install; if there is none the test builds one.
RCORN_WHEEL="$(ls target/wheel/rcorn-*.whl 2>/dev/null | head -n 1 || true)" \
    python3 -m pytest tests/wheel -q -rs -p no:cacheprovider
step "end-to-end tests"
python3 -m pytest tests/e2e -q -p no:cacheprovider -m "not load"
step "load, restart and hostile-client tests"
python3 -m pytest tests/e2e -q -p no:cacheprovider -m load
