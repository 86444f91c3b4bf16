//! # pitwall-motec: MoTeC i2 `.ld` log files and `.ldx` lap markers
//!
//! MoTeC i2 is the analysis program race engineers open; its `.ld` log format has no published
//! specification, so this crate follows the layout the public readers reverse-engineered
//! (documented, with the bytes i2 insists on, in [`read`]). It knows nothing of our telemetry
//! proto: `pitwall-analysis` maps frames onto channels and uses this crate to write them.
//!
//! - [`LdWriter`] writes a log: a header ([`LdHeader`]: driver, vehicle, venue, event, session,
//!   date and time, comments, device) and channels declared up front ([`ChannelSpec`]: name,
//!   short name, unit, rate, [`SampleType`] `i16`/`i32`/`f32` with [`Scaling`]). Samples are
//!   pushed one at a time, per channel or per row; memory stays constant (each channel
//!   buffers a chunk, full chunks go to a spill file, [`LdWriter::finish`] assembles the file).
//! - [`Ldx`] writes (and parses back) the `.ldx` companion: beacon markers in µs that make i2
//!   split the log into laps, and the total and fastest lap.
//! - [`read`] is a reader kept independent of the writer (its own offsets), used to check every
//!   file we write and fuzzed against hostile input.
//!
//! Text fields are 8-bit: see [`fit`] for the rule (Latin-1 kept, other characters `?`, cut to
//! the field's length minus one).
//!
//! ```
//! use motec::{ChannelSpec, LdDateTime, LdHeader, LdWriter, Ldx};
//!
//! let dir = tempfile::tempdir()?;
//! let ld = dir.path().join("session.ld");
//! let header = LdHeader {
//!     driver: "Jürgen Ødegård".into(),
//!     vehicle_id: "ks_mazda_mx5_cup".into(),
//!     venue: "ks_nurburgring".into(),
//!     session: "Practice".into(),
//!     date_time: LdDateTime::from_unix(1_700_000_000, 0),
//!     ..Default::default()
//! };
//! let channels = vec![
//!     ChannelSpec::f32("G Force Lat", "GLat", "G", 50),
//!     ChannelSpec::i16("Gear", "Gear", "", 10, 0),
//! ];
//! let mut writer = LdWriter::create(&ld, header, channels)?;
//! for i in 0..100 {
//!     writer.push(0, f64::from(i) / 100.0)?;
//!     if i % 5 == 0 {
//!         writer.push(1, 2.0)?;
//!     }
//! }
//! writer.finish()?;
//! Ldx { beacons_us: vec![1_000_000], total_laps: Some(2), fastest: None }.write(&ld.with_extension("ldx"))?;
//!
//! let log = motec::read::read_file(&ld)?;
//! assert_eq!(log.header.date, "14/11/2023");
//! assert_eq!(log.channel("Gear").map(|c| c.values().len()), Some(20));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod datetime;
mod error;
mod ldx;
pub mod read;
mod text;
mod write;

pub use datetime::LdDateTime;
pub use error::MotecError;
pub use ldx::{FastestLap, Ldx};
pub use text::{Fit, fit};
pub use write::{
    ChannelSpec, DEFAULT_CHUNK_BYTES, Device, LdHeader, LdSummary, LdWriter, SampleType, Scaling,
};
