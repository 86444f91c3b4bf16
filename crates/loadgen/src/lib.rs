//! # pitwall-loadgen: load for the ingest server, and its measurement
//!
//! What `pitwall bench ingest` and the tests need to put realistic load on a `StreamFrames`
//! server and to say what it cost:
//!
//! - [`frames`]: the realistic frame. [`frames::realistic`] builds frame `seq` of a session with
//!   every field set and values moving like a racing car's; [`frames::Template`] is the fast
//!   path, one such frame encoded once and re-sent with `seq` patched in front.
//! - [`client`]: K concurrent raw streams of template frames for a fixed time
//!   ([`client::run`] with a [`client::Load`]), each with a bridge's window of unacknowledged
//!   frames, returning a [`client::Report`]: frames acked, elapsed time, ack latency, client
//!   CPU. [`client::stream_frames`] is the single raw call underneath, for tests that send
//!   bytes of their own.
//! - [`server`]: the server under test as a process: started from a command line, found by
//!   the `listening on ADDR` it prints, stopped with SIGTERM, its [`server::Usage`] read.
//! - [`procstat`]: CPU seconds and peak resident memory of a process, from Linux's `/proc`.
//! - [`stats`]: percentiles, and the [`stats::Latency`] summary.
//!
//! ```
//! use loadgen::frames::{Template, realistic, session_id};
//! use loadgen::stats::percentile;
//!
//! let frame = realistic(session_id(1), 0);
//! assert!(frame.session.is_some(), "the first frame carries the session's metadata");
//! let template = Template::new(session_id(1));
//! assert!(template.frame(42).len() > 500, "a full frame is several hundred bytes");
//! assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
//! ```
//!
//! A load run against a server that is listening:
//!
//! ```no_run
//! # async fn demo() -> Result<(), loadgen::Error> {
//! use std::time::Duration;
//! use loadgen::client::{Load, run};
//!
//! let load = Load { streams: 4, duration: Duration::from_secs(10), window: 65_536 };
//! let report = run("127.0.0.1:50051", &load).await?;
//! println!("{:.0} frames/s, p99 {:?}", report.frames_per_s(), report.latency.p99);
//! # Ok(()) }
//! ```

pub mod client;
mod error;
pub mod frames;
pub mod procstat;
pub mod server;
pub mod stats;

pub use error::Error;
