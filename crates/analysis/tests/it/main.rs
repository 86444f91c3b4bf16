#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of the analysis crate: lap tables and MoTeC logs of simulated sessions,
//! and hand-built frames for the cases the simulator does not produce.

mod derived;
mod export;
mod laps;
