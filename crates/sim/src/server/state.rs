//! The server as a pure state machine: simulated time in, events out; commands in, answers out.
//! No sockets, no clocks: [`ServerState::advance`] moves simulated time, [`ServerState::handle`]
//! applies a command, and both return the events the server would send, in order.
//!
//! Time moves in fixed steps of [`STEP`] whatever the chunks `advance` is given, so the event
//! stream depends only on the seed, the configuration and the simulated times at which commands
//! arrive, never on how often a driver happens to tick.

use std::time::Duration;

use acsp::{
    CarInfo, CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, Command, ConnectionInfo,
    EndSession, ErrorMessage, Event, LapCompleted, LeaderboardEntry, NO_TIME, SessionInfo, SessionType,
    StringWidth, Vec3, Version,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::{MAX_SLOTS, ServerConfig, SessionConfig};
use super::entry::{CHAT_LINES, Entry, entry_list, results_filename};
use super::track::Track;
use crate::error::SimError;

/// The protocol version the simulator speaks (every AC version since 1.3).
pub const PROTOCOL_VERSION: u8 = 4;

/// Resolution of simulated time.
pub const STEP: Duration = Duration::from_millis(STEP_MS);
const STEP_MS: u64 = 10;

// Incident rates. Chances are per simulated second and per car (or per close pair of cars).
const P_ENV_COLLISION: f64 = 1.0 / 900.0;
const P_CONTACT: f64 = 0.01;
/// Cars closer than this along the track can touch, metres.
const CONTACT_GAP: f64 = 12.0;
const P_CHAT: f64 = 1.0 / 900.0;
const P_LEAVE: f64 = 1.0 / 1200.0;
/// Chances per lap.
const P_CUT: f64 = 0.08;
const P_MISTAKE: f64 = 0.05;

/// Track grip at the start of a weekend, and its rise per completed lap (the capture shows
/// 0.9405, 0.9439, … in qualifying).
const GRIP_START: f32 = 0.94;
const GRIP_PER_LAP: f32 = 0.0006;

/// Distance between grid slots, metres.
const GRID_GAP: f64 = 8.0;
/// How far the pit boxes are from the centre line, metres; cars merge over about 100 m.
const PIT_LATERAL: f64 = 14.0;
const MERGE_DISTANCE: f64 = 120.0;
/// Pit-lane speed limit (80 km/h), m/s, while a car is still beside the track.
const PIT_SPEED: f64 = 22.2;
/// Acceleration from low speed, m/s² (braking is in the track's speed profile).
const LAUNCH_ACCEL: f64 = 7.0;
/// Pace of a car on its cool-down lap after the flag.
const COOL_DOWN_PACE: f64 = 0.6;
/// Longest wait for the last cars to take the flag, ms (at least two slow laps).
const OVERTIME_MIN_MS: u64 = 180_000;

/// Gearbox: top speed in each forward gear at the redline, km/h.
const GEAR_TOP_KMH: [f64; 6] = [80.0, 120.0, 160.0, 200.0, 240.0, 285.0];
const SHIFT_AT: f64 = 0.95;
const REDLINE_RPM: f64 = 8500.0;
const IDLE_RPM: u16 = 950;

/// Whether a slot's driver is on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Not on the server; joins (again) at this server time, if ever.
    Absent { rejoin_at: Option<u64> },
    /// Connected, still loading (NEW_CONNECTION sent, CLIENT_LOADED not yet).
    Loading { loaded_at: u64 },
    /// Loaded and driving.
    Connected,
}

/// Where a connected car is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// In its pit box until this session time, ms.
    Pit { leave_at: i64 },
    /// On the race grid, waiting for the start.
    Grid,
    /// On track.
    Running,
    /// Took the chequered flag; driving a cool-down lap, no more laps counted.
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A race before its start (elapsed time negative).
    Waiting,
    /// Running until the end condition.
    Running,
    /// The end condition is met: each car's next crossing of the line is its last.
    Ending { since_ms: u64 },
}

#[derive(Debug, Clone)]
struct Car {
    entry: Entry,
    /// Driven from outside ([`ServerConfig::external_cars`]): moved and timed only by
    /// [`ServerState::drive_external`].
    external: bool,
    presence: Presence,
    /// Fraction of the track's speed limit this driver manages on a clean lap.
    skill: f64,
    mode: Mode,
    /// Distance from the start/finish line, metres, in `[0, length)`.
    pos: f64,
    /// Offset to the right of the centre line, metres (pit boxes, grid columns).
    lateral: f64,
    /// m/s along the track.
    speed: f64,
    /// Pace of the current lap (skill, noise, mistakes).
    lap_factor: f64,
    /// Cuts on the current lap.
    cuts: u8,
    /// Session time at which the current timed lap began; `None` on an out lap.
    lap_start: Option<i64>,
    /// On the grid, behind the line: the first crossing after the start is not a lap (lap 1
    /// runs from the start signal to the second crossing, so it includes the grid distance).
    behind_line: bool,
    laps: u16,
    /// Best clean lap, ms, and the sequence number of the lap that set it (earlier wins ties).
    best: Option<(u32, u64)>,
    /// Race: session time at the last crossing, ms (an outside car: the sum of its laps).
    total: u32,
    /// Crossed the line after the session's end condition.
    finished: bool,
}

impl Car {
    fn reset_standings(&mut self) {
        self.lap_start = None;
        self.laps = 0;
        self.best = None;
        self.total = 0;
        self.finished = false;
        self.cuts = 0;
        self.speed = 0.0;
    }
}

/// The simulated dedicated server, without I/O: [`advance`](Self::advance) moves simulated time
/// in fixed 10 ms steps and [`handle`](Self::handle) applies commands; both return the events the
/// server would send. The event stream depends only on the seed, the configuration and the
/// simulated times at which commands arrive.
#[derive(Debug, Clone)]
pub struct ServerState {
    config: ServerConfig,
    sessions: Vec<SessionConfig>,
    track: Track,
    rng: ChaCha8Rng,
    cars: Vec<Car>,
    started: bool,
    /// Simulated time since the server started, ms.
    now_ms: u64,
    /// Simulated time given to `advance` but not yet stepped through.
    pending: Duration,
    session: usize,
    /// Session time, ms; negative during a race's wait.
    elapsed_ms: i64,
    phase: Phase,
    grip: f32,
    grip_at_session_start: f32,
    realtime_ms: Option<u16>,
    next_update_ms: u64,
    grid_next: usize,
    /// Car ids in the order of the last qualifying result: the next race's grid.
    qualify_order: Vec<u8>,
    lap_seq: u64,
    overtime_ms: u64,
    /// The final standings of every session ended so far.
    results: Vec<SessionResult>,
}

/// One entry-list slot, as the server has it: who drives which car. Slots without a driver
/// have their car and empty driver fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySlot {
    /// The slot, which is the car id on the wire.
    pub car_id: u8,
    /// Driver's name, e.g. `Alex Marino` (a first name, a space, a surname).
    pub driver_name: String,
    /// Driver's GUID (a SteamID64).
    pub driver_guid: String,
    /// Team; may be empty.
    pub driver_team: String,
    /// Car model folder, e.g. `ks_mclaren_650_gt3`.
    pub car_model: String,
    /// Skin folder.
    pub car_skin: String,
}

/// What the caller feeds for a car driven from outside ([`ServerState::drive_external`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExternalDrive {
    /// Position along the lap, 0 at the line, below 1 (the game's `normalizedCarPosition`).
    pub spline_pos: f32,
    /// Speed, m/s.
    pub speed_ms: f32,
    /// A lap the car has just completed, if it has.
    pub completed_lap: Option<ExternalLap>,
}

/// A lap completed by a car driven from outside, as its game timed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalLap {
    /// Lap time, ms: LAP_COMPLETED carries exactly this.
    pub time_ms: u32,
    /// Cuts on the lap (0 when unknown).
    pub cuts: u8,
}

/// A session's final standings, as the server had them when it ended the session: the truth
/// a plugin's timing can be checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResult {
    /// Index of the session in the rotation.
    pub index: usize,
    /// Its name, e.g. `Race`.
    pub name: String,
    /// Practice, qualifying or race.
    pub session_type: SessionType,
    /// Simulated server time when it ended, ms.
    pub ended_ms: u64,
    /// The leaderboard at the end (as [`ServerState::leaderboard`]), every entry-list slot.
    pub leaderboard: Vec<LeaderboardEntry>,
    /// The cars connected at the end.
    pub connected: Vec<u8>,
}

impl ServerState {
    /// Builds the server from `config` (validated first). Nothing is sent until
    /// [`start`](Self::start), [`advance`](Self::advance) or [`handle`](Self::handle).
    pub fn new(config: &ServerConfig) -> Result<Self, SimError> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let entries = entry_list(config.entry_list_size(), config.cars, &mut rng);
        let join_ms = duration_ms(config.join_interval);
        let mut cars = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let rejoin_at = (i < usize::from(config.cars)).then(|| {
                let jitter = if join_ms > 0 { rng.random_range(0..=join_ms / 2) } else { 0 };
                (i as u64).saturating_mul(join_ms).saturating_add(jitter)
            });
            cars.push(Car {
                entry,
                external: config.external_cars.contains(&(i as u8)),
                presence: Presence::Absent { rejoin_at },
                skill: rng.random_range(0.955..0.995),
                mode: Mode::Pit { leave_at: 0 },
                pos: 0.0,
                lateral: 0.0,
                speed: 0.0,
                lap_factor: 1.0,
                cuts: 0,
                lap_start: None,
                behind_line: false,
                laps: 0,
                best: None,
                total: 0,
                finished: false,
            });
        }
        let track = Track::new(config.track.length_m);
        let overtime_ms =
            OVERTIME_MIN_MS.max((2.0 * track.ideal_lap_time() / COOL_DOWN_PACE * 1000.0) as u64);
        Ok(ServerState {
            sessions: config.sessions.clone(),
            config: config.clone(),
            track,
            rng,
            cars,
            started: false,
            now_ms: 0,
            pending: Duration::ZERO,
            session: 0,
            elapsed_ms: 0,
            phase: Phase::Running,
            grip: GRIP_START,
            grip_at_session_start: GRIP_START,
            realtime_ms: config.realtime_interval_ms.filter(|&ms| ms > 0),
            next_update_ms: 0,
            grid_next: 0,
            qualify_order: Vec::new(),
            lap_seq: 0,
            overtime_ms,
            results: Vec::new(),
        })
    }

    /// Starts the plugin interface: VERSION, then NEW_SESSION of the first session. Later calls
    /// return nothing; `advance` and `handle` start the server themselves if needed.
    pub fn start(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        out
    }

    /// Moves simulated time on by `dt` and returns what happened, in order. The work is
    /// proportional to `dt` (one pass over the cars per 10 ms step): an hour takes milliseconds,
    /// a year would take minutes.
    pub fn advance(&mut self, dt: Duration) -> Vec<Event> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        self.pending = self.pending.saturating_add(dt);
        while self.pending >= STEP {
            self.pending -= STEP;
            self.step(&mut out);
        }
        out
    }

    /// Applies one plugin command and returns the server's answer (often nothing).
    pub fn handle(&mut self, command: &Command) -> Vec<Event> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        match command {
            Command::RealtimeposInterval { interval_ms } => {
                // 0 disables the stream (acudpclient's reading of the stock server). The first
                // batch goes out at the next step, then every interval.
                self.realtime_ms = Some(*interval_ms).filter(|&ms| ms > 0);
                self.next_update_ms = self.now_ms;
            }
            Command::GetCarInfo { car_id } => match self.cars.get(usize::from(*car_id)) {
                Some(_) => out.push(Event::CarInfo(self.car_info(usize::from(*car_id)))),
                None => out.push(error(format!("ERROR: ACSP_GET_CAR_INFO index {car_id} out of bound"))),
            },
            // Chat goes to game clients, which the simulator does not have; the driver logs it.
            Command::SendChat { .. } | Command::BroadcastChat { .. } => {}
            Command::GetSessionInfo { session_index } => {
                let index = match *session_index {
                    -1 => Some(self.session),
                    i => usize::try_from(i).ok().filter(|&i| i < self.sessions.len()),
                };
                match index {
                    Some(i) => out.push(Event::SessionInfo(self.session_info(i))),
                    None => out
                        .push(error(format!("ERROR: ACSP_GET_SESSION_INFO out of bounds: {session_index}"))),
                }
            }
            Command::SetSessionInfo { session_index, name, session_type, laps, time, wait_time } => {
                let i = usize::from(*session_index);
                match self.sessions.get_mut(i) {
                    Some(s) => {
                        // The name is wide in the command but narrow in NEW_SESSION.
                        s.name = truncate_bytes(name, 255);
                        s.session_type = *session_type;
                        s.laps = u16::try_from(*laps).unwrap_or(u16::MAX);
                        s.time_s = *time;
                        s.wait_s = *wait_time;
                        out.push(Event::SessionInfo(self.session_info(i)));
                    }
                    None => out
                        .push(error(format!("ERROR: ACSP_SET_SESSION_INFO out of bounds: {session_index}"))),
                }
            }
            Command::KickUser { car_id } => self.kick(u32::from(*car_id), &mut out),
            Command::NextSession => self.end_session(&mut out),
            Command::RestartSession => self.restart_session(&mut out),
            Command::AdminCommand { command } => self.admin(command, &mut out),
        }
        out
    }

    /// Simulated time since the server started.
    pub fn now(&self) -> Duration {
        Duration::from_millis(self.now_ms)
    }

    /// Index of the running session.
    pub fn current_session(&self) -> usize {
        self.session
    }

    /// The session rotation, with any SET_SESSION_INFO changes applied.
    pub fn sessions(&self) -> &[SessionConfig] {
        &self.sessions
    }

    /// Time into the running session, ms; negative while a race waits for its start.
    pub fn session_elapsed_ms(&self) -> i64 {
        self.elapsed_ms
    }

    /// The CAR_UPDATE interval in force, ms (`None`: no updates).
    pub fn realtime_interval_ms(&self) -> Option<u16> {
        self.realtime_ms
    }

    /// Number of entry-list slots.
    pub fn entry_list_size(&self) -> u8 {
        self.cars.len() as u8
    }

    /// Cars that are connected and loaded (those that get CAR_UPDATEs).
    pub fn connected_cars(&self) -> Vec<u8> {
        (0..self.cars.len())
            .filter(|&i| self.cars[i].presence == Presence::Connected)
            .map(|i| i as u8)
            .collect()
    }

    /// The entry list: every slot, in car-id order.
    pub fn entry_list(&self) -> Vec<EntrySlot> {
        self.cars
            .iter()
            .enumerate()
            .map(|(i, c)| EntrySlot {
                car_id: i as u8,
                driver_name: c.entry.driver_name.clone(),
                driver_guid: c.entry.driver_guid.clone(),
                driver_team: c.entry.driver_team.clone(),
                car_model: c.entry.car_model.clone(),
                car_skin: c.entry.car_skin.clone(),
            })
            .collect()
    }

    /// Feeds the state of a car driven from outside ([`ServerConfig::external_cars`]) at the
    /// current simulated time, and returns what the server sends about it.
    ///
    /// Its CAR_UPDATEs carry the fed position (on the simulator's track model, at
    /// `spline_pos` × the lap length) and speed until the next feed. A completed lap becomes a
    /// LAP_COMPLETED with exactly its time and cuts, and counts like the simulator's own laps:
    /// laps, best clean lap, the end of a session (a car's first lap after the end condition
    /// is its last, and later ones are not counted, as for every car). Two differences follow
    /// from the simulator not knowing where the outside car's lap began: its laps count
    /// whenever they come (the simulator cannot hold it on the grid while a race waits), and
    /// its race time is the sum of its laps there.
    ///
    /// Input for a car that is not driven from outside, or whose driver is not connected and
    /// loaded, is ignored (a lap then is lost, as it is for a driver off the server).
    pub fn drive_external(&mut self, car_id: u8, drive: ExternalDrive) -> Vec<Event> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        let i = usize::from(car_id);
        let Some(car) = self.cars.get_mut(i).filter(|c| c.external) else {
            tracing::debug!(car_id, "input for a car not driven from outside ignored");
            return out;
        };
        if car.presence != Presence::Connected {
            tracing::debug!(car_id, "input for an outside car that is not on the server ignored");
            return out;
        }
        let len = self.track.length();
        let spline = f64::from(drive.spline_pos);
        car.pos = if spline.is_finite() && (0.0..1.0).contains(&spline) { spline * len } else { 0.0 };
        car.speed = f64::from(drive.speed_ms).max(0.0);
        if !car.speed.is_finite() {
            car.speed = 0.0;
        }
        car.lateral = 0.0;
        if let Some(lap) = drive.completed_lap {
            if car.mode == Mode::Finished {
                tracing::debug!(
                    car_id,
                    lap_ms = lap.time_ms,
                    "an outside car's lap after its flag not counted"
                );
            } else {
                let total = car.total.saturating_add(lap.time_ms);
                self.count_lap(i, lap.time_ms.max(1), lap.cuts, total, &mut out);
            }
        }
        out
    }

    /// The final standings of every session ended so far, oldest first.
    pub fn results(&self) -> &[SessionResult] {
        &self.results
    }

    /// Grip as LAP_COMPLETED reports it: rising with rubber in practice and qualifying, 1.0 in a
    /// race.
    pub fn grip_level(&self) -> f32 {
        if self.is_race() { 1.0 } else { self.grip }
    }

    /// The standings as LAP_COMPLETED carries them: every entry-list slot, ranked first.
    pub fn leaderboard(&self) -> Vec<LeaderboardEntry> {
        let race = self.is_race();
        let mut ranked: Vec<usize> = Vec::new();
        let mut unranked: Vec<usize> = Vec::new();
        for (i, c) in self.cars.iter().enumerate() {
            let has_time = if race { c.laps > 0 } else { c.best.is_some() };
            if has_time { ranked.push(i) } else { unranked.push(i) }
        }
        if race {
            ranked.sort_by_key(|&i| (std::cmp::Reverse(self.cars[i].laps), self.cars[i].total, i));
        } else {
            ranked.sort_by_key(|&i| (self.cars[i].best, i));
        }
        let entry = |i: usize, time: u32| {
            let c = &self.cars[i];
            LeaderboardEntry { car_id: i as u8, time, laps: c.laps, has_completed: Some(c.finished) }
        };
        ranked
            .iter()
            .map(|&i| {
                let c = &self.cars[i];
                entry(i, if race { c.total } else { c.best.map_or(NO_TIME, |(t, _)| t) })
            })
            .chain(unranked.iter().map(|&i| entry(i, NO_TIME)))
            .collect()
    }

    /// SESSION_INFO for session `index` (which must exist).
    fn session_info(&self, index: usize) -> SessionInfo {
        let s = &self.sessions[index];
        let current = index == self.session;
        SessionInfo {
            protocol_version: PROTOCOL_VERSION,
            session_index: index as u8,
            current_session_index: self.session as u8,
            session_count: self.sessions.len() as u8,
            server_name: self.config.server_name.clone(),
            track: self.config.track.name.clone(),
            track_config: self.config.track.config.clone(),
            name: s.name.clone(),
            session_type: s.session_type,
            // Minutes on this side; rounded up so that a short session is not reported as 0,
            // which would read as "no time limit".
            time: u16::try_from(s.time_s.div_ceil(60)).unwrap_or(u16::MAX),
            laps: s.laps,
            // Milliseconds, as in the stock server's capture (40000 with elapsed −40000).
            wait_time: u16::try_from(u64::from(s.wait_s) * 1000).unwrap_or(u16::MAX),
            ambient_temp: self.config.ambient_temp,
            road_temp: self.config.road_temp,
            weather_graphics: self.config.weather.clone(),
            weather_encoding: StringWidth::Narrow,
            elapsed_ms: if current { clamp_i32(self.elapsed_ms) } else { 0 },
        }
    }

    fn is_race(&self) -> bool {
        self.sessions[self.session].is_race()
    }

    fn ensure_started(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Version(Version { protocol_version: PROTOCOL_VERSION }));
            self.begin_session(self.session, out);
        }
    }

    /// The lines of [`ServerConfig::chat_script`] due in this step.
    fn scripted_chat(&self, out: &mut Vec<Event>) {
        for (at, car_id, line) in &self.config.chat_script {
            let at_ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
            let connected =
                self.cars.get(usize::from(*car_id)).is_some_and(|c| c.presence == Presence::Connected);
            if at_ms > self.now_ms - STEP_MS && at_ms <= self.now_ms && connected {
                out.push(Event::Chat(Chat { car_id: *car_id, message: line.clone() }));
            }
        }
    }

    fn step(&mut self, out: &mut Vec<Event>) {
        if self.phase == Phase::Waiting && self.elapsed_ms >= 0 {
            self.start_race();
        }
        let t0 = self.elapsed_ms;
        self.now_ms += STEP_MS;
        self.elapsed_ms += STEP_MS as i64;
        self.update_presence(out);
        self.drive(t0, out);
        if self.now_ms % 1000 == 0 {
            self.incidents(out);
        }
        self.scripted_chat(out);
        self.check_time_limit(out);
        self.check_end(out);
        self.realtime_updates(out);
    }

    fn start_race(&mut self) {
        self.phase = Phase::Running;
        let t = self.elapsed_ms;
        for i in 0..self.cars.len() {
            if self.cars[i].presence == Presence::Connected && self.cars[i].mode == Mode::Grid {
                self.cars[i].mode = Mode::Running;
                self.cars[i].lap_start = Some(t);
                self.roll_lap(i);
            }
        }
    }

    fn update_presence(&mut self, out: &mut Vec<Event>) {
        for i in 0..self.cars.len() {
            match self.cars[i].presence {
                Presence::Absent { rejoin_at: Some(t) } if self.now_ms >= t => {
                    let load_ms = duration_ms(self.config.load_time) as f64 * self.rng.random_range(0.5..1.5);
                    self.cars[i].presence =
                        Presence::Loading { loaded_at: self.now_ms.saturating_add(load_ms as u64) };
                    out.push(Event::NewConnection(self.connection_info(i)));
                }
                Presence::Loading { loaded_at } if self.now_ms >= loaded_at => {
                    self.cars[i].presence = Presence::Connected;
                    out.push(Event::ClientLoaded(ClientLoaded { car_id: i as u8 }));
                    self.place(i);
                }
                _ => {}
            }
        }
    }

    /// Puts a car that just loaded, or that a new session reset, on the grid or in its pit box.
    fn place(&mut self, i: usize) {
        if self.cars[i].external {
            // Wherever its driver has it: on track, timed by its game.
            let car = &mut self.cars[i];
            car.mode = Mode::Running;
            car.lateral = 0.0;
            car.behind_line = false;
            car.lap_start = None;
            return;
        }
        let len = self.track.length();
        let on_grid = self.is_race() && self.phase == Phase::Waiting;
        let leave_after = self.rng.random_range(2_000..30_000);
        let car = &mut self.cars[i];
        car.speed = 0.0;
        car.lap_start = None;
        car.behind_line = on_grid;
        if on_grid {
            // Two columns, staggered, behind the line; the gap shrinks on a very short track so
            // that the whole grid stays on the main straight.
            let gap = GRID_GAP.min(len / 2.0 / f64::from(MAX_SLOTS));
            let g = self.grid_next;
            self.grid_next += 1;
            car.mode = Mode::Grid;
            car.pos = len - gap * (g as f64 + 1.0);
            car.lateral = if g % 2 == 0 { -3.0 } else { 3.0 };
        } else {
            car.mode = Mode::Pit { leave_at: self.elapsed_ms.max(0) + leave_after };
            car.pos = (40.0 + 10.0 * (i % 40) as f64).min(len * 0.2);
            car.lateral = PIT_LATERAL;
        }
        self.roll_lap(i);
    }

    /// Pace and cuts of the lap a car is starting.
    fn roll_lap(&mut self, i: usize) {
        // A sum of three uniforms: roughly normal, bounded, cheap.
        let noise: f64 = (0..3).map(|_| self.rng.random::<f64>()).sum::<f64>() - 1.5;
        let mut factor = self.cars[i].skill * (1.0 + noise * 0.006);
        if self.rng.random_bool(P_MISTAKE) {
            factor *= 0.97;
        }
        let cuts = if self.rng.random_bool(P_CUT) { self.rng.random_range(1..=3) } else { 0 };
        if cuts > 0 {
            // Cutting gains time, which is why such laps do not count.
            factor *= 1.003;
        }
        self.cars[i].lap_factor = factor;
        self.cars[i].cuts = cuts;
    }

    fn drive(&mut self, t0: i64, out: &mut Vec<Event>) {
        let dt = STEP_MS as f64 / 1000.0;
        let len = self.track.length();
        let grip_pace = 0.95 + 0.05 * f64::from(self.grip_level());
        let pits_open = self.phase == Phase::Running;
        let mut crossings = Vec::new();
        for (i, car) in self.cars.iter_mut().enumerate() {
            if car.presence != Presence::Connected || car.external {
                continue;
            }
            match car.mode {
                Mode::Pit { leave_at } if pits_open && t0 >= leave_at => car.mode = Mode::Running,
                Mode::Pit { .. } | Mode::Grid => continue,
                Mode::Running | Mode::Finished => {}
            }
            let pace = if car.mode == Mode::Finished { COOL_DOWN_PACE } else { car.lap_factor * grip_pace };
            let mut target = self.track.sample(car.pos).speed_limit * pace;
            if car.lateral.abs() > 5.0 {
                target = target.min(PIT_SPEED);
            }
            car.speed = if target > car.speed { (car.speed + LAUNCH_ACCEL * dt).min(target) } else { target };
            let moved = car.speed * dt;
            car.lateral *= (-moved / MERGE_DISTANCE).exp();
            let next = car.pos + moved;
            if next >= len && moved > 0.0 {
                // When within the step the line was crossed, to the millisecond.
                let frac = (len - car.pos) / moved;
                crossings.push(((t0 as f64 + frac * STEP_MS as f64).round() as i64, i));
                car.pos = (next - len).min(len - f64::EPSILON * len);
            } else {
                car.pos = next;
            }
        }
        crossings.sort_unstable();
        for (t, i) in crossings {
            self.cross_line(i, t, out);
        }
    }

    fn cross_line(&mut self, i: usize, t: i64, out: &mut Vec<Event>) {
        if self.cars[i].mode == Mode::Finished || std::mem::take(&mut self.cars[i].behind_line) {
            return;
        }
        let Some(start) = self.cars[i].lap_start else {
            // The end of an out lap: timing starts here.
            if matches!(self.phase, Phase::Ending { .. }) {
                // Off the track, but not a finisher: it took no flag on a lap of its own, and
                // no LAP_COMPLETED tells a plugin anything about it.
                self.cars[i].mode = Mode::Finished;
            } else {
                self.cars[i].lap_start = Some(t);
                self.roll_lap(i);
            }
            return;
        };
        let lap_time = u32::try_from((t - start).max(1)).unwrap_or(u32::MAX);
        let cuts = self.cars[i].cuts;
        self.cars[i].lap_start = Some(t);
        self.roll_lap(i);
        self.count_lap(i, lap_time, cuts, u32::try_from(t.max(0)).unwrap_or(u32::MAX), out);
    }

    /// Counts a completed lap of car `i` (its standings, the session's end condition, the
    /// grip) and sends LAP_COMPLETED. `race_total` is its race time after this lap.
    fn count_lap(&mut self, i: usize, lap_time: u32, cuts: u8, race_total: u32, out: &mut Vec<Event>) {
        let race = self.is_race();
        let car = &mut self.cars[i];
        car.laps = car.laps.saturating_add(1);
        if race {
            car.total = race_total;
        } else if cuts == 0 && car.best.is_none_or(|(b, _)| lap_time < b) {
            car.best = Some((lap_time, self.lap_seq));
        }
        self.lap_seq += 1;
        let target_laps = self.sessions[self.session].laps;
        if race && self.phase == Phase::Running && target_laps > 0 && self.cars[i].laps >= target_laps {
            self.phase = Phase::Ending { since_ms: self.now_ms };
        }
        if matches!(self.phase, Phase::Ending { .. }) {
            self.cars[i].mode = Mode::Finished;
            self.cars[i].finished = true;
        }
        if !race {
            self.grip = (self.grip + GRIP_PER_LAP).min(1.0);
        }
        out.push(Event::LapCompleted(LapCompleted {
            car_id: i as u8,
            lap_time,
            cuts,
            leaderboard: self.leaderboard(),
            grip_level: self.grip_level(),
        }));
    }

    fn incidents(&mut self, out: &mut Vec<Event>) {
        let len = self.track.length();
        let on_track: Vec<usize> = (0..self.cars.len())
            .filter(|&i| {
                let c = &self.cars[i];
                // An outside car's game knows nothing of collisions made up here.
                c.presence == Presence::Connected
                    && !c.external
                    && matches!(c.mode, Mode::Running | Mode::Finished)
            })
            .collect();
        for &i in &on_track {
            if self.rng.random_bool(P_ENV_COLLISION) {
                let impact = self.cars[i].speed * self.rng.random_range(0.1..0.6);
                let relative_position = self.random_contact_point();
                let world_position = self.world_position(i);
                self.cars[i].speed *= 0.5;
                out.push(Event::CollisionWithEnv(CollisionWithEnv {
                    car_id: i as u8,
                    impact_speed: impact as f32,
                    world_position,
                    relative_position,
                }));
            }
        }
        for (k, &a) in on_track.iter().enumerate() {
            for &b in &on_track[k + 1..] {
                let gap = (self.cars[a].pos - self.cars[b].pos).abs();
                if gap.min(len - gap) >= CONTACT_GAP || !self.rng.random_bool(P_CONTACT) {
                    continue;
                }
                let impact =
                    (self.cars[a].speed - self.cars[b].speed).abs() + self.rng.random_range(0.5..4.0);
                let relative_position = self.random_contact_point();
                let world_position = self.world_position(a);
                self.cars[a].speed *= 0.8;
                self.cars[b].speed *= 0.8;
                out.push(Event::CollisionWithCar(CollisionWithCar {
                    car_id: a as u8,
                    other_car_id: b as u8,
                    impact_speed: impact as f32,
                    world_position,
                    relative_position,
                }));
            }
        }
        for i in 0..self.cars.len() {
            if self.cars[i].presence == Presence::Connected && self.rng.random_bool(P_CHAT) {
                let line = CHAT_LINES[self.rng.random_range(0..CHAT_LINES.len())];
                out.push(Event::Chat(Chat { car_id: i as u8, message: line.to_owned() }));
            }
        }
        if self.config.churn {
            for i in 0..self.cars.len() {
                let c = &self.cars[i];
                // An outside car is on the server as long as its driver is.
                if c.presence == Presence::Connected && !c.external && self.rng.random_bool(P_LEAVE) {
                    let back = self.now_ms + self.rng.random_range(20_000..90_000);
                    self.disconnect(i, Some(back), out);
                }
            }
        }
    }

    fn random_contact_point(&mut self) -> Vec3 {
        Vec3::new(
            self.rng.random_range(-0.9..0.9),
            self.rng.random_range(0.2..0.6),
            self.rng.random_range(-2.1..2.1),
        )
    }

    fn check_time_limit(&mut self, out: &mut Vec<Event>) {
        if self.phase != Phase::Running {
            return;
        }
        let s = &self.sessions[self.session];
        if s.time_s == 0 || (s.is_race() && s.laps > 0) || self.elapsed_ms < i64::from(s.time_s) * 1000 {
            return;
        }
        match s.session_type {
            // Qualifying and timed races let every car finish the lap it is on.
            SessionType::Qualify | SessionType::Race => self.phase = Phase::Ending { since_ms: self.now_ms },
            _ => self.end_session(out),
        }
    }

    fn check_end(&mut self, out: &mut Vec<Event>) {
        let Phase::Ending { since_ms } = self.phase else { return };
        // Cars in the pits or still on the grid have nothing left to finish.
        let all_in = self.cars.iter().all(|c| {
            c.presence != Presence::Connected
                || matches!(c.mode, Mode::Finished | Mode::Pit { .. } | Mode::Grid)
        });
        if all_in || self.now_ms - since_ms >= self.overtime_ms {
            self.end_session(out);
        }
    }

    fn realtime_updates(&mut self, out: &mut Vec<Event>) {
        let Some(interval) = self.realtime_ms else { return };
        if self.now_ms < self.next_update_ms {
            return;
        }
        for i in 0..self.cars.len() {
            if self.cars[i].presence == Presence::Connected {
                out.push(Event::CarUpdate(self.car_update(i)));
            }
        }
        // Keep the cadence in simulated time; an interval shorter than a step means every step.
        self.next_update_ms += u64::from(interval);
        if self.next_update_ms <= self.now_ms {
            self.next_update_ms = self.now_ms + u64::from(interval);
        }
    }

    /// END_SESSION, then NEW_SESSION of the next session (wrapping to the first).
    fn end_session(&mut self, out: &mut Vec<Event>) {
        let ended = &self.sessions[self.session];
        if ended.session_type == SessionType::Qualify {
            self.qualify_order =
                self.leaderboard().iter().filter(|e| e.time != NO_TIME).map(|e| e.car_id).collect();
        }
        let kind = ended.session_type.as_str().to_ascii_uppercase();
        self.results.push(SessionResult {
            index: self.session,
            name: ended.name.clone(),
            session_type: ended.session_type,
            ended_ms: self.now_ms,
            leaderboard: self.leaderboard(),
            connected: self.connected_cars(),
        });
        out.push(Event::EndSession(EndSession { filename: results_filename(&kind, self.now_ms) }));
        let next = (self.session + 1) % self.sessions.len();
        if next == 0 {
            // A new weekend: the rubber is gone.
            self.grip = GRIP_START;
        }
        self.begin_session(next, out);
    }

    fn restart_session(&mut self, out: &mut Vec<Event>) {
        self.grip = self.grip_at_session_start;
        self.begin_session(self.session, out);
    }

    fn begin_session(&mut self, index: usize, out: &mut Vec<Event>) {
        self.session = index;
        let s = &self.sessions[index];
        let race = s.is_race();
        self.elapsed_ms = if race { -(i64::from(s.wait_s) * 1000) } else { 0 };
        self.phase = if race { Phase::Waiting } else { Phase::Running };
        self.grid_next = 0;
        self.grip_at_session_start = self.grip;
        if self.config.forget_interval_on_new_session {
            self.realtime_ms = None;
        }
        for car in &mut self.cars {
            car.reset_standings();
        }
        // Everyone goes back to the pits, or to the grid in the order of the last qualifying.
        let mut order: Vec<usize> =
            (0..self.cars.len()).filter(|&i| self.cars[i].presence == Presence::Connected).collect();
        if race {
            let rank =
                |i: usize| self.qualify_order.iter().position(|&c| usize::from(c) == i).unwrap_or(usize::MAX);
            order.sort_by_key(|&i| (rank(i), i));
        }
        for i in order {
            self.place(i);
        }
        out.push(Event::NewSession(self.session_info(index)));
    }

    fn kick(&mut self, car_id: u32, out: &mut Vec<Event>) {
        let Some(i) = usize::try_from(car_id).ok().filter(|&i| i < self.cars.len()) else {
            out.push(error(format!("ERROR: ACSP_KICK_USER index {car_id} out of bound")));
            return;
        };
        if matches!(self.cars[i].presence, Presence::Absent { .. }) {
            // Nobody to kick: an empty slot is not an error on either real server.
            return;
        }
        let back = self.config.churn.then(|| self.now_ms + self.rng.random_range(30_000..120_000));
        self.disconnect(i, back, out);
    }

    fn disconnect(&mut self, i: usize, rejoin_at: Option<u64>, out: &mut Vec<Event>) {
        out.push(Event::ConnectionClosed(self.connection_info(i)));
        let car = &mut self.cars[i];
        car.presence = Presence::Absent { rejoin_at };
        car.speed = 0.0;
        car.lap_start = None;
    }

    /// The admin chat commands the simulator understands; anything else is ignored, as
    /// AssettoServer ignores ADMIN_COMMAND altogether.
    fn admin(&mut self, text: &str, out: &mut Vec<Event>) {
        let text = text.trim();
        let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim();
        match verb.to_ascii_lowercase().as_str() {
            "/next_session" => self.end_session(out),
            "/restart_session" => self.restart_session(out),
            "/kick_id" => match rest.parse::<u32>() {
                Ok(id) => self.kick(id, out),
                Err(_) => tracing::debug!(text, "admin /kick_id without a car id ignored"),
            },
            "/kick" => {
                let found = (0..self.cars.len()).find(|&i| {
                    !matches!(self.cars[i].presence, Presence::Absent { .. })
                        && self.cars[i].entry.driver_name.eq_ignore_ascii_case(rest)
                });
                match found {
                    Some(i) => self.kick(i as u32, out),
                    None => tracing::debug!(text, "admin /kick of nobody on the server ignored"),
                }
            }
            _ => tracing::debug!(text, "admin command not simulated; ignored"),
        }
    }

    fn connection_info(&self, i: usize) -> ConnectionInfo {
        let e = &self.cars[i].entry;
        ConnectionInfo {
            driver_name: e.driver_name.clone(),
            driver_guid: e.driver_guid.clone(),
            car_id: i as u8,
            car_model: e.car_model.clone(),
            car_skin: e.car_skin.clone(),
        }
    }

    fn car_info(&self, i: usize) -> CarInfo {
        let c = &self.cars[i];
        // A loading client is not "connected" yet (Kunos' example says so); an empty slot still
        // has its entry-list car but no driver.
        let has_driver = !matches!(c.presence, Presence::Absent { .. });
        let driver = |s: &String| if has_driver { s.clone() } else { String::new() };
        CarInfo {
            car_id: i as u8,
            is_connected: c.presence == Presence::Connected,
            car_model: c.entry.car_model.clone(),
            car_skin: c.entry.car_skin.clone(),
            driver_name: driver(&c.entry.driver_name),
            driver_team: driver(&c.entry.driver_team),
            driver_guid: driver(&c.entry.driver_guid),
        }
    }

    fn world_position(&self, i: usize) -> Vec3 {
        let c = &self.cars[i];
        let p = self.track.sample(c.pos);
        let (tx, tz) = (p.tangent[0], p.tangent[2]);
        let n = (tx * tx + tz * tz).sqrt().max(1e-9);
        // The right-hand normal in the horizontal plane.
        let (nx, nz) = (-tz / n, tx / n);
        Vec3::new(
            (p.position[0] + nx * c.lateral) as f32,
            p.position[1] as f32,
            (p.position[2] + nz * c.lateral) as f32,
        )
    }

    fn car_update(&self, i: usize) -> CarUpdate {
        let c = &self.cars[i];
        let p = self.track.sample(c.pos);
        let v = c.speed;
        let (gear, engine_rpm) = gear_and_rpm(v);
        let spline = (c.pos / self.track.length()) as f32;
        CarUpdate {
            car_id: i as u8,
            position: self.world_position(i),
            velocity: Vec3::new(
                (p.tangent[0] * v) as f32,
                (p.tangent[1] * v) as f32,
                (p.tangent[2] * v) as f32,
            ),
            gear,
            engine_rpm,
            // Rounding to f32 can reach 1.0 just before the line; the line is 0.
            normalized_spline_pos: if spline < 1.0 { spline } else { 0.0 },
        }
    }
}

/// AC's gear convention (0 = R, 1 = N, 2 = 1st) and engine speed for a road speed in m/s.
pub(crate) fn gear_and_rpm(speed: f64) -> (u8, u16) {
    if speed < 0.3 {
        return (1, IDLE_RPM);
    }
    let kmh = speed * 3.6;
    let g = GEAR_TOP_KMH.iter().position(|top| kmh <= top * SHIFT_AT).unwrap_or(GEAR_TOP_KMH.len() - 1);
    let rpm = (REDLINE_RPM * kmh / GEAR_TOP_KMH[g]).clamp(f64::from(IDLE_RPM) * 1.5, REDLINE_RPM);
    (g as u8 + 2, rpm as u16)
}

fn error(message: String) -> Event {
    Event::Error(ErrorMessage { message })
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(cars: u8, sessions: Vec<SessionConfig>) -> ServerConfig {
        ServerConfig {
            cars,
            seed: 42,
            sessions,
            join_interval: Duration::from_secs(1),
            load_time: Duration::from_secs(2),
            ..ServerConfig::default()
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Advances in one-second chunks until `stop` holds for an event, or `limit` passes.
    fn run_until(s: &mut ServerState, limit: Duration, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut all = Vec::new();
        let end = s.now() + limit;
        while s.now() < end {
            let events = s.advance(secs(1));
            let done = events.iter().any(&stop);
            all.extend(events);
            if done {
                return all;
            }
        }
        panic!("condition not met within {limit:?} of simulated time");
    }

    fn laps(events: &[Event]) -> Vec<&LapCompleted> {
        events.iter().filter_map(|e| if let Event::LapCompleted(l) = e { Some(l) } else { None }).collect()
    }

    /// Every slot exactly once.
    fn assert_covers_entry_list(board: &[LeaderboardEntry], slots: usize) {
        let mut ids: Vec<u8> = board.iter().map(|e| e.car_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..slots as u8).collect::<Vec<_>>(), "leaderboard {board:?}");
    }

    #[test]
    fn starts_with_version_then_new_session() {
        let mut s = ServerState::new(&ServerConfig::default()).unwrap();
        let events = s.start();
        assert_eq!(events[0], Event::Version(Version { protocol_version: 4 }));
        let Event::NewSession(info) = &events[1] else { panic!("{events:?}") };
        assert_eq!((info.session_index, info.current_session_index, info.session_count), (0, 0, 3));
        assert_eq!(info.session_type, SessionType::Practice);
        assert_eq!(info.time, 10, "NEW_SESSION time is in minutes");
        assert_eq!((info.track.as_str(), info.track_config.as_str()), ("ks_red_bull_ring", "layout_gp"));
        assert_eq!(info.elapsed_ms, 0);
        assert_eq!(events.len(), 2);
        assert!(s.start().is_empty(), "start is idempotent");
    }

    #[test]
    fn drivers_connect_gradually_then_load() {
        let mut s = ServerState::new(&config(6, vec![SessionConfig::practice(10)])).unwrap();
        s.start();
        let mut connected_at = HashMap::new();
        let mut loaded_at = HashMap::new();
        for _ in 0..60 {
            for e in s.advance(secs(1)) {
                match e {
                    Event::NewConnection(c) => {
                        assert!(connected_at.insert(c.car_id, s.now()).is_none(), "connected twice");
                        assert!(!c.driver_name.is_empty() && c.driver_guid.len() == 17);
                    }
                    Event::ClientLoaded(c) => {
                        assert!(connected_at.contains_key(&c.car_id), "loaded before connecting");
                        loaded_at.insert(c.car_id, s.now());
                    }
                    Event::CarUpdate(_) => panic!("CAR_UPDATE without REALTIMEPOS_INTERVAL"),
                    _ => {}
                }
            }
        }
        assert_eq!(loaded_at.len(), 6);
        for (car, at) in &loaded_at {
            let delay = *at - connected_at[car];
            assert!(delay >= secs(1) && delay <= secs(4), "car {car} loaded after {delay:?}");
        }
        // One second apart, with jitter: the last driver joins seconds after the first.
        assert!(connected_at[&5] >= connected_at[&0] + secs(4));
        assert_eq!(s.connected_cars(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn car_updates_follow_the_requested_interval() {
        let mut s = ServerState::new(&config(4, vec![SessionConfig::practice(30)])).unwrap();
        s.start();
        s.advance(secs(90)); // loaded and out of the pits
        assert!(s.handle(&Command::RealtimeposInterval { interval_ms: 250 }).is_empty());
        let events = s.advance(secs(10));
        let updates: Vec<&CarUpdate> =
            events.iter().filter_map(|e| if let Event::CarUpdate(u) = e { Some(u) } else { None }).collect();
        for car in 0..4u8 {
            let n = updates.iter().filter(|u| u.car_id == car).count();
            assert!((40..=41).contains(&n), "car {car}: {n} updates in 10 s at 250 ms");
        }
        let len = s.track.length();
        for u in &updates {
            assert!((0.0..1.0).contains(&u.normalized_spline_pos));
            // The position is the centre line at the spline position, give or take the pit lane.
            let p = s.track.sample(f64::from(u.normalized_spline_pos) * len);
            let off = ((f64::from(u.position.x) - p.position[0]).powi(2)
                + (f64::from(u.position.z) - p.position[2]).powi(2))
            .sqrt();
            assert!(off < PIT_LATERAL + 1.0, "{off} m off the track: {u:?}");
            let v = f64::from(u.speed_kmh()) / 3.6;
            if v > 1.0 {
                // Velocity along the track.
                let dot =
                    (f64::from(u.velocity.x) * p.tangent[0] + f64::from(u.velocity.z) * p.tangent[2]) / v;
                assert!(dot > 0.98, "velocity not tangent: {u:?}");
                assert!(u.gear >= 2, "moving in gear {}", u.gear);
                let top = GEAR_TOP_KMH[usize::from(u.gear) - 2];
                let expected = (REDLINE_RPM * v * 3.6 / top).clamp(1.5 * f64::from(IDLE_RPM), REDLINE_RPM);
                assert!((f64::from(u.engine_rpm) - expected).abs() < 2.0, "rpm {u:?}");
            } else {
                assert_eq!((u.gear, u.engine_rpm), (1, IDLE_RPM), "standing still in neutral");
            }
        }
        // Some cars are moving fast by now.
        assert!(updates.iter().any(|u| u.speed_kmh() > 150.0));

        assert!(s.handle(&Command::RealtimeposInterval { interval_ms: 0 }).is_empty());
        assert!(!s.advance(secs(5)).iter().any(|e| matches!(e, Event::CarUpdate(_))), "0 disables");
    }

    #[test]
    fn race_leaderboard_is_by_laps_then_total_time() {
        let cfg = ServerConfig { entry_list: Some(8), ..config(6, vec![SessionConfig::race(3, 10)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        let start = s.start();
        let Event::NewSession(info) = &start[1] else { panic!() };
        assert_eq!((info.elapsed_ms, info.wait_time, info.laps), (-10_000, 10_000, 3));
        let events = run_until(&mut s, secs(20 * 60), |e| matches!(e, Event::EndSession(_)));

        let mut lap_sums: HashMap<u8, u32> = HashMap::new();
        let mut lap_counts: HashMap<u8, u16> = HashMap::new();
        let mut winner = None;
        for lap in laps(&events) {
            assert_covers_entry_list(&lap.leaderboard, 8);
            assert_eq!(lap.grip_level, 1.0, "grip is 1.0 in a race");
            *lap_sums.entry(lap.car_id).or_default() += lap.lap_time;
            *lap_counts.entry(lap.car_id).or_default() += 1;
            let ranked: Vec<&LeaderboardEntry> = lap.leaderboard.iter().take_while(|e| e.laps > 0).collect();
            for w in ranked.windows(2) {
                assert!(
                    w[0].laps > w[1].laps || (w[0].laps == w[1].laps && w[0].time <= w[1].time),
                    "out of order: {w:?}"
                );
            }
            for e in &lap.leaderboard[ranked.len()..] {
                assert_eq!((e.laps, e.time), (0, NO_TIME), "unranked entries come last");
            }
            // The total time of the car that just crossed is the sum of its laps.
            let me = lap.leaderboard.iter().find(|e| e.car_id == lap.car_id).unwrap();
            assert_eq!(me.time, lap_sums[&lap.car_id]);
            assert_eq!(me.laps, lap_counts[&lap.car_id]);
            let leader_done = winner.is_some();
            if me.laps == 3 && winner.is_none() {
                winner = Some(lap.car_id);
                assert_eq!(lap.leaderboard[0].car_id, lap.car_id, "the first to finish leads");
            }
            assert_eq!(me.has_completed, Some(leader_done || winner == Some(lap.car_id)));
        }
        // Every connected car finished; END_SESSION is immediately followed by NEW_SESSION.
        let last = laps(&events).last().copied().unwrap();
        assert!(last.leaderboard[..6].iter().all(|e| e.has_completed == Some(true) && e.laps == 3));
        let end = events.iter().position(|e| matches!(e, Event::EndSession(_))).unwrap();
        let Event::EndSession(end_session) = &events[end] else { unreachable!() };
        assert!(
            end_session.filename.starts_with("results/2026_11_22_")
                && end_session.filename.ends_with("_RACE.json")
        );
        assert!(
            matches!(&events[end + 1], Event::NewSession(i) if i.session_index == 0 && i.elapsed_ms == -10_000)
        );
    }

    #[test]
    fn qualify_leaderboard_is_by_best_clean_lap() {
        let cfg = ServerConfig { entry_list: Some(8), ..config(6, vec![SessionConfig::qualify(20)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        s.start();
        let events = run_until(&mut s, secs(40 * 60), |e| matches!(e, Event::EndSession(_)));
        let mut best: HashMap<u8, u32> = HashMap::new();
        let mut grip = 0.0;
        let mut cut_laps = 0;
        let mut flagged = 0;
        for lap in laps(&events) {
            assert_covers_entry_list(&lap.leaderboard, 8);
            assert!(lap.grip_level > grip && lap.grip_level <= 1.0, "grip rises lap by lap");
            grip = lap.grip_level;
            if lap.cuts == 0 {
                let b = best.entry(lap.car_id).or_insert(lap.lap_time);
                *b = (*b).min(lap.lap_time);
            } else {
                cut_laps += 1;
            }
            let ranked = lap.leaderboard.iter().take_while(|e| e.time != NO_TIME).count();
            assert_eq!(ranked, best.len(), "only cars with a clean lap are ranked");
            for w in lap.leaderboard[..ranked].windows(2) {
                assert!(w[0].time <= w[1].time, "not by best lap: {w:?}");
            }
            for e in &lap.leaderboard[..ranked] {
                assert_eq!(e.time, best[&e.car_id], "a cut lap counted for car {}", e.car_id);
            }
            let me = lap.leaderboard.iter().find(|e| e.car_id == lap.car_id).unwrap();
            if me.has_completed == Some(true) {
                flagged += 1;
            }
        }
        assert!(cut_laps > 0, "no cut laps in 20 minutes; the test proves nothing about cuts");
        assert!(flagged > 0, "laps after the clock ran out carry has_completed");
        assert!(laps(&events).len() > 50);
    }

    #[test]
    fn sessions_rotate_with_end_then_new_session() {
        let sessions = vec![SessionConfig::practice(2), SessionConfig::qualify(2), SessionConfig::race(2, 5)];
        let mut s = ServerState::new(&config(3, sessions)).unwrap();
        s.start();
        let mut events = Vec::new();
        let mut practice_end = None;
        while !events.iter().any(|e| matches!(e, Event::NewSession(i) if i.session_index == 0)) {
            assert!(s.now() < secs(3600), "no wrap to the first session within an hour");
            let chunk = s.advance(secs(1));
            if practice_end.is_none() && chunk.iter().any(|e| matches!(e, Event::EndSession(_))) {
                practice_end = Some(s.now());
            }
            events.extend(chunk);
        }
        // Practice ends on the clock.
        assert_eq!(practice_end, Some(secs(120)));
        let ends: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::EndSession(_)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ends.len(), 3);
        let kinds = ["PRACTICE", "QUALIFY", "RACE"];
        for (k, &at) in ends.iter().enumerate() {
            let Event::EndSession(e) = &events[at] else { unreachable!() };
            assert!(e.filename.ends_with(&format!("_{}.json", kinds[k])), "{}", e.filename);
            let Event::NewSession(next) = &events[at + 1] else {
                panic!("END_SESSION not followed by NEW_SESSION")
            };
            assert_eq!(usize::from(next.session_index), (k + 1) % 3);
            assert_eq!(next.current_session_index, next.session_index);
        }
        let Event::NewSession(race) = &events[ends[1] + 1] else { unreachable!() };
        assert_eq!(
            (race.session_type, race.elapsed_ms, race.wait_time, race.time),
            (SessionType::Race, -5000, 5000, 0)
        );
    }

    #[test]
    fn commands_get_the_stock_servers_answers() {
        let cfg = ServerConfig {
            entry_list: Some(6),
            join_interval: Duration::ZERO,
            ..config(4, vec![SessionConfig::practice(10), SessionConfig::race(5, 30)])
        };
        let mut s = ServerState::new(&cfg).unwrap();
        s.start();
        s.advance(Duration::from_millis(20)); // joined, still loading
        let loading = s.handle(&Command::GetCarInfo { car_id: 1 });
        assert!(matches!(&loading[..], [Event::CarInfo(c)] if !c.is_connected && !c.driver_name.is_empty()));
        s.advance(secs(10));

        let info = s.handle(&Command::GetCarInfo { car_id: 1 });
        let [Event::CarInfo(c)] = &info[..] else { panic!("{info:?}") };
        assert!(
            c.is_connected && c.car_id == 1 && c.driver_name == "Bea Lindqvist" && !c.car_model.is_empty()
        );
        let empty = s.handle(&Command::GetCarInfo { car_id: 5 });
        assert!(
            matches!(&empty[..], [Event::CarInfo(c)] if !c.is_connected && c.driver_name.is_empty() && !c.car_model.is_empty())
        );
        let bad = s.handle(&Command::GetCarInfo { car_id: 6 });
        assert_eq!(bad, vec![error("ERROR: ACSP_GET_CAR_INFO index 6 out of bound".into())]);

        let chat = Command::SendChat { car_id: 1, message: "hi".into() };
        assert!(s.handle(&chat).is_empty());
        assert!(s.handle(&Command::BroadcastChat { message: "hello all".into() }).is_empty());

        let cur = s.handle(&Command::GetSessionInfo { session_index: -1 });
        assert!(matches!(&cur[..], [Event::SessionInfo(i)] if i.session_index == 0 && i.elapsed_ms > 0));
        let race = s.handle(&Command::GetSessionInfo { session_index: 1 });
        assert!(
            matches!(&race[..], [Event::SessionInfo(i)] if i.session_index == 1 && i.current_session_index == 0 && i.laps == 5)
        );
        for bad in [2, -2, i16::MAX] {
            let e = s.handle(&Command::GetSessionInfo { session_index: bad });
            assert_eq!(e, vec![error(format!("ERROR: ACSP_GET_SESSION_INFO out of bounds: {bad}"))]);
        }

        let set = Command::SetSessionInfo {
            session_index: 1,
            name: "Sprint".into(),
            session_type: SessionType::Race,
            laps: 7,
            time: 900,
            wait_time: 20,
        };
        let answer = s.handle(&set);
        let [Event::SessionInfo(i)] = &answer[..] else { panic!("{answer:?}") };
        assert_eq!((i.name.as_str(), i.laps, i.time, i.wait_time), ("Sprint", 7, 15, 20_000));
        assert_eq!(s.sessions()[1].time_s, 900);
        let Command::SetSessionInfo { name, session_type, laps, time, wait_time, .. } = set.clone() else {
            unreachable!()
        };
        let bad_set = s.handle(&Command::SetSessionInfo {
            session_index: 2,
            name,
            session_type,
            laps,
            time,
            wait_time,
        });
        assert!(matches!(&bad_set[..], [Event::Error(_)]));

        let kick = s.handle(&Command::KickUser { car_id: 2 });
        assert!(
            matches!(&kick[..], [Event::ConnectionClosed(c)] if c.car_id == 2 && c.driver_name == "Carlos Ferreira")
        );
        assert!(s.handle(&Command::KickUser { car_id: 2 }).is_empty(), "the slot is empty now");
        assert_eq!(
            s.handle(&Command::KickUser { car_id: 200 }),
            vec![error("ERROR: ACSP_KICK_USER index 200 out of bound".into())]
        );
        let after_kick = s.handle(&Command::GetCarInfo { car_id: 2 });
        assert!(matches!(&after_kick[..], [Event::CarInfo(c)] if !c.is_connected));

        let next = s.handle(&Command::NextSession);
        assert!(
            matches!(&next[..], [Event::EndSession(_), Event::NewSession(i)] if i.session_index == 1 && i.name == "Sprint" && i.elapsed_ms == -20_000)
        );
        s.advance(secs(5));
        let restart = s.handle(&Command::RestartSession);
        assert!(
            matches!(&restart[..], [Event::NewSession(i)] if i.session_index == 1 && i.elapsed_ms == -20_000)
        );

        let admin =
            |s: &mut ServerState, text: &str| s.handle(&Command::AdminCommand { command: text.into() });
        assert!(
            matches!(&admin(&mut s, "/next_session")[..], [Event::EndSession(_), Event::NewSession(i)] if i.session_index == 0)
        );
        assert!(
            matches!(&admin(&mut s, " /restart_session ")[..], [Event::NewSession(i)] if i.session_index == 0)
        );
        assert!(matches!(&admin(&mut s, "/kick_id 3")[..], [Event::ConnectionClosed(c)] if c.car_id == 3));
        assert!(
            matches!(&admin(&mut s, "/kick_id 99")[..], [Event::Error(e)] if e.message == "ERROR: ACSP_KICK_USER index 99 out of bound")
        );
        assert!(
            matches!(&admin(&mut s, "/kick alex marino")[..], [Event::ConnectionClosed(c)] if c.car_id == 0)
        );
        assert!(admin(&mut s, "/ballast 1 50").is_empty());
        assert!(admin(&mut s, "/kick_id").is_empty());
        assert!(admin(&mut s, "").is_empty());
        assert_eq!(s.connected_cars(), vec![1]);
    }

    #[test]
    fn restart_resets_the_leaderboard() {
        let mut s = ServerState::new(&config(4, vec![SessionConfig::qualify(30)])).unwrap();
        s.start();
        s.advance(secs(8 * 60));
        assert!(s.leaderboard().iter().any(|e| e.laps > 0));
        let grip = s.grip_level();
        assert!(grip > GRIP_START);
        s.handle(&Command::RestartSession);
        assert!(
            s.leaderboard()
                .iter()
                .all(|e| e.laps == 0 && e.time == NO_TIME && e.has_completed == Some(false))
        );
        assert_eq!(s.grip_level(), GRIP_START, "the session starts over, rubber included");
        assert_eq!(s.session_elapsed_ms(), 0);
    }

    /// A fixed script of commands at fixed simulated times, and what comes out.
    fn scripted(seed: u64, chunk: Duration) -> Vec<Event> {
        let cfg = ServerConfig {
            seed,
            churn: true,
            ..config(
                8,
                vec![SessionConfig::practice(5), SessionConfig::qualify(5), SessionConfig::race(3, 10)],
            )
        };
        let mut s = ServerState::new(&cfg).unwrap();
        let mut out = s.start();
        let script = [
            (30, Command::RealtimeposInterval { interval_ms: 500 }),
            (200, Command::KickUser { car_id: 3 }),
            (400, Command::GetCarInfo { car_id: 2 }),
            (500, Command::NextSession),
        ];
        let mut script = script.iter().peekable();
        while s.now() < secs(40 * 60) {
            while let Some((_, cmd)) = script.next_if(|(at, _)| s.now() >= secs(*at)) {
                out.extend(s.handle(cmd));
            }
            out.extend(s.advance(chunk));
        }
        out
    }

    #[test]
    fn same_seed_same_events_different_seed_different_events() {
        let a = scripted(7, secs(1));
        let b = scripted(7, secs(1));
        assert!(a.len() > 10_000, "{} events", a.len());
        assert_eq!(a, b);
        // The chunking of `advance` does not matter: time moves in fixed steps.
        let c = scripted(7, Duration::from_millis(250));
        assert_eq!(a, c);
        let d = scripted(8, secs(1));
        assert_ne!(a, d);
        // Every kind of event the simulator makes shows up in 40 minutes.
        for name in EVENT_NAMES_GENERATED {
            assert!(a.iter().any(|e| e.name() == name), "no {name} in the run");
        }
    }

    /// Event kinds produced without a command asking for them (plus car_update, requested).
    const EVENT_NAMES_GENERATED: [&str; 11] = [
        "version",
        "new_session",
        "new_connection",
        "client_loaded",
        "car_update",
        "lap_completed",
        "collision_with_env",
        "collision_with_car",
        "chat",
        "end_session",
        "connection_closed",
    ];

    #[test]
    fn incidents_are_well_formed() {
        let mut s = ServerState::new(&config(12, vec![SessionConfig::practice(60)])).unwrap();
        s.start();
        let events = s.advance(secs(45 * 60));
        let (mut car, mut env, mut chat) = (0, 0, 0);
        for e in &events {
            match e {
                Event::CollisionWithCar(c) => {
                    car += 1;
                    assert!(c.car_id < 12 && c.other_car_id < 12 && c.car_id != c.other_car_id);
                    assert!(c.impact_speed.is_finite() && c.impact_speed > 0.0);
                }
                Event::CollisionWithEnv(c) => {
                    env += 1;
                    assert!(c.car_id < 12 && c.impact_speed.is_finite() && c.impact_speed >= 0.0);
                }
                Event::Chat(c) => {
                    chat += 1;
                    assert!(CHAT_LINES.contains(&c.message.as_str()));
                }
                _ => {}
            }
        }
        assert!(car > 0 && env > 0 && chat > 0, "car {car}, env {env}, chat {chat}");
    }

    #[test]
    fn churn_makes_drivers_leave_and_come_back() {
        let cfg = ServerConfig { churn: true, ..config(8, vec![SessionConfig::practice(120)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        s.start();
        let events = s.advance(secs(90 * 60));
        let left: Vec<(usize, u8)> = events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| if let Event::ConnectionClosed(c) = e { Some((i, c.car_id)) } else { None })
            .collect();
        assert!(!left.is_empty(), "nobody left in 90 minutes");
        let (at, car) = left[0];
        let back = events[at..].iter().position(|e| matches!(e, Event::NewConnection(c) if c.car_id == car));
        let loaded = events[at..].iter().position(|e| matches!(e, Event::ClientLoaded(c) if c.car_id == car));
        assert!(back.is_some() && loaded > back, "car {car} did not come back");
    }

    #[test]
    fn interval_survives_new_sessions_unless_configured_otherwise() {
        for forget in [false, true] {
            let cfg = ServerConfig {
                forget_interval_on_new_session: forget,
                ..config(2, vec![SessionConfig::practice(5)])
            };
            let mut s = ServerState::new(&cfg).unwrap();
            s.start();
            s.handle(&Command::RealtimeposInterval { interval_ms: 100 });
            s.handle(&Command::NextSession);
            assert_eq!(s.realtime_interval_ms(), if forget { None } else { Some(100) });
        }
        // Configured from the start (AssettoServer's behaviour): updates without a request.
        let cfg =
            ServerConfig { realtime_interval_ms: Some(1000), ..config(2, vec![SessionConfig::practice(5)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        assert!(s.advance(secs(30)).iter().any(|e| matches!(e, Event::CarUpdate(_))));
    }

    #[test]
    fn every_event_encodes() {
        let events = scripted(3, secs(1));
        let mut buf = Vec::new();
        for e in &events {
            buf.clear();
            acsp::encode_event(e, &mut buf).unwrap();
            assert_eq!(&acsp::decode(&buf).unwrap(), e);
        }
    }

    #[test]
    fn gears_follow_speed() {
        assert_eq!(gear_and_rpm(0.0), (1, IDLE_RPM));
        let (g, rpm) = gear_and_rpm(10.0);
        assert_eq!(g, 2);
        assert_eq!(rpm, (REDLINE_RPM * 36.0 / 80.0) as u16);
        let (g, _) = gear_and_rpm(75.0);
        assert_eq!(g, 7, "top gear at top speed");
        let mut last = 0;
        for v in 1..80 {
            let (g, _) = gear_and_rpm(f64::from(v));
            assert!(g >= last, "gears only go up with speed");
            last = g;
        }
    }

    /// A car driven from outside at a steady pace, as a game would feed it: every lap takes
    /// the next of `laps` (ms, cuts), and its position moves evenly along the lap.
    struct Outside {
        car_id: u8,
        laps: Vec<(u32, u8)>,
        /// Laps fed so far, and the time into the current one, ms.
        done: usize,
        into_lap_ms: u32,
    }

    impl Outside {
        fn new(car_id: u8, laps: Vec<(u32, u8)>) -> Outside {
            Outside { car_id, laps, done: 0, into_lap_ms: 0 }
        }

        /// Advances the server by 100 ms, then feeds the car's state; returns all events.
        /// Feeding starts once the car is loaded, as a game is only driven once it is.
        fn tick(&mut self, s: &mut ServerState) -> Vec<Event> {
            let mut events = s.advance(Duration::from_millis(100));
            if !s.connected_cars().contains(&self.car_id) {
                return events;
            }
            let Some(&(lap_ms, cuts)) = self.laps.get(self.done) else { return events };
            self.into_lap_ms += 100;
            let mut completed_lap = None;
            if self.into_lap_ms >= lap_ms {
                self.into_lap_ms -= lap_ms;
                self.done += 1;
                completed_lap = Some(ExternalLap { time_ms: lap_ms, cuts });
            }
            let next_ms = self.laps.get(self.done).map_or(lap_ms, |l| l.0);
            let drive = ExternalDrive {
                spline_pos: self.into_lap_ms as f32 / next_ms as f32,
                speed_ms: 50.0,
                completed_lap,
            };
            events.extend(s.drive_external(self.car_id, drive));
            events
        }

        fn finished(&self) -> bool {
            self.done == self.laps.len()
        }
    }

    fn laps_of(events: &[Event], car: u8) -> Vec<&LapCompleted> {
        laps(events).into_iter().filter(|l| l.car_id == car).collect()
    }

    #[test]
    fn an_outside_car_laps_exactly_as_fed_and_counts_on_the_leaderboard() {
        let cfg = ServerConfig {
            external_cars: vec![0],
            churn: true,
            realtime_interval_ms: Some(500),
            ..config(3, vec![SessionConfig::practice(60)])
        };
        let mut s = ServerState::new(&cfg).unwrap();
        assert_eq!(s.entry_list()[0].driver_name, "Alex Marino");
        let fed = vec![(95_001, 0), (93_456, 2), (92_010, 0), (94_000, 0)];
        let mut car = Outside::new(0, fed.clone());
        let mut events = s.start();
        while !car.finished() {
            assert!(s.now() < secs(3600), "the fed laps took too long");
            events.extend(car.tick(&mut s));
        }
        let mine = laps_of(&events, 0);
        let got: Vec<(u32, u8)> = mine.iter().map(|l| (l.lap_time, l.cuts)).collect();
        assert_eq!(got, fed, "LAP_COMPLETED carries exactly the fed laps");
        // Laps count, and the best is the best clean one: the cut 93.456 does not.
        let expected_best = [95_001, 95_001, 92_010, 92_010];
        for (k, lap) in mine.iter().enumerate() {
            let me = lap.leaderboard.iter().find(|e| e.car_id == 0).unwrap();
            assert_eq!((me.laps, me.time), (k as u16 + 1, expected_best[k]), "{lap:?}");
        }
        // The simulator's own cars lap too, and the board ranks everybody by best lap.
        assert!(laps_of(&events, 1).len() >= 2 && laps_of(&events, 2).len() >= 2);
        let board = s.leaderboard();
        for w in board.windows(2).take_while(|w| w[1].time != NO_TIME) {
            assert!(w[0].time <= w[1].time, "{board:?}");
        }
        // No made-up incidents for it, and it never leaves on its own.
        for e in &events {
            match e {
                Event::CollisionWithEnv(c) => assert_ne!(c.car_id, 0),
                Event::CollisionWithCar(c) => assert!(c.car_id != 0 && c.other_car_id != 0),
                Event::ConnectionClosed(c) => assert_ne!(c.car_id, 0),
                _ => {}
            }
        }

        // Its CAR_UPDATEs carry what was fed, on the simulator's track, and it does not move
        // on its own.
        let drive = ExternalDrive { spline_pos: 0.25, speed_ms: 40.0, completed_lap: None };
        assert!(s.drive_external(0, drive).is_empty());
        let updates: Vec<CarUpdate> = s
            .advance(secs(3))
            .into_iter()
            .filter_map(|e| if let Event::CarUpdate(u) = e { Some(u) } else { None })
            .filter(|u| u.car_id == 0)
            .collect();
        assert_eq!(updates.len(), 6, "every 500 ms");
        let at = s.track.sample(0.25 * s.track.length());
        for u in &updates {
            assert!((u.normalized_spline_pos - 0.25).abs() < 1e-6, "{u:?}");
            assert!((u.speed_kmh() - 144.0).abs() < 0.5, "{u:?}");
            assert!((f64::from(u.position.x) - at.position[0]).abs() < 0.01, "{u:?}");
            assert!((f64::from(u.position.z) - at.position[2]).abs() < 0.01, "{u:?}");
        }
    }

    #[test]
    fn races_end_with_an_outside_car() {
        let cfg = ServerConfig { external_cars: vec![2], ..config(3, vec![SessionConfig::race(2, 10)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        // Slower than the simulator's cars: the race waits for it to take the flag.
        let lap_ms = (s.track.ideal_lap_time() * 1.15 * 1000.0) as u32;
        let mut car = Outside::new(2, vec![(lap_ms, 0), (lap_ms + 333, 1), (lap_ms, 0)]);
        let mut events = s.start();
        while !events.iter().any(|e| matches!(e, Event::EndSession(_))) {
            assert!(s.now() < secs(3600), "the race never ended");
            events.extend(car.tick(&mut s));
        }
        let mine = laps_of(&events, 2);
        assert_eq!(mine.len(), 2, "two laps, then the flag: {mine:?}");
        let last = mine[1];
        let me = last.leaderboard.iter().find(|e| e.car_id == 2).unwrap();
        assert_eq!((me.laps, me.time, me.has_completed), (2, 2 * lap_ms + 333, Some(true)));
        // The others finished first, and the session ended as soon as it was in.
        assert!(last.leaderboard[..2].iter().all(|e| e.laps == 2 && e.has_completed == Some(true)));
        assert_eq!(last.leaderboard[2].car_id, 2);
        let lap_at = events.iter().position(|e| matches!(e, Event::LapCompleted(l) if l.car_id == 2 && l.leaderboard.iter().any(|e| e.car_id == 2 && e.laps == 2))).unwrap();
        let end_at = events.iter().position(|e| matches!(e, Event::EndSession(_))).unwrap();
        assert!(
            events[lap_at..end_at]
                .iter()
                .all(|e| matches!(e, Event::LapCompleted(_) | Event::Chat(_) | Event::CarUpdate(_))),
            "nothing but its lap happened between the flag and the end: {:?}",
            &events[lap_at..end_at]
        );
        let result = &s.results()[0];
        let row = result.leaderboard.iter().find(|e| e.car_id == 2).unwrap();
        assert_eq!((row.laps, row.time), (2, 2 * lap_ms + 333));
    }

    #[test]
    fn an_outside_winner_stops_counting_after_its_flag() {
        let cfg = ServerConfig { external_cars: vec![0], ..config(3, vec![SessionConfig::race(2, 10)]) };
        let mut s = ServerState::new(&cfg).unwrap();
        let lap_ms = (s.track.ideal_lap_time() * 0.8 * 1000.0) as u32;
        let mut car = Outside::new(0, vec![(lap_ms, 0), (lap_ms, 0)]);
        let mut events = s.start();
        while !car.finished() {
            assert!(s.now() < secs(3600), "the fed laps took too long");
            events.extend(car.tick(&mut s));
        }
        let last = *laps_of(&events, 0).last().unwrap();
        assert_eq!(last.leaderboard[0].car_id, 0, "the first to two laps leads");
        assert_eq!(last.leaderboard[0].has_completed, Some(true));
        // Its cool-down lap is not counted, as no car's is.
        let lap = ExternalDrive {
            spline_pos: 0.0,
            speed_ms: 30.0,
            completed_lap: Some(ExternalLap { time_ms: lap_ms, cuts: 0 }),
        };
        assert!(s.drive_external(0, lap).is_empty());
        assert_eq!(s.leaderboard()[0].laps, 2);
    }

    #[test]
    fn input_for_other_cars_is_ignored() {
        let cfg = ServerConfig {
            external_cars: vec![1],
            join_interval: secs(30),
            ..config(3, vec![SessionConfig::practice(10)])
        };
        let mut s = ServerState::new(&cfg).unwrap();
        s.start();
        let lap = ExternalDrive {
            spline_pos: 0.5,
            speed_ms: 30.0,
            completed_lap: Some(ExternalLap { time_ms: 90_000, cuts: 0 }),
        };
        // Not yet on the server (it joins about 30 s in).
        assert!(s.drive_external(1, lap).is_empty());
        s.advance(secs(20));
        assert_eq!(s.connected_cars(), vec![0]);
        // The simulator's own car, and a car that does not exist.
        assert!(s.drive_external(0, lap).is_empty());
        assert!(s.drive_external(99, lap).is_empty());
        assert!(s.leaderboard().iter().all(|e| e.laps == 0));
        s.advance(secs(60));
        assert_eq!(s.drive_external(1, lap).len(), 1, "counted once on the server");
    }
}
