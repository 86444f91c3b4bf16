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
