#!/usr/bin/env bash
# Interoperability check of pitwall's ACSP codec against acudpclient 1.1.0 (PyPI), a real,
# independent Python implementation, over UDP on loopback, in both directions:
#   events   : pitwall's encoder  -> acudpclient's decoder
#   commands : acudpclient's encoder (and struct.pack) -> pitwall's decoder
# plus the byte-exact vectors of shared/specs/acsp.md §4. Runnable from any directory; exits
# non-zero on any disagreement; the last line is `acudpclient interop: N passed, M failed`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# The project venv with acudpclient. scripts/venv exits early (set -e + pipefail on its
# `pip show` probe) when a package is not installed yet, so fall back to installing it here.
if ! scripts/venv 'acudpclient==1.1.0' || ! .venv/bin/python -c 'import acudpclient' 2>/dev/null; then
    .venv/bin/python -m pip install --quiet 'acudpclient==1.1.0'
fi

cargo build -q -p pitwall-acsp --example interop
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
interop=$target_dir/debug/examples/interop
[ -x "$interop" ] || { echo "interop binary not found at $interop" >&2; exit 1; }

exec .venv/bin/python "$root/scripts/interop/acsp_acudpclient.py" "$interop"
