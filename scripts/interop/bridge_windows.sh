#!/usr/bin/env bash
# The Windows bridge, built and run: `pitwall.exe` cross-built for x86_64-pc-windows-gnu and run
# under Wine twice — `pitwall.exe sim game` creates the game's named mappings Local\acpmf_*
# and writes them at 333 Hz, `pitwall.exe bridge --source shm` (another Wine process) reads them
# through the Windows mapping API and streams to `pitwall serve`, a Linux process on loopback.
# Checks: the bridge ends with every frame acked; the server's Parquet dataset holds every
# (session, seq) exactly once, seq 0..N-1 without gaps; the bridge's recording holds the same N
# frames. Installs what is missing (scripts/windows/setup, the venv's pyarrow). Runnable from any
# directory; honours CARGO_TARGET_DIR and PITWALL_WINEPREFIX. The last line is
# `bridge windows: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"
target=x86_64-pc-windows-gnu
scripts/windows/setup
scripts/venv 'pyarrow'

wine_run=$root/scripts/windows/wine-run

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-bridge-windows.XXXXXX")
server_pid=
game_pid=
cleanup() {
    for pid in $game_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() {
    echo "bridge windows: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# --- build: the Windows pitwall.exe, and the Linux one for the server ------------------------
cargo build -q --locked --target "$target" -p pitwall
build_native
exe=$target_dir/$target/debug/pitwall.exe
linux=$target_dir/debug/pitwall

# --- the Linux ingest server -------------------------------------------------------------------
"$linux" serve --listen 127.0.0.1:0 --data "$work/server" 2>"$work/server.err" &
server_pid=$!
addr=
for _ in $(seq 1 300); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/server.err" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.1
done
if [ -z "$addr" ]; then
    fail "pitwall serve did not start"
    sed 's/^/    /' "$work/server.err"
    finish
fi
pass "pitwall serve (Linux) listening on $addr"

# --- the simulated game under Wine, writing the named mappings ---------------------------------
"$wine_run" "$exe" sim game --duration 40 --status-every 100 >"$work/game.out" 2>"$work/game.err" &
game_pid=$!
for _ in $(seq 1 600); do
    grep -q "named mappings" "$work/game.err" 2>/dev/null && break
    kill -0 "$game_pid" 2>/dev/null || break
    sleep 0.1
done
if grep -q "named mappings" "$work/game.err"; then
    pass "pitwall.exe sim game writes Local\\acpmf_* under Wine"
else
    fail "pitwall.exe sim game did not start"
    sed 's/^/    /' "$work/game.err"
    finish
fi

# --- the Windows bridge under Wine: shared memory -> gRPC -> the Linux server ------------------
if timeout 300 "$wine_run" "$exe" bridge --source shm --server "http://$addr" --record "$work/win.pb.gz" \
    --duration 6 --json >"$work/bridge.json" 2>"$work/bridge.err"; then
    pass "pitwall.exe bridge --source shm ran under Wine and stopped cleanly"
else
    fail "pitwall.exe bridge failed"
    sed 's/^/    /' "$work/bridge.err" | tail -20
fi
kill "$game_pid" 2>/dev/null || true
wait "$game_pid" 2>/dev/null || true
game_pid=

# Graceful stop: the server flushes its Parquet sink before it exits.
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=

# --- every frame arrived, exactly once ---------------------------------------------------------
check=$("$root/.venv/bin/python" - "$work/bridge.json" "$work/server/sinks/parquet" "$work/win.pb.gz" <<'PY'
import gzip, json, sys
from collections import Counter

import pyarrow.dataset as ds

status_path, dataset, recording = sys.argv[1:4]
ok = bad = 0
def check(cond, what):
    global ok, bad
    if cond:
        ok += 1
        print(f"ok   - {what}")
    else:
        bad += 1
        print(f"FAIL - {what}")

lines = [l for l in open(status_path) if l.strip()]
final = json.loads(lines[-1]) if lines else {}
frames = final.get("frames", 0)
check(frames > 300, f"the bridge sampled {frames} physics steps from the mappings (> 300)")
check(final.get("frames_acked") == frames, f"every frame acked ({final.get('frames_acked')} of {frames})")
check(final.get("backlog_frames") == 0, f"nothing left unacked (backlog {final.get('backlog_frames')})")
print(f"     rate {final.get('rate_hz', 0):.0f} Hz, {final.get('missed_steps')} missed steps, "
      f"{final.get('sessions')} session(s)")

table = ds.dataset(dataset, format="parquet", partitioning="hive").to_table(columns=["session_id", "seq"])
keys = Counter(zip(table.column("session_id").to_pylist(), table.column("seq").to_pylist()))
check(table.num_rows == frames, f"the server's Parquet dataset holds {table.num_rows} rows for {frames} frames")
check(all(n == 1 for n in keys.values()), "each (session, seq) stored once")
per_session = Counter(s for s, _ in keys)
gapless = all(sorted(q for s2, q in keys if s2 == s) == list(range(n)) for s, n in per_session.items())
check(gapless, f"seq 0..N-1 without gaps in each of {len(per_session)} session(s)")

# The recording: gzip of varint-length-delimited frames; count them.
data = gzip.open(recording, "rb").read()
pos = count = 0
while pos < len(data):
    size = shift = 0
    while True:
        b = data[pos]; pos += 1
        size |= (b & 0x7F) << shift; shift += 7
        if b < 0x80:
            break
    pos += size; count += 1
check(count == frames, f"the bridge's recording holds {count} frames")
print(f"{ok} {bad}")
PY
) || true
echo "$check" | sed '$d'
read -r ok bad <<<"$(echo "$check" | tail -n 1)"
if [[ "$ok" =~ ^[0-9]+$ && "$bad" =~ ^[0-9]+$ ]]; then
    passed=$((passed + ok))
    failed=$((failed + bad))
else
    fail "the checks did not run"
    sed 's/^/    /' "$work/bridge.err" | tail -10
fi
finish
