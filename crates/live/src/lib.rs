//! # pitwall-live: live timing of an Assetto Corsa server, put to work
//!
//! The timing engine ([`timing`]) is sans-IO; this crate gives it its inputs and keeps its
//! outputs: a UDP client following a server, lap records stored in a [`records::Store`], chat
//! commands answered, and captures replayed through the same path.
//!
//! - [`recorder::Recorder`]: the adapter from the engine to a [`records::Store`]. Fed each
//!   event after the engine handled it ([`Recorder::record`](recorder::Recorder::record)), it
//!   stores sessions, entries, laps, collisions and chat, and finds a session stored by an
//!   earlier run again, so that a restart or a second replay stores nothing twice.
//! - [`replay::replay`]: a pcap, pcapng or raw capture fed through a [`timing::TimingEngine`]
//!   and a recorder as fast as it reads, with a [`replay::ReplayReport`] of what was read,
//!   damaged and stored. Its errors are [`ReplayError`]s.
//!
//! ```
//! use std::path::Path;
//!
//! use acsp::{ConnectionInfo, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType};
//! use live::replay::{ReplayConfig, replay_bytes};
//!
//! // A raw concatenation of three events: a practice, a driver, a lap.
//! let session = SessionInfo {
//!     protocol_version: 4, session_index: 0, current_session_index: 0, session_count: 1,
//!     server_name: "pitwall".into(), track: "ks_vallelunga".into(), track_config: String::new(),
//!     name: "Practice".into(), session_type: SessionType::Practice, time: 30, laps: 0,
//!     wait_time: 0, ambient_temp: 22, road_temp: 30, weather_graphics: "3_clear".into(),
//!     weather_encoding: Default::default(), elapsed_ms: 0,
//! };
//! let joins = ConnectionInfo {
//!     driver_name: "Ada".into(), driver_guid: "76561198000000001".into(), car_id: 0,
//!     car_model: "ks_mazda_mx5_cup".into(), car_skin: "red".into(),
//! };
//! let lap = LapCompleted {
//!     car_id: 0, lap_time: 80_902, cuts: 0, grip_level: 0.97,
//!     leaderboard: vec![LeaderboardEntry { car_id: 0, time: 80_902, laps: 1, has_completed: None }],
//! };
//! let mut capture = Vec::new();
//! for e in [Event::NewSession(session), Event::NewConnection(joins), Event::LapCompleted(lap)] {
//!     acsp::encode_event(&e, &mut capture).unwrap();
//! }
//!
//! // Replayed through the engine alone (no records): the standings at the end.
//! let report = replay_bytes(Path::new("capture.bin"), &capture, None, &ReplayConfig::default())?;
//! assert_eq!((report.format, report.events, report.undecodable), ("raw concatenation", 3, 0));
//! assert_eq!(report.board.rows[0].best_lap_ms, Some(80_902));
//! # Ok::<(), live::ReplayError>(())
//! ```

pub mod chat;
mod error;
pub mod follow;
pub mod recorder;
pub mod replay;

pub use error::ReplayError;
