//! End-to-end tests of the ingest server: a real tonic server on 127.0.0.1:0 and real clients
//! (in-process, or the server as a child process for SIGKILL tests).
#![allow(clippy::unwrap_used)]

mod auth;
mod common;
mod crash;
mod dedupe;
mod disk_full;
mod invalid;
mod jetstream;
mod laps_sink;
mod limits;
mod live_tap;
mod metrics;
mod parquet_sink;
mod recording_sink;
mod shutdown;
mod sinks;
mod streams;
