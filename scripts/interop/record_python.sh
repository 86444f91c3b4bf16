#!/usr/bin/env bash
# Interoperability check of pitwall's recording format (crates/record) against Python, the way
# the original bridge's users read recordings: Python stubs generated from our proto with the
# seed README's exact protoc command, and its reader loop (gzip.open, _DecodeVarint32,
# TelemetryFrame.FromString). The record crate's write_sample example writes 3200 frames across
# two sessions plus a JSON summary; Python must read every frame with the same bytes and values,
# each gzip member at the offset the Rust index names, and, on copies torn as a crash leaves
# them, stop with EOFError after exactly the frames the Rust reader reports. Runnable from any
# directory; exits non-zero on any disagreement; the last line is
# `record python: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

# Python protobuf and the protoc bundled with grpcio-tools, pinned together (grpcio-tools
# 1.76.0 wants protobuf 6.31+).
scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0'

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-record-python.XXXXXX")
trap 'remove_work "$work"' EXIT

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
"$target_dir/debug/examples/write_sample" "$work" >"$work/summary.json"

# Not exec: the trap must still remove the work directory.
.venv/bin/python "$root/scripts/interop/record_python.py" "$stubs" "$work" "$work/summary.json"
