#!/usr/bin/env bash
# Load comparison of rcorn against gunicorn, granian and bjoern (see README.md here).
# Usage: bash benches/load/compare.sh [--quick] [--duration S] [--repeats N] [--apps a,b] [--servers x,y]
#        [--rcorn-wheel PATH | --skip-install] [--venv DIR] [--out FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "compare.sh: $python not found" >&2; exit 1; }
command -v taskset >/dev/null || { echo "compare.sh: taskset (util-linux) not found" >&2; exit 1; }
if [ "$(nproc)" -lt 2 ]; then
    echo "compare.sh: needs 2 cores (server on core 0, wrk on core 1); this machine has $(nproc)" >&2
    exit 1
fi
exec "$python" "$here/compare.py" "$@"
