//! The schema, as a list of migrations applied in order (`PRAGMA user_version` counts those
//! applied), each in its own transaction so that a crash leaves the file at a version boundary.

use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only: a released
/// migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
CREATE TABLE servers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    server_id INTEGER NOT NULL REFERENCES servers (id),
    track TEXT NOT NULL,
    layout TEXT NOT NULL,                 -- '' for a track without layouts
    session_type TEXT NOT NULL,           -- 'booking', 'practice', 'qualify', 'race'
    name TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,       -- Unix time, ms
    ended_at_ms INTEGER,                  -- NULL while running (or never ended)
    laps_limit INTEGER,                   -- NULL: the session is timed
    time_limit_s INTEGER,
    results_file TEXT,                    -- the imported results file's name, NULL when live
    UNIQUE (server_id, results_file)
);
CREATE INDEX sessions_track ON sessions (track, layout, session_type);
CREATE TABLE drivers (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,                   -- the latest name seen
    team TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL           -- when that name was seen (session start)
);
-- Every name (and team) a GUID has had, with when it was first and last seen.
CREATE TABLE driver_names (
    driver_id INTEGER NOT NULL REFERENCES drivers (id),
    name TEXT NOT NULL,
    team TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (driver_id, name, team)
) WITHOUT ROWID;
-- A track layout and a car model: what a record is set in. Laps carry it (and their driver
-- and session, all copied from their entry, which never changes) so that a leaderboard reads
-- one index range instead of joining sessions, entries and laps.
CREATE TABLE combos (
    id INTEGER PRIMARY KEY,
    track TEXT NOT NULL,
    layout TEXT NOT NULL,
    car_model TEXT NOT NULL,
    UNIQUE (track, layout, car_model)
);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    driver_id INTEGER NOT NULL REFERENCES drivers (id),
    combo_id INTEGER NOT NULL REFERENCES combos (id),
    car_id INTEGER NOT NULL,              -- the server's car slot
    car_model TEXT NOT NULL,
    skin TEXT NOT NULL,
    name TEXT NOT NULL                    -- the driver's name in this session
);
CREATE INDEX entries_session ON entries (session_id);
CREATE INDEX entries_driver ON entries (driver_id);
CREATE TABLE laps (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    session_id INTEGER NOT NULL REFERENCES sessions (id),  -- the entry's
    combo_id INTEGER NOT NULL REFERENCES combos (id),      -- the entry's
    driver_id INTEGER NOT NULL REFERENCES drivers (id),    -- the entry's
    lap INTEGER NOT NULL,                 -- 1 for the entry's first completed lap
    time_ms INTEGER NOT NULL,
    sectors TEXT NOT NULL,                -- JSON array of ms, [] when unknown
    cuts INTEGER NOT NULL,
    valid INTEGER NOT NULL,               -- 0 or 1
    grip REAL,
    top_speed_kmh REAL,
    tyre TEXT,
    finished_at_ms INTEGER NOT NULL,      -- Unix time, ms
    UNIQUE (entry_id, lap)
);
-- The leaderboards: the laps of a combo, by validity, driver and time, in the order the
-- best-per-driver ranking reads them (no sort), with what the date and session filters need.
CREATE INDEX laps_rank ON laps (combo_id, valid, driver_id, time_ms, finished_at_ms, session_id);
-- A driver's own records.
CREATE INDEX laps_driver ON laps (driver_id, combo_id, valid, time_ms);
CREATE TABLE collisions (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    other_entry_id INTEGER REFERENCES entries (id),  -- NULL: the environment
    impact_speed_kmh REAL NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX collisions_entry ON collisions (entry_id);
CREATE TABLE chat (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    text TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX chat_entry ON chat (entry_id);
",
    // 2: telemetry laps (from `pitwall serve`'s laps sink) and their link to server laps
    // (`telemetry.rs`, docs/join.md).
    "
-- A telemetry session's metadata as the game reported it, kept so that a sink resuming in the
-- middle of a session (the metadata rides only on its first frames) still knows the car.
CREATE TABLE telemetry_sessions (
    session_uuid TEXT PRIMARY KEY,        -- the bridge's UUID, 36 characters, lower case
    car_model TEXT NOT NULL,
    track TEXT NOT NULL,
    layout TEXT NOT NULL,
    player_name TEXT NOT NULL,
    player_surname TEXT NOT NULL,
    player_nick TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL        -- Unix time, ms (car PC's clock)
) WITHOUT ROWID;
CREATE TABLE telemetry_laps (
    id INTEGER PRIMARY KEY,
    session_uuid TEXT NOT NULL,
    lap INTEGER NOT NULL,                 -- the lap detector's number, from 1
    car_model TEXT NOT NULL,
    track TEXT NOT NULL,
    layout TEXT NOT NULL,
    player_name TEXT NOT NULL,
    player_surname TEXT NOT NULL,
    player_nick TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    invalid TEXT NOT NULL,                -- reasons, comma-separated ('cut, out-lap'); '' when valid
    finished_at_ms INTEGER NOT NULL,      -- Unix time, ms (car PC's clock)
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    lap_id INTEGER UNIQUE REFERENCES laps (id),  -- the linked server lap; NULL when none
    UNIQUE (session_uuid, lap)
);
-- The candidates of a server lap: lap end in the window (probed at every server lap stored).
CREATE INDEX telemetry_laps_finished ON telemetry_laps (finished_at_ms);
",
    // 3: what a telemetry lap's data is worth (the dashboard's catalogue), and its sectors.
    "
ALTER TABLE telemetry_laps ADD COLUMN frames INTEGER NOT NULL DEFAULT 0;        -- frames in the lap
ALTER TABLE telemetry_laps ADD COLUMN missed_steps INTEGER NOT NULL DEFAULT 0;  -- physics steps the game skipped
ALTER TABLE telemetry_laps ADD COLUMN sectors TEXT NOT NULL DEFAULT '[]';       -- JSON array of ms
CREATE INDEX telemetry_laps_link ON telemetry_laps (lap_id);
",
];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// The file's schema version.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Applies the migrations the file lacks, each with its version bump in one transaction.
/// The caller has checked that the file is not newer than [`VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), (usize, rusqlite::Error)> {
    let from = version(conn).map_err(|e| (0, e))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0)) {
        let tx = conn.transaction().map_err(|e| (i + 1, e))?;
        tx.execute_batch(sql).map_err(|e| (i + 1, e))?;
        tx.pragma_update(None, "user_version", i as i64 + 1).map_err(|e| (i + 1, e))?;
        tx.commit().map_err(|e| (i + 1, e))?;
    }
    Ok(())
}
