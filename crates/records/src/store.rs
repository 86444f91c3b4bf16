//! The store: opening (and migrating) the file, and the writes.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{CollisionInput, EntryInput, LapInput, LinkStats, RecordsError, SessionInput, schema};

/// Writes committed together at most: a replay of a capture commits every this many rows
/// (one fsync each time) rather than at every lap.
const DEFAULT_BATCH: usize = 1000;

/// A session in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SessionKey(pub(crate) i64);

impl SessionKey {
    /// The session's row id in the database (`sessions.id`).
    pub fn id(self) -> i64 {
        self.0
    }

    /// The key of the session with row id `id` (from [`id`](Self::id), or a URL): a key
    /// of no session reads as a session without laps.
    pub fn from_id(id: i64) -> SessionKey {
        SessionKey(id)
    }
}

/// A driver in a car in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntryKey(pub(crate) i64);

impl EntryKey {
    /// The entry's row id in the database (`entries.id`).
    pub fn id(self) -> i64 {
        self.0
    }
}

/// The records database, open for reading and writing.
///
/// Writes go into one open transaction, committed by [`Store::flush`], by
/// [`Store::end_session`], when [`Store::set_batch_size`] writes are pending, and (best
/// effort, errors unseen) when the store is dropped. A crash loses only what was not committed.
#[derive(Debug)]
pub struct Store {
    pub(crate) path: PathBuf,
    pub(crate) conn: Connection,
    pending: usize,
    batch: usize,
    /// Link attempts counted since opening (`telemetry.rs`).
    pub(crate) links: Cell<LinkStats>,
}

impl Store {
    /// Opens the database at `path`, creating it if needed, and brings its schema up to date.
    /// WAL journal: readers (a leaderboard page, `pitwall records`) never block the writer.
    pub fn open(path: &Path) -> Result<Store, RecordsError> {
        let db = |what| move |source| RecordsError::Db { path: path.to_owned(), what, source };
        let mut conn = Connection::open(path).map_err(db("open"))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db("set the busy timeout"))?;
        // The journal mode is a query: it returns the mode it set, which a read-only medium
        // may refuse; WAL matters for concurrent readers, not for correctness.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(db("set WAL mode"))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db("set synchronous"))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(db("enable foreign keys"))?;
        let found = schema::version(&conn).map_err(db("read the schema version"))?;
        if found > schema::VERSION {
            return Err(RecordsError::TooNew { path: path.to_owned(), found, known: schema::VERSION });
        }
        schema::migrate(&mut conn).map_err(|(_, source)| RecordsError::Db {
            path: path.to_owned(),
            what: "migrate the schema",
            source,
        })?;
        Ok(Store { path: path.to_owned(), conn, pending: 0, batch: DEFAULT_BATCH, links: Cell::default() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits after `n` pending writes (at least 1). 1 commits every write at once.
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch = n.max(1);
    }

    pub(crate) fn db_err(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> RecordsError + use<> {
        let path = self.path.clone();
        move |source| RecordsError::Db { path, what, source }
    }

    /// Opens the batch's transaction if none is open.
    pub(crate) fn write_begin(&mut self, what: &'static str) -> Result<(), RecordsError> {
        if self.conn.is_autocommit() {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(self.db_err(what))?;
            self.pending = 0;
        }
        Ok(())
    }

    /// Counts one write and commits when the batch is full.
    pub(crate) fn write_done(&mut self) -> Result<(), RecordsError> {
        self.pending += 1;
        if self.pending >= self.batch { self.flush() } else { Ok(()) }
    }

    /// Commits every pending write.
    pub fn flush(&mut self) -> Result<(), RecordsError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("COMMIT").map_err(self.db_err("commit"))?;
        }
        self.pending = 0;
        Ok(())
    }

    /// Records a session's start.
    pub fn begin_session(&mut self, s: &SessionInput) -> Result<SessionKey, RecordsError> {
        self.write_begin("begin a session")?;
        let id = self.insert_session(s, None).map_err(self.db_err("begin a session"))?;
        self.write_done()?;
        Ok(SessionKey(id))
    }

    pub(crate) fn insert_session(
        &self,
        s: &SessionInput,
        results_file: Option<&str>,
    ) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached("INSERT INTO servers (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
            .execute([&s.server])?;
        let server: i64 = self
            .conn
            .prepare_cached("SELECT id FROM servers WHERE name = ?1")?
            .query_row([&s.server], |r| r.get(0))?;
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (server_id, track, layout, session_type, name, started_at_ms, laps_limit,
                                       time_limit_s, results_file)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                server,
                s.track,
                s.layout,
                s.session_type.as_str(),
                s.name,
                s.started_at_ms,
                s.laps_limit,
                s.time_limit_s,
                results_file
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a session's end.
    pub fn end_session(&mut self, session: SessionKey, ended_at_ms: i64) -> Result<(), RecordsError> {
        self.write_begin("end a session")?;
        let n = self
            .conn
            .prepare_cached("UPDATE sessions SET ended_at_ms = ?2 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![session.0, ended_at_ms]))
            .map_err(self.db_err("end a session"))?;
        if n == 0 {
            return Err(self.invalid(format!("no session {}", session.0)));
        }
        self.flush()
    }

    fn invalid(&self, message: String) -> RecordsError {
        RecordsError::Invalid { path: self.path.clone(), message }
    }

    /// Records a driver in a car in a session. The driver's name and team become their latest
    /// unless a later session already named them; every name is kept in the history.
    pub fn add_entry(&mut self, session: SessionKey, e: &EntryInput) -> Result<EntryKey, RecordsError> {
        if e.guid.is_empty() {
            return Err(self.invalid(format!("an entry without a GUID ({:?} in {})", e.name, e.car_model)));
        }
        self.write_begin("add an entry")?;
        let id = self.insert_entry(session, e).map_err(self.db_err("add an entry"))?;
        match id {
            Some(id) => {
                self.write_done()?;
                Ok(EntryKey(id))
            }
            None => Err(self.invalid(format!("no session {}", session.0))),
        }
    }

    pub(crate) fn insert_entry(&self, session: SessionKey, e: &EntryInput) -> rusqlite::Result<Option<i64>> {
        let Some(at): Option<i64> = self
            .conn
            .prepare_cached("SELECT started_at_ms FROM sessions WHERE id = ?1")?
            .query_row([session.0], |r| r.get(0))
            .optional()?
        else {
            return Ok(None);
        };
        self.conn
            .prepare_cached(
                "INSERT INTO drivers (guid, name, team, seen_at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guid) DO UPDATE SET name = excluded.name, team = excluded.team,
                                                  seen_at_ms = excluded.seen_at_ms
                 WHERE excluded.seen_at_ms >= drivers.seen_at_ms",
            )?
            .execute(params![e.guid, e.name, e.team, at])?;
        let driver: i64 = self
            .conn
            .prepare_cached("SELECT id FROM drivers WHERE guid = ?1")?
            .query_row([&e.guid], |r| r.get(0))?;
        self.conn
            .prepare_cached(
                "INSERT INTO driver_names (driver_id, name, team, first_seen_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (driver_id, name, team) DO UPDATE
                 SET first_seen_ms = MIN(first_seen_ms, excluded.first_seen_ms),
                     last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)",
            )?
            .execute(params![driver, e.name, e.team, at])?;
        self.conn
            .prepare_cached(
                "INSERT INTO combos (track, layout, car_model)
                 SELECT track, layout, ?2 FROM sessions WHERE id = ?1
                 ON CONFLICT (track, layout, car_model) DO NOTHING",
            )?
            .execute(params![session.0, e.car_model])?;
        self.conn
            .prepare_cached(
                "INSERT INTO entries (session_id, driver_id, combo_id, car_id, car_model, skin, name)
                 SELECT s.id, ?2, c.id, ?3, ?4, ?5, ?6
                 FROM sessions s JOIN combos c ON c.track = s.track AND c.layout = s.layout AND c.car_model = ?4
                 WHERE s.id = ?1",
            )?
            .execute(params![session.0, driver, e.car_id, e.car_model, e.skin, e.name])?;
        Ok(Some(self.conn.last_insert_rowid()))
    }

    /// Records a completed lap of an entry. A lap number already stored for the entry is
    /// ignored (the first one stays).
    pub fn add_lap(&mut self, entry: EntryKey, lap: &LapInput) -> Result<(), RecordsError> {
        self.add_lap_if_new(entry, lap).map(|_| ())
    }

    /// [`Store::add_lap`], saying whether the lap was stored: false when the entry had a lap
    /// of that number already (a replay, or a feed that repeats itself).
    pub fn add_lap_if_new(&mut self, entry: EntryKey, lap: &LapInput) -> Result<bool, RecordsError> {
        self.write_begin("add a lap")?;
        let stored = self.insert_lap(entry, lap).map_err(self.db_err("add a lap"))?;
        if !stored && !self.entry_exists(entry)? {
            return Err(self.invalid(format!("no entry {}", entry.0)));
        }
        self.write_done()?;
        Ok(stored)
    }

    /// The session of the same server, track, layout, type and name as `s` whose start is
    /// within `within_ms` of `s.started_at_ms`, the nearest if several: the session a live feed
    /// that restarted is continuing (also once completed from its results file). A session
    /// imported from a results file alone is not found in practice: it is named by the file's
    /// session type (`QUALIFY`, where the server's own name is `Qualify`) and dated by the
    /// file's name, at the session's end.
    pub fn find_session(&self, s: &SessionInput, within_ms: i64) -> Result<Option<SessionKey>, RecordsError> {
        self.conn
            .prepare_cached(
                "SELECT s.id FROM sessions s JOIN servers sv ON sv.id = s.server_id
                 WHERE sv.name = ?1 AND s.track = ?2 AND s.layout = ?3 AND s.session_type = ?4
                   AND s.name = ?5
                   AND s.started_at_ms BETWEEN ?6 - ?7 AND ?6 + ?7
                 ORDER BY ABS(s.started_at_ms - ?6), s.id LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(
                    params![
                        s.server,
                        s.track,
                        s.layout,
                        s.session_type.as_str(),
                        s.name,
                        s.started_at_ms,
                        within_ms
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map(|id| id.map(SessionKey))
            .map_err(self.db_err("look up a session"))
    }

    /// The entry of the driver with GUID `guid` in car model `car_model` in `session`, if one
    /// is stored (the first, if several).
    pub fn find_entry(
        &self,
        session: SessionKey,
        guid: &str,
        car_model: &str,
    ) -> Result<Option<EntryKey>, RecordsError> {
        self.conn
            .prepare_cached(
                "SELECT e.id FROM entries e JOIN drivers d ON d.id = e.driver_id
                 WHERE e.session_id = ?1 AND d.guid = ?2 AND e.car_model = ?3 ORDER BY e.id LIMIT 1",
            )
            .and_then(|mut st| st.query_row(params![session.0, guid, car_model], |r| r.get(0)).optional())
            .map(|id| id.map(EntryKey))
            .map_err(self.db_err("look up an entry"))
    }

    fn entry_exists(&self, entry: EntryKey) -> Result<bool, RecordsError> {
        self.conn
            .prepare_cached("SELECT 1 FROM entries WHERE id = ?1")
            .and_then(|mut st| st.exists([entry.0]))
            .map_err(self.db_err("look up an entry"))
    }

    /// Inserts a lap and links it to its telemetry lap (`telemetry.rs`); false when none was
    /// inserted (the lap number was stored already, or there is no such entry).
    pub(crate) fn insert_lap(&self, entry: EntryKey, lap: &LapInput) -> rusqlite::Result<bool> {
        // A Vec<u32> always serializes; the fallback only keeps this path free of unwraps.
        let sectors = serde_json::to_string(&lap.sectors).unwrap_or_else(|_| "[]".to_owned());
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO laps (entry_id, session_id, combo_id, driver_id, lap, time_ms, sectors, cuts, valid,
                                   grip, top_speed_kmh, tyre, finished_at_ms)
                 SELECT id, session_id, combo_id, driver_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
                 FROM entries WHERE id = ?1
                 ON CONFLICT (entry_id, lap) DO NOTHING",
            )?
            .execute(params![
                entry.0,
                lap.lap,
                lap.time_ms,
                sectors,
                lap.cuts,
                lap.valid(),
                lap.grip,
                lap.top_speed_kmh,
                lap.tyre,
                lap.finished_at_ms
            ])?;
        if n == 1 {
            self.link_server_lap(self.conn.last_insert_rowid(), entry, lap.time_ms, lap.finished_at_ms)?;
        }
        Ok(n == 1)
    }

    /// Records a collision.
    pub fn add_collision(&mut self, entry: EntryKey, c: &CollisionInput) -> Result<(), RecordsError> {
        self.write_begin("add a collision")?;
        self.insert_collision(entry, c).map_err(self.db_err("add a collision"))?;
        self.write_done()
    }

    pub(crate) fn insert_collision(&self, entry: EntryKey, c: &CollisionInput) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO collisions (entry_id, other_entry_id, impact_speed_kmh, at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![entry.0, c.other.map(|o| o.0), c.impact_speed_kmh, c.at_ms])?;
        Ok(())
    }

    /// Records a chat line of an entry, as sent (control characters and all).
    pub fn add_chat(&mut self, entry: EntryKey, text: &str, at_ms: i64) -> Result<(), RecordsError> {
        self.write_begin("add a chat line")?;
        self.conn
            .prepare_cached("INSERT INTO chat (entry_id, text, at_ms) VALUES (?1, ?2, ?3)")
            .and_then(|mut st| st.execute(params![entry.0, text, at_ms]))
            .map_err(self.db_err("add a chat line"))?;
        self.write_done()
    }

    /// Every name (and team) a GUID has had, oldest first: `(name, team, first seen, last
    /// seen)`.
    pub fn driver_names(&self, guid: &str) -> Result<Vec<(String, String, i64, i64)>, RecordsError> {
        self.query_rows(
            "SELECT n.name, n.team, n.first_seen_ms, n.last_seen_ms FROM driver_names n
             JOIN drivers d ON d.id = n.driver_id WHERE d.guid = ?1 ORDER BY n.first_seen_ms, n.name",
            [guid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(self.db_err("read driver names"))
    }

    /// The chat lines of an entry, in order: `(text, at)`.
    pub fn chat(&self, entry: EntryKey) -> Result<Vec<(String, i64)>, RecordsError> {
        self.query_rows("SELECT text, at_ms FROM chat WHERE entry_id = ?1 ORDER BY id", [entry.0], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(self.db_err("read chat"))
    }

    /// The collisions of an entry, in order: `(other entry, impact speed km/h, at)`.
    pub fn collisions(&self, entry: EntryKey) -> Result<Vec<(Option<EntryKey>, f32, i64)>, RecordsError> {
        self.query_rows(
            "SELECT other_entry_id, impact_speed_kmh, at_ms FROM collisions WHERE entry_id = ?1 ORDER BY id",
            [entry.0],
            |r| Ok((r.get::<_, Option<i64>>(0)?.map(EntryKey), r.get::<_, f64>(1)? as f32, r.get(2)?)),
        )
        .map_err(self.db_err("read collisions"))
    }

    /// Runs a query and collects its rows.
    pub(crate) fn query_rows<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        self.conn.prepare_cached(sql)?.query_map(params, row)?.collect()
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, RecordsError> {
        schema::version(&self.conn).map_err(self.db_err("read the schema version"))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Best effort: a caller that must know calls `flush` first.
        let _ = self.flush();
    }
}
