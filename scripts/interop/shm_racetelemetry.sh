#!/usr/bin/env bash
# Interoperability check of pitwall's shared-memory pages against RaceTelemetry 6.11.12.post2
# (PyPI), an independent Python reader whose ctypes structs mirror the official AC doc: pages
# are written into a temporary directory (as a Proton bridge's /dev/shm files), RaceTelemetry
# reads each of the three files, and every field it defines must equal pitwall's decoded JSON
# of the same files (floats as float32, exactly). Runnable from any directory; exits non-zero
# on any disagreement; the last line is `shm racetelemetry: N passed, M failed`.
#
# Usage: scripts/interop/shm_racetelemetry.sh [--source auto|cli|example] [--corrupt PAGE.FIELD]
#   --source cli      pages from `pitwall sim game --shm-dir DIR`, JSON from
#                     `pitwall shm dump --shm-dir DIR --json`;
#   --source example  pages and JSON from the shm crate's write_pages example;
#   --source auto     (default) cli when the pitwall binary has both subcommands, else example.
#   --corrupt P.F     change our JSON's field P.F (e.g. physics.speed_kmh) before comparing:
#                     the check must then fail (a self-test of the comparison).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

source=auto
py_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --source) source=${2:?--source needs auto, cli or example}; shift 2 ;;
        --corrupt) py_args+=(--corrupt "${2:?--corrupt needs PAGE.FIELD}"); shift 2 ;;
        *) echo "usage: $0 [--source auto|cli|example] [--corrupt PAGE.FIELD]" >&2; exit 2 ;;
    esac
done
case "$source" in auto | cli | example) ;; *) echo "--source: auto, cli or example" >&2; exit 2 ;; esac

# The project venv with RaceTelemetry (pure Python; pinned to the version docs/shm.md names).
spec='RaceTelemetry==6.11.12.post2'
if ! scripts/venv "$spec" || ! .venv/bin/python -m pip show RaceTelemetry >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet "$spec"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-shm-racetelemetry.XXXXXX")
trap 'remove_work "$work"' EXIT
pages=$work/pages
mkdir "$pages"

if [ "$source" != example ]; then
    pitwall=$target_dir/debug/pitwall
    if build_native 2>"$work/build.err" \
        && "$pitwall" sim game --help >/dev/null 2>&1 && "$pitwall" shm dump --help >/dev/null 2>&1; then
        source=cli
    elif [ "$source" = cli ]; then
        echo "pitwall sim game / shm dump are not available" >&2
        cat "$work/build.err" >&2
        exit 1
    else
        source=example
    fi
fi

if [ "$source" = cli ]; then
    echo "pages: pitwall sim game, JSON: pitwall shm dump --json"
    # The simulator runs for a second and leaves its last pages in the files; the dump and
    # RaceTelemetry then read the same, still bytes.
    timeout 120 "$pitwall" sim game --shm-dir "$pages" --seed 7 --speed 40 --duration 1 >"$work/sim.out"
    "$pitwall" shm dump --shm-dir "$pages" --json >"$work/pages.json"
else
    echo "pages and JSON: the shm crate's write_pages example"
    build_native
    "$target_dir/debug/examples/write_pages" "$pages" >"$work/pages.json"
fi

# Not exec: the trap must still remove the pages.
.venv/bin/python "$root/scripts/interop/shm_racetelemetry.py" "$pages" "$work/pages.json" "${py_args[@]}"
