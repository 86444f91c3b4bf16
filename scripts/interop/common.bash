# Sourced by the interop scripts (not run on its own: scripts/test runs `*.sh` only).
#
# Sets `root` (the checkout) and `target_dir` (cargo's, absolute), and defines `build_native`:
# it builds every binary and example of the workspace exactly as `cargo test --workspace` does.
# Same packages, same features, so the same artifacts: right after scripts/test's `cargo test`
# it compiles nothing, and no second copy of every dependency, built with other features,
# lands on the disk (a `cargo build -p pitwall` resolves features differently: dev-dependencies
# add some). Run alone, a script pays for the whole test build once.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac

build_native() {
    (cd "$root" && cargo build -q --locked --workspace --bins --examples --tests)
}

# Stops background jobs of this shell and waits until each has exited. A server sent SIGTERM
# still writes (checkpoints, the WAL) while it shuts down, and an `rm -rf` of its directory that
# races it fails with "Directory not empty". SIGTERM first, SIGKILL after 10 s. Never fails.
stop_jobs() {
    local pid i
    for pid in "$@"; do
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null || continue
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# Removes a work directory in a cleanup trap without failing it: a failure there would replace
# the script's own exit status. Retries once, then says what is left behind.
remove_work() {
    rm -rf "$1" 2>/dev/null && return 0
    sleep 1
    rm -rf "$1" 2>/dev/null || echo "warning: could not remove $1" >&2
    return 0
}
