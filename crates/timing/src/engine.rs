//! The engine: ACSP events and the caller's clock in, notices and the board out.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use acsp::{
    CarInfo, CarUpdate, Chat, CollisionWithCar, CollisionWithEnv, Command, ConnectionInfo, Event,
    LapCompleted, SessionInfo, SessionType,
};

use crate::board::{Board, Gap, Row, SessionState};
use crate::config::{Stats, TimingConfig};
use crate::format::time_from_wire;
use crate::live::{self, POINTS, Progress, millis};
use crate::notice::Notice;
use crate::outline::{OutlineLearner, TrackOutline};

/// The longest lap time taken as real: an hour. Anything longer (or 0) is a broken datagram.
const MAX_LAP_MS: u32 = 3_600_000;

/// Below this speed a car stands still (km/h): in its pit box, or stopped.
const STANDSTILL_KMH: f32 = 5.0;

/// A lap followed by a standstill before the car has run this much of the next lap (in timing
/// points, hundredths of a lap) was an in lap.
const IN_LAP_POINTS: i64 = 10;

/// The live timing of one server, fed its ACSP events.
///
/// Sans-IO: [`handle`](Self::handle) takes an event and the time it arrived on the caller's
/// clock, and returns what happened as [`Notice`]s; [`board`](Self::board) gives the standings;
/// [`tick`](Self::tick), called after events and now and then between them, says what to ask
/// the server ([`Command`]s) and notices a server gone quiet. Nothing here reads a clock, a
/// socket or prints.
///
/// The engine keeps its own record of each car from the laps it sees: laps, last lap, best lap
/// without cuts, total time. The leaderboard that comes with every LAP_COMPLETED fills in what
/// the engine missed (laps before it started listening, a lost datagram): it never shows fewer
/// laps, or a slower best lap, than the server's own leaderboard. Standings are per car slot,
/// as on the server: a driver who leaves keeps the car's laps in the standings, and finds them
/// again on rejoining; a different driver in the car starts from nothing.
///
/// Between laps, each car update moves the car along a virtual timing loop of 100 points (see
/// [`Row::interval`]), which gives live race gaps, sector times and top speeds.
#[derive(Debug, Clone)]
pub struct TimingEngine {
    config: TimingConfig,
    session: Option<Session>,
    cars: BTreeMap<u8, Car>,
    grip: Option<f32>,
    now: Duration,
    /// Laps the engine has seen, counted across sessions: equal best laps are ordered by which
    /// was set first.
    lap_seq: u64,
    /// The sector boundaries of the session's track (see [`TimingConfig::sectors`]).
    boundaries: Vec<f32>,
    /// When the first event arrived; `None` before it.
    first_event: Option<Duration>,
    /// When the last event arrived.
    last_event: Duration,
    /// When the last car update arrived, from any car.
    last_update: Option<Duration>,
    /// When the interval was last asked for.
    interval_asked: Option<Duration>,
    server_down: bool,
    /// Commands decided while handling events, for the next [`tick`](Self::tick).
    queued: Vec<Command>,
    /// When the engine last asked about each car (GET_CAR_INFO), known to it or not.
    asked: BTreeMap<u8, Duration>,
    stats: Stats,
    /// The session's track outline, learned from the car updates' positions.
    outline: OutlineLearner,
}

/// What [`TimingEngine::tick`] found: notices about the server, and what to send it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tick {
    /// Notices that come from the clock rather than an event: [`Notice::ServerDown`].
    pub notices: Vec<Notice>,
    /// Commands to send to the server, in order, without repeats.
    pub commands: Vec<Command>,
}

/// The session the server last described.
#[derive(Debug, Clone)]
struct Session {
    info: SessionInfo,
    /// When `info` arrived, on the caller's clock: its `elapsed_ms` was true then.
    received: Duration,
    over: bool,
}

/// What the engine knows of one car slot.
#[derive(Debug, Clone, Default)]
struct Car {
    driver: String,
    guid: String,
    model: String,
    team: String,
    connected: bool,
    laps: u16,
    last_ms: Option<u32>,
    best_ms: Option<u32>,
    /// The `lap_seq` at which `best_ms` was set.
    best_seq: u64,
    total_ms: Option<u32>,
    spline: f32,
    speed_kmh: f32,
    /// World position (x, z) at the last car update, m.
    world: Option<[f32; 2]>,
    collisions: u32,
    car_collisions: u32,
    env_collisions: u32,
    max_impact_kmh: Option<f32>,
    /// Where the car is on the timing loop.
    progress: Progress,
    /// The car crossed the line and its LAP_COMPLETED has not come yet: the sector times of
    /// the lap, if complete. The lap counts in the car's distance meanwhile.
    pending_lap: Option<Option<Vec<u32>>>,
    /// Its LAP_COMPLETED came before the car update that crossed the line: whether the lap was
    /// valid. The lap does not count in the car's distance until the car crosses.
    pending_line: Option<bool>,
    /// The car has crossed the line in this session.
    crossed: bool,
    /// In a race, the car has not crossed the line yet: it is on the grid, behind the line, and
    /// its first crossing starts lap 1 (the server counts no lap for it). Its positions until
    /// then are a lap behind the line's, so that they come before every point of lap 1.
    grid: bool,
    last_sectors: Vec<Option<u32>>,
    best_sectors: Vec<Option<u32>>,
    /// Top speed since the last lap completed.
    lap_top_kmh: Option<f32>,
    last_top_kmh: Option<f32>,
    best_top_kmh: Option<f32>,
    /// The car stood still since the last lap completed.
    stood_this_lap: bool,
    /// The distance at the last lap completed, while the last lap may still turn out an in lap.
    in_lap_watch: Option<i64>,
    last_lap_out: bool,
    last_lap_in: bool,
    /// Sum and number of the laps that make the average: without cuts, not out laps.
    average_sum_ms: u64,
    average_laps: u32,
    /// In a race, the server says the car has taken the flag.
    finished: bool,
    /// When the car last sent a car update, or connected.
    heard: Option<Duration>,
}

impl Car {
    /// Forgets the session's laps, times and collisions; keeps who is in the car.
    fn reset_session(&mut self, sectors: usize) {
        (self.laps, self.last_ms, self.best_ms, self.best_seq, self.total_ms) = (0, None, None, 0, None);
        (self.collisions, self.car_collisions, self.env_collisions, self.max_impact_kmh) = (0, 0, 0, None);
        self.progress.reset(sectors);
        (self.pending_lap, self.pending_line, self.crossed, self.grid) = (None, None, false, false);
        (self.last_sectors, self.best_sectors) = (vec![None; sectors], vec![None; sectors]);
        (self.lap_top_kmh, self.last_top_kmh, self.best_top_kmh) = (None, None, None);
        (self.stood_this_lap, self.in_lap_watch, self.last_lap_out, self.last_lap_in) =
            (false, None, false, false);
        (self.average_sum_ms, self.average_laps, self.finished) = (0, 0, false);
    }

    /// The mean of the laps without cuts that were not out laps, ms.
    fn average_ms(&self) -> Option<u32> {
        (self.average_laps > 0)
            .then(|| u32::try_from(self.average_sum_ms / u64::from(self.average_laps)).unwrap_or(u32::MAX))
    }

    /// Whether `c` is the driver the car had: the same GUID when both are known, else the same
    /// name.
    fn same_driver(&self, c: &ConnectionInfo) -> bool {
        if !self.guid.is_empty() && !c.driver_guid.is_empty() {
            self.guid == c.driver_guid
        } else {
            self.driver == c.driver_name
        }
    }

    /// Whether the car has a place in the standings.
    fn standing(&self) -> bool {
        self.connected || self.laps > 0
    }

    /// The lap the car is running, counted from 0: laps completed, with a line crossing whose
    /// LAP_COMPLETED is on its way counted, and a LAP_COMPLETED whose crossing is not seen yet
    /// not.
    fn lap_index(&self) -> i64 {
        i64::from(self.laps) + i64::from(self.pending_lap.is_some()) - i64::from(self.pending_line.is_some())
    }

    /// How far the car has got in the session, in hundredths of a lap; `None` before its first
    /// car update.
    fn distance(&self) -> Option<i64> {
        self.progress.distance(self.lap_index() - i64::from(self.grid))
    }

    /// A finished lap's sector times, now that whether it was valid is known.
    fn settle_sectors(&mut self, sectors: Option<Vec<u32>>, valid: bool) {
        let Some(sectors) = sectors.filter(|_| valid) else { return };
        for (best, s) in self.best_sectors.iter_mut().zip(sectors) {
            if best.is_none_or(|b| s < b) {
                *best = Some(s);
            }
        }
    }

    /// The sum of the best sectors, once every sector has one.
    fn theoretical_best(&self) -> Option<u32> {
        let sectors: Option<Vec<u32>> = self.best_sectors.iter().copied().collect();
        sectors.filter(|s| !s.is_empty()).map(|s| s.iter().fold(0u32, |a, &b| a.saturating_add(b)))
    }
}

impl Default for TimingEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TimingEngine {
    /// An engine that has seen nothing yet, with the default [`TimingConfig`].
    pub fn new() -> Self {
        Self::with_config(TimingConfig::default())
    }

    /// An engine that has seen nothing yet.
    pub fn with_config(config: TimingConfig) -> Self {
        TimingEngine {
            config,
            session: None,
            cars: BTreeMap::new(),
            grip: None,
            now: Duration::ZERO,
            lap_seq: 0,
            boundaries: live::thirds(),
            first_event: None,
            last_event: Duration::ZERO,
            last_update: None,
            interval_asked: None,
            server_down: false,
            queued: Vec::new(),
            asked: BTreeMap::new(),
            stats: Stats::default(),
            outline: OutlineLearner::default(),
        }
    }

    /// Takes in one event that arrived at `now` (on any clock that starts where the caller
    /// likes and does not run backwards, e.g. the time since the caller started) and returns
    /// what it means for the timing, in order. Most events give one notice; car updates and
    /// the protocol's bookkeeping (VERSION, CLIENT_LOADED, most SESSION_INFO) give none.
    ///
    /// Bad input is counted in [`stats`](Self::stats) and skipped, never a panic: a car update
    /// of a car nobody announced, a lap before any session, a spline position that is not a
    /// number. A time the server sent as "no time" is kept as none.
    pub fn handle(&mut self, now: Duration, event: &Event) -> Vec<Notice> {
        self.stats.events += 1;
        let now = if now < self.now {
            self.stats.clock_backwards += 1;
            self.now
        } else {
            now
        };
        self.now = now;
        self.last_event = now;
        let mut notices = Vec::new();
        if self.first_event.is_none() {
            self.first_event = Some(now);
            // VERSION and NEW_SESSION are what a server sends a plugin that starts with it;
            // anything else means the session is running already.
            if !matches!(event, Event::NewSession(_) | Event::Version(_)) {
                self.ask_session();
            }
        }
        if self.server_down {
            self.server_down = false;
            notices.push(Notice::ServerUp);
            // It may have restarted: what it runs now, and car updates again.
            self.ask_session();
        }
        let notice = match event {
            Event::NewSession(s) => Some(self.new_session(now, s)),
            Event::SessionInfo(s) => self.session_info(now, s),
            Event::NewConnection(c) => Some(self.new_connection(now, c)),
            Event::ConnectionClosed(c) => Some(self.connection_closed(c)),
            Event::CarInfo(i) => self.car_info(i),
            Event::CarUpdate(u) => {
                self.car_update(now, u);
                None
            }
            Event::LapCompleted(l) => self.lap_completed(now, l),
            Event::CollisionWithCar(c) => Some(self.collision_with_car(c)),
            Event::CollisionWithEnv(c) => Some(self.collision_with_env(c)),
            Event::Chat(c) => Some(self.chat(c)),
            Event::EndSession(e) => {
                if let Some(s) = &mut self.session {
                    s.over = true;
                }
                Some(Notice::SessionEnded { results_file: e.filename.clone() })
            }
            Event::Error(e) => Some(Notice::ServerError { message: e.message.clone() }),
            Event::Version(_) | Event::ClientLoaded(_) => None,
        };
        notices.extend(notice);
        notices
    }

    /// What the clock says at `now`: the commands to send the server (those decided while
    /// handling events, and those of the timers below), and whether the server went quiet.
    /// Call it after handling events, and every second or so between them.
    ///
    /// The timers, with the durations of [`TimingConfig`]: a connected car without a car update
    /// for `silence` is asked about (GET_CAR_INFO), again every `silence`; no car update from
    /// anybody for `silence` and the interval is asked for again (REALTIMEPOS_INTERVAL); no
    /// event at all for `server_timeout` and the server is down ([`Notice::ServerDown`], and
    /// [`Board::server_down`]) until the next event.
    pub fn tick(&mut self, now: Duration) -> Tick {
        let mut tick = Tick::default();
        if let Some(first) = self.first_event {
            let silence = self.config.silence;
            let quiet = now.saturating_sub(self.last_event);
            if !self.server_down && quiet >= self.config.server_timeout {
                self.server_down = true;
                tick.notices.push(Notice::ServerDown {
                    silent_ms: u64::try_from(quiet.as_millis()).unwrap_or(u64::MAX),
                });
            }
            let since = self.last_update.unwrap_or(first).max(self.interval_asked.unwrap_or(first));
            if self.config.realtime_interval_ms.is_some() && now.saturating_sub(since) >= silence {
                self.ask_interval();
            }
            for (&id, car) in &self.cars {
                let asked = self.asked.get(&id).copied().unwrap_or(first);
                let heard = car.heard.unwrap_or(first).max(asked);
                if car.connected && now.saturating_sub(heard) >= silence {
                    self.asked.insert(id, now);
                    self.queued.push(Command::GetCarInfo { car_id: id });
                }
            }
        }
        for c in self.queued.drain(..) {
            if !tick.commands.contains(&c) {
                tick.commands.push(c);
            }
        }
        tick
    }

    /// What the engine skipped so far, by kind.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The outline of the session's track, learned from the cars' positions so far; `None`
    /// until enough of the lap has been seen ([`outline`](crate::outline)).
    pub fn outline(&self) -> Option<TrackOutline> {
        self.outline.outline()
    }

    /// Positions the track outline has taken in: it changes when the outline may have.
    pub fn outline_samples(&self) -> u64 {
        self.outline.samples()
    }

    /// The standings now: the session, then one row per car, leader first.
    ///
    /// In a race, cars that have taken the flag come first, by laps and then by who crossed the
    /// line first; the others are ordered by how far they have got: laps completed and, between
    /// lap completions, the position along the lap at the last car update; then by total time
    /// (who crossed the line first). In every other session by best lap without cuts, equal times by
    /// who set theirs first, and cars without a time after them by laps. Ties left are broken by
    /// car id.
    pub fn board(&self) -> Board {
        let race = self.is_race();
        let mut cars: Vec<(u8, &Car)> =
            self.cars.iter().filter(|(_, c)| c.standing()).map(|(id, c)| (*id, c)).collect();
        if race {
            // Cars that took the flag first, by laps and who crossed first: their cool-down laps
            // move them along the track but not up the order. `None` totals (no lap yet) sort
            // after every time.
            cars.sort_by_key(|(id, c)| {
                let distance = if c.finished {
                    i64::from(c.laps) * POINTS
                } else {
                    // A car never seen on track goes by its laps; without any, behind the grid
                    // (whose cars are a lap behind the line until they cross it).
                    c.distance().unwrap_or(if c.laps == 0 { -2 * POINTS } else { i64::from(c.laps) * POINTS })
                };
                (!c.finished, Reverse(distance), c.total_ms.is_none(), c.total_ms, *id)
            });
        } else {
            cars.sort_by_key(|(id, c)| (c.best_ms.is_none(), c.best_ms, c.best_seq, Reverse(c.laps), *id));
        }
        let leader = cars.first().map(|(_, c)| *c);
        let rows = cars
            .iter()
            .enumerate()
            .map(|(i, (id, c))| Row {
                position: i + 1,
                car_id: *id,
                driver: c.driver.clone(),
                team: c.team.clone(),
                car_model: c.model.clone(),
                connected: c.connected,
                laps: c.laps,
                last_lap_ms: c.last_ms,
                best_lap_ms: c.best_ms,
                average_lap_ms: c.average_ms(),
                total_ms: c.total_ms,
                finished: c.finished,
                gap: leader.and_then(|l| gap(race, i == 0, l, c, self.now)),
                interval: i.checked_sub(1).and_then(|a| gap(race, false, cars[a].1, c, self.now)),
                speed_kmh: c.speed_kmh,
                spline: c.spline,
                world: c.world,
                collisions: c.collisions,
                car_collisions: c.car_collisions,
                env_collisions: c.env_collisions,
                max_impact_kmh: c.max_impact_kmh,
                last_sectors_ms: c.last_sectors.clone(),
                best_sectors_ms: c.best_sectors.clone(),
                theoretical_best_ms: c.theoretical_best(),
                last_lap_top_kmh: c.last_top_kmh,
                best_lap_top_kmh: c.best_top_kmh,
                last_lap_out: c.last_lap_out,
                last_lap_in: c.last_lap_in,
            })
            .collect();
        Board {
            at: self.now,
            session: self.session_state(),
            grip: self.grip,
            server_down: self.server_down,
            sectors: self.boundaries.clone(),
            rows,
        }
    }

    /// The session the server last described, if any.
    pub fn session(&self) -> Option<&SessionInfo> {
        self.session.as_ref().map(|s| &s.info)
    }

    /// The name of the driver in car `car_id`, if the engine knows it.
    pub fn driver(&self, car_id: u8) -> Option<&str> {
        self.cars.get(&car_id).map(|c| c.driver.as_str()).filter(|d| !d.is_empty())
    }

    /// The driver's GUID and the car model in car `car_id`, if the engine knows them (either
    /// may be empty: the server had not said).
    pub fn identity(&self, car_id: u8) -> Option<(&str, &str)> {
        self.cars.get(&car_id).map(|c| (c.guid.as_str(), c.model.as_str()))
    }

    /// The clock of the last event handled.
    pub fn now(&self) -> Duration {
        self.now
    }

    fn is_race(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.info.session_type == SessionType::Race)
    }

    fn sector_count(&self) -> usize {
        self.boundaries.len() + 1
    }

    fn ask_session(&mut self) {
        self.queued.push(Command::GetSessionInfo { session_index: -1 });
        self.ask_interval();
    }

    fn ask_interval(&mut self) {
        if let Some(interval_ms) = self.config.realtime_interval_ms {
            self.interval_asked = Some(self.now);
            self.queued.push(Command::RealtimeposInterval { interval_ms });
        }
    }

    /// Asks who is in car `id`, at most once per silence period.
    fn ask_car(&mut self, id: u8) {
        let (now, silence) = (self.now, self.config.silence);
        if self.asked.get(&id).is_none_or(|&a| now.saturating_sub(a) >= silence) {
            self.asked.insert(id, now);
            self.queued.push(Command::GetCarInfo { car_id: id });
        }
    }

    /// Car `id`, made (with the session's sectors) if the engine had not heard of it.
    fn car_mut(&mut self, id: u8) -> &mut Car {
        let sectors = self.sector_count();
        self.cars.entry(id).or_insert_with(|| {
            let mut car = Car::default();
            car.reset_session(sectors);
            car
        })
    }

    fn session_state(&self) -> Option<SessionState> {
        let s = self.session.as_ref()?;
        let since = i64::try_from(self.now.saturating_sub(s.received).as_millis()).unwrap_or(i64::MAX);
        Some(SessionState {
            elapsed_ms: i64::from(s.info.elapsed_ms).saturating_add(since),
            over: s.over,
            ..session_state(&s.info)
        })
    }

    /// The sector boundaries of a session's track, from the configuration.
    fn set_track(&mut self, s: &SessionInfo) {
        if self.outline.track() != (s.track.as_str(), s.track_config.as_str()) {
            self.outline = OutlineLearner::new(&s.track, &s.track_config);
        }
        let with_layout = format!("{}/{}", s.track, s.track_config);
        let given = self.config.sectors.get(&with_layout).or_else(|| self.config.sectors.get(&s.track));
        self.boundaries = given.map_or_else(live::thirds, |b| live::clean_boundaries(b));
    }

    fn new_session(&mut self, now: Duration, s: &SessionInfo) -> Notice {
        self.session = Some(Session { info: s.clone(), received: now, over: false });
        self.set_track(s);
        let sectors = self.sector_count();
        // Cars whose drivers have gone have nothing left to show once their laps are reset.
        self.cars.retain(|_, c| c.connected);
        for car in self.cars.values_mut() {
            car.reset_session(sectors);
        }
        // Server managers do the same: some servers forget the interval across sessions.
        self.ask_interval();
        Notice::SessionStarted(session_state(s))
    }

    /// SESSION_INFO: the current session's figures, refreshed. An answer about another session
    /// (one asked for by index) leaves the board alone; one whose current session is not the
    /// session the engine knows means a NEW_SESSION was missed, and is taken as one.
    fn session_info(&mut self, now: Duration, s: &SessionInfo) -> Option<Notice> {
        if s.session_index != s.current_session_index {
            return None;
        }
        match &self.session {
            Some(old) if old.info.session_index != s.session_index => Some(self.new_session(now, s)),
            old => {
                let first = old.is_none();
                let over = old.as_ref().is_some_and(|o| o.over);
                self.session = Some(Session { info: s.clone(), received: now, over });
                if first {
                    // The answer to a plugin that started mid-session: the cars keep what the
                    // engine saw of them, with the track's sectors.
                    self.set_track(s);
                    let sectors = self.sector_count();
                    for car in self.cars.values_mut() {
                        car.progress.reset(sectors);
                        (car.last_sectors, car.best_sectors) = (vec![None; sectors], vec![None; sectors]);
                        (car.pending_lap, car.pending_line) = (None, None);
                    }
                }
                None
            }
        }
    }

    fn new_connection(&mut self, now: Duration, c: &ConnectionInfo) -> Notice {
        let sectors = self.sector_count();
        let car = self.car_mut(c.car_id);
        let known = !car.driver.is_empty() || !car.guid.is_empty();
        let same = known && car.same_driver(c);
        if known && !same {
            car.reset_session(sectors);
            car.team.clear();
        }
        (car.driver, car.guid, car.model) =
            (c.driver_name.clone(), c.driver_guid.clone(), c.car_model.clone());
        car.connected = true;
        car.heard = Some(now);
        Notice::DriverJoined {
            car_id: c.car_id,
            driver: c.driver_name.clone(),
            car_model: c.car_model.clone(),
            rejoined: same && car.laps > 0,
        }
    }

    fn connection_closed(&mut self, c: &ConnectionInfo) -> Notice {
        if let Some(car) = self.cars.get_mut(&c.car_id) {
            car.connected = false;
        }
        Notice::DriverLeft { car_id: c.car_id, driver: c.driver_name.clone() }
    }

    /// CAR_INFO answers who is in a car: it fills in what the engine did not know and names
    /// the team. Connections are the connection events' business: CAR_INFO only tells of one
    /// the engine missed, either way. A driver still loading (named, but not connected yet) is
    /// no disconnection.
    fn car_info(&mut self, i: &CarInfo) -> Option<Notice> {
        let car = self.car_mut(i.car_id);
        if i.is_connected {
            car.connected = true;
        } else if i.driver_name.is_empty() {
            car.connected = false;
        }
        if car.driver.is_empty() && !i.driver_name.is_empty() {
            (car.driver, car.guid) = (i.driver_name.clone(), i.driver_guid.clone());
        }
        if car.model.is_empty() {
            car.model = i.car_model.clone();
        }
        car.team = i.driver_team.clone();
        (!i.driver_team.is_empty()).then(|| Notice::DriverTeam {
            car_id: i.car_id,
            driver: i.driver_name.clone(),
            team: i.driver_team.clone(),
        })
    }

    /// CAR_UPDATE: the car moves along the timing loop.
    fn car_update(&mut self, now: Duration, u: &CarUpdate) {
        let spline = u.normalized_spline_pos;
        let speed = u.speed_kmh();
        if !(0.0..=1.0).contains(&spline) || !speed.is_finite() {
            self.stats.bad_position += 1;
            return;
        }
        // 1.0 is the line, as 0.0 is.
        let spline = if spline >= 1.0 { 0.0 } else { spline };
        if !self.cars.get(&u.car_id).is_some_and(|c| c.connected) {
            self.stats.unannounced_update += 1;
            self.ask_car(u.car_id);
            return;
        }
        self.last_update = Some(now);
        let race = self.is_race();
        let boundaries = &self.boundaries;
        let Some(car) = self.cars.get_mut(&u.car_id) else { return };
        (car.spline, car.speed_kmh, car.heard) = (spline, speed, Some(now));
        let (x, z) = (u.position.x, u.position.z);
        car.world = (x.is_finite() && z.is_finite()).then_some([x, z]);
        self.outline.learn(spline, x, z);
        car.lap_top_kmh = Some(car.lap_top_kmh.map_or(speed, |t| t.max(speed)));
        let stood = speed < STANDSTILL_KMH;
        car.stood_this_lap |= stood;

        car.grid = race && car.laps == 0 && !car.crossed;
        let lap = car.lap_index() - i64::from(car.grid);
        let advance = car.progress.advance(now, spline, lap, boundaries);
        if advance.jumped {
            (car.pending_lap, car.pending_line) = (None, None);
        }
        if let Some(sectors) = advance.crossed_line {
            car.last_sectors = match &sectors {
                Some(s) => s.iter().copied().map(Some).collect(),
                None => vec![None; boundaries.len() + 1],
            };
            match car.pending_line.take() {
                Some(valid) => car.settle_sectors(sectors, valid),
                // A race starts behind the line: the first crossing starts lap 1 and completes
                // nothing.
                None if race && car.laps == 0 && !car.crossed => {}
                None => car.pending_lap = Some(sectors),
            }
            (car.crossed, car.grid) = (true, false);
        }
        // A line crossing the server never confirms was none (a car crossing the line in the
        // pit lane on its way out, say): half a lap on, it stops counting.
        if car.pending_lap.is_some() && spline > 0.5 {
            car.pending_lap = None;
        }
        if let (Some(from), Some(d)) = (car.in_lap_watch, car.distance()) {
            if d - from > IN_LAP_POINTS {
                car.in_lap_watch = None;
            } else if stood {
                (car.last_lap_in, car.in_lap_watch) = (true, None);
            }
        }
    }

    fn lap_completed(&mut self, now: Duration, l: &LapCompleted) -> Option<Notice> {
        if self.session.is_none() {
            self.stats.before_session += 1;
            return None;
        }
        self.lap_seq += 1;
        let seq = self.lap_seq;
        if l.grip_level.is_finite() {
            self.grip = Some(l.grip_level);
        }
        let race = self.is_race();
        let known = self.cars.contains_key(&l.car_id) || l.leaderboard.iter().any(|e| e.car_id == l.car_id);
        let own = if known {
            Some(self.own_lap(now, l, seq))
        } else {
            self.stats.unknown_car += 1;
            self.ask_car(l.car_id);
            None
        };
        for e in &l.leaderboard {
            let mut time = time_from_wire(e.time);
            if (!race && time.is_some_and(absurd)) || (race && time == Some(0) && e.laps > 0) {
                self.stats.absurd_time += 1;
                time = None;
            }
            if !self.cars.contains_key(&e.car_id) && e.laps > 0 {
                // A car with laps the engine never saw: who drives it?
                self.ask_car(e.car_id);
            }
            let car = self.car_mut(e.car_id);
            if race {
                if e.has_completed == Some(true) {
                    car.finished = true;
                }
                // The server's race time is its own total, the more exact one: taken whenever
                // it is for at least the laps the engine knows.
                if e.laps > car.laps || (e.laps == car.laps && time.is_some()) {
                    car.laps = e.laps;
                    car.total_ms = time.or(car.total_ms);
                }
            } else {
                car.laps = car.laps.max(e.laps);
                if let Some(t) = time.filter(|&t| car.best_ms.is_none_or(|b| t < b)) {
                    (car.best_ms, car.best_seq) = (Some(t), seq);
                }
            }
        }
        let (lap_ms, counted, personal_best) = own?;
        let car = self.cars.get(&l.car_id)?;
        Some(Notice::LapCompleted {
            car_id: l.car_id,
            driver: car.driver.clone(),
            lap_ms,
            cuts: l.cuts,
            counted,
            personal_best,
            laps: car.laps,
        })
    }

    /// The lap of the car that completed it: times, top speed, sectors, in and out laps. Returns
    /// the lap time, whether it counted and whether it is the car's best.
    fn own_lap(&mut self, now: Duration, l: &LapCompleted, seq: u64) -> (Option<u32>, bool, bool) {
        let mut lap = time_from_wire(l.lap_time);
        if lap.is_some_and(absurd) {
            self.stats.absurd_time += 1;
            lap = None;
        }
        let race = self.is_race();
        let counted = l.cuts == 0 && lap.is_some();
        let car = self.car_mut(l.car_id);
        // A race's first lap starts from the grid, standing: no out lap.
        car.last_lap_out = car.stood_this_lap && !(race && car.laps == 0);
        car.last_lap_in = false;
        car.laps = car.laps.saturating_add(1);
        car.last_ms = lap;
        if let Some(ms) = lap {
            car.total_ms = Some(car.total_ms.unwrap_or(0).saturating_add(ms));
        }
        let personal_best = counted && lap.is_some_and(|ms| car.best_ms.is_none_or(|b| ms < b));
        if let Some(ms) = lap.filter(|_| counted && !car.last_lap_out) {
            car.average_sum_ms += u64::from(ms);
            car.average_laps += 1;
        }
        car.last_top_kmh = car.lap_top_kmh.take();
        if personal_best {
            (car.best_ms, car.best_seq, car.best_top_kmh) = (lap, seq, car.last_top_kmh);
        }
        // The lap's sector times: settled now if the car has crossed the line, else when it does.
        match car.pending_lap.take() {
            Some(sectors) => car.settle_sectors(sectors, counted),
            None if car.spline > 0.5 && car.progress.last.is_some() => car.pending_line = Some(counted),
            None => {}
        }
        car.stood_this_lap = false;
        car.in_lap_watch = car.distance();
        car.heard = car.heard.max(Some(now));
        (lap, counted, personal_best)
    }

    /// Counts a collision of car `id`, if the engine knows the car.
    fn collided(&mut self, id: u8, with_car: bool, impact_kmh: f32) {
        let Some(car) = self.cars.get_mut(&id) else {
            self.stats.unknown_car += 1;
            self.ask_car(id);
            return;
        };
        car.collisions = car.collisions.saturating_add(1);
        if with_car {
            car.car_collisions = car.car_collisions.saturating_add(1);
        } else {
            car.env_collisions = car.env_collisions.saturating_add(1);
        }
        if impact_kmh.is_finite() && car.max_impact_kmh.is_none_or(|m| impact_kmh > m) {
            car.max_impact_kmh = Some(impact_kmh);
        }
    }

    fn collision_with_car(&mut self, c: &CollisionWithCar) -> Notice {
        let impact_kmh = c.impact_speed * 3.6;
        for id in [c.car_id, c.other_car_id] {
            self.collided(id, true, impact_kmh);
        }
        Notice::CarCollision { car_id: c.car_id, other_car_id: c.other_car_id, impact_kmh }
    }

    fn collision_with_env(&mut self, c: &CollisionWithEnv) -> Notice {
        let impact_kmh = c.impact_speed * 3.6;
        self.collided(c.car_id, false, impact_kmh);
        Notice::WallCollision { car_id: c.car_id, impact_kmh }
    }

    fn chat(&self, c: &Chat) -> Notice {
        Notice::Chat {
            car_id: c.car_id,
            driver: self.driver(c.car_id).unwrap_or_default().to_owned(),
            message: c.message.clone(),
        }
    }
}

/// Whether a lap time is not a real one: 0, or over an hour.
fn absurd(ms: u32) -> bool {
    ms == 0 || ms > MAX_LAP_MS
}

/// The gap of `car` to `ahead` (the leader, or the car in front for an interval), if there is
/// something to compare: a leader without a time (no best lap; in a race, no lap and no car
/// update) leads nothing yet.
///
/// In a race, between two cars seen on the timing loop, the gap is live: laps down when `car`
/// is a lap or more behind, else the difference of the times both passed the last point `car`
/// passed. Since a car that has stopped passes no point, the gap is at least the time since
/// `ahead` passed the point `car` has yet to reach: it grows while `car` stands. Without those
/// passes (no car updates), it is the difference of total times at the last lap completed.
fn gap(race: bool, first: bool, ahead: &Car, car: &Car, now: Duration) -> Option<Gap> {
    let timed = if race { ahead.laps > 0 || ahead.distance().is_some() } else { ahead.best_ms.is_some() };
    if !timed {
        return None;
    }
    if first {
        return Some(Gap::Leader);
    }
    if !race {
        return Some(Gap::Time { ms: car.best_ms?.saturating_sub(ahead.best_ms?) });
    }
    if car.finished {
        // Its race is over: the gap is the one at the flag, whatever the cool-down lap does.
        if car.laps < ahead.laps {
            return Some(Gap::Laps { laps: ahead.laps - car.laps });
        }
        let (l, c) = (ahead.total_ms?, car.total_ms?);
        return Some(Gap::Time { ms: c.saturating_sub(l) });
    }
    if let (Some(da), Some(dc)) = (ahead.distance(), car.distance()) {
        let down = da.saturating_sub(dc) / POINTS;
        if down >= 1 {
            return Some(Gap::Laps { laps: u16::try_from(down).unwrap_or(u16::MAX) });
        }
        if let (Some(ta), Some(tc)) = (ahead.progress.passed(dc), car.progress.passed(dc)) {
            let waiting = ahead.progress.passed(dc + 1).map_or(Duration::ZERO, |t| now.saturating_sub(t));
            return Some(Gap::Time { ms: millis(tc.saturating_sub(ta).max(waiting)) });
        }
    }
    if car.laps < ahead.laps {
        return Some(Gap::Laps { laps: ahead.laps - car.laps });
    }
    let (l, c) = (ahead.total_ms?, car.total_ms?);
    Some(Gap::Time { ms: c.saturating_sub(l) })
}

/// The board's form of a session, as the server described it (elapsed time as sent).
fn session_state(s: &SessionInfo) -> SessionState {
    SessionState {
        name: s.name.clone(),
        session_type: s.session_type,
        track: s.track.clone(),
        track_config: s.track_config.clone(),
        index: s.session_index,
        count: s.session_count,
        minutes: s.time,
        laps: s.laps,
        elapsed_ms: i64::from(s.elapsed_ms),
        over: false,
    }
}

#[cfg(test)]
mod tests;
