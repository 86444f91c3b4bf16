#!/usr/bin/env bash
# The scale-out topology of docs/jetstream.md, whole, on this machine: scripts/topology starts a
# three-node JetStream cluster (R3 stream), two ingest nodes behind Debian's HAProxy, two sink
# workers into one Parquet dataset and three simulated games with their bridges; halfway it
# SIGKILLs one ingest node and one sink worker (the worker and the node are started again).
# After 20 seconds it stops the cars and checks that every frame each bridge recorded is in the
# dataset exactly once; it exits non-zero otherwise. Runnable from any directory.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

build_native
work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-topology.XXXXXX")
trap 'remove_work "$work"' EXIT
if ! scripts/topology --seconds 20 --kill --cars 3 --dir "$work" --pitwall "$target_dir/debug/pitwall"; then
    echo "topology: the logs:" >&2
    for log in "$work"/logs/*.log; do
        echo "== $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
fi
