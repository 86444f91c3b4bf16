//! End-to-end tests of the bridge: the in-process game simulator (or a recording) → the bridge →
//! a real ingest server on loopback (tonic, WAL on a temporary disk), counted in the server's
//! write-ahead log. The bridge process killed with SIGKILL, and the server killed the same way,
//! are in the CLI's tests (`crates/cli/tests/it/bridge.rs`), which run real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod disk;
mod faults;
mod replay;
mod stream;
