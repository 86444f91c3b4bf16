//! # pitwall-bridge: shared memory → `TelemetryFrame` → gRPC, loss-free, with the local recording
//!
//! The car side of pitwall. A bridge samples each physics step of the game once, turns it into
//! a `TelemetryFrame` with a `(session_id, seq)` identity, appends it to the local recording and
//! streams it to the ingest server, which acks what it has made durable.
//!
//! - [`source`]: where steps come from — the game's shared memory (page files or, on Windows,
//!   the named mappings) polled as a [`Pacer`] times it, a game simulated in this process (any
//!   [`SimulatedGame`] the caller passes in: the bridge depends on no simulator), or a recording
//!   replayed (its frames keep their ids, so the server dedupes them).
//! - [`session`]: the [`Sessionizer`] gives each session a UUIDv7 and numbers its frames from 0
//!   without gaps; a step the game skipped shows in `missed_steps`, not as a gap.
//! - [`frame`]: the pages → frame mapping.
//! - [`spool`]: the recording *is* the spool. Every frame is recorded; unacked frames are kept
//!   in a small window in memory, and what the window had to drop during an outage is read back
//!   from the recording's members. Memory stays bounded however long the server is away, and a
//!   frame the server acked is never sent again.
//! - [`client`]: tonic client — `Resume` on every (re)connect, `StreamFrames` with cumulative
//!   acks, exponential backoff with jitter ([`backoff`]), bearer token, `http://` or `https://`.
//! - [`check`]: what `pitwall bridge --check` asks: the game's pages there, the server reachable,
//!   the token accepted.
//! - [`runner`]: [`Bridge::start`] runs it all (a sampler thread and a network thread) and
//!   [`Running`] reports a [`Status`] and stops gracefully.
//!
//! The loss window on a bridge crash is the recording's member being filled (at most 1 s of
//! frames); everything before it is in the file and is sent by the next run.
//!
//! ```
//! use std::time::Duration;
//! use bridge::{Bridge, BridgeConfig, SimulatedGame, SourceConfig, Speed};
//!
//! /// pitwall's game simulator as a bridge source (the `pitwall` binary has the same adapter).
//! #[derive(Debug)]
//! struct Game(sim::game::GameSim);
//!
//! impl SimulatedGame for Game {
//!     fn step_duration(&self) -> Duration {
//!         sim::game::PHYSICS_STEP
//!     }
//!
//!     fn step(&mut self) -> Option<shm::Snapshot> {
//!         let w = self.0.step();
//!         let wrote = w.physics.is_some() || w.graphics.is_some() || w.static_page.is_some();
//!         wrote.then(|| self.0.snapshot())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // The simulated game at 10× real time for half a second, recorded only (no server).
//! let game = Game(sim::game::GameSim::new(sim::game::GameConfig::default())?);
//! let mut config = BridgeConfig::new(SourceConfig::Sim { game: Box::new(game), speed: Speed::Factor(10.0), clock: None });
//! config.record = dir.path().join("telemetry_record.pb.gz");
//! config.server = None;
//! config.duration = Some(Duration::from_millis(500));
//! let summary = Bridge::start(config)?.wait()?;
//! assert!(summary.status.frames > 100);
//!
//! // Every frame is in the recording, seq 0, 1, 2, … with the session's metadata first.
//! let frames = record::RecordReader::open(&summary.record)?.collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(frames.len() as u64, summary.status.frames);
//! assert!(frames[0].session.is_some());
//! assert!(frames.iter().enumerate().all(|(i, f)| f.seq == i as u64));
//! # Ok(())
//! # }
//! ```

pub mod backoff;
pub mod check;
pub mod client;
pub mod error;
pub mod frame;
pub mod metrics;
pub mod pacer;
pub mod runner;
pub mod session;
pub mod source;
pub mod spool;
mod state;

pub use backoff::{Backoff, BackoffConfig};
pub use client::ServerConfig;
pub use error::BridgeError;
pub use metrics::{ConnectionState, Status};
pub use pacer::Pacer;
pub use runner::{Bridge, BridgeConfig, DEFAULT_RECORD, DEFAULT_SERVER, Running, StopHandle, Summary};
pub use session::Sessionizer;
pub use source::{SimClock, SimulatedGame, SourceConfig, Speed};
pub use spool::{Spool, SpoolConfig};
