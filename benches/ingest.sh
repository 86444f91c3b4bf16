#!/usr/bin/env bash
# The ingest benchmark: `pitwall bench ingest` streams simulated frames from K concurrent clients
# into `pitwall serve` (its default sinks, or --config), then the same load into the seed's
# reference server design (benches/reference_ingest_server.py: Python grpc.aio, one ack per
# frame, nothing persisted), measured in the same run. Prints frames/s, ack latency p50/p99,
# server CPU and peak memory for both, and the ratio.
#
# Usage: benches/ingest.sh [STREAMS] [SECONDS] [-- extra `pitwall bench ingest` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
streams=${1:-4}
seconds=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift

scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0'
stubs=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-bench-stubs.XXXXXX")
trap 'rm -rf "$stubs"' EXIT
.venv/bin/python -m grpc_tools.protoc -I ./proto --python_out="$stubs" --grpc_python_out="$stubs" \
    proto/telemetry/v1/telemetry.proto
touch "$stubs/telemetry/__init__.py" "$stubs/telemetry/v1/__init__.py"

cargo build --release --locked -p pitwall
target=${CARGO_TARGET_DIR:-$root/target}
"$target/release/pitwall" bench ingest --streams "$streams" --seconds "$seconds" \
    --baseline-cmd "$root/.venv/bin/python $root/benches/reference_ingest_server.py --port 0 --stubs $stubs" \
    "$@"
