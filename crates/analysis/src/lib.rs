//! # pitwall-analysis: laps, derived columns and MoTeC channels from telemetry frames
//!
//! What an engineer opens after a session is not a stream of 333 Hz frames but laps and a log
//! in their analysis tool. This crate turns [`TelemetryFrame`](proto::telemetry::v1::TelemetryFrame)s
//! into both, streaming (frames in, one at a time; memory does not grow with the session):
//!
//! - [`LapTracker`] detects laps from the graphics state (`completed_laps` and the position's
//!   wrap at the line), across pit exits, resets and session changes, and gives each frame its
//!   [`Derived`] columns (lap, time and distance into the lap, session time). Each finished
//!   [`Lap`] carries its times (the game's when it has one), sectors, validity ([`Invalid`]),
//!   speeds, fuel, tyre temperatures and missed physics steps. [`laps`] runs it over a slice.
//! - [`MotecExporter`] (or [`motec_export`] for an iterator) writes one session as a MoTeC i2
//!   `.ld` log with MoTeC-style channels resampled onto uniform grids, and its `.ldx` lap
//!   markers, through the `motec` crate.
//!
//! ```
//! use analysis::{LapTracker, laps};
//! use proto::telemetry::v1::TelemetryFrame;
//!
//! // Two laps of 1000 frames (3 s each), the second one cut.
//! let frames: Vec<TelemetryFrame> = (0..2000u64)
//!     .map(|seq| TelemetryFrame {
//!         session_id: vec![1; 16].into(),
//!         seq,
//!         mono_time_ns: seq as i64 * 3_000_000,
//!         completed_laps: (seq / 1000) as i32,
//!         normalized_position: (seq % 1000) as f32 / 1000.0,
//!         tyres_out: if seq == 1500 { 3 } else { 0 },
//!         ..Default::default()
//!     })
//!     .collect();
//! let table = laps(&frames);
//! assert_eq!(table.len(), 2);
//! assert_eq!(table[0].time_ms, 3000);
//! assert!(table[0].is_valid());
//! assert_eq!(table[1].invalid, [analysis::Invalid::Cut, analysis::Invalid::Unfinished]);
//! ```

mod error;
mod laps;
mod motec_export;

pub use error::AnalysisError;
pub use laps::{CONFIRM_WINDOW_NS, Derived, Invalid, Lap, LapTracker, laps};
pub use motec_export::{ExportOptions, ExportReport, MotecExporter, channel_names, motec_export};
