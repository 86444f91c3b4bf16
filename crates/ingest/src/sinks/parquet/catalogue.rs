//! The catalogue: a small SQLite database beside the Parquet files (`_catalogue.sqlite`), so
//! tools list sessions without scanning Parquet.
//!
//! It holds one row per finished part file (`files`: session, car, rows, seq range, wall-time
//! range, laps, missed steps, the WAL position its last row ends at) and one per session
//! (`sessions`: track, layout, car, driver, session type and the full metadata JSON), and a
//! view `session_summary` joining them. The sink updates it in one transaction per flush, after
//! the files of that flush are durable; the same transaction stores the sink's committed WAL
//! position (`state`), which is what [`super::ParquetSink`] reports as its durable position.
//! The footers remain the source of truth: a file missing from the catalogue (finished by a
//! flush that crashed before its transaction) is read back and added on the next start.
//!
//! Why SQLite: atomic, durable transactions in one file, readable from every language (Python's
//! `sqlite3` is in the standard library), and safe to read while the server writes (WAL
//! journal). The name starts with `_` so that pyarrow and Spark, which skip such files, can
//! open the folder as a dataset.
//!
//! ```no_run
//! # fn demo() -> Result<(), ingest::SinkError> {
//! let sessions = ingest::sinks::parquet::list_sessions("pitwall-data/sinks/parquet".as_ref())?;
//! for s in sessions {
//!     println!("{} {} {} {} frames, {} laps", s.session_id, s.track, s.car, s.frames, s.laps);
//! }
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::sinks::{SinkError, WalPosition};

/// File name of the catalogue in the dataset's root folder.
pub const CATALOGUE_FILE: &str = "_catalogue.sqlite";

/// Path of the catalogue of the dataset in `root`.
pub fn catalogue_path(root: &Path) -> PathBuf {
    root.join(CATALOGUE_FILE)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,              -- relative to the dataset root
    session_id TEXT NOT NULL,
    car TEXT NOT NULL,                  -- the car= folder
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    first_wall_ns INTEGER NOT NULL,
    last_wall_ns INTEGER NOT NULL,
    max_completed_laps INTEGER NOT NULL,
    missed_steps INTEGER NOT NULL,
    wal_end_segment INTEGER NOT NULL,
    wal_end_offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_session ON files (session_id);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    track TEXT NOT NULL,
    layout TEXT NOT NULL,
    car TEXT NOT NULL,
    driver TEXT NOT NULL,
    session_type TEXT NOT NULL,
    metadata_json TEXT                  -- every SessionMetadata field, or NULL if never seen
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS session_summary AS
SELECT s.session_id, s.track, s.layout, s.car, s.driver, s.session_type,
       MIN(f.first_wall_ns) AS first_wall_ns, MAX(f.last_wall_ns) AS last_wall_ns,
       COALESCE(SUM(f.rows), 0) AS frames, COALESCE(MAX(f.max_completed_laps), 0) AS laps,
       COALESCE(SUM(f.missed_steps), 0) AS missed_steps, COUNT(f.path) AS files,
       MAX(f.last_seq) AS last_seq
FROM sessions s LEFT JOIN files f ON f.session_id = s.session_id
GROUP BY s.session_id;
";

/// One finished part file, as the catalogue records it (and its footer, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the dataset root (`session=…/car=…/part-….parquet`).
    pub path: String,
    /// Session id, UUID text.
    pub session_id: String,
    /// The `car=` folder (the car model, made safe for a file name).
    pub car: String,
    /// Rows in the file.
    pub rows: u64,
    /// File size, bytes.
    pub bytes: u64,
    /// Lowest seq in the file.
    pub first_seq: u64,
    /// Highest seq in the file.
    pub last_seq: u64,
    /// Wall time of the first row, ns since the Unix epoch.
    pub first_wall_ns: i64,
    /// Wall time of the last row.
    pub last_wall_ns: i64,
    /// Highest `completed_laps` in the file.
    pub max_completed_laps: i64,
    /// Sum of `missed_steps` over the file's rows.
    pub missed_steps: u64,
    /// Where the file's last row ends in the WAL.
    pub wal_end: WalPosition,
}

/// What the catalogue knows of a session's static data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionEntry {
    /// Session id, UUID text.
    pub session_id: String,
    /// Track folder.
    pub track: String,
    /// Track layout (may be empty).
    pub layout: String,
    /// Car model.
    pub car: String,
    /// Driver: name and surname as the game has them.
    pub driver: String,
    /// Session type name (`"race"`, …), as the metadata had it.
    pub session_type: String,
    /// The full metadata JSON (`table::session_metadata_json`), if the session's metadata was
    /// seen.
    pub metadata_json: Option<String>,
}

/// A session with its figures, as [`list_sessions`] returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    /// Session id, UUID text.
    pub session_id: String,
    /// Track folder.
    pub track: String,
    /// Track layout.
    pub layout: String,
    /// Car model.
    pub car: String,
    /// Driver.
    pub driver: String,
    /// Session type name.
    pub session_type: String,
    /// Wall time of the first stored frame, ns since the Unix epoch (None: no file yet).
    pub first_wall_ns: Option<i64>,
    /// Wall time of the last stored frame.
    pub last_wall_ns: Option<i64>,
    /// Frames stored.
    pub frames: u64,
    /// Most completed laps seen.
    pub laps: u64,
    /// Physics steps the game skipped, summed.
    pub missed_steps: u64,
    /// Part files.
    pub files: u64,
    /// Highest seq stored.
    pub last_seq: Option<u64>,
}

/// The catalogue, open for writing (the sink's side).
#[derive(Debug)]
pub struct Catalogue {
    path: PathBuf,
    conn: Connection,
}

fn db_err(path: &Path, what: &str, e: rusqlite::Error) -> SinkError {
    SinkError::other(format!("catalogue {}: {what}: {e}", path.display()))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Catalogue {
    /// Opens (creating) the catalogue at `path`: WAL journal, full fsync on commit.
    pub fn open(path: &Path) -> Result<Self, SinkError> {
        let conn = Connection::open(path).map_err(|e| db_err(path, "open", e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| db_err(path, "journal_mode", e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| db_err(path, "synchronous", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| db_err(path, "busy_timeout", e))?;
        conn.execute_batch(SCHEMA).map_err(|e| db_err(path, "create tables", e))?;
        Ok(Catalogue { path: path.to_owned(), conn })
    }

    /// Every file entry.
    pub fn files(&self) -> Result<Vec<FileEntry>, SinkError> {
        let err = |e| db_err(&self.path, "read files", e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, session_id, car, rows, bytes, first_seq, last_seq, first_wall_ns, last_wall_ns,
                        max_completed_laps, missed_steps, wal_end_segment, wal_end_offset FROM files",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FileEntry {
                    path: r.get(0)?,
                    session_id: r.get(1)?,
                    car: r.get(2)?,
                    rows: r.get::<_, i64>(3)? as u64,
                    bytes: r.get::<_, i64>(4)? as u64,
                    first_seq: r.get::<_, i64>(5)? as u64,
                    last_seq: r.get::<_, i64>(6)? as u64,
                    first_wall_ns: r.get(7)?,
                    last_wall_ns: r.get(8)?,
                    max_completed_laps: r.get(9)?,
                    missed_steps: r.get::<_, i64>(10)? as u64,
                    wal_end: WalPosition {
                        segment: r.get::<_, i64>(11)? as u64,
                        offset: r.get::<_, i64>(12)? as u64,
                    },
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Every session entry.
    pub fn sessions(&self) -> Result<Vec<SessionEntry>, SinkError> {
        let err = |e| db_err(&self.path, "read sessions", e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT session_id, track, layout, car, driver, session_type, metadata_json FROM sessions",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SessionEntry {
                    session_id: r.get(0)?,
                    track: r.get(1)?,
                    layout: r.get(2)?,
                    car: r.get(3)?,
                    driver: r.get(4)?,
                    session_type: r.get(5)?,
                    metadata_json: r.get(6)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// The committed WAL position: everything up to it is in durable part files.
    pub fn committed(&self) -> Result<Option<WalPosition>, SinkError> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM state WHERE key = 'committed'", [], |r| r.get(0))
            .optional()
            .map_err(|e| db_err(&self.path, "read state", e))?;
        match v {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                SinkError::other(format!(
                    "catalogue {}: bad committed position {text:?}: {e}",
                    self.path.display()
                ))
            }),
        }
    }

    /// Records files, sessions and (optionally) the committed position in one durable
    /// transaction; removes the entries of `removed` files.
    pub fn commit(
        &mut self,
        files: &[FileEntry],
        sessions: &[SessionEntry],
        removed: &[String],
        committed: Option<WalPosition>,
    ) -> Result<(), SinkError> {
        let err = |what: &'static str| {
            let path = self.path.clone();
            move |e| db_err(&path, what, e)
        };
        let tx = self.conn.transaction().map_err(err("begin"))?;
        {
            let mut put_file = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO files (path, session_id, car, rows, bytes, first_seq, last_seq,
                     first_wall_ns, last_wall_ns, max_completed_laps, missed_steps, wal_end_segment, wal_end_offset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(err("prepare"))?;
            for f in files {
                put_file
                    .execute(params![
                        f.path,
                        f.session_id,
                        f.car,
                        to_i64(f.rows),
                        to_i64(f.bytes),
                        to_i64(f.first_seq),
                        to_i64(f.last_seq),
                        f.first_wall_ns,
                        f.last_wall_ns,
                        f.max_completed_laps,
                        to_i64(f.missed_steps),
                        to_i64(f.wal_end.segment),
                        to_i64(f.wal_end.offset),
                    ])
                    .map_err(err("insert file"))?;
            }
            let mut put_session = tx
                .prepare_cached(
                    "INSERT INTO sessions (session_id, track, layout, car, driver, session_type, metadata_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (session_id) DO UPDATE SET track = ?2, layout = ?3, car = ?4, driver = ?5,
                        session_type = ?6, metadata_json = COALESCE(?7, metadata_json)",
                )
                .map_err(err("prepare"))?;
            for s in sessions {
                put_session
                    .execute(params![
                        s.session_id,
                        s.track,
                        s.layout,
                        s.car,
                        s.driver,
                        s.session_type,
                        s.metadata_json
                    ])
                    .map_err(err("upsert session"))?;
            }
            let mut delete =
                tx.prepare_cached("DELETE FROM files WHERE path = ?1").map_err(err("prepare"))?;
            for p in removed {
                delete.execute(params![p]).map_err(err("delete file"))?;
            }
            if let Some(pos) = committed {
                let text = serde_json::to_string(&pos).map_err(SinkError::other)?;
                tx.execute(
                    "INSERT INTO state (key, value) VALUES ('committed', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = ?1",
                    params![text],
                )
                .map_err(err("store committed"))?;
            }
        }
        tx.commit().map_err(err("commit"))
    }
}

/// Every session of the dataset in `root`, oldest first, with its figures; reads the catalogue
/// only (read-only, safe while the server writes). An empty list if there is no catalogue yet.
pub fn list_sessions(root: &Path) -> Result<Vec<SessionSummary>, SinkError> {
    let path = catalogue_path(root);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_err(&path, "open", e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| db_err(&path, "busy_timeout", e))?;
    let err = |e| db_err(&path, "list sessions", e);
    let mut stmt = conn
        .prepare(
            "SELECT session_id, track, layout, car, driver, session_type, first_wall_ns, last_wall_ns, frames,
                    laps, missed_steps, files, last_seq
             FROM session_summary ORDER BY first_wall_ns, session_id",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SessionSummary {
                session_id: r.get(0)?,
                track: r.get(1)?,
                layout: r.get(2)?,
                car: r.get(3)?,
                driver: r.get(4)?,
                session_type: r.get(5)?,
                first_wall_ns: r.get(6)?,
                last_wall_ns: r.get(7)?,
                frames: r.get::<_, i64>(8)? as u64,
                laps: r.get::<_, i64>(9)?.max(0) as u64,
                missed_steps: r.get::<_, i64>(10)? as u64,
                files: r.get::<_, i64>(11)? as u64,
                last_seq: r.get::<_, Option<i64>>(12)?.map(|v| v as u64),
            })
        })
        .map_err(err)?;
    rows.collect::<Result<_, _>>().map_err(err)
}
