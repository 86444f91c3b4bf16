//! # pitwall-timing: live timing of an Assetto Corsa server
//!
//! A sans-IO timing engine: the server's plugin events ([`acsp::Event`]) and the time each
//! arrived go in; what happened and the standings come out, as plain data for the caller to
//! print, serve or store. Nothing here reads a clock, touches a socket or prints.
//!
//! - [`TimingEngine`]: the state, built with a [`TimingConfig`] (sector boundaries per track,
//!   the car-update interval to ask for, timeouts). [`TimingEngine::handle`] takes one event
//!   with the caller's clock (a [`Duration`](std::time::Duration) since any start) and returns
//!   [`Notice`]s; [`TimingEngine::board`] gives the standings; [`TimingEngine::tick`] takes the
//!   clock alone and returns a [`Tick`]: the [`acsp::Command`]s to send the server (session and
//!   car info for a plugin started mid-session or a silent car, the interval again) and a
//!   notice when the server has gone quiet.
//! - [`Board`]: the session ([`SessionState`]) and one [`Row`] per car, leader first, with its
//!   [`Gap`] to the leader and its interval to the car ahead. Practice and qualifying are
//!   ordered by best lap without cuts; a race by laps and position along the lap, with live
//!   gaps at every car update from a virtual timing loop of 100 points. Each row has estimated
//!   sector times (last, best, their sum as a theoretical best), top speeds, collisions by kind,
//!   and whether the last lap looked like an in or out lap.
//! - [`Notice`]: a session started or ended, a driver joined or left, a lap was completed (and
//!   whether it counted), a collision, a chat line, the server down or back.
//! - [`format_lap_time`]: a lap time as text, `1:23.456`, or `-` for none; [`text`] has the
//!   board and the notices as text for a terminal.
//!
//! The board and the notices serialize (serde) as the JSON a live feed sends: a [`Board`] with
//! its `"at_ms"`, a [`Notice`] tagged by its `"type"`, and a [`StampedNotice`] as the notice with
//! the `"at_ms"` it happened.
//!
//! Bad input is not an error: a car update of a car nobody announced, a lap before any session,
//! an absurd lap time or a spline position that is not a number is counted ([`Stats`], from
//! [`TimingEngine::stats`]) and skipped, and the protocol's "no time" value is kept as no time.
//! The engine therefore has no error type.
//!
//! ```
//! use std::time::Duration;
//!
//! use acsp::{ConnectionInfo, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType};
//! use timing::{Notice, TimingEngine, format_lap_time};
//!
//! let session = SessionInfo {
//!     protocol_version: 4,
//!     session_index: 0,
//!     current_session_index: 0,
//!     session_count: 3,
//!     server_name: "pitwall".into(),
//!     track: "ks_vallelunga".into(),
//!     track_config: String::new(),
//!     name: "Practice".into(),
//!     session_type: SessionType::Practice,
//!     time: 10,
//!     laps: 0,
//!     wait_time: 0,
//!     ambient_temp: 22,
//!     road_temp: 30,
//!     weather_graphics: "3_clear".into(),
//!     weather_encoding: Default::default(),
//!     elapsed_ms: 0,
//! };
//! let joins = ConnectionInfo {
//!     driver_name: "Käthe".into(),
//!     driver_guid: "76561198000000001".into(),
//!     car_id: 4,
//!     car_model: "ks_mazda_mx5_cup".into(),
//!     car_skin: "00_red".into(),
//! };
//! let lap = LapCompleted {
//!     car_id: 4,
//!     lap_time: 80_902,
//!     cuts: 0,
//!     leaderboard: vec![LeaderboardEntry { car_id: 4, time: 80_902, laps: 1, has_completed: None }],
//!     grip_level: 0.97,
//! };
//!
//! let mut engine = TimingEngine::new();
//! engine.handle(Duration::ZERO, &Event::NewSession(session));
//! engine.handle(Duration::from_secs(5), &Event::NewConnection(joins));
//! let notices = engine.handle(Duration::from_secs(90), &Event::LapCompleted(lap));
//! assert!(matches!(&notices[..], [Notice::LapCompleted { personal_best: true, .. }]));
//!
//! let board = engine.board();
//! assert_eq!(board.session.as_ref().map(|s| s.elapsed_ms), Some(90_000));
//! let leader = &board.rows[0];
//! assert_eq!((leader.position, leader.car_id, leader.driver.as_str()), (1, 4, "Käthe"));
//! assert_eq!(format_lap_time(leader.best_lap_ms), "1:20.902");
//! assert!(timing::text::board(&board).lines().any(|l| l.contains("Käthe") && l.contains("leader")));
//! ```

mod board;
mod config;
mod engine;
mod format;
mod live;
mod notice;
pub mod outline;
pub mod text;

pub use board::{Board, Gap, Row, SessionState};
pub use config::{Stats, TimingConfig};
pub use engine::{Tick, TimingEngine};
pub use format::{NO_LAP_TIME, format_lap_time, time_from_wire};
pub use notice::{Notice, StampedNotice};
pub use outline::{OutlineLearner, TrackOutline};
