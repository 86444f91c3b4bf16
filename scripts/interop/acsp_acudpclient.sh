#!/usr/bin/env bash
# Interoperability check of pitwall's ACSP codec against acudpclient 1.1.0 (PyPI), a real,
# independent Python implementation, over UDP on loopback, in both directions:
#   events   : pitwall's encoder  -> acudpclient's decoder
#   commands : acudpclient's encoder (and struct.pack) -> pitwall's decoder
# plus the byte-exact command vectors of docs/acsp.md. Runnable from any directory; exits
# non-zero on any disagreement; the last line is `acudpclient interop: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

# The project venv with acudpclient. scripts/venv exits early (set -e + pipefail on its
# `pip show` probe) when a package is not installed yet, so fall back to installing it here.
if ! scripts/venv 'acudpclient==1.1.0' || ! .venv/bin/python -c 'import acudpclient' 2>/dev/null; then
    .venv/bin/python -m pip install --quiet 'acudpclient==1.1.0'
fi

build_native
interop=$target_dir/debug/examples/interop
[ -x "$interop" ] || { echo "interop binary not found at $interop" >&2; exit 1; }

exec .venv/bin/python "$root/scripts/interop/acsp_acudpclient.py" "$interop"
