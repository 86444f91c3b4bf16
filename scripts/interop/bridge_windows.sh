#!/usr/bin/env bash
# The Windows bridge as a driver gets it: `scripts/dist --only windows` cross-builds
# `pitwall.exe` for x86_64-pc-windows-gnu (the test build's profile: the archive is the
# release's in every other way) and packs the zip, which is unpacked and run under Wine:
# `--version` and `bridge --help`; `bridge --check`, found the archive's bridge.toml beside the
# exe (edited as a driver would: the server's address), first before the game runs (status
# 10), then with it (status 0); `pitwall.exe sim game` creates the game's named mappings
# Local\acpmf_* and writes them at 333 Hz, and `pitwall.exe bridge` (another Wine process, no
# flag but --duration and --json: everything else from bridge.toml) reads them through the
# Windows mapping API and streams to `pitwall serve`, a Linux process on loopback.
# Checks: the bridge ends with every frame acked; the server's Parquet dataset holds every
# (session, seq) exactly once, seq 0..N-1 without gaps; the bridge's recording, in the
# recording_folder of bridge.toml, holds the same N frames. Installs what is missing
# (scripts/windows/setup, the venv's pyarrow). Runnable from any directory; honours
# CARGO_TARGET_DIR, PITWALL_WINEPREFIX and PITWALL_WINDOWS_ZIP (below). The last line is
# `bridge windows: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"
scripts/windows/setup
scripts/venv 'pyarrow'

wine_run=$root/scripts/windows/wine-run

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-bridge-windows.XXXXXX")
server_pid=
game_pid=
cleanup() {
    stop_jobs $game_pid $server_pid
    remove_work "$work"
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

# --- build and pack: the Windows pitwall.exe in its zip, and the Linux one for the server ------
# PITWALL_WINDOWS_ZIP=FILE: a zip scripts/dist made already (a release one, say), with the
# SHA256SUMS beside it, instead of packing the test build.
if [ -n "${PITWALL_WINDOWS_ZIP:-}" ]; then
    mkdir -p "$work/dist"
    cp "$PITWALL_WINDOWS_ZIP" "$(dirname "$PITWALL_WINDOWS_ZIP")/SHA256SUMS" "$work/dist/"
elif ! scripts/dist --profile dev --only windows --out "$work/dist" >"$work/dist.log" 2>&1; then
    fail "scripts/dist --only windows"
    sed 's/^/    /' "$work/dist.log" | tail -20
    finish
fi
build_native
linux=$target_dir/debug/pitwall
zip=$(find "$work/dist" -name 'pitwall-*-x86_64-windows.zip' | head -n 1)
if [ -s "$zip" ] && (cd "$work/dist" && sha256sum --quiet --ignore-missing -c SHA256SUMS); then
    pass "scripts/dist wrote $(basename "$zip"), matching dist/SHA256SUMS"
else
    fail "no Windows zip, or it does not match dist/SHA256SUMS"
    finish
fi
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$work/unpacked"
dir=$work/unpacked/$(basename "$zip" .zip)
exe=$dir/pitwall.exe
missing=
for f in pitwall.exe README.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.txt bridge.toml docs/install.md \
    pitwall-check.cmd pitwall-bridge.cmd SHA256SUMS; do
    [ -s "$dir/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ] && (cd "$dir" && sha256sum --quiet -c SHA256SUMS); then
    pass "the zip unpacks to one folder with the exe, README, licences, bridge.toml and .cmd helpers, matching its SHA256SUMS"
else
    fail "the unpacked zip: missing${missing:- nothing}, or SHA256SUMS does not match"
fi
if grep -Eq "^windows-sys [0-9.]+ " "$dir/THIRD-PARTY-LICENSES.txt"; then
    pass "THIRD-PARTY-LICENSES.txt is the Windows build's (lists windows-sys)"
else
    fail "THIRD-PARTY-LICENSES.txt does not list windows-sys"
fi

# --- the unpacked exe under Wine: who it is, what it reads ---------------------------------------
version_line=$("$wine_run" "$exe" --version 2>&1 | tr -d '\r') || true
head=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# A zip given from elsewhere was built at its own commit.
[ -z "${PITWALL_WINDOWS_ZIP:-}" ] || head='[0-9a-f]{12}'
if [[ "$version_line" =~ ^pitwall\ [0-9.]+\ \(commit\ ${head}[^,]*,\ built\ [0-9]{4}-[0-9]{2}-[0-9]{2},\ x86_64-pc-windows-gnu\)$ ]]; then
    pass "pitwall.exe --version: $version_line"
else
    fail "pitwall.exe --version: $version_line"
fi
help=$("$wine_run" "$exe" bridge --help 2>&1 | tr -d '\r') || true
if grep -q -- "--check" <<<"$help" && grep -Eq 'AppData.Roaming.pitwall.bridge\.toml' <<<"$help" \
    && grep -Eq 'pitwall-[^ ]*-x86_64-windows.bridge\.toml' <<<"$help"; then
    pass "pitwall.exe bridge --help lists --check and the settings file beside the exe and in %APPDATA%"
else
    fail "pitwall.exe bridge --help"
    sed 's/^/    /' <<<"$help" | tail -14
fi

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

# The archive's bridge.toml, edited as a driver does: the server's address. Its
# recording_folder ("recordings") is taken from the file's folder.
sed -i "s#^server = .*#server = \"http://$addr\"#" "$dir/bridge.toml"
recording=$dir/recordings/telemetry_record.pb.gz

# Before the game runs: the shared memory is not there (status 10), the server is fine.
rc=0
"$wine_run" "$exe" bridge --check >"$work/check1.out" 2>&1 || rc=$?
if [ "$rc" -eq 10 ] && grep -q "PROBLEM  the game's shared memory is not visible" "$work/check1.out" \
    && grep -q "the server at http://$addr is reachable" "$work/check1.out"; then
    pass "pitwall.exe bridge --check before the game: shared memory not visible (status 10), server reachable"
else
    fail "pitwall.exe bridge --check before the game (status $rc)"
    sed 's/^/    /' "$work/check1.out"
fi

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

# --- with the game: ready, then the Windows bridge: shared memory -> gRPC -> the Linux server ---
rc=0
"$wine_run" "$exe" bridge --check >"$work/check2.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q "OK       the game's shared memory is visible" "$work/check2.out" \
    && grep -q "Ready" "$work/check2.out"; then
    pass "pitwall.exe bridge --check with the game running: ready (status 0)"
else
    fail "pitwall.exe bridge --check with the game running (status $rc)"
    sed 's/^/    /' "$work/check2.out"
fi
if timeout 300 "$wine_run" "$exe" bridge --duration 6 --json >"$work/bridge.json" 2>"$work/bridge.err" \
    && grep -q "settings from .*bridge.toml" "$work/bridge.err"; then
    pass "pitwall.exe bridge, set up by the bridge.toml beside it, ran under Wine and stopped cleanly"
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
check=$("$root/.venv/bin/python" - "$work/bridge.json" "$work/server/sinks/parquet" "$recording" <<'PY'
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
