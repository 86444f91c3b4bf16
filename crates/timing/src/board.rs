//! What the engine hands out: the standings and the session, as plain data for callers to print.

use std::time::Duration;

use acsp::SessionType;
use serde::{Serialize, Serializer};

/// The timing board at one instant: the session and the standings, leader first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Board {
    /// The engine's clock when the board was taken (the `now` of the last event handled).
    #[serde(rename = "at_ms", serialize_with = "millis")]
    pub at: Duration,
    /// The session running, if the server has announced one.
    pub session: Option<SessionState>,
    /// Track grip from the last lap completed, 0..1.
    pub grip: Option<f32>,
    /// Whether the server has been silent for longer than the engine's timeout (no event at
    /// all; see [`TimingEngine::tick`]): the standings are as they were when it went quiet.
    ///
    /// [`TimingEngine::tick`]: crate::TimingEngine::tick
    pub server_down: bool,
    /// The sector boundaries of the session's track, as spline positions where sectors 2, 3, …
    /// start: the sector times of every row are between these.
    pub sectors: Vec<f32>,
    /// One row per car in the standings, in order: every connected car, and every car that has
    /// completed a lap in this session even if its driver has left since.
    pub rows: Vec<Row>,
}

/// The session, as the server last described it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionState {
    /// Session name, e.g. `Qualify`.
    pub name: String,
    /// Session type: it decides how the standings are ordered.
    pub session_type: SessionType,
    /// Track, e.g. `ks_red_bull_ring`.
    pub track: String,
    /// Track layout; may be empty.
    pub track_config: String,
    /// Index of this session in the server's list, from 0.
    pub index: u8,
    /// Number of sessions in the server's list.
    pub count: u8,
    /// Length, minutes (0 for a race over laps).
    pub minutes: u16,
    /// Race laps (0 for a timed session).
    pub laps: u16,
    /// Milliseconds since the session started, negative during a race's wait time: the server's
    /// figure, moved on by the engine's clock since the server sent it.
    pub elapsed_ms: i64,
    /// Whether the server has ended the session (END_SESSION) and not yet started the next.
    pub over: bool,
}

/// One car's line of the standings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Position, from 1.
    pub position: usize,
    /// Car id (the entry-list slot).
    pub car_id: u8,
    /// Driver name, empty when the server has not said yet.
    pub driver: String,
    /// Driver team (from CAR_INFO), empty when unknown.
    pub team: String,
    /// Car model.
    pub car_model: String,
    /// Whether a driver is connected to the car now.
    pub connected: bool,
    /// Laps completed in this session.
    pub laps: u16,
    /// Time of the last lap completed, ms, cuts or not.
    pub last_lap_ms: Option<u32>,
    /// Best lap without cuts, ms.
    pub best_lap_ms: Option<u32>,
    /// The mean of the car's laps without cuts in this session, out laps left out, ms.
    pub average_lap_ms: Option<u32>,
    /// Time on the completed laps, ms: what orders cars on the same lap in a race.
    pub total_ms: Option<u32>,
    /// In a race, the car has taken the chequered flag (the server marks it in the leaderboard
    /// of LAP_COMPLETED): finished cars come first, by laps and then by who crossed first.
    pub finished: bool,
    /// The gap to the leader.
    pub gap: Option<Gap>,
    /// The gap to the car one place ahead (none for the leader), measured the same way as
    /// [`gap`](Self::gap).
    ///
    /// In a race both are live: every car update moves each car along a virtual timing loop of
    /// 100 points (one per 1 % of the lap), and records when it passed each point,
    /// interpolated between two updates when it passed several. The gap between two cars is
    /// the difference of the times they passed the last point the car behind has passed; a car
    /// a lap or more behind is [`Gap::Laps`] down. In practice and qualifying both are
    /// differences of best laps.
    pub interval: Option<Gap>,
    /// Speed at the last car update, km/h.
    pub speed_kmh: f32,
    /// Position along the lap at the last car update, 0..1.
    pub spline: f32,
    /// World position (x, z) at the last car update, m: where the car is on the track map
    /// ([`TrackOutline`](crate::TrackOutline)).
    pub world: Option<[f32; 2]>,
    /// Collisions in this session, with cars and with the environment.
    pub collisions: u32,
    /// Of those, collisions with another car.
    pub car_collisions: u32,
    /// Of those, collisions with the environment (walls, barriers).
    pub env_collisions: u32,
    /// The hardest impact of those collisions, km/h.
    pub max_impact_kmh: Option<f32>,
    /// Sector times of the last lap the car ran whole under the engine's eyes, ms, estimated
    /// from the timing loop (the boundaries are [`Board::sectors`]); cuts or not. `None` for a
    /// sector the engine could not time (the car was first seen mid-lap, or jumped).
    pub last_sectors_ms: Vec<Option<u32>>,
    /// The best time of each sector, from laps without cuts, ms.
    pub best_sectors_ms: Vec<Option<u32>>,
    /// The sum of the best sectors, once every sector has one: the lap the car could run.
    pub theoretical_best_ms: Option<u32>,
    /// The top speed on the last lap completed (the car updates between its last two lap
    /// completions), km/h.
    pub last_lap_top_kmh: Option<f32>,
    /// The top speed on the best lap, km/h.
    pub best_lap_top_kmh: Option<f32>,
    /// The last lap completed looks like an out lap: the car stood still (under 5 km/h) during
    /// it, as when leaving the pit box; never a race's first lap, which starts from the grid.
    /// The server has no pit flag: a car that stops on the track is taken for one too, and an
    /// out lap of a car the engine saw only from its first lap's line is missed.
    pub last_lap_out: bool,
    /// The last lap completed looks like an in lap: the car came to a standstill within the
    /// first 10 % of the next lap, where a pit lane crossing the line leads to the boxes. A
    /// pit box before the line, or a driver who leaves through the menu (sent back to the
    /// pits), is not seen.
    pub last_lap_in: bool,
}

/// How far a car is behind the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Gap {
    /// The car leads.
    Leader,
    /// This much slower: in practice and qualifying the difference of best laps; in a race the
    /// difference of total times, between cars on the same lap.
    Time {
        /// The gap, ms.
        ms: u32,
    },
    /// In a race, this many laps down.
    Laps {
        /// Laps behind the leader.
        laps: u16,
    },
}

impl Board {
    /// The row of car `car_id`, if it is in the standings.
    pub fn row(&self, car_id: u8) -> Option<&Row> {
        self.rows.iter().find(|r| r.car_id == car_id)
    }
}

impl SessionState {
    /// Whether this session is a race: standings by laps, then total time.
    pub fn is_race(&self) -> bool {
        self.session_type == SessionType::Race
    }
}

/// A duration as whole milliseconds (saturating: a clock does not run for 584 million years).
pub(crate) fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
