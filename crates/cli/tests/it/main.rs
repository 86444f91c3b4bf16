//! End-to-end tests of the `pitwall` binary: real processes, real UDP sockets on loopback.

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod acsp_decode;
mod acsp_listen;
mod acsp_send;
mod bridge;
mod bridge_check;
mod convert;
mod demo;
mod demo_dashboard;
mod errors;
mod jetstream;
mod join;
mod kill_serve;
mod procs;
mod readme;
mod records;
mod relay;
mod secrets;
mod serve_config;
mod serve_timing;
mod shm_cli;
mod sim_cli;
mod timing;
mod version;

use std::process::{Command, Output};

/// Held by the tests that run `pitwall demo`: two demos at once would starve each other's
/// simulated games on a 2-core machine.
pub static ONE_DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The binary under test.
pub fn pitwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
}

/// Runs to completion; panics with stderr when it failed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("pitwall runs");
    assert!(out.status.success(), "pitwall failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}
