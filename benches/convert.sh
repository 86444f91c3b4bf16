#!/usr/bin/env bash
# The converter benchmark: a recording of SECONDS (default 3600: one hour, ~1.2 M frames at
# 333 Hz) of the game simulator, as the bridge records it, converted to Parquet by
# `pitwall convert` (release build) and by the seed-style Python reader
# (benches/recorder_reader.py: gzip + _DecodeVarint32 + TelemetryFrame.FromString + pandas +
# pyarrow) on the same file, in the same run. Prints, for both: rows/s (wall), CPU seconds,
# rows per CPU-second (what a loaded, shared machine still measures fairly), MB/s of
# compressed input, peak RSS, and the ratios.
#
# Usage: benches/convert.sh [SECONDS] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-3600}
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/pitwall-bench-convert.XXXXXX")}
mkdir -p "$work"

scripts/venv 'protobuf==6.33.6' 'grpcio==1.76.0' 'grpcio-tools==1.76.0' pandas pyarrow
stubs=$work/stubs
mkdir -p "$stubs"
.venv/bin/python -m grpc_tools.protoc -I ./proto --python_out="$stubs" proto/telemetry/v1/telemetry.proto
touch "$stubs/telemetry/__init__.py" "$stubs/telemetry/v1/__init__.py"

cargo build --release -q -p pitwall
cargo build --release -q -p pitwall-convert --example sim_recording
target=${CARGO_TARGET_DIR:-$root/target}
rec=$work/bench.pb.gz
if [ ! -s "$rec" ]; then
    "$target/release/examples/sim_recording" "$rec" "$seconds" >/dev/null
fi
size=$(stat -L -c %s "$rec")

# Runs a command under GNU time; prints "wall cpu rss_kib" and keeps its stdout in $1.out.
measure() {
    local name=$1
    shift
    /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out"
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/$name.time"
}

echo "recording: $rec, $size bytes, $seconds s simulated; machine load: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r rust_wall rust_cpu rust_rss < <(measure rust "$target/release/pitwall" convert "$rec" "$work/rust.parquet")
cat "$work/rust.out"
read -r py_wall py_cpu py_rss < <(measure python .venv/bin/python benches/recorder_reader.py "$stubs" "$rec" "$work/python.parquet")
cat "$work/python.out"

rows=$(sed -n 's/.* with \([0-9]*\) rows$/\1/p' "$work/rust.out")
py_rows=$(sed -n 's/.* with \([0-9]*\) rows$/\1/p' "$work/python.out")
[ "$rows" = "$py_rows" ] || { echo "row counts differ: $rows vs $py_rows" >&2; exit 1; }

python3 - "$rows" "$size" "$rust_wall" "$rust_cpu" "$rust_rss" "$py_wall" "$py_cpu" "$py_rss" \
    "$(stat -c %s "$work/rust.parquet")" "$(stat -c %s "$work/python.parquet")" <<'PY'
import sys
rows, size = int(sys.argv[1]), int(sys.argv[2])
rw, rc, rr, pw, pc, pr = map(float, sys.argv[3:9])
rout, pout = int(sys.argv[9]), int(sys.argv[10])
def line(name, wall, cpu, rss, out, cols):
    print(f"{name:28} {rows / wall:>11,.0f} rows/s  {size / wall / 1e6:>7.1f} MB/s  "
          f"{cpu:>7.2f} s CPU  {rows / cpu:>11,.0f} rows/CPU-s  peak RSS {rss / 1024:>7.0f} MiB  "
          f"out {out / 1e6:.0f} MB, {cols}")
line("pitwall convert (Rust)", rw, rc, rr, rout, "every field + derived (~190 columns)")
line("recorder_reader.py (Python)", pw, pc, pr, pout, "34 columns")
print(f"ratio Rust/Python: {pw / rw:.1f}x rows/s (wall), {pc / rc:.1f}x rows per CPU-second, "
      f"{pr / rr:.1f}x less peak memory")
PY
