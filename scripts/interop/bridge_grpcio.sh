#!/usr/bin/env bash
# Interoperability check of the bridge and the ingest server against Python's grpcio and
# protobuf, with stubs generated from our proto by grpcio-tools (the seed README's command):
# - `pitwall bridge --source sim --no-server --duration 2` writes a recording that Python reads
#   with gzip and a varint loop: seq 0, 1, 2, … without gaps, a 16-byte UUIDv7 session id,
#   SessionMetadata on the first frame only, physics packetIds that account for every step;
# - `pitwall bridge --source replay:…` streams that recording to `pitwall serve`, and Python's
#   grpcio client asks the server (Resume) whether it holds all of it;
# - a Python grpcio client streams its own frames to `pitwall serve` and gets cumulative acks,
#   duplicates are acked without being stored twice, and a gap is refused.
# Runnable from any directory; exits non-zero on any disagreement; the last line is
# `bridge grpcio: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

# Pinned as in record_python.sh (grpcio-tools 1.76.0 wants protobuf 6.31+).
scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0'

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-bridge-grpcio.XXXXXX")
server_pid=
cleanup() {
    stop_jobs "$server_pid"
    remove_work "$work"
}
trap cleanup EXIT

# The seed's command, run where its relative paths hold: a copy of proto/ beside the output.
stubs=$work/stubs
mkdir -p "$stubs"
cp -r proto "$stubs/proto"
(
    cd "$stubs"
    "$root/.venv/bin/python" -m grpc_tools.protoc -I ./proto --python_out=. --grpc_python_out=. \
        proto/telemetry/v1/telemetry.proto
)
touch "$stubs/telemetry/__init__.py" "$stubs/telemetry/v1/__init__.py"

build_native
pitwall=$target_dir/debug/pitwall

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
"$pitwall" serve --listen "$addr" --data "$work/data" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/serve.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "listening on" "$work/serve.log" || { cat "$work/serve.log"; echo "pitwall serve did not start"; exit 1; }

"$pitwall" bridge --source sim --no-server --duration 2 --record "$work/rec.pb.gz" 2>"$work/record.log"
"$pitwall" bridge --source "replay:$work/rec.pb.gz" --speed max --server "http://$addr" \
    --record "$work/replayed.pb.gz" 2>"$work/replay.log" || { cat "$work/replay.log"; exit 1; }

# Not exec: the trap must still stop the server and remove the work directory.
.venv/bin/python "$root/scripts/interop/bridge_grpcio.py" "$stubs" "$addr" "$work/rec.pb.gz" "$work/replayed.pb.gz"
