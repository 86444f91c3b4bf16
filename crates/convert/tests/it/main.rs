//! Integration tests of the converter: real recordings of simulated sessions, converted and read
//! back with independent readers (the `parquet` crate's Arrow reader, `motec::read`).

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod csv;
mod damaged;
mod dataset;
mod laps;
mod motec;
mod parquet;
mod rows;

use std::path::{Path, PathBuf};
use std::time::Duration;

use convert::{ConvertOptions, ConvertReport, Format};
use proto::telemetry::v1::TelemetryFrame;

/// A recording of `secs` simulated seconds (session restarts at `restarts`) in `dir`, with its
/// frames as the recording crate reads them back, and the simulator's lap records.
pub fn recording(
    dir: &Path,
    name: &str,
    secs: u64,
    restarts: &[Duration],
) -> (PathBuf, Vec<TelemetryFrame>, Vec<sim::game::LapRecord>) {
    let path = dir.join(name);
    let recorded = testkit::sim::Run::new(testkit::sim::oval(11), Duration::from_secs(secs))
        .restart_at(restarts)
        .record(&path);
    let frames = testkit::sim::read_recording(&path);
    assert_eq!(frames.len() as u64, recorded.frames);
    (path, frames, recorded.laps)
}

/// Converts with default options, to the format of `output`'s extension.
pub fn convert(input: &Path, output: &Path) -> ConvertReport {
    convert::convert(input, output, &ConvertOptions::default(), &mut |_| {}).unwrap()
}

/// Converts to `format`.
pub fn convert_to(input: &Path, output: &Path, format: Format) -> ConvertReport {
    let options = ConvertOptions { format: Some(format), ..ConvertOptions::default() };
    convert::convert(input, output, &options, &mut |_| {}).unwrap()
}

/// The derived columns of `frames`, computed by the lap tracker directly.
pub fn derived(frames: &[TelemetryFrame]) -> Vec<analysis::Derived> {
    let mut tracker = analysis::LapTracker::new();
    frames.iter().map(|f| tracker.push(f)).collect()
}
