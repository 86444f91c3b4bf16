//! Importing the dedicated server's own results file: the JSON it writes in its `results/`
//! folder at the end of each session, whose path END_SESSION carries.
//!
//! The shape read (the stock server's; fields not listed are ignored, missing or `null`
//! fields read as empty):
//!
//! ```json
//! { "TrackName": "ks_vallelunga", "TrackConfig": "club_circuit", "Type": "QUALIFY",
//!   "DurationSecs": 600, "RaceLaps": 0,
//!   "Cars": [{ "CarId": 0, "Model": "ks_mazda_mx5_cup", "Skin": "red",
//!              "Driver": { "Name": "Ada", "Team": "", "Guid": "7656…" } }],
//!   "Laps": [{ "DriverName": "Ada", "DriverGuid": "7656…", "CarId": 0, "CarModel": "ks_mazda_mx5_cup",
//!              "Timestamp": 123456, "LapTime": 71234, "Sectors": [23000, 24000, 24234], "Cuts": 0,
//!              "Tyre": "M" }],
//!   "Events": [{ "Type": "COLLISION_WITH_CAR", "CarId": 0, "Driver": { "Guid": "…" },
//!                "OtherCarId": 1, "OtherDriver": { "Guid": "…" }, "ImpactSpeed": 42.5 }] }
//! ```
//!
//! The file holds no wall-clock time per lap (`Timestamp` is on the server's own clock), so
//! the session and each of its laps are dated by the file's name (`2016_7_24_22_52_QUALIFY.json`,
//! the server's clock, read as UTC) or, failing that, by its modification time. Laps are
//! numbered per driver and car in `Timestamp` order. Importing a file whose name was already
//! imported does nothing.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    CollisionInput, EntryInput, EntryKey, LapInput, RecordsError, SessionInput, SessionKey, SessionType,
    Store,
};

/// Results files are a few hundred kB; anything much larger is not one.
const MAX_RESULTS_BYTES: u64 = 64 << 20;

/// What [`Store::import_results`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The session (the one imported before, if the file was).
    pub session: SessionKey,
    /// False when the file had been imported already and nothing was written.
    pub imported: bool,
    /// Entries (a driver in a car) stored.
    pub entries: u32,
    /// Laps stored.
    pub laps: u32,
    /// Collisions stored.
    pub collisions: u32,
    /// Laps and events left out: without a driver GUID.
    pub skipped: u32,
}

/// `null` read as the type's default, as the server writes `null` for empty lists.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultsFile {
    #[serde(default, deserialize_with = "nullable")]
    track_name: String,
    #[serde(default, deserialize_with = "nullable")]
    track_config: String,
    #[serde(rename = "Type", default, deserialize_with = "nullable")]
    session_type: String,
    #[serde(default, deserialize_with = "nullable")]
    duration_secs: u32,
    #[serde(default, deserialize_with = "nullable")]
    race_laps: u32,
    #[serde(default, deserialize_with = "nullable")]
    cars: Vec<Car>,
    #[serde(default, deserialize_with = "nullable")]
    laps: Vec<Lap>,
    #[serde(default, deserialize_with = "nullable")]
    events: Vec<Event>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Driver {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    team: String,
    #[serde(default, deserialize_with = "nullable")]
    guid: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Car {
    #[serde(default, deserialize_with = "nullable")]
    car_id: u8,
    #[serde(default, deserialize_with = "nullable")]
    driver: Driver,
    #[serde(default, deserialize_with = "nullable")]
    model: String,
    #[serde(default, deserialize_with = "nullable")]
    skin: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Lap {
    #[serde(default, deserialize_with = "nullable")]
    driver_name: String,
    #[serde(default, deserialize_with = "nullable")]
    driver_guid: String,
    #[serde(default, deserialize_with = "nullable")]
    car_id: u8,
    #[serde(default, deserialize_with = "nullable")]
    car_model: String,
    #[serde(default, deserialize_with = "nullable")]
    timestamp: u64,
    lap_time: u32,
    #[serde(default, deserialize_with = "nullable")]
    sectors: Vec<u32>,
    #[serde(default, deserialize_with = "nullable")]
    cuts: u32,
    #[serde(default, deserialize_with = "nullable")]
    tyre: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    #[serde(rename = "Type", default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    car_id: u8,
    #[serde(default, deserialize_with = "nullable")]
    driver: Driver,
    /// Not a car slot for a collision with the environment (the server writes -1, or nothing).
    #[serde(default, deserialize_with = "nullable")]
    other_car_id: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    other_driver: Driver,
    #[serde(default, deserialize_with = "nullable")]
    impact_speed: f32,
}

/// The date in a results file's name, `2016_7_24_22_52_QUALIFY.json`, as Unix ms (UTC).
fn date_of_name(name: &str) -> Option<i64> {
    let mut parts = name.split('_');
    let mut next =
        || parts.next().filter(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    let (y, mo, d, h, mi) = (next()?, next()?, next()?, next()?, next()?);
    crate::parse_date(&format!("{y:0>4}-{mo:0>2}-{d:0>2}T{h:0>2}:{mi:0>2}"))
}

impl Store {
    /// Imports a results file of the dedicated server (see the module docs of `results` for
    /// the shape read), all of it in one transaction. An unreadable file, JSON that is not a
    /// results file, or values out of range are an error naming the file; nothing is written
    /// then.
    ///
    /// The session is stored under a server without a name (the file does not have it); use
    /// [`Store::import_results_of`] when the server is known, as files of two servers may have
    /// the same name.
    pub fn import_results(&mut self, path: &Path) -> Result<ImportSummary, RecordsError> {
        self.import_results_of("", path)
    }

    /// [`Store::import_results`] for the server named `server`: the session is stored as
    /// that server's, and a file is skipped if one of the same name was imported for it.
    pub fn import_results_of(&mut self, server: &str, path: &Path) -> Result<ImportSummary, RecordsError> {
        let (results, session, name) = read_results(server, path)?;
        self.flush()?;
        let err = self.db_err("import a results file");
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(self.db_err("import a results file"))?;
        match self.import_in_transaction(&results, &session, &name) {
            Ok(summary) => {
                self.conn.execute_batch("COMMIT").map_err(err)?;
                Ok(summary)
            }
            Err(e) => {
                // The transaction is abandoned whole; a failing rollback leaves it to SQLite,
                // which rolls back on close.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err(e))
            }
        }
    }

    /// Completes `session`, a session stored live (by a plugin that followed it), from the
    /// server's results file of that session: each lap of the file the session lacks is added
    /// (a lap the plugin missed, say while it restarted), and the laps it has are left alone:
    /// a lap of the file is the session's when the same driver (GUID) in the same car model has
    /// a stored lap of the same time not matched yet. Added laps get the entry's next lap
    /// numbers and the session's end as their date. Collisions are not read: the live events
    /// had them. A session completed from a file once is not completed again.
    ///
    /// The summary counts the laps added (`laps`), the entries created for drivers the session
    /// did not have, and, as `skipped`, laps without a GUID. `imported` is false when the
    /// session had been completed already.
    pub fn complete_from_results(
        &mut self,
        session: SessionKey,
        path: &Path,
    ) -> Result<ImportSummary, RecordsError> {
        let (results, _, name) = read_results("", path)?;
        self.flush()?;
        let err = self.db_err("complete a session from its results file");
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(self.db_err("complete a session from its results file"))?;
        match self.complete_in_transaction(&results, session, &name) {
            Ok(summary) => {
                self.conn.execute_batch("COMMIT").map_err(err)?;
                Ok(summary)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err(e))
            }
        }
    }

    fn complete_in_transaction(
        &self,
        results: &ResultsFile,
        session: SessionKey,
        name: &str,
    ) -> rusqlite::Result<ImportSummary> {
        let mut summary =
            ImportSummary { session, imported: false, entries: 0, laps: 0, collisions: 0, skipped: 0 };
        let (done, ended): (Option<String>, Option<i64>) = self
            .conn
            .prepare_cached(
                "SELECT results_file, COALESCE(ended_at_ms, started_at_ms) FROM sessions WHERE id = ?1",
            )?
            .query_row([session.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if done.is_some() {
            return Ok(summary);
        }
        summary.imported = true;
        let at = ended.unwrap_or(0);
        // Per entry: the stored lap times not matched yet, and the last lap number.
        let mut stored: HashMap<i64, (Vec<u32>, u32)> = HashMap::new();
        let mut laps: Vec<&Lap> = results.laps.iter().collect();
        laps.sort_by_key(|l| l.timestamp);
        for lap in laps {
            if lap.driver_guid.is_empty() {
                summary.skipped += 1;
                continue;
            }
            let found: Option<i64> = self
                .conn
                .prepare_cached(
                    "SELECT e.id FROM entries e JOIN drivers d ON d.id = e.driver_id
                     WHERE e.session_id = ?1 AND d.guid = ?2 AND e.car_model = ?3 ORDER BY e.id LIMIT 1",
                )?
                .query_row(rusqlite::params![session.0, lap.driver_guid, lap.car_model], |r| r.get(0))
                .optional()?;
            let entry = match found {
                Some(id) => id,
                None => {
                    let input = EntryInput {
                        guid: lap.driver_guid.clone(),
                        name: lap.driver_name.clone(),
                        team: String::new(),
                        car_id: lap.car_id,
                        car_model: lap.car_model.clone(),
                        skin: String::new(),
                    };
                    let Some(id) = self.insert_entry(session, &input)? else {
                        summary.skipped += 1;
                        continue;
                    };
                    summary.entries += 1;
                    id
                }
            };
            let (times, last) = match stored.entry(entry) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let mut statement =
                        self.conn.prepare_cached("SELECT time_ms, lap FROM laps WHERE entry_id = ?1")?;
                    let rows =
                        statement.query_map([entry], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?)))?;
                    let mut times = Vec::new();
                    let mut last = 0;
                    for row in rows {
                        let (t, n) = row?;
                        times.push(t);
                        last = last.max(n);
                    }
                    v.insert((times, last))
                }
            };
            if let Some(i) = times.iter().position(|&t| t == lap.lap_time) {
                times.swap_remove(i);
                continue;
            }
            *last += 1;
            let input = LapInput {
                lap: *last,
                time_ms: lap.lap_time,
                sectors: lap.sectors.clone(),
                cuts: lap.cuts,
                grip: None,
                top_speed_kmh: None,
                tyre: (!lap.tyre.is_empty()).then(|| lap.tyre.clone()),
                finished_at_ms: at,
            };
            if self.insert_lap(EntryKey(entry), &input)? {
                summary.laps += 1;
            }
        }
        self.conn
            .prepare_cached("UPDATE sessions SET results_file = ?2 WHERE id = ?1")?
            .execute(rusqlite::params![session.0, name])?;
        Ok(summary)
    }
}

/// Reads and checks a results file: the file, the session it describes (of server `server`),
/// and the file's name.
fn read_results(server: &str, path: &Path) -> Result<(ResultsFile, SessionInput, String), RecordsError> {
    let bad = |message: String| RecordsError::Results { path: path.to_owned(), message };
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let modified = file.metadata().and_then(|m| m.modified()).ok();
    let mut bytes = Vec::new();
    file.take(MAX_RESULTS_BYTES + 1).read_to_end(&mut bytes).map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_RESULTS_BYTES {
        return Err(bad(format!("larger than {} MiB: not a results file", MAX_RESULTS_BYTES >> 20)));
    }
    let results: ResultsFile =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a results file: {e}")))?;
    if results.track_name.is_empty() {
        return Err(bad("no TrackName".to_owned()));
    }
    let session_type = SessionType::parse(&results.session_type)
        .ok_or_else(|| bad(format!("unknown session Type {:?}", results.session_type)))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let at = date_of_name(&name)
        .or_else(|| {
            let since = modified?.duration_since(std::time::UNIX_EPOCH).ok()?;
            i64::try_from(since.as_millis()).ok()
        })
        .unwrap_or(0);
    let session = SessionInput {
        server: server.to_owned(),
        track: results.track_name.clone(),
        layout: results.track_config.clone(),
        session_type,
        name: results.session_type.clone(),
        started_at_ms: at,
        laps_limit: (results.race_laps > 0).then_some(results.race_laps),
        time_limit_s: (results.duration_secs > 0).then_some(results.duration_secs),
    };
    Ok((results, session, name))
}

impl Store {
    fn import_in_transaction(
        &self,
        results: &ResultsFile,
        session: &SessionInput,
        name: &str,
    ) -> rusqlite::Result<ImportSummary> {
        let existing: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT s.id FROM sessions s JOIN servers sv ON sv.id = s.server_id
                 WHERE sv.name = ?1 AND s.results_file = ?2",
            )?
            .query_row([&session.server, name], |r| r.get(0))
            .optional()?;
        let mut summary = ImportSummary {
            session: SessionKey(existing.unwrap_or(0)),
            imported: existing.is_none(),
            entries: 0,
            laps: 0,
            collisions: 0,
            skipped: 0,
        };
        if existing.is_some() {
            return Ok(summary);
        }
        let key = SessionKey(self.insert_session(session, Some(name))?);
        summary.session = key;
        // Entries by (GUID, car slot): created from the car list, or from the first lap or
        // event that names one the list lacks (its model then from the lap, or the slot's).
        let models: HashMap<u8, &str> = results.cars.iter().map(|c| (c.car_id, c.model.as_str())).collect();
        let mut entries = Entries { session: key, by_driver: HashMap::new(), models, summary: &mut summary };
        for car in &results.cars {
            entries.get(self, &car.driver, car.car_id, &car.model, &car.skin)?;
        }
        let mut laps: Vec<&Lap> = results.laps.iter().collect();
        laps.sort_by_key(|l| l.timestamp);
        let mut lap_counts: HashMap<EntryKey, u32> = HashMap::new();
        for lap in laps {
            let driver =
                Driver { name: lap.driver_name.clone(), team: String::new(), guid: lap.driver_guid.clone() };
            let Some(key) = entries.get(self, &driver, lap.car_id, &lap.car_model, "")? else {
                entries.summary.skipped += 1;
                continue;
            };
            let count = lap_counts.entry(key).or_default();
            *count += 1;
            let input = LapInput {
                lap: *count,
                time_ms: lap.lap_time,
                sectors: lap.sectors.clone(),
                cuts: lap.cuts,
                grip: None,
                top_speed_kmh: None,
                tyre: (!lap.tyre.is_empty()).then(|| lap.tyre.clone()),
                finished_at_ms: session.started_at_ms,
            };
            self.insert_lap(key, &input)?;
            entries.summary.laps += 1;
        }
        for event in &results.events {
            let other = match (event.kind.as_str(), event.other_car_id.and_then(|id| u8::try_from(id).ok())) {
                ("COLLISION_WITH_CAR", Some(other)) => {
                    entries.get(self, &event.other_driver, other, "", "")?
                }
                ("COLLISION_WITH_ENV", _) => None,
                _ => {
                    entries.summary.skipped += 1;
                    continue;
                }
            };
            let is_car = event.kind == "COLLISION_WITH_CAR";
            let Some(key) = entries.get(self, &event.driver, event.car_id, "", "")? else {
                entries.summary.skipped += 1;
                continue;
            };
            if is_car && other.is_none() {
                entries.summary.skipped += 1;
                continue;
            }
            let c =
                CollisionInput { other, impact_speed_kmh: event.impact_speed, at_ms: session.started_at_ms };
            self.insert_collision(key, &c)?;
            entries.summary.collisions += 1;
        }
        Ok(summary)
    }
}

/// The entries of the session being imported.
struct Entries<'a> {
    session: SessionKey,
    by_driver: HashMap<(String, u8), EntryKey>,
    models: HashMap<u8, &'a str>,
    summary: &'a mut ImportSummary,
}

impl Entries<'_> {
    /// The entry of a driver in a car slot, created if new; `None` for a driver without a
    /// GUID (an empty slot).
    fn get(
        &mut self,
        store: &Store,
        driver: &Driver,
        car_id: u8,
        model: &str,
        skin: &str,
    ) -> rusqlite::Result<Option<EntryKey>> {
        if driver.guid.is_empty() {
            return Ok(None);
        }
        if let Some(&key) = self.by_driver.get(&(driver.guid.clone(), car_id)) {
            return Ok(Some(key));
        }
        let model =
            if model.is_empty() { self.models.get(&car_id).copied().unwrap_or_default() } else { model };
        let input = EntryInput {
            guid: driver.guid.clone(),
            name: driver.name.clone(),
            team: driver.team.clone(),
            car_id,
            car_model: model.to_owned(),
            skin: skin.to_owned(),
        };
        let Some(id) = store.insert_entry(self.session, &input)? else { return Ok(None) };
        self.summary.entries += 1;
        self.by_driver.insert((driver.guid.clone(), car_id), EntryKey(id));
        Ok(Some(EntryKey(id)))
    }
}
