//! The records kept: the adapter from the timing engine to the lap-records store.
//!
//! [`Recorder::record`] takes each event after the [`TimingEngine`] has handled it, with the
//! engine (for what only it knows: the sector times and the top speed of a lap), the notices it
//! returned and the wall-clock time of the event, and writes what the event means for the
//! records into a [`records::Store`]:
//!
//! | event | stored |
//! |---|---|
//! | NEW_SESSION | the session (the previous one, if still open, ended) |
//! | SESSION_INFO of the current session, first seen or different | the session, found again or begun |
//! | NEW_CONNECTION, CAR_INFO of a connected car | the entry: a driver (GUID) in a car model |
//! | LAP_COMPLETED | the lap: number, time, cuts, grip, sectors and top speed when known |
//! | CLIENT_EVENT | a collision, with the other car's entry or with the environment |
//! | CHAT | the chat line |
//! | END_SESSION | the session's end, and the server's results file imported when readable |
//!
//! ## A session found again
//!
//! A session is stored under the server's name, the track and layout, the session type and
//! name, and its start: the wall-clock time of the event minus the session's `elapsed_ms` (so
//! a race's start is after its wait on the grid). Before storing a session, the recorder looks
//! for one already stored with the same server, track, layout, type and name whose start is
//! within [`RecorderConfig::resume_within_ms`] of that start (the store's
//! [`Store::find_session`]), and continues it rather than begin a second one. That is what a
//! follower restarted mid-session sees (its first event is SESSION_INFO, the answer to the
//! question it asks at start), and what a capture replayed twice into the same database sees.
//! Entries are found again the same way (the same GUID and car model in the session), laps are
//! kept once per entry and lap number, and a collision or chat line of an entry found again is
//! not stored when the entry has the same one (same other car and impact speed, or same text)
//! from within the same window of time, each stored one matching once: a restart, a replay, or
//! a replay of what a live follower stored already stores nothing twice.
//!
//! Lap numbers come from the server: the `laps` of the car in the leaderboard that comes with
//! LAP_COMPLETED, which is right after a restart too. When the leaderboard lacks the car, the
//! engine's count is used. A number that this recorder has already stored for the entry with a
//! different lap (the driver moved to another car slot, whose count starts again) is replaced
//! by the entry's next free number; the same lap again (a repeated datagram) is not stored.
//!
//! ## Sectors and top speed
//!
//! The engine estimates both from car updates (see [`timing::Row`]); they are stored with a lap
//! only when they are that lap's: the car's line crossing belonging to this lap was seen (not
//! the previous lap's, as when LAP_COMPLETED comes before the car update that crosses), every
//! sector has a time and their sum is within 3 % of the lap time. The top speed is stored when
//! the recorder saw the whole lap: it followed the car since its previous lap (or since it
//! joined, or the session started). Without car updates, laps are stored without either.
//! The tyre is not in the plugin protocol: it is left unknown (the results file has it).
//!
//! ## What is skipped
//!
//! Bad input is counted in [`RecorderStats`] and skipped, never an error: a lap, collision or
//! chat line before any stored session or of a car with no known GUID, a lap without a real
//! time, a session of a type the records do not keep (drag, drift). Only the database failing
//! is an error.
//!
//! ## Flushing
//!
//! Writes go into the store's batch (see [`Store::set_batch_size`]); the end of a session and
//! [`Recorder::flush`] commit them. A live follower flushes whenever it wants its records
//! durable (each lap, each second); a replay flushes at the end.

use std::collections::HashMap;
use std::path::PathBuf;

use acsp::{
    CarInfo, Chat, CollisionWithCar, CollisionWithEnv, ConnectionInfo, Event, LapCompleted, SessionInfo,
};
use records::{
    CollisionInput, EntryInput, EntryKey, LapInput, RecordsError, SessionInput, SessionKey, Store,
};
use serde::Serialize;
use timing::{Notice, TimingEngine, time_from_wire};

/// The longest lap time stored: an hour (as the engine takes it).
const MAX_LAP_MS: u32 = 3_600_000;

/// How the recorder stores a server's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// A stored session is the one an event describes when their starts differ by at most this
    /// much, ms (see the module docs, "A session found again").
    pub resume_within_ms: i64,
    /// Import the server's results file at END_SESSION (when it can be read).
    pub import_results: bool,
    /// Where a relative results file name (the stock server's `results/…json`) is found: the
    /// server's folder. `None`: the current directory.
    pub server_dir: Option<PathBuf>,
    /// Writes committed together at most (the store's batch size); `None` keeps the store's.
    pub batch_size: Option<usize>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig { resume_within_ms: 5_000, import_results: true, server_dir: None, batch_size: None }
    }
}

/// What the recorder stored and what it skipped, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecorderStats {
    /// Events recorded (every event passed to [`Recorder::record`]).
    pub events: u64,
    /// Sessions stored new.
    pub sessions_begun: u64,
    /// Sessions found already stored and continued.
    pub sessions_resumed: u64,
    /// Sessions ended.
    pub sessions_ended: u64,
    /// Entries stored new.
    pub entries_added: u64,
    /// Entries found already stored.
    pub entries_found: u64,
    /// Laps stored.
    pub laps_stored: u64,
    /// Laps that were stored already (a replay, a restart, a repeated datagram): not stored
    /// again.
    pub laps_repeated: u64,
    /// Laps not stored, for one of the reasons below (before any session, unknown driver, no
    /// time).
    pub laps_skipped: u64,
    /// Collisions stored.
    pub collisions_stored: u64,
    /// Chat lines stored.
    pub chat_stored: u64,
    /// Collisions and chat lines that an earlier run had stored already: not stored again.
    pub events_repeated: u64,
    /// Results files imported (a file imported before counts too: it is not imported twice).
    pub results_imported: u64,
    /// Results files that could not be read or imported (logged).
    pub results_failed: u64,
    /// Skipped: a lap, collision or chat line with no stored session (before any, or in a
    /// session of a type the records do not keep).
    pub before_session: u64,
    /// Skipped: a lap, collision or chat line of a car whose driver GUID is unknown or empty
    /// (or, for a collision, whose other car's is).
    pub unknown_driver: u64,
    /// Skipped: a lap with no time, or an absurd one (0, or over an hour).
    pub no_lap_time: u64,
    /// Skipped: a session of a type the records do not keep (drag, drift, unknown).
    pub other_session_type: u64,
}

/// The session being recorded.
#[derive(Debug, Clone)]
struct Current {
    key: SessionKey,
    /// Its index in the server's list and what it was stored as: a SESSION_INFO that says the
    /// same is no news.
    index: u8,
    input: SessionInput,
    over: bool,
}

/// What the recorder knows of one car slot.
#[derive(Debug, Clone, Default)]
struct Car {
    guid: String,
    name: String,
    team: String,
    model: String,
    skin: String,
    connected: bool,
    /// The car's spline position at its last car update.
    spline: Option<f32>,
    /// The car crossed the line (a car update) for the lap that has not completed yet.
    crossed: bool,
    /// The car had not crossed the line when its lap completed: the next crossing is that
    /// lap's.
    crossing_owed: bool,
    /// The recorder has followed the car since its lap started.
    whole_lap: bool,
}

/// An entry's laps, collisions and chat lines known to this recorder, to store each once.
#[derive(Debug, Default)]
struct EntryLog {
    /// Lap numbers stored by this recorder, with the car slot, time and cuts of the lap.
    laps: HashMap<u32, (u8, u32, u8)>,
    /// Collisions an earlier run stored (the entry was found already stored), not yet met
    /// again: other entry, impact speed (km/h), time.
    prior_collisions: Vec<(Option<EntryKey>, f32, i64)>,
    /// Chat lines an earlier run stored, not yet met again: text, time.
    prior_chat: Vec<(String, i64)>,
}

/// The adapter from the timing engine to the records store: see the module docs.
///
/// ```
/// use std::time::Duration;
///
/// use acsp::{ConnectionInfo, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType};
/// use live::recorder::{Recorder, RecorderConfig};
/// use timing::TimingEngine;
///
/// # fn main() -> Result<(), records::RecordsError> {
/// let dir = tempfile::tempdir().expect("tempdir");
/// let store = records::Store::open(&dir.path().join("records.sqlite"))?;
/// let mut recorder = Recorder::new(store, RecorderConfig::default());
/// let mut engine = TimingEngine::new();
/// let t0 = 1_764_000_000_000; // Unix ms
///
/// let session = SessionInfo {
///     protocol_version: 4, session_index: 0, current_session_index: 0, session_count: 1,
///     server_name: "pitwall".into(), track: "ks_vallelunga".into(), track_config: String::new(),
///     name: "Practice".into(), session_type: SessionType::Practice, time: 30, laps: 0,
///     wait_time: 0, ambient_temp: 22, road_temp: 30, weather_graphics: "3_clear".into(),
///     weather_encoding: Default::default(), elapsed_ms: 0,
/// };
/// let joins = ConnectionInfo {
///     driver_name: "Ada".into(), driver_guid: "76561198000000001".into(), car_id: 0,
///     car_model: "ks_mazda_mx5_cup".into(), car_skin: "red".into(),
/// };
/// let lap = LapCompleted {
///     car_id: 0, lap_time: 80_902, cuts: 0, grip_level: 0.97,
///     leaderboard: vec![LeaderboardEntry { car_id: 0, time: 80_902, laps: 1, has_completed: None }],
/// };
/// for (secs, event) in [
///     (0, Event::NewSession(session)),
///     (5, Event::NewConnection(joins)),
///     (90, Event::LapCompleted(lap)),
/// ] {
///     let now = Duration::from_secs(secs);
///     let notices = engine.handle(now, &event);
///     recorder.record(&engine, &event, &notices, t0 + 1000 * secs as i64)?;
/// }
/// recorder.flush()?;
/// assert_eq!(recorder.stats().laps_stored, 1);
/// let board = recorder.store().leaderboard(&records::Query::new("ks_vallelunga", ""))?;
/// assert_eq!((board[0].name.as_str(), board[0].time_ms), ("Ada", 80_902));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Recorder {
    store: Store,
    config: RecorderConfig,
    current: Option<Current>,
    /// The index of the session running when it is of a type the records do not keep: its
    /// SESSION_INFOs are no news.
    unkept: Option<u8>,
    cars: HashMap<u8, Car>,
    /// The entries of the current session, by GUID and car model.
    entries: HashMap<(String, String), EntryKey>,
    logs: HashMap<EntryKey, EntryLog>,
    stats: RecorderStats,
}

impl Recorder {
    /// A recorder writing into `store`, with nothing recorded yet.
    pub fn new(mut store: Store, config: RecorderConfig) -> Recorder {
        if let Some(n) = config.batch_size {
            store.set_batch_size(n);
        }
        Recorder {
            store,
            config,
            current: None,
            unkept: None,
            cars: HashMap::new(),
            entries: HashMap::new(),
            logs: HashMap::new(),
            stats: RecorderStats::default(),
        }
    }

    /// The store, for reading (leaderboards, a chat command's answer).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store back, flushed.
    pub fn into_store(mut self) -> Result<Store, RecordsError> {
        self.store.flush()?;
        Ok(self.store)
    }

    /// What was stored and skipped so far.
    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// The session being recorded, if any.
    pub fn session(&self) -> Option<SessionKey> {
        self.current.as_ref().map(|c| c.key)
    }

    /// Commits every pending write.
    pub fn flush(&mut self) -> Result<(), RecordsError> {
        self.store.flush()
    }

    /// Records one event, after `engine` has handled it (and returned `notices`); `at_unix_ms`
    /// is when it happened, Unix ms. Stores what the event means for the records (see the
    /// module docs); bad input is counted in [`stats`](Self::stats) and skipped. An error is the
    /// database failing.
    pub fn record(
        &mut self,
        engine: &TimingEngine,
        event: &Event,
        notices: &[Notice],
        at_unix_ms: i64,
    ) -> Result<(), RecordsError> {
        self.stats.events += 1;
        match event {
            Event::NewSession(s) => self.new_session(s, at_unix_ms),
            Event::SessionInfo(s) => self.session_info(s, at_unix_ms),
            Event::NewConnection(c) => self.new_connection(c),
            Event::ConnectionClosed(c) => {
                if let Some(car) = self.cars.get_mut(&c.car_id) {
                    car.connected = false;
                }
                Ok(())
            }
            Event::CarInfo(i) => self.car_info(i),
            Event::CarUpdate(u) => {
                self.car_update(u.car_id, u.normalized_spline_pos);
                Ok(())
            }
            Event::LapCompleted(l) => self.lap_completed(engine, l, notices, at_unix_ms),
            Event::CollisionWithCar(c) => self.collision_with_car(c, at_unix_ms),
            Event::CollisionWithEnv(c) => self.collision_with_env(c, at_unix_ms),
            Event::Chat(c) => self.chat(c, at_unix_ms),
            Event::EndSession(e) => self.end_session(&e.filename, at_unix_ms),
            Event::Version(_) | Event::ClientLoaded(_) | Event::Error(_) => Ok(()),
        }
    }

    fn new_session(&mut self, s: &SessionInfo, at: i64) -> Result<(), RecordsError> {
        self.close_current(at)?;
        // Every car starts its first lap of the session under the recorder's eyes.
        for car in self.cars.values_mut() {
            (car.crossed, car.crossing_owed, car.whole_lap) = (false, false, true);
        }
        self.open_session(s, at)
    }

    /// SESSION_INFO: news only when it describes the current session and that is not the one
    /// being recorded (a recorder started mid-session, or a NEW_SESSION missed).
    fn session_info(&mut self, s: &SessionInfo, at: i64) -> Result<(), RecordsError> {
        if s.session_index != s.current_session_index {
            return Ok(());
        }
        let input = session_input(s, at);
        if let (Some(c), Some(input)) = (&self.current, &input)
            && c.index == s.session_index
            && same_session(&c.input, input)
        {
            return Ok(());
        }
        if self.current.is_none() && input.is_none() && self.unkept == Some(s.session_index) {
            return Ok(());
        }
        self.close_current(at)?;
        // Where each car is in its lap is unknown: its first lap is not whole.
        for car in self.cars.values_mut() {
            (car.crossed, car.crossing_owed, car.whole_lap) = (false, false, false);
        }
        self.open_session(s, at)
    }

    /// Ends the session being recorded, if it is still open.
    fn close_current(&mut self, at: i64) -> Result<(), RecordsError> {
        if let Some(c) = self.current.take()
            && !c.over
        {
            self.store.end_session(c.key, at)?;
            self.stats.sessions_ended += 1;
        }
        self.entries.clear();
        self.logs.clear();
        Ok(())
    }

    /// Finds the session `s` describes in the store, or stores it; then the entries of the cars
    /// in it.
    fn open_session(&mut self, s: &SessionInfo, at: i64) -> Result<(), RecordsError> {
        let Some(input) = session_input(s, at) else {
            self.stats.other_session_type += 1;
            self.unkept = Some(s.session_index);
            return Ok(());
        };
        self.unkept = None;
        let key = match self.store.find_session(&input, self.config.resume_within_ms)? {
            Some(key) => {
                self.stats.sessions_resumed += 1;
                tracing::info!(session = key.id(), name = %input.name, "continuing a stored session");
                key
            }
            None => {
                self.stats.sessions_begun += 1;
                self.store.begin_session(&input)?
            }
        };
        self.current = Some(Current { key, index: s.session_index, input, over: false });
        let connected: Vec<u8> = self.cars.iter().filter(|(_, c)| c.connected).map(|(&id, _)| id).collect();
        for id in connected {
            self.entry_of(id)?;
        }
        Ok(())
    }

    fn new_connection(&mut self, c: &ConnectionInfo) -> Result<(), RecordsError> {
        let car = self.cars.entry(c.car_id).or_default();
        if car.guid != c.driver_guid {
            car.team.clear();
        }
        (car.guid, car.name, car.model, car.skin) =
            (c.driver_guid.clone(), c.driver_name.clone(), c.car_model.clone(), c.car_skin.clone());
        car.connected = true;
        // A driver joins in the pits: their first lap starts here.
        (car.spline, car.crossed, car.crossing_owed, car.whole_lap) = (None, false, false, true);
        self.entry_of(c.car_id).map(|_| ())
    }

    /// CAR_INFO says who is in a car: it names the team, and tells of a driver the recorder
    /// missed (started mid-session).
    fn car_info(&mut self, i: &CarInfo) -> Result<(), RecordsError> {
        let car = self.cars.entry(i.car_id).or_default();
        if !i.is_connected && i.driver_name.is_empty() {
            car.connected = false;
            return Ok(());
        }
        if car.guid != i.driver_guid || car.model != i.car_model {
            // Someone the recorder did not see join: where they are in their lap is unknown.
            (car.spline, car.crossed, car.crossing_owed, car.whole_lap) = (None, false, false, false);
        }
        (car.guid, car.name, car.team, car.model, car.skin) = (
            i.driver_guid.clone(),
            i.driver_name.clone(),
            i.driver_team.clone(),
            i.car_model.clone(),
            i.car_skin.clone(),
        );
        if i.is_connected {
            car.connected = true;
            self.entry_of(i.car_id)?;
        }
        Ok(())
    }

    /// A car update: watches for the car crossing the line, as the engine does, to know whose
    /// lap the engine's sector times are.
    fn car_update(&mut self, id: u8, spline: f32) {
        let Some(car) = self.cars.get_mut(&id) else { return };
        if !(0.0..=1.0).contains(&spline) {
            return;
        }
        let spline = if spline >= 1.0 { 0.0 } else { spline };
        if car.spline.is_some_and(|prev| prev > 0.5 && spline < 0.5) {
            if car.crossing_owed {
                car.crossing_owed = false;
            } else {
                car.crossed = true;
            }
        }
        car.spline = Some(spline);
    }

    /// The entry of the driver in car `id` in the current session: known, found in the store, or
    /// stored now. `None` without a session or a GUID.
    fn entry_of(&mut self, id: u8) -> Result<Option<EntryKey>, RecordsError> {
        let (Some(current), Some(car)) = (&self.current, self.cars.get(&id)) else { return Ok(None) };
        if car.guid.is_empty() {
            return Ok(None);
        }
        let name = (car.guid.clone(), car.model.clone());
        if let Some(&key) = self.entries.get(&name) {
            return Ok(Some(key));
        }
        let session = current.key;
        let key = match self.store.find_entry(session, &car.guid, &car.model)? {
            Some(key) => {
                self.stats.entries_found += 1;
                // Stored by an earlier run: what it stored of this entry is not stored twice.
                let log = self.logs.entry(key).or_default();
                log.prior_collisions = self.store.collisions(key)?;
                log.prior_chat = self.store.chat(key)?;
                key
            }
            None => {
                let input = EntryInput {
                    guid: car.guid.clone(),
                    name: car.name.clone(),
                    team: car.team.clone(),
                    car_id: id,
                    car_model: car.model.clone(),
                    skin: car.skin.clone(),
                };
                self.stats.entries_added += 1;
                self.store.add_entry(session, &input)?
            }
        };
        self.entries.insert(name, key);
        Ok(Some(key))
    }

    /// The entry of car `id` for a lap, collision or chat line, or why there is none (counted).
    fn entry_for_event(&mut self, id: u8) -> Result<Option<EntryKey>, RecordsError> {
        if self.current.is_none() {
            self.stats.before_session += 1;
            return Ok(None);
        }
        let entry = self.entry_of(id)?;
        if entry.is_none() {
            self.stats.unknown_driver += 1;
        }
        Ok(entry)
    }

    fn lap_completed(
        &mut self,
        engine: &TimingEngine,
        l: &LapCompleted,
        notices: &[Notice],
        at: i64,
    ) -> Result<(), RecordsError> {
        // The car's lap state moves on whether or not the lap is stored.
        let (crossed, whole) = match self.cars.get_mut(&l.car_id) {
            Some(car) => {
                let seen = (car.crossed, car.whole_lap);
                // No crossing yet for this lap: the next one is this lap's.
                car.crossing_owed = !car.crossed && car.spline.is_some_and(|s| s > 0.5);
                // The next lap starts now, under the recorder's eyes.
                (car.crossed, car.whole_lap) = (false, true);
                seen
            }
            None => (false, false),
        };
        let Some(entry) = self.entry_for_event(l.car_id)? else {
            self.stats.laps_skipped += 1;
            return Ok(());
        };
        let Some(time_ms) = time_from_wire(l.lap_time).filter(|&t| t > 0 && t <= MAX_LAP_MS) else {
            self.stats.no_lap_time += 1;
            self.stats.laps_skipped += 1;
            return Ok(());
        };
        let server_laps = l.leaderboard.iter().find(|e| e.car_id == l.car_id).map(|e| u32::from(e.laps));
        let engine_laps = notices.iter().find_map(|n| match n {
            Notice::LapCompleted { car_id, laps, .. } if *car_id == l.car_id => Some(u32::from(*laps)),
            _ => None,
        });
        let log = self.logs.entry(entry).or_default();
        let mut number = server_laps
            .filter(|&n| n > 0)
            .or(engine_laps)
            .filter(|&n| n > 0)
            .unwrap_or_else(|| log.laps.keys().max().copied().unwrap_or(0) + 1);
        let this = (l.car_id, time_ms, l.cuts);
        match log.laps.get(&number) {
            Some(&stored) if stored == this => {
                self.stats.laps_repeated += 1;
                return Ok(());
            }
            Some(_) => number = log.laps.keys().max().copied().unwrap_or(0) + 1,
            None => {}
        }
        log.laps.insert(number, this);

        let row =
            engine.board().rows.into_iter().find(|r| r.car_id == l.car_id && r.last_lap_ms == Some(time_ms));
        let sectors: Vec<u32> = row
            .as_ref()
            .filter(|_| crossed)
            .and_then(|r| r.last_sectors_ms.iter().copied().collect::<Option<Vec<u32>>>())
            .filter(|s| !s.is_empty() && sectors_fit(s, time_ms))
            .unwrap_or_default();
        let top_speed_kmh = row.as_ref().filter(|_| whole).and_then(|r| r.last_lap_top_kmh);
        let lap = LapInput {
            lap: number,
            time_ms,
            sectors,
            cuts: u32::from(l.cuts),
            grip: Some(l.grip_level).filter(|g| (0.0..=1.0).contains(g)),
            top_speed_kmh: top_speed_kmh.filter(|s| s.is_finite()),
            tyre: None,
            finished_at_ms: at,
        };
        if self.store.add_lap_if_new(entry, &lap)? {
            self.stats.laps_stored += 1;
        } else {
            self.stats.laps_repeated += 1;
        }
        Ok(())
    }

    fn collision_with_car(&mut self, c: &CollisionWithCar, at: i64) -> Result<(), RecordsError> {
        let Some(entry) = self.entry_for_event(c.car_id)? else { return Ok(()) };
        // A collision with a car nobody knows is not one with the environment: skipped.
        let Some(other) = self.entry_of(c.other_car_id)? else {
            self.stats.unknown_driver += 1;
            return Ok(());
        };
        self.collision(entry, Some(other), c.impact_speed, at)
    }

    fn collision_with_env(&mut self, c: &CollisionWithEnv, at: i64) -> Result<(), RecordsError> {
        let Some(entry) = self.entry_for_event(c.car_id)? else { return Ok(()) };
        self.collision(entry, None, c.impact_speed, at)
    }

    fn collision(
        &mut self,
        entry: EntryKey,
        other: Option<EntryKey>,
        impact_ms: f32,
        at: i64,
    ) -> Result<(), RecordsError> {
        // The wire has m/s; the records km/h, as the engine's notices.
        let impact_speed_kmh = if impact_ms.is_finite() { impact_ms * 3.6 } else { 0.0 };
        let window = self.config.resume_within_ms;
        let prior = &mut self.logs.entry(entry).or_default().prior_collisions;
        let same = |&(o, kmh, t): &(Option<EntryKey>, f32, i64)| {
            o == other && (kmh - impact_speed_kmh).abs() < 0.01 && t.abs_diff(at) <= window.unsigned_abs()
        };
        if let Some(i) = prior.iter().position(same) {
            prior.swap_remove(i);
            self.stats.events_repeated += 1;
            return Ok(());
        }
        self.store.add_collision(entry, &CollisionInput { other, impact_speed_kmh, at_ms: at })?;
        self.stats.collisions_stored += 1;
        Ok(())
    }

    fn chat(&mut self, c: &Chat, at: i64) -> Result<(), RecordsError> {
        let Some(entry) = self.entry_for_event(c.car_id)? else { return Ok(()) };
        let window = self.config.resume_within_ms.unsigned_abs();
        let prior = &mut self.logs.entry(entry).or_default().prior_chat;
        if let Some(i) = prior.iter().position(|(text, t)| *text == c.message && t.abs_diff(at) <= window) {
            prior.swap_remove(i);
            self.stats.events_repeated += 1;
            return Ok(());
        }
        self.store.add_chat(entry, &c.message, at)?;
        self.stats.chat_stored += 1;
        Ok(())
    }

    /// END_SESSION: the session ends (and is committed), and the server's results file is
    /// imported when it can be read. A results file that cannot be read or imported is logged:
    /// the live records do not depend on it.
    fn end_session(&mut self, results_file: &str, at: i64) -> Result<(), RecordsError> {
        let Some(current) = self.current.as_mut().filter(|c| !c.over) else { return Ok(()) };
        current.over = true;
        let key = current.key;
        self.store.end_session(key, at)?;
        self.stats.sessions_ended += 1;
        if !self.config.import_results || results_file.is_empty() {
            return Ok(());
        }
        let path = match &self.config.server_dir {
            Some(dir) => dir.join(results_file),
            None => PathBuf::from(results_file),
        };
        if !path.is_file() {
            self.stats.results_failed += 1;
            tracing::info!(path = %path.display(), "results file not found: not imported");
            return Ok(());
        }
        match self.store.complete_from_results(key, &path) {
            Ok(summary) => {
                self.stats.results_imported += 1;
                tracing::info!(path = %path.display(), laps = summary.laps, new = summary.imported, "results file imported");
            }
            Err(e @ RecordsError::Results { .. }) => {
                self.stats.results_failed += 1;
                tracing::warn!(error = %e, "results file not imported");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// The session as the store keeps it, started at `at` minus its elapsed time; `None` for a
/// session type the records do not keep.
fn session_input(s: &SessionInfo, at: i64) -> Option<SessionInput> {
    let session_type = match s.session_type {
        acsp::SessionType::Booking => records::SessionType::Booking,
        acsp::SessionType::Practice => records::SessionType::Practice,
        acsp::SessionType::Qualify => records::SessionType::Qualify,
        acsp::SessionType::Race => records::SessionType::Race,
        acsp::SessionType::Drag | acsp::SessionType::Drift | acsp::SessionType::Unknown(_) => return None,
    };
    Some(SessionInput {
        server: s.server_name.clone(),
        track: s.track.clone(),
        layout: s.track_config.clone(),
        session_type,
        name: s.name.clone(),
        started_at_ms: at.saturating_sub(i64::from(s.elapsed_ms)),
        laps_limit: (s.laps > 0).then_some(u32::from(s.laps)),
        time_limit_s: (s.laps == 0 && s.time > 0).then(|| u32::from(s.time) * 60),
    })
}

/// Whether two descriptions are of the same session: the same name, track and type (the
/// start is not compared: each SESSION_INFO computes it again, a little differently).
fn same_session(a: &SessionInput, b: &SessionInput) -> bool {
    (&a.server, &a.track, &a.layout, a.session_type, &a.name)
        == (&b.server, &b.track, &b.layout, b.session_type, &b.name)
}

/// Whether sector times add up to the lap time, within 3 %: the engine's estimates come from
/// car updates, interpolated, and the server times the lap its own way; sectors of a lap the
/// engine saw broken (a car that jumped, a lap it did not see whole) are much further off.
fn sectors_fit(sectors: &[u32], lap_ms: u32) -> bool {
    let sum: u64 = sectors.iter().map(|&s| u64::from(s)).sum();
    sum.abs_diff(u64::from(lap_ms)) * 100 <= 3 * u64::from(lap_ms)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use acsp::{CarUpdate, ConnectionInfo, EndSession, LeaderboardEntry, NO_TIME, SessionType, Vec3};
    use proptest::prelude::*;
    use records::Query;

    use super::*;

    const T0: i64 = 1_764_590_400_000;

    fn info(index: u8, name: &str, session_type: SessionType, elapsed_ms: i32) -> SessionInfo {
        SessionInfo {
            protocol_version: 4,
            session_index: index,
            current_session_index: index,
            session_count: 3,
            server_name: "pitwall".into(),
            track: "ks_vallelunga".into(),
            track_config: "club_circuit".into(),
            name: name.into(),
            session_type,
            time: 10,
            laps: 0,
            wait_time: 0,
            ambient_temp: 22,
            road_temp: 30,
            weather_graphics: "3_clear".into(),
            weather_encoding: Default::default(),
            elapsed_ms,
        }
    }

    fn practice() -> Event {
        Event::NewSession(info(0, "Practice", SessionType::Practice, 0))
    }

    fn connection(car_id: u8, name: &str, guid: &str) -> ConnectionInfo {
        ConnectionInfo {
            driver_name: name.into(),
            driver_guid: guid.into(),
            car_id,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "red".into(),
        }
    }

    fn join(car_id: u8, name: &str, guid: &str) -> Event {
        Event::NewConnection(connection(car_id, name, guid))
    }

    fn lap(car_id: u8, lap_time: u32, cuts: u8, laps: u16) -> Event {
        Event::LapCompleted(LapCompleted {
            car_id,
            lap_time,
            cuts,
            leaderboard: vec![LeaderboardEntry { car_id, time: lap_time, laps, has_completed: None }],
            grip_level: 0.98,
        })
    }

    fn update(car_id: u8, spline: f32, speed_ms: f32) -> Event {
        Event::CarUpdate(CarUpdate {
            car_id,
            position: Vec3::default(),
            velocity: Vec3::new(speed_ms, 0.0, 0.0),
            gear: 4,
            engine_rpm: 7000,
            normalized_spline_pos: spline,
        })
    }

    /// An engine and a recorder on a fresh database, fed events at given seconds.
    struct Rig {
        _dir: tempfile::TempDir,
        db: PathBuf,
        engine: TimingEngine,
        recorder: Recorder,
    }

    impl Rig {
        fn new() -> Rig {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = dir.path().join("records.sqlite");
            Rig::on(dir, db)
        }

        fn on(dir: tempfile::TempDir, db: PathBuf) -> Rig {
            let store = Store::open(&db).expect("open");
            let recorder = Recorder::new(store, RecorderConfig::default());
            Rig { _dir: dir, db, engine: TimingEngine::new(), recorder }
        }

        /// The same database, with a new engine and recorder: pitwall restarted.
        fn restart(self) -> Rig {
            let Rig { _dir, db, recorder, .. } = self;
            drop(recorder.into_store().expect("flush"));
            Rig::on(_dir, db)
        }

        fn feed_ms(&mut self, ms: u64, event: &Event) {
            let now = Duration::from_millis(ms);
            let notices = self.engine.handle(now, event);
            self.recorder.record(&self.engine, event, &notices, T0 + ms as i64).expect("record");
        }

        fn feed(&mut self, secs: u64, event: &Event) {
            self.feed_ms(secs * 1000, event);
        }

        fn laps(&self) -> Vec<(String, u32)> {
            let mut q = Query::new("ks_vallelunga", "club_circuit");
            (q.ranking, q.include_invalid) = (records::Ranking::EveryLap, true);
            let mut laps: Vec<(String, u32)> = self
                .recorder
                .store()
                .leaderboard(&q)
                .expect("leaderboard")
                .into_iter()
                .map(|r| (r.guid, r.time_ms))
                .collect();
            laps.sort();
            laps
        }
    }

    #[test]
    fn a_session_its_entries_and_laps_are_stored() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        rig.feed(2, &join(1, "Ben", "g-ben"));
        rig.feed(90, &lap(0, 88_000, 0, 1));
        rig.feed(91, &lap(1, 89_000, 2, 1));
        let s = rig.recorder.stats();
        assert_eq!((s.sessions_begun, s.entries_added, s.laps_stored), (1, 2, 2));
        assert_eq!(rig.laps(), [("g-ada".to_owned(), 88_000), ("g-ben".to_owned(), 89_000)]);
        // Ben's lap had cuts: not in the default leaderboard.
        let board =
            rig.recorder.store().leaderboard(&Query::new("ks_vallelunga", "club_circuit")).expect("board");
        assert_eq!(board.len(), 1);
    }

    #[test]
    fn bad_input_is_counted_and_skipped() {
        let mut rig = Rig::new();
        // A lap before any session, of a car nobody announced.
        rig.feed(0, &lap(3, 80_000, 0, 1));
        rig.feed(1, &practice());
        // A car without a GUID, a car nobody announced, a lap without a time.
        rig.feed(2, &join(0, "Nobody", ""));
        rig.feed(90, &lap(0, 80_000, 0, 1));
        rig.feed(91, &lap(7, 80_000, 0, 1));
        rig.feed(92, &join(1, "Ada", "g-ada"));
        rig.feed(93, &lap(1, NO_TIME, 0, 1));
        rig.feed(94, &lap(1, 0, 0, 1));
        rig.feed(95, &Event::Chat(Chat { car_id: 9, message: "hi".into() }));
        let s = rig.recorder.stats();
        assert_eq!((s.before_session, s.unknown_driver, s.no_lap_time), (1, 3, 2));
        assert_eq!(s.laps_stored, 0);
    }

    #[test]
    fn the_lap_number_is_the_servers_and_a_repeated_lap_is_stored_once() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        // The server says this is lap 7 (pitwall started late): stored as 7.
        rig.feed(90, &lap(0, 88_000, 0, 7));
        // The same datagram again.
        rig.feed(90, &lap(0, 88_000, 0, 7));
        assert_eq!((rig.recorder.stats().laps_stored, rig.recorder.stats().laps_repeated), (1, 1));
        let conn = rusqlite::Connection::open(&rig.db).expect("open");
        rig.recorder.flush().expect("flush");
        let lap: u32 = conn.query_row("SELECT lap FROM laps", [], |r| r.get(0)).expect("lap");
        assert_eq!(lap, 7);
    }

    #[test]
    fn a_driver_in_another_slot_keeps_every_lap() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        rig.feed(90, &lap(0, 88_000, 0, 1));
        rig.feed(100, &Event::ConnectionClosed(connection(0, "Ada", "g-ada")));
        // Back in slot 3, whose count starts again: the same entry, the next lap number.
        rig.feed(110, &join(3, "Ada", "g-ada"));
        rig.feed(200, &lap(3, 87_000, 0, 1));
        let s = rig.recorder.stats();
        assert_eq!((s.entries_added, s.laps_stored, s.laps_repeated), (1, 2, 0));
        assert_eq!(rig.laps().len(), 2);
    }

    #[test]
    fn a_restart_mid_session_continues_the_stored_session() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        rig.feed(90, &lap(0, 88_000, 0, 1));
        rig.feed(95, &Event::Chat(Chat { car_id: 0, message: "gg".into() }));
        let key = rig.recorder.session();
        let mut rig = rig.restart();
        // The new run asks: the session is 120 s old (the answer came 200 ms late), Ada is in
        // car 0 and on lap 2.
        rig.feed(120, &Event::SessionInfo(info(0, "Practice", SessionType::Practice, 119_800)));
        rig.feed(
            120,
            &Event::CarInfo(CarInfo {
                car_id: 0,
                is_connected: true,
                car_model: "ks_mazda_mx5_cup".into(),
                car_skin: "red".into(),
                driver_name: "Ada".into(),
                driver_team: String::new(),
                driver_guid: "g-ada".into(),
            }),
        );
        rig.feed(178, &lap(0, 87_500, 0, 2));
        // The chat line stored before, met again (a capture of the same session replayed into
        // this database), and a new one with the same text.
        rig.feed_ms(95_400, &Event::Chat(Chat { car_id: 0, message: "gg".into() }));
        rig.feed(180, &Event::Chat(Chat { car_id: 0, message: "gg".into() }));
        let s = rig.recorder.stats();
        assert_eq!((s.sessions_begun, s.sessions_resumed, s.entries_added, s.entries_found), (0, 1, 0, 1));
        assert_eq!((s.chat_stored, s.events_repeated), (1, 1));
        assert_eq!(rig.recorder.session(), key);
        assert_eq!(rig.laps(), [("g-ada".to_owned(), 87_500), ("g-ada".to_owned(), 88_000)]);
    }

    #[test]
    fn a_session_that_started_outside_the_window_is_another() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        let mut rig = rig.restart();
        // The same names, but started 30 s later than the stored one: the server restarted
        // the session.
        rig.feed(60, &Event::SessionInfo(info(0, "Practice", SessionType::Practice, 30_000)));
        let s = rig.recorder.stats();
        assert_eq!((s.sessions_begun, s.sessions_resumed), (1, 0));
    }

    #[test]
    fn a_drift_session_is_not_kept_and_its_laps_are_skipped() {
        let mut rig = Rig::new();
        rig.feed(0, &Event::NewSession(info(0, "Drift", SessionType::Drift, 0)));
        rig.feed(1, &join(0, "Ada", "g-ada"));
        rig.feed(2, &Event::SessionInfo(info(0, "Drift", SessionType::Drift, 2_000)));
        rig.feed(90, &lap(0, 88_000, 0, 1));
        let s = rig.recorder.stats();
        assert_eq!((s.sessions_begun, s.other_session_type, s.before_session, s.laps_skipped), (0, 1, 1, 1));
        // The practice after it is kept.
        rig.feed(100, &practice());
        rig.feed(190, &lap(0, 87_000, 0, 1));
        assert_eq!(rig.laps(), [("g-ada".to_owned(), 87_000)]);
    }

    #[test]
    fn collisions_name_the_other_entry_or_none_for_the_environment() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        rig.feed(1, &join(1, "Ben", "g-ben"));
        let hit = |other: Option<u8>| match other {
            Some(other_car_id) => Event::CollisionWithCar(CollisionWithCar {
                car_id: 0,
                other_car_id,
                impact_speed: 10.0,
                world_position: Vec3::default(),
                relative_position: Vec3::default(),
            }),
            None => Event::CollisionWithEnv(CollisionWithEnv {
                car_id: 0,
                impact_speed: 5.0,
                world_position: Vec3::default(),
                relative_position: Vec3::default(),
            }),
        };
        rig.feed(10, &hit(Some(1)));
        rig.feed(11, &hit(None));
        rig.feed(12, &hit(Some(9)));
        let ada = rig.recorder.entries[&("g-ada".to_owned(), "ks_mazda_mx5_cup".to_owned())];
        let ben = rig.recorder.entries[&("g-ben".to_owned(), "ks_mazda_mx5_cup".to_owned())];
        let stored = rig.recorder.store().collisions(ada).expect("collisions");
        assert_eq!(stored, [(Some(ben), 36.0, T0 + 10_000), (None, 18.0, T0 + 11_000)]);
        assert_eq!(rig.recorder.stats().unknown_driver, 1);
    }

    #[test]
    fn sectors_and_top_speed_are_the_laps_own() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(1, &join(0, "Ada", "g-ada"));
        // Two laps of 90 s at 50 m/s (180 km/h), updates every second; the first starts
        // mid-lap as seen by the engine, so only the second is timed whole.
        let mut ms = 1_000;
        let mut completed = 0;
        let mut spline = 0.5f32;
        while completed < 2 {
            ms += 1000;
            spline += 1.0 / 90.0;
            if spline >= 1.0 {
                spline -= 1.0;
                rig.feed_ms(ms, &update(0, spline, 50.0));
                completed += 1;
                let time = if completed == 1 { 46_000 } else { 90_000 };
                rig.feed_ms(ms + 100, &lap(0, time, 0, completed));
            } else {
                rig.feed_ms(ms, &update(0, spline, 50.0));
            }
        }
        rig.recorder.flush().expect("flush");
        let conn = rusqlite::Connection::open(&rig.db).expect("open");
        let mut st = conn.prepare("SELECT lap, sectors, top_speed_kmh FROM laps ORDER BY lap").expect("sql");
        let rows: Vec<(u32, String, Option<f64>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        assert_eq!(rows[0].1, "[]", "the first lap was not seen whole by the timing loop");
        let sectors: Vec<u32> = serde_json::from_str(&rows[1].1).expect("json");
        assert_eq!(sectors.len(), 3);
        assert!(sectors.iter().sum::<u32>().abs_diff(90_000) <= 2_000, "{sectors:?}");
        assert!(rows[1].2.is_some_and(|kmh| (kmh - 180.0).abs() < 1.0), "{rows:?}");
    }

    #[test]
    fn end_session_ends_it_and_a_missing_results_file_is_no_error() {
        let mut rig = Rig::new();
        rig.feed(0, &practice());
        rig.feed(600, &Event::EndSession(EndSession { filename: "results/nowhere.json".into() }));
        let s = rig.recorder.stats();
        assert_eq!((s.sessions_ended, s.results_failed, s.results_imported), (1, 1, 0));
        // The next session ends nothing more.
        rig.feed(601, &Event::NewSession(info(1, "Qualify", SessionType::Qualify, 0)));
        assert_eq!(rig.recorder.stats().sessions_ended, 1);
    }

    #[test]
    fn end_session_imports_the_results_file() {
        let mut rig = Rig::new();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("results")).expect("mkdir");
        let results = r#"{"TrackName":"ks_vallelunga","TrackConfig":"club_circuit","Type":"PRACTICE",
            "Cars":[{"CarId":0,"Model":"ks_mazda_mx5_cup","Skin":"red","Driver":{"Name":"Ada","Guid":"g-ada"}}],
            "Laps":[{"DriverName":"Ada","DriverGuid":"g-ada","CarId":0,"CarModel":"ks_mazda_mx5_cup",
                     "Timestamp":1,"LapTime":88000,"Sectors":[29000,30000,29000],"Cuts":0,"Tyre":"SM"}]}"#;
        std::fs::write(dir.path().join("results/2026_12_1_12_10_PRACTICE.json"), results).expect("write");
        rig.recorder.config.server_dir = Some(dir.path().to_owned());
        rig.feed(0, &practice());
        let end = Event::EndSession(EndSession { filename: "results/2026_12_1_12_10_PRACTICE.json".into() });
        rig.feed(600, &end);
        assert_eq!(rig.recorder.stats().results_imported, 1);
        assert_eq!(rig.laps(), [("g-ada".to_owned(), 88_000)]);
    }

    /// Anything a hostile or broken server might send, in any order.
    fn hostile_event() -> impl Strategy<Value = Event> {
        let name = prop_oneof![
            Just(String::new()),
            Just("Ada".to_owned()),
            Just("\u{1b}[31m\u{fffd}\0é".to_owned())
        ];
        let guid =
            prop_oneof![Just(String::new()), Just("g-ada".to_owned()), Just("g-\u{0}\u{fffd}".to_owned())];
        let time = prop_oneof![Just(0u32), Just(NO_TIME), Just(u32::MAX), 1u32..200_000];
        let session_type = (0u8..8).prop_map(SessionType::from);
        let car = 0u8..6;
        prop_oneof![
            (0u8..3, 0u8..3, session_type, any::<i32>()).prop_map(|(i, c, t, e)| {
                let mut s = info(i, "S\u{fffd}", t, e);
                s.current_session_index = c;
                Event::SessionInfo(s)
            }),
            (0u8..3, any::<i32>()).prop_map(|(i, e)| Event::NewSession(info(
                i,
                "Race",
                SessionType::Race,
                e
            ))),
            (car.clone(), name.clone(), guid.clone()).prop_map(|(c, n, g)| join(c, &n, &g)),
            (car.clone(), name, guid).prop_map(|(c, n, g)| Event::ConnectionClosed(connection(c, &n, &g))),
            (car.clone(), time, any::<u8>(), any::<u16>())
                .prop_map(|(c, t, cuts, laps)| lap(c, t, cuts, laps)),
            (car.clone(), any::<f32>(), any::<f32>()).prop_map(|(c, s, v)| update(c, s, v)),
            (car.clone(), 0u8..8, any::<f32>()).prop_map(|(c, o, i)| Event::CollisionWithCar(
                CollisionWithCar {
                    car_id: c,
                    other_car_id: o,
                    impact_speed: i,
                    world_position: Vec3::default(),
                    relative_position: Vec3::default(),
                }
            )),
            car.clone().prop_map(|c| Event::Chat(Chat { car_id: c, message: "\u{7}\u{fffd}".into() })),
            Just(Event::EndSession(EndSession { filename: "../../nowhere\0.json".into() })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Hostile event sequences never panic nor fail the recorder, every event is counted,
        /// and what was stored is consistent: one row per stored lap, none before a session.
        #[test]
        fn hostile_sequences_are_counted_not_fatal(
            events in proptest::collection::vec((hostile_event(), 0u64..5_000), 1..120)
        ) {
            let mut rig = Rig::new();
            let mut ms = 0;
            for (event, dt) in &events {
                ms += dt;
                rig.feed_ms(ms, event);
            }
            let s = rig.recorder.stats();
            prop_assert_eq!(s.events, events.len() as u64);
            rig.recorder.flush().expect("flush");
            let conn = rusqlite::Connection::open(&rig.db).expect("open");
            let laps: u64 = conn.query_row("SELECT COUNT(*) FROM laps", [], |r| r.get(0)).expect("count");
            prop_assert_eq!(laps, s.laps_stored);
            let laps_seen = events.iter().filter(|(e, _)| matches!(e, Event::LapCompleted(_))).count() as u64;
            // Every lap is accounted for: stored, stored already, or skipped.
            prop_assert_eq!(laps_seen, s.laps_stored + s.laps_repeated + s.laps_skipped);
            prop_assert!(s.laps_skipped <= s.before_session + s.unknown_driver + s.no_lap_time);
        }
    }
}
