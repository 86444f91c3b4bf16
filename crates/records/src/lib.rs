//! # pitwall-records: lap records of Assetto Corsa servers
//!
//! A SQLite database of what happened on a server: sessions, the drivers in them (by Steam
//! GUID, with every name a GUID has had), their cars, laps (time, sectors, cuts, validity,
//! grip, top speed, tyre), collisions and chat; and the leaderboards read from it.
//!
//! - [`Store`]: the open database. [`Store::open`] creates or migrates the file;
//!   [`Store::begin_session`], [`Store::add_entry`], [`Store::add_lap`],
//!   [`Store::add_collision`], [`Store::add_chat`] and [`Store::end_session`] record a session
//!   from plain input structs ([`SessionInput`], [`EntryInput`], [`LapInput`], …) that a
//!   live-timing adapter or [`Store::import_results`] (the server's own results JSON) fills.
//! - Writes are batched: they go into one open transaction that [`Store::flush`] commits (and
//!   so do [`Store::end_session`], a full batch and dropping the store). A live feed flushes
//!   after each event; a replay flushes at the end.
//! - [`Store::leaderboard`] ranks laps by a [`Query`] (track, layout, cars, session type,
//!   validity, date range; one best per driver and car, or every lap) into [`LeaderRow`]s.
//!   Records are keyed by **driver GUID and car model**: a driver's lap in one car never
//!   replaces their record in another. [`Store::personal_bests`] and
//!   [`Store::theoretical_best`] answer for one driver.
//! - Telemetry laps (from `pitwall serve`'s laps sink): [`Store::add_telemetry_lap`] stores one
//!   and links it to the server lap of the same drive, and [`Store::add_lap`] links from the
//!   other side; the rule (same car and driver, lap times within 5 ms, lap ends within ±10 s,
//!   one candidate each way) is in the `telemetry` module's docs and `docs/join.md`.
//!   [`LeaderRow::telemetry`] names the linked lap; [`Store::telemetry_laps`] reads them back.
//! - The catalogue: [`Store::server_sessions`] and [`Store::telemetry_sessions`] list what is
//!   stored, [`Store::server_session_laps`] a session's laps with their telemetry laps, and
//!   [`Store::lap_collisions`] what a driver hit during a lap.
//!
//! Times are Unix milliseconds (`i64`) throughout; lap and sector times are milliseconds.
//!
//! ```
//! use records::{EntryInput, LapInput, Query, SessionInput, SessionType, Store};
//!
//! # fn main() -> Result<(), records::RecordsError> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let mut store = Store::open(&dir.path().join("records.sqlite"))?;
//! let session = store.begin_session(&SessionInput {
//!     server: "pitwall".into(),
//!     track: "ks_vallelunga".into(),
//!     layout: "club_circuit".into(),
//!     session_type: SessionType::Practice,
//!     name: "Practice".into(),
//!     started_at_ms: 1_700_000_000_000,
//!     laps_limit: None,
//!     time_limit_s: Some(1800),
//! })?;
//! let entry = store.add_entry(session, &EntryInput {
//!     guid: "76561198000000001".into(),
//!     name: "Ada".into(),
//!     team: String::new(),
//!     car_id: 0,
//!     car_model: "ks_mazda_mx5_cup".into(),
//!     skin: "red".into(),
//! })?;
//! store.add_lap(entry, &LapInput {
//!     lap: 1,
//!     time_ms: 71_234,
//!     sectors: vec![23_000, 24_000, 24_234],
//!     cuts: 0,
//!     grip: Some(0.98),
//!     top_speed_kmh: None,
//!     tyre: None,
//!     finished_at_ms: 1_700_000_100_000,
//! })?;
//! store.end_session(session, 1_700_001_800_000)?;
//!
//! let board = store.leaderboard(&Query::new("ks_vallelunga", "club_circuit"))?;
//! assert_eq!(board[0].name, "Ada");
//! assert_eq!(board[0].time_ms, 71_234);
//! # Ok(())
//! # }
//! ```

mod catalogue;
mod date;
mod error;
mod query;
mod results;
mod schema;
mod store;
mod telemetry;

pub use catalogue::{
    LapCollision, ServerSessionLap, ServerSessionSummary, TelemetryLapSummary, TelemetrySessionSummary,
};
pub use date::{format_date, parse_date};
pub use error::RecordsError;
pub use query::{LeaderRow, PersonalBest, Query, Ranking, TheoreticalBest};
pub use results::ImportSummary;
pub use store::{EntryKey, SessionKey, Store};
pub use telemetry::{
    CLOCK_WINDOW_MS, GameIdentity, LAP_TIME_TOLERANCE_MS, LinkOutcome, LinkStats, ServerLap, TelemetryLap,
    TelemetryLapInput, TelemetryRef, TelemetrySessionInput, session_id_text,
};

use serde::{Deserialize, Serialize};

/// The kind of a session, as the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    /// Booking: drivers choose their cars; nobody drives.
    Booking,
    /// Practice.
    Practice,
    /// Qualifying.
    Qualify,
    /// Race.
    Race,
}

impl SessionType {
    /// The name stored in the database and printed: `"practice"`, `"qualify"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Booking => "booking",
            SessionType::Practice => "practice",
            SessionType::Qualify => "qualify",
            SessionType::Race => "race",
        }
    }

    /// Parses a name in any case, as the database, a command line (`race`) or a results file
    /// (`RACE`) has it; `qualifying` is taken for `qualify`.
    pub fn parse(s: &str) -> Option<SessionType> {
        match s.to_ascii_lowercase().as_str() {
            "booking" => Some(SessionType::Booking),
            "practice" => Some(SessionType::Practice),
            "qualify" | "qualifying" => Some(SessionType::Qualify),
            "race" => Some(SessionType::Race),
            _ => None,
        }
    }
}

impl std::fmt::Display for SessionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session starting on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInput {
    /// The server's name.
    pub server: String,
    /// Track folder (`ks_vallelunga`).
    pub track: String,
    /// Track layout (`club_circuit`), empty for a track without layouts.
    pub layout: String,
    /// Practice, qualifying, race…
    pub session_type: SessionType,
    /// The session's name as the server has it.
    pub name: String,
    /// When it started, Unix ms.
    pub started_at_ms: i64,
    /// Laps of a race run to a number of laps.
    pub laps_limit: Option<u32>,
    /// Length of a timed session, seconds.
    pub time_limit_s: Option<u32>,
}

/// A driver in a car, in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInput {
    /// The driver's Steam GUID: the key of their records. Must not be empty.
    pub guid: String,
    /// The driver's name as the server has it now (kept as the latest; older names are kept as
    /// history).
    pub name: String,
    /// The driver's team.
    pub team: String,
    /// The server's car slot.
    pub car_id: u8,
    /// Car model (`ks_mazda_mx5_cup`).
    pub car_model: String,
    /// Skin.
    pub skin: String,
}

/// A completed lap.
#[derive(Debug, Clone, PartialEq)]
pub struct LapInput {
    /// The entry's lap number, from 1. Storing the same number twice for an entry keeps the
    /// first (a feed that reconnects may repeat a lap).
    pub lap: u32,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Sector times, ms, in order; empty when unknown.
    pub sectors: Vec<u32>,
    /// Cuts: wheels off the track. A lap with a cut is invalid.
    pub cuts: u32,
    /// Grip level reported with the lap (0..1).
    pub grip: Option<f32>,
    /// Top speed on the lap, km/h.
    pub top_speed_kmh: Option<f32>,
    /// Tyre compound short name (`M`, `SM`…), when known.
    pub tyre: Option<String>,
    /// When the lap was completed, Unix ms.
    pub finished_at_ms: i64,
}

impl LapInput {
    /// Whether the lap counts for records: no cuts.
    pub fn valid(&self) -> bool {
        self.cuts == 0
    }
}

/// A collision of an entry with another car or with the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollisionInput {
    /// The other car's entry, or `None` for the environment (a wall, a barrier).
    pub other: Option<EntryKey>,
    /// Impact speed, km/h.
    pub impact_speed_kmh: f32,
    /// When, Unix ms.
    pub at_ms: i64,
}
