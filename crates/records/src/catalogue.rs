//! The catalogue: what is stored, session by session, for a person choosing laps to look at
//! (the dashboard's sessions page). Server sessions with their laps and which of them have
//! telemetry; telemetry sessions with their laps and what their data is worth (frames, and the
//! physics steps the game skipped, which the bridge could not see).

use rusqlite::params;
use serde::Serialize;

use crate::query::sectors_at;
use crate::telemetry::GameIdentity;
use crate::{EntryKey, RecordsError, SessionKey, Store};

/// A telemetry session: one car's stream from one game.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetrySessionSummary {
    /// The bridge's session UUID (`0190a1b2-…`, lower case).
    pub session_id: String,
    /// Car, track and names, as the game reported them.
    pub game: GameIdentity,
    /// When the session was first seen, Unix ms (the car PC's clock); the first lap's end when
    /// the session's metadata was never stored.
    pub started_at_ms: i64,
    /// Laps stored.
    pub laps: u32,
    /// Of those, laps without a reason to set them aside (cuts, out lap…).
    pub valid_laps: u32,
    /// The best of the valid laps, ms.
    pub best_ms: Option<u32>,
    /// Frames in the stored laps.
    pub frames: u64,
    /// Physics steps the game skipped during the stored laps.
    pub missed_steps: u64,
    /// Laps linked to a server lap.
    pub linked_laps: u32,
}

/// A server session, as the records have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSessionSummary {
    /// The session's key ([`Store::server_session_laps`]).
    pub id: i64,
    /// The server's name.
    pub server: String,
    /// Track.
    pub track: String,
    /// Layout; may be empty.
    pub layout: String,
    /// `practice`, `qualify`, `race`, `booking`.
    pub session_type: String,
    /// The session's name.
    pub name: String,
    /// Start, Unix ms (the server's clock).
    pub started_at_ms: i64,
    /// End, Unix ms; `None` while running or never ended.
    pub ended_at_ms: Option<i64>,
    /// Drivers (entries) with at least one lap.
    pub drivers: u32,
    /// Laps completed.
    pub laps: u32,
    /// Of those, laps linked to a telemetry lap.
    pub laps_with_telemetry: u32,
}

/// A lap of a server session, with its telemetry lap if one is linked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSessionLap {
    /// The driver's entry in the session ([`Store::lap_collisions`]).
    pub entry: i64,
    /// The driver's name in the session.
    pub driver: String,
    /// Car model.
    pub car_model: String,
    /// The server's car slot.
    pub car_id: u8,
    /// The entry's lap number.
    pub lap: u32,
    /// Lap time, ms.
    pub time_ms: u32,
    /// Sector times, ms; empty when unknown.
    pub sectors: Vec<u32>,
    /// Cuts.
    pub cuts: u32,
    /// Whether the server counts it.
    pub valid: bool,
    /// When it was completed, Unix ms (the server's clock).
    pub finished_at_ms: i64,
    /// The linked telemetry lap.
    pub telemetry: Option<TelemetryLapSummary>,
}

/// A telemetry lap named from a server lap: where its frames are and what they are worth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelemetryLapSummary {
    /// The bridge's session UUID.
    pub session_id: String,
    /// The telemetry lap's number.
    pub lap: u32,
    /// Frames in the lap.
    pub frames: u64,
    /// Physics steps the game skipped during it.
    pub missed_steps: u64,
}

/// A collision of a server entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LapCollision {
    /// When, Unix ms (the server's clock).
    pub at_ms: i64,
    /// Impact speed, km/h.
    pub impact_kmh: f32,
    /// The other car's driver; `None` for the environment (a wall).
    pub other: Option<String>,
}

impl Store {
    /// The telemetry sessions with stored laps, the most recent first, at most `limit`.
    pub fn telemetry_sessions(&self, limit: u32) -> Result<Vec<TelemetrySessionSummary>, RecordsError> {
        self.query_rows(
            "SELECT t.session_uuid, MAX(t.car_model), MAX(t.track), MAX(t.layout), MAX(t.player_name),
                    MAX(t.player_surname), MAX(t.player_nick),
                    COALESCE(MAX(s.started_at_ms), MIN(t.finished_at_ms)),
                    COUNT(*), SUM(t.invalid = ''), MIN(CASE WHEN t.invalid = '' THEN t.time_ms END),
                    SUM(t.frames), SUM(t.missed_steps), COUNT(t.lap_id)
             FROM telemetry_laps t LEFT JOIN telemetry_sessions s ON s.session_uuid = t.session_uuid
             GROUP BY t.session_uuid
             ORDER BY MAX(t.finished_at_ms) DESC, t.session_uuid
             LIMIT ?1",
            [limit],
            |r| {
                Ok(TelemetrySessionSummary {
                    session_id: r.get(0)?,
                    game: GameIdentity {
                        car_model: r.get(1)?,
                        track: r.get(2)?,
                        layout: r.get(3)?,
                        player_name: r.get(4)?,
                        player_surname: r.get(5)?,
                        player_nick: r.get(6)?,
                    },
                    started_at_ms: r.get(7)?,
                    laps: r.get(8)?,
                    valid_laps: r.get(9)?,
                    best_ms: r.get(10)?,
                    frames: r.get::<_, i64>(11)?.max(0) as u64,
                    missed_steps: r.get::<_, i64>(12)?.max(0) as u64,
                    linked_laps: r.get(13)?,
                })
            },
        )
        .map_err(self.db_err("list telemetry sessions"))
    }

    /// The server sessions, the most recent first, at most `limit`.
    pub fn server_sessions(&self, limit: u32) -> Result<Vec<ServerSessionSummary>, RecordsError> {
        self.query_rows(
            "SELECT s.id, sv.name, s.track, s.layout, s.session_type, s.name, s.started_at_ms, s.ended_at_ms,
                    (SELECT COUNT(DISTINCT l.entry_id) FROM laps l WHERE l.session_id = s.id),
                    (SELECT COUNT(*) FROM laps l WHERE l.session_id = s.id),
                    (SELECT COUNT(*) FROM laps l JOIN telemetry_laps t ON t.lap_id = l.id
                     WHERE l.session_id = s.id)
             FROM sessions s JOIN servers sv ON sv.id = s.server_id
             ORDER BY s.started_at_ms DESC, s.id DESC
             LIMIT ?1",
            [limit],
            |r| {
                Ok(ServerSessionSummary {
                    id: r.get(0)?,
                    server: r.get(1)?,
                    track: r.get(2)?,
                    layout: r.get(3)?,
                    session_type: r.get(4)?,
                    name: r.get(5)?,
                    started_at_ms: r.get(6)?,
                    ended_at_ms: r.get(7)?,
                    drivers: r.get(8)?,
                    laps: r.get(9)?,
                    laps_with_telemetry: r.get(10)?,
                })
            },
        )
        .map_err(self.db_err("list server sessions"))
    }

    /// The laps of a server session in the order they were completed, each with its linked
    /// telemetry lap. An unknown session has none.
    pub fn server_session_laps(&self, session: SessionKey) -> Result<Vec<ServerSessionLap>, RecordsError> {
        self.query_rows(
            "SELECT l.entry_id, e.name, e.car_model, e.car_id, l.lap, l.time_ms, l.sectors, l.cuts, l.valid,
                    l.finished_at_ms, t.session_uuid, t.lap, t.frames, t.missed_steps
             FROM laps l JOIN entries e ON e.id = l.entry_id LEFT JOIN telemetry_laps t ON t.lap_id = l.id
             WHERE l.session_id = ?1
             ORDER BY l.finished_at_ms, l.id",
            [session.id()],
            |r| {
                let telemetry = match r.get::<_, Option<String>>(10)? {
                    Some(session_id) => Some(TelemetryLapSummary {
                        session_id,
                        lap: r.get(11)?,
                        frames: r.get::<_, i64>(12)?.max(0) as u64,
                        missed_steps: r.get::<_, i64>(13)?.max(0) as u64,
                    }),
                    None => None,
                };
                Ok(ServerSessionLap {
                    entry: r.get(0)?,
                    driver: r.get(1)?,
                    car_model: r.get(2)?,
                    car_id: r.get(3)?,
                    lap: r.get(4)?,
                    time_ms: r.get(5)?,
                    sectors: sectors_at(r, 6)?,
                    cuts: r.get(7)?,
                    valid: r.get(8)?,
                    finished_at_ms: r.get(9)?,
                    telemetry,
                })
            },
        )
        .map_err(self.db_err("read a session's laps"))
    }

    /// The collisions of `entry` with `from_ms < at_ms <= to_ms` (a lap's window on the
    /// server's clock), in time order, with the other car's driver.
    pub fn lap_collisions(
        &self,
        entry: EntryKey,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<LapCollision>, RecordsError> {
        self.query_rows(
            "SELECT c.at_ms, c.impact_speed_kmh, o.name FROM collisions c LEFT JOIN entries o ON o.id = c.other_entry_id
             WHERE c.entry_id = ?1 AND c.at_ms > ?2 AND c.at_ms <= ?3 ORDER BY c.at_ms, c.id",
            params![entry.id(), from_ms, to_ms],
            |r| Ok(LapCollision { at_ms: r.get(0)?, impact_kmh: r.get::<_, f64>(1)? as f32, other: r.get(2)? }),
        )
        .map_err(self.db_err("read a lap's collisions"))
    }
}
