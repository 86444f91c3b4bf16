#!/usr/bin/env bash
# The Windows path of the shm crate, cross-built on Linux and run under Wine:
#   1. the crate's own tests, built for x86_64-pc-windows-gnu, run as Windows programs (among
#      them the named-mapping tests of src/windows.rs, which only exist in a Windows build);
#   2. examples/win_writer.exe creates the named mappings Local\acpmf_* with MappingWriter and
#      writes known pages; examples/win_reader.exe, another process in the same Wine prefix,
#      opens them with MappingSource: its decoded JSON must equal the writer's, field for
#      field;
#   3. the writer then publishes a new step every 3 ms while the reader polls with a Poller:
#      the poller must yield new steps, in order, each equal to what the writer published.
# Installs what is missing (scripts/windows/setup). Runnable from any directory; honours
# CARGO_TARGET_DIR and PITWALL_WINEPREFIX. Exits non-zero on any disagreement; the last line is
# `shm windows: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"
start=$(date +%s.%N)
target=x86_64-pc-windows-gnu

scripts/windows/setup

wine_run=$root/scripts/windows/wine-run

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-shm-windows.XXXXXX")
writer_pid=
cleanup() {
    exec 3>&-
    stop_jobs "$writer_pid"
    remove_work "$work"
}
trap cleanup EXIT
# A writer that died must make `echo >&3` fail, not kill this script silently.
trap '' PIPE

passed=0
failed=0
pass() { passed=$((passed + ${2:-1})); echo "ok   - $1"; }
fail() { failed=$((failed + ${2:-1})); echo "FAIL - $1"; }

# --- build ---------------------------------------------------------------------------------
# The test programs (unit tests, with src/windows.rs's, and tests/it), then the examples.
cargo test -q --target "$target" -p pitwall-shm --no-run --message-format=json-render-diagnostics \
    >"$work/build.json"
mapfile -t tests < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])
' "$work/build.json")
cargo build -q --target "$target" -p pitwall-shm --example win_writer --example win_reader
examples=$target_dir/$target/debug/examples

# --- 1. the crate's tests under Wine ---------------------------------------------------------
[ ${#tests[@]} -gt 0 ] || fail "no test programs were built"
for exe in "${tests[@]}"; do
    name=$(basename "$exe")
    if timeout 300 "$wine_run" "$exe" >"$work/test.out" 2>&1 && grep -q '^test result: ok' "$work/test.out"; then
        pass "cargo test under Wine: $name ($(grep '^test result' "$work/test.out" | sed 's/^test result: ok\. //; s/;.*//'))"
    else
        fail "cargo test under Wine: $name"
        tail -30 "$work/test.out" | sed 's/^/    /'
    fi
done

# --- 2. writer and reader in two Wine processes ----------------------------------------------
# The writer's stdin is a FIFO: its first line starts the stepping, closing it stops it.
mkfifo "$work/go"
"$wine_run" "$examples/win_writer.exe" --seconds 120 --interval-ms 3 \
    <"$work/go" >"$work/writer.out" 2>"$work/writer.err" &
writer_pid=$!
exec 3>"$work/go"

waited=0
until [ -s "$work/writer.out" ] || ! kill -0 "$writer_pid" 2>/dev/null || [ $waited -ge 600 ]; do
    sleep 0.1
    waited=$((waited + 1))
done
if [ ! -s "$work/writer.out" ]; then
    fail "win_writer did not publish its pages"
    sed 's/^/    /' "$work/writer.err"
    echo "shm windows: $passed passed, $((failed + 1)) failed"
    exit 1
fi
head -n 1 "$work/writer.out" >"$work/written.json"

if timeout 120 "$wine_run" "$examples/win_reader.exe" snapshot >"$work/read.json" 2>"$work/reader.err"; then
    pass "win_reader opened Local\\acpmf_physics, _graphics and _static"
else
    fail "win_reader snapshot"
    sed 's/^/    /' "$work/reader.err"
fi

# Field for field: every field of every page, as the writer printed it and as the reader
# decoded it from the mappings. Prints one line per disagreement, then "<passed> <failed>".
compare_out=$(python3 - "$work/written.json" "$work/read.json" <<'PY'
import json, sys

def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.readline())
    except (OSError, ValueError) as e:
        print(f"cannot read {path}: {e}")
        return None

written, read = load(sys.argv[1]), load(sys.argv[2])
ok = bad = 0
if written is None or read is None:
    bad = 1
else:
    for page in ("physics", "graphics", "static"):
        w, r = written.get(page, {}), read.get(page, {})
        for field in sorted(set(w) | set(r)):
            if field in w and field in r and w[field] == r[field]:
                ok += 1
            else:
                bad += 1
                print(f"{page}.{field}: written {w.get(field, '<absent>')!r}, read {r.get(field, '<absent>')!r}")
    if ok == 0:
        bad += 1
        print("no fields compared")
print(ok, bad)
PY
)
read -r fields_ok fields_bad <<<"$(tail -n 1 <<<"$compare_out")"
if [ "$fields_bad" -eq 0 ]; then
    pass "reader's JSON equals writer's JSON, field for field ($fields_ok fields)" "$fields_ok"
else
    fail "reader's JSON differs from writer's JSON in $fields_bad field(s)" "$fields_bad"
    passed=$((passed + fields_ok))
    head -n -1 <<<"$compare_out" | sed 's/^/    /'
fi

# --- 3. polling while the writer steps --------------------------------------------------------
if echo go >&3 2>/dev/null; then
    if timeout 120 "$wine_run" "$examples/win_reader.exe" poll --seconds 1.5 >"$work/poll.json" 2>"$work/reader.err"; then
        pass "win_reader polled the mappings while win_writer stepped"
    else
        fail "win_reader poll"
        sed 's/^/    /' "$work/reader.err"
    fi
else
    fail "win_writer exited before it was told to step"
fi
exec 3>&-
wait "$writer_pid" && writer_status=0 || writer_status=$?
writer_pid=
[ "$writer_status" -eq 0 ] && pass "win_writer exited cleanly" || fail "win_writer exited with status $writer_status"
tail -n 1 "$work/writer.out" >"$work/writer-summary.json"

poll_out=$(python3 - "$work/poll.json" "$work/writer-summary.json" <<'PY'
import json, sys

def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.readline())
    except (OSError, ValueError):
        return None

poll, summary = load(sys.argv[1]), load(sys.argv[2])
checks = []
if poll is None or summary is None:
    checks.append(("the poll report and the writer's summary are readable", False, f"{poll!r} {summary!r}"))
else:
    samples, first, last = poll["samples"], poll["first_packet_id"], poll["last_packet_id"]
    checks += [
        ("polling yields new steps (at least 50)", samples >= 50, samples),
        ("packet ids strictly increase", poll["strictly_increasing"], (first, last)),
        # A torn copy that the packet-id guard let through (a byte mix of two consecutive
        # published pages; docs/shm.md says the guard cannot catch them all) is tolerated while
        # rare; any other difference is a disagreement.
        ("every step yielded equals the page the writer published for that id (physics and graphics)",
         poll["mismatches"] == 0
         and poll["physics_matching"] + poll["graphics_matching"] + poll["torn_accepted"] == 2 * samples
         and poll["torn_accepted"] <= max(2, samples // 20),
         {k: poll[k] for k in ("physics_matching", "graphics_matching", "torn_accepted", "mismatches")}),
        ("steps yielded + steps missed cover first..last", first is not None
         and samples + poll["missed_steps"] == last - first + 1, (samples, poll["missed_steps"], first, last)),
        ("the static page was read once, as written", poll["static_matching"] and poll["sessions"] == 1,
         (poll["static_matching"], poll["sessions"])),
        ("no page torn through every retry", poll["torn_reads"] == 0, poll["torn_reads"]),
        ("the last step seen was published by the writer", last is not None
         and last <= summary["last_packet_id"], (last, summary)),
    ]
for name, ok, detail in checks:
    print(f"{'ok' if ok else 'FAIL'}\t{name}\t{detail}")
PY
)
while IFS=$'\t' read -r verdict name detail; do
    if [ "$verdict" = ok ]; then pass "$name ($detail)"; else fail "$name: $detail"; fi
done <<<"$poll_out"
echo "     poll: $(cat "$work/poll.json" 2>/dev/null)"
torn=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("torn_accepted", 0))' "$work/poll.json" 2>/dev/null || echo 0)
if [ "$torn" != 0 ]; then
    echo "     note: $torn torn page(s) passed the packet-id guard (a mix of two consecutive steps; see docs/shm.md)"
fi

elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
echo "     took ${elapsed} s"
echo "shm windows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
