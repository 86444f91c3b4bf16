#!/usr/bin/env bash
# Interoperability check of `pitwall convert` against pyarrow and pandas: a recording of two
# simulated sessions (the convert crate's sim_recording example: the game simulator through the
# bridge's frame mapping) is converted to Parquet and CSV by the real binary; Python then decodes
# the recording itself (gzip + _DecodeVarint32 + TelemetryFrame.FromString, stubs generated from
# proto/) and checks that pyarrow reads the Parquet file with the row count, every column the
# proto implies with its expected Arrow type, and every value equal to the frames', and that
# pandas reads the CSV with the same values. Exits non-zero on any disagreement; the last line
# is `convert pyarrow: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0' pandas pyarrow

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-convert-pyarrow.XXXXXX")
trap 'remove_work "$work"' EXIT

stubs=$work/stubs
mkdir -p "$stubs"
.venv/bin/python -m grpc_tools.protoc -I ./proto --python_out="$stubs" proto/telemetry/v1/telemetry.proto
touch "$stubs/telemetry/__init__.py" "$stubs/telemetry/v1/__init__.py"

# 20 simulated seconds, the session restarted at 12 s: two sessions, ~6700 frames.
build_native
"$target_dir/debug/examples/sim_recording" "$work/run.pb.gz" 20 --restart-at 12 >/dev/null
"$target_dir/debug/pitwall" convert "$work/run.pb.gz" "$work/run.parquet"
"$target_dir/debug/pitwall" convert "$work/run.pb.gz" "$work/run.csv"

# Not exec: the trap must still remove the work directory.
.venv/bin/python "$root/scripts/interop/convert_pyarrow.py" "$stubs" "$work/run.pb.gz" "$work/run.parquet" "$work/run.csv"
