//! The engine: ACSP events and the caller's clock in, notices and the board out.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use acsp::{
    CarInfo, CarUpdate, Chat, CollisionWithCar, CollisionWithEnv, ConnectionInfo, Event, LapCompleted,
    SessionInfo, SessionType,
};

use crate::board::{Board, Gap, Row, SessionState};
use crate::format::time_from_wire;
use crate::notice::Notice;

/// The live timing of one server, fed its ACSP events.
///
/// Sans-IO: [`handle`](Self::handle) takes an event and the time it arrived on the caller's
/// clock, and returns what happened as [`Notice`]s; [`board`](Self::board) gives the standings.
/// Nothing here reads a clock, a socket or prints.
///
/// The engine keeps its own record of each car from the laps it sees: laps, last lap, best lap
/// without cuts, total time. The leaderboard that comes with every LAP_COMPLETED fills in what
/// the engine missed (laps before it started listening, a lost datagram): it never shows fewer
/// laps, or a slower best lap, than the server's own leaderboard. Standings are per car slot,
/// as on the server: a driver who leaves keeps the car's laps in the standings, and finds them
/// again on rejoining; a different driver in the car starts from nothing.
#[derive(Debug, Clone, Default)]
pub struct TimingEngine {
    session: Option<Session>,
    cars: BTreeMap<u8, Car>,
    grip: Option<f32>,
    now: Duration,
    /// Laps the engine has seen, counted across sessions: equal best laps are ordered by which
    /// was set first.
    lap_seq: u64,
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
    collisions: u32,
}

impl Car {
    /// Forgets the session's laps, times and collisions; keeps who is in the car.
    fn reset_session(&mut self) {
        (self.laps, self.last_ms, self.best_ms, self.best_seq, self.total_ms, self.collisions) =
            (0, None, None, 0, None, 0);
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
}

impl TimingEngine {
    /// An engine that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one event that arrived at `now` (on any clock that starts where the caller
    /// likes and does not run backwards, e.g. the time since the caller started) and returns
    /// what it means for the timing, in order. Most events give one notice; car updates and
    /// the protocol's bookkeeping (VERSION, CLIENT_LOADED, most SESSION_INFO) give none.
    ///
    /// Nothing is rejected: an event about a car the engine has not heard of creates it, and a
    /// time the server sent as "no time" is kept as none.
    pub fn handle(&mut self, now: Duration, event: &Event) -> Vec<Notice> {
        self.now = now;
        let notice = match event {
            Event::NewSession(s) => Some(self.new_session(now, s)),
            Event::SessionInfo(s) => self.session_info(now, s),
            Event::NewConnection(c) => Some(self.new_connection(c)),
            Event::ConnectionClosed(c) => Some(self.connection_closed(c)),
            Event::CarInfo(i) => self.car_info(i),
            Event::CarUpdate(u) => {
                self.car_update(u);
                None
            }
            Event::LapCompleted(l) => Some(self.lap_completed(l)),
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
        notice.into_iter().collect()
    }

    /// The standings now: the session, then one row per car, leader first.
    ///
    /// In a race, cars are ordered by laps completed, then by total time (who crossed the line
    /// first); in every other session by best lap without cuts, equal times by who set theirs
    /// first, and cars without a time after them by laps. Ties left are broken by car id.
    pub fn board(&self) -> Board {
        let race = self.is_race();
        let mut cars: Vec<(u8, &Car)> =
            self.cars.iter().filter(|(_, c)| c.standing()).map(|(id, c)| (*id, c)).collect();
        if race {
            // `None` totals (no lap yet) sort after every time.
            cars.sort_by_key(|(id, c)| (Reverse(c.laps), c.total_ms.is_none(), c.total_ms, *id));
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
                total_ms: c.total_ms,
                gap: leader.and_then(|l| gap(race, i == 0, l, c)),
                speed_kmh: c.speed_kmh,
                spline: c.spline,
                collisions: c.collisions,
            })
            .collect();
        Board { at: self.now, session: self.session_state(), grip: self.grip, rows }
    }

    /// The session the server last described, if any.
    pub fn session(&self) -> Option<&SessionInfo> {
        self.session.as_ref().map(|s| &s.info)
    }

    /// The name of the driver in car `car_id`, if the engine knows it.
    pub fn driver(&self, car_id: u8) -> Option<&str> {
        self.cars.get(&car_id).map(|c| c.driver.as_str()).filter(|d| !d.is_empty())
    }

    /// The clock of the last event handled.
    pub fn now(&self) -> Duration {
        self.now
    }

    fn is_race(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.info.session_type == SessionType::Race)
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

    fn new_session(&mut self, now: Duration, s: &SessionInfo) -> Notice {
        self.session = Some(Session { info: s.clone(), received: now, over: false });
        // Cars whose drivers have gone have nothing left to show once their laps are reset.
        self.cars.retain(|_, c| c.connected);
        for car in self.cars.values_mut() {
            car.reset_session();
        }
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
                let over = old.as_ref().is_some_and(|o| o.over);
                self.session = Some(Session { info: s.clone(), received: now, over });
                None
            }
        }
    }

    fn new_connection(&mut self, c: &ConnectionInfo) -> Notice {
        let car = self.cars.entry(c.car_id).or_default();
        let known = !car.driver.is_empty() || !car.guid.is_empty();
        let same = known && car.same_driver(c);
        if known && !same {
            car.reset_session();
            car.team.clear();
        }
        (car.driver, car.guid, car.model) =
            (c.driver_name.clone(), c.driver_guid.clone(), c.car_model.clone());
        car.connected = true;
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
        let car = self.cars.entry(i.car_id).or_default();
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

    fn car_update(&mut self, u: &CarUpdate) {
        let car = self.cars.entry(u.car_id).or_default();
        (car.spline, car.speed_kmh) = (u.normalized_spline_pos, u.speed_kmh());
    }

    fn lap_completed(&mut self, l: &LapCompleted) -> Notice {
        self.lap_seq += 1;
        let seq = self.lap_seq;
        if l.grip_level.is_finite() {
            self.grip = Some(l.grip_level);
        }
        let race = self.is_race();
        let lap = time_from_wire(l.lap_time);
        let counted = l.cuts == 0 && lap.is_some();
        let car = self.cars.entry(l.car_id).or_default();
        car.laps = car.laps.saturating_add(1);
        car.last_ms = lap;
        if let Some(ms) = lap {
            car.total_ms = Some(car.total_ms.unwrap_or(0).saturating_add(ms));
        }
        let personal_best = counted && lap.is_some_and(|ms| car.best_ms.is_none_or(|b| ms < b));
        if personal_best {
            (car.best_ms, car.best_seq) = (lap, seq);
        }
        for e in &l.leaderboard {
            let car = self.cars.entry(e.car_id).or_default();
            let time = time_from_wire(e.time);
            if race {
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
        let car = &self.cars[&l.car_id];
        Notice::LapCompleted {
            car_id: l.car_id,
            driver: car.driver.clone(),
            lap_ms: lap,
            cuts: l.cuts,
            counted,
            personal_best,
            laps: car.laps,
        }
    }

    fn collision_with_car(&mut self, c: &CollisionWithCar) -> Notice {
        for id in [c.car_id, c.other_car_id] {
            let car = self.cars.entry(id).or_default();
            car.collisions = car.collisions.saturating_add(1);
        }
        Notice::CarCollision {
            car_id: c.car_id,
            other_car_id: c.other_car_id,
            impact_kmh: c.impact_speed * 3.6,
        }
    }

    fn collision_with_env(&mut self, c: &CollisionWithEnv) -> Notice {
        let car = self.cars.entry(c.car_id).or_default();
        car.collisions = car.collisions.saturating_add(1);
        Notice::WallCollision { car_id: c.car_id, impact_kmh: c.impact_speed * 3.6 }
    }

    fn chat(&self, c: &Chat) -> Notice {
        Notice::Chat {
            car_id: c.car_id,
            driver: self.driver(c.car_id).unwrap_or_default().to_owned(),
            message: c.message.clone(),
        }
    }
}

/// The gap of `car` to `leader`, if there is something to compare: a leader without a time
/// (no best lap; no lap in a race) leads nothing yet.
fn gap(race: bool, first: bool, leader: &Car, car: &Car) -> Option<Gap> {
    let timed = if race { leader.laps > 0 } else { leader.best_ms.is_some() };
    if !timed {
        return None;
    }
    if first {
        return Some(Gap::Leader);
    }
    if race {
        if car.laps < leader.laps {
            return Some(Gap::Laps { laps: leader.laps - car.laps });
        }
        let (l, c) = (leader.total_ms?, car.total_ms?);
        Some(Gap::Time { ms: c.saturating_sub(l) })
    } else {
        Some(Gap::Time { ms: car.best_ms?.saturating_sub(leader.best_ms?) })
    }
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
