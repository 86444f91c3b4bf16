#!/usr/bin/env bash
# The Linux release archive as a league admin gets it: `scripts/dist --only linux` packs the
# test build's program (the archive's layout, licences and checksums are the release's; only
# the build profile differs, so no release build is paid for here), and the unpacked archive
# must hold every file, pass its checksums, and its program must run: `--version` with the
# commit, the demo, `serve` with the archive's serve.toml and `bridge --check` with its
# bridge.toml, and the systemd units must pass `systemd-analyze verify`. Runnable from any
# directory; honours CARGO_TARGET_DIR. The last line is `dist linux: N passed, M failed`.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/pitwall-dist-linux.XXXXXX")
server_pid=
cleanup() {
    stop_jobs "$server_pid"
    remove_work "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }
finish() {
    echo "dist linux: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# --- pack the test build -------------------------------------------------------------------------
build_native
if ! scripts/dist --profile dev --only linux --linux-bin "$target_dir/debug/pitwall" --out "$work/dist" \
    >"$work/dist.log" 2>&1; then
    fail "scripts/dist --only linux"
    sed 's/^/    /' "$work/dist.log" | tail -20
    finish
fi
archive=$(find "$work/dist" -name 'pitwall-*-x86_64-linux.tar.gz' | head -n 1)
check "scripts/dist wrote $(basename "$archive")" '[ -s "$archive" ]'
check "the archive matches dist/SHA256SUMS" '(cd "$work/dist" && sha256sum --quiet -c SHA256SUMS)'

mkdir -p "$work/unpacked"
tar -xzf "$archive" -C "$work/unpacked"
dir=$(find "$work/unpacked" -mindepth 1 -maxdepth 1 -type d | head -n 1)
check "one folder inside, named as the archive" '[ "$(basename "$dir").tar.gz" = "$(basename "$archive")" ]'
check "every unpacked file matches the archive's own SHA256SUMS" '(cd "$dir" && sha256sum --quiet -c SHA256SUMS)'
missing=
for f in pitwall README.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.txt bridge.toml docs/install.md \
    systemd/pitwall-serve.service systemd/pitwall-relay.service etc/serve.toml etc/pitwall.env etc/relay.toml; do
    [ -s "$dir/$f" ] || missing="$missing $f"
done
check "README, licences, third-party licences, bridge.toml, units and settings are all there${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
check "the program is executable" '[ -x "$dir/pitwall" ]'
# The third-party list: packages the program links (tokio, tonic, rusqlite), none it does not
# (a dev-dependency, a proc-macro), and their licence texts.
tp=$dir/THIRD-PARTY-LICENSES.txt
check "THIRD-PARTY-LICENSES.txt lists tokio, tonic and rusqlite with their licences" \
    'grep -Eq "^tokio [0-9.]+ +MIT" "$tp" && grep -Eq "^tonic [0-9.]+ +MIT" "$tp" && grep -Eq "^rusqlite [0-9.]+ +MIT" "$tp"'
check "THIRD-PARTY-LICENSES.txt leaves out dev-dependencies and proc-macros (proptest, criterion, serde_derive)" \
    '! grep -Eq "^(proptest|criterion|serde_derive|thiserror-impl) " "$tp"'
check "THIRD-PARTY-LICENSES.txt holds the licence texts" \
    '[ "$(grep -c "^The licence text of: " "$tp")" -gt 50 ] && grep -q "Permission is hereby granted" "$tp" && grep -q "Apache License" "$tp"'

# --- the program ---------------------------------------------------------------------------------
version_line=$("$dir/pitwall" --version)
head=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
check "pitwall --version names version, commit and date: $version_line" \
    '[[ "$version_line" =~ ^pitwall\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ${head}[^,]*,\ built\ [0-9]{4}-[0-9]{2}-[0-9]{2},\ x86_64-unknown-linux-gnu\)$ ]]'

if "$dir/pitwall" demo --duration 6 --cars 4 --telemetry-cars 1 --http 127.0.0.1:0 --data "$work/demo" \
    >"$work/demo.out" 2>"$work/demo.err"; then
    pass "the archive's pitwall runs the demo"
else
    fail "the archive's pitwall demo failed"
    sed 's/^/    /' "$work/demo.err" | tail -10
fi
stored=$(sed -n 's/^ingest server: \([0-9]*\) frames stored exactly once (of \([0-9]*\) recorded.*/\1 \2/p' "$work/demo.out")
read -r got recorded <<<"${stored:-0 -1}"
check "the demo's ingest server stored every recorded frame once ($got of $recorded)" '[ "$got" -gt 1000 ] && [ "$got" = "$recorded" ]'
check "the demo wrote Parquet" '[ -n "$(find "$work/demo/server/sinks/parquet" -name "*.parquet" | head -n 1)" ]'

# The shipped settings: serve.toml (its token, timing and dashboard; other ports and data
# folder for the test, the dashboard on loopback) and bridge.toml (the simulator as source, so
# that no game is needed).
"$dir/pitwall" serve --config "$dir/etc/serve.toml" --listen 127.0.0.1:0 --data "$work/data" \
    --acsp-port 0 --http 127.0.0.1:0 2>"$work/serve.err" &
server_pid=$!
addr=
for _ in $(seq 1 300); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/serve.err" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
check "pitwall serve starts from the archive's etc/serve.toml" '[ -n "$addr" ]'
for _ in $(seq 1 100); do grep -q "dashboard: http://" "$work/serve.err" && break; sleep 0.1; done
check "serve.toml's [timing] follows the AC server at 127.0.0.1:11000" \
    'grep -q "following the AC server at 127.0.0.1:11000" "$work/serve.err"'
check "serve.toml's [dashboard] serves the dashboard" 'grep -q "dashboard: http://127.0.0.1:" "$work/serve.err"'
if [ -n "$addr" ]; then
    token=$(sed -n 's/^token = "\(.*\)"/\1/p' "$dir/etc/serve.toml")
    rc=0
    "$dir/pitwall" bridge --check --config "$dir/bridge.toml" --source sim --server "http://$addr" \
        --token "$token" >"$work/check.out" 2>&1 || rc=$?
    check "bridge --check with the archive's bridge.toml and serve.toml's token: ready (status $rc)" \
        '[ "$rc" -eq 0 ] && grep -q "accepts your token" "$work/check.out"'
    rc=0
    "$dir/pitwall" bridge --check --config "$dir/bridge.toml" --source sim --server "http://$addr" \
        >"$work/check.out" 2>&1 || rc=$?
    check "bridge --check without the token: status 12 (got $rc)" '[ "$rc" -eq 12 ]'
fi
kill -TERM "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=

# --- the systemd units ---------------------------------------------------------------------------
# verify wants ExecStart's program to exist: the unpacked one stands in for /usr/local/bin's.
# It exits 0 even on an unknown key (a warning), so any output at all fails the check.
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$work/units"
    for unit in "$dir"/systemd/*.service; do
        sed "s#/usr/local/bin/pitwall#$dir/pitwall#g" "$unit" >"$work/units/$(basename "$unit")"
    done
    if systemd-analyze verify "$work"/units/*.service >"$work/verify.out" 2>&1 && [ ! -s "$work/verify.out" ]; then
        pass "systemd-analyze verify: the units are clean"
    else
        fail "systemd-analyze verify"
        sed 's/^/    /' "$work/verify.out"
    fi
else
    echo "skip - systemd-analyze is not installed (Debian package systemd): units not verified"
fi
finish
