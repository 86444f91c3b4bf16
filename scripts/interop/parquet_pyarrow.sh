#!/usr/bin/env bash
# Interoperability check of the ingest server's Parquet sink against pyarrow and pandas: a real
# server (the ingest test-server binary, with a Parquet sink) receives frames that Python builds
# and streams over gRPC with stubs generated from our proto; after a graceful stop, pyarrow opens
# the dataset as hive partitions and pandas reads it. Python checks row counts, that every proto
# field has its columns with the documented types, units and null conventions, that every value
# equals what it sent, that the session metadata is in the files' key-value metadata, and that
# the catalogue (SQLite) lists the sessions. Runnable from any directory; exits non-zero on any
# disagreement; the last line is `parquet pyarrow: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0' 'pyarrow==26.0.1' 'pandas==3.1.1'

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-parquet-pyarrow.XXXXXX")
server_pid=
cleanup() {
    stop_jobs "$server_pid"
    remove_work "$work"
}
trap cleanup EXIT

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
server=$target_dir/debug/examples/pitwall-ingest-test-server

data=$work/data
mkdir -p "$data"
mkfifo "$work/out"
"$server" --data "$data" --listen 127.0.0.1:0 --parquet parquet --parquet-flush-ms 200 >"$work/out" &
server_pid=$!
exec 3<"$work/out"
read -r line <&3
addr=${line#listening on }
echo "server listening on $addr"

.venv/bin/python "$root/scripts/interop/parquet_pyarrow.py" send "$stubs" "$addr" "$work/sent.json"

# Graceful stop: the sink flushes and finishes its part files.
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
cat <&3 >/dev/null || true

.venv/bin/python "$root/scripts/interop/parquet_pyarrow.py" check "$stubs" "$data/sinks/parquet" "$work/sent.json"
