//! What the simulated server looks like: its entry list, track, sessions and pacing.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use acsp::SessionType;

use crate::error::SimError;

/// Most entry-list slots the simulator accepts. The wire allows 255 leaderboard entries, but a
/// real grid rarely exceeds a few dozen and every LAP_COMPLETED carries the whole entry list.
pub const MAX_SLOTS: u8 = 64;

/// Highest time acceleration accepted: beyond this one driver tick covers so much simulated
/// time that the event bursts only measure the kernel's socket buffers.
pub const MAX_SPEED: f64 = 10_000.0;

/// The circuit.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackConfig {
    /// Track name as AC reports it, e.g. `ks_red_bull_ring`.
    pub name: String,
    /// Layout; may be empty.
    pub config: String,
    /// Lap length, metres. The simulated circuit is a smooth closed curve of this length.
    pub length_m: f64,
}

impl Default for TrackConfig {
    fn default() -> Self {
        TrackConfig { name: "ks_red_bull_ring".into(), config: "layout_gp".into(), length_m: 4318.0 }
    }
}

/// One session of the server's rotation.
///
/// Units follow the commands rather than NEW_SESSION: `time_s` and `wait_s` are seconds (what
/// SET_SESSION_INFO carries); NEW_SESSION reports the time in minutes (rounded up) and the wait
/// in milliseconds, as the stock server's capture shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Name, e.g. `Qualify`.
    pub name: String,
    /// Practice, qualify or race (other types behave like practice).
    pub session_type: SessionType,
    /// Length in seconds; 0 means no time limit. A race with laps ignores it.
    pub time_s: u32,
    /// Race length in laps; 0 makes a race timed.
    pub laps: u16,
    /// Race only: seconds on the grid before the start (elapsed time is negative meanwhile).
    pub wait_s: u32,
}

impl SessionConfig {
    /// A timed practice.
    pub fn practice(minutes: u16) -> Self {
        SessionConfig {
            name: "Practice".into(),
            session_type: SessionType::Practice,
            time_s: u32::from(minutes) * 60,
            laps: 0,
            wait_s: 0,
        }
    }

    /// A timed qualifying session.
    pub fn qualify(minutes: u16) -> Self {
        SessionConfig {
            name: "Qualify".into(),
            session_type: SessionType::Qualify,
            time_s: u32::from(minutes) * 60,
            laps: 0,
            wait_s: 0,
        }
    }

    /// A race over `laps` laps, after `wait_s` seconds on the grid.
    pub fn race(laps: u16, wait_s: u32) -> Self {
        SessionConfig { name: "Race".into(), session_type: SessionType::Race, time_s: 0, laps, wait_s }
    }

    /// A race over `minutes` minutes (plus the lap each car is on), after `wait_s` seconds.
    pub fn timed_race(minutes: u16, wait_s: u32) -> Self {
        SessionConfig {
            name: "Race".into(),
            session_type: SessionType::Race,
            time_s: u32::from(minutes) * 60,
            laps: 0,
            wait_s,
        }
    }

    /// Whether this is a race (laps count and the leaderboard is by laps then total time).
    pub fn is_race(&self) -> bool {
        self.session_type == SessionType::Race
    }
}

/// Everything about the simulated server. `Default` gives the conventional ports, 8 cars,
/// seed 0, real time and a short practice / qualify / race weekend.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Drivers that join (they take the entry-list slots `0..cars`).
    pub cars: u8,
    /// Cars driven from outside the simulator (e.g. by simulated games): their drivers join
    /// and load like the others (and never leave on their own), but the simulator does not
    /// move them; [`ServerState::drive_external`](super::ServerState::drive_external) feeds
    /// their position, speed and completed laps. Each id must be one of `0..cars`.
    pub external_cars: Vec<u8>,
    /// Entry-list slots; `None` means as many as `cars`. Slots without a driver stay empty and
    /// still appear in every leaderboard, as on the stock server.
    pub entry_list: Option<u8>,
    /// Seed of everything random: entry list, pace, cuts, incidents, joins.
    pub seed: u64,
    /// Time acceleration: simulated seconds per real second (the driver's concern only).
    pub speed: f64,
    /// Where events go (the server's `UDP_PLUGIN_ADDRESS`).
    pub plugin: SocketAddr,
    /// Where commands are received, and events sent from (`UDP_PLUGIN_LOCAL_PORT`).
    pub bind: SocketAddr,
    /// Server name in NEW_SESSION.
    pub server_name: String,
    /// The circuit.
    pub track: TrackConfig,
    /// The session rotation; after the last one the server wraps to the first.
    pub sessions: Vec<SessionConfig>,
    /// CAR_UPDATE interval from the start, ms. `None` is the stock server's behaviour: no
    /// updates until a plugin sends REALTIMEPOS_INTERVAL. `Some` mimics AssettoServer.
    pub realtime_interval_ms: Option<u16>,
    /// Drop the CAR_UPDATE interval at every NEW_SESSION, as plugins like Assetto Server
    /// Manager assume the stock server does (they re-send it). Unverified, hence off by default.
    pub forget_interval_on_new_session: bool,
    /// Gap between drivers joining (simulated time; slot `i` joins at about `i ×` this).
    /// Zero makes every driver join at the start.
    pub join_interval: Duration,
    /// Typical time between NEW_CONNECTION and CLIENT_LOADED (each driver takes 0.5–1.5× this).
    pub load_time: Duration,
    /// Drivers occasionally leave and come back later (kicked drivers come back too).
    pub churn: bool,
    /// Ambient temperature, °C.
    pub ambient_temp: u8,
    /// Road temperature, °C.
    pub road_temp: u8,
    /// Weather graphics name, e.g. `3_clear`.
    pub weather: String,
    /// Real time between the driver's ticks; each tick advances `speed ×` the real time elapsed.
    pub tick: Duration,
    /// Accept commands only from the plugin's IP (port not compared), as AssettoServer does.
    pub commands_from_plugin_ip_only: bool,
    /// Chat lines drivers type at given times (besides the random chatter), e.g. a plugin's
    /// chat commands: `(simulated time since the server started, car id, text)`. A line whose
    /// car is not connected then is not sent.
    pub chat_script: Vec<(Duration, u8, String)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cars: 8,
            external_cars: Vec::new(),
            entry_list: None,
            seed: 0,
            speed: 1.0,
            plugin: SocketAddr::from((Ipv4Addr::LOCALHOST, 12000)),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 11000)),
            server_name: "pitwall sim".into(),
            track: TrackConfig::default(),
            sessions: vec![
                SessionConfig::practice(10),
                SessionConfig::qualify(10),
                SessionConfig::race(5, 40),
            ],
            realtime_interval_ms: None,
            forget_interval_on_new_session: false,
            join_interval: Duration::from_secs(2),
            load_time: Duration::from_secs(4),
            churn: false,
            ambient_temp: 24,
            road_temp: 31,
            weather: "3_clear".into(),
            tick: Duration::from_millis(10),
            commands_from_plugin_ip_only: false,
            chat_script: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// Entry-list slots actually used.
    pub fn entry_list_size(&self) -> u8 {
        self.entry_list.unwrap_or(self.cars)
    }

    /// Checks ranges and that every string fits its wire field, so that nothing fails later
    /// while the simulator runs.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.cars == 0 {
            return Err(SimError::config("cars", "is 0; at least 1 car is needed"));
        }
        let slots = self.entry_list_size();
        if slots > MAX_SLOTS {
            return Err(SimError::config("entry_list", format!("is {slots}; at most {MAX_SLOTS} slots")));
        }
        if slots < self.cars {
            return Err(SimError::config(
                "entry_list",
                format!("is {slots}, smaller than the {} cars that must fit in it", self.cars),
            ));
        }
        if let Some(&id) = self.external_cars.iter().find(|&&id| id >= self.cars) {
            return Err(SimError::config(
                "external_cars",
                format!(
                    "has car {id}; only the {} cars with a driver (0..{}) can be driven from outside",
                    self.cars, self.cars
                ),
            ));
        }
        if let Some(&id) = self
            .external_cars
            .iter()
            .enumerate()
            .find(|(i, id)| self.external_cars[..*i].contains(id))
            .map(|(_, id)| id)
        {
            return Err(SimError::config("external_cars", format!("has car {id} twice")));
        }
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= MAX_SPEED) {
            return Err(SimError::config(
                "speed",
                format!("is {}; it must be in (0, {MAX_SPEED}]", self.speed),
            ));
        }
        if !(self.track.length_m.is_finite() && (500.0..=100_000.0).contains(&self.track.length_m)) {
            return Err(SimError::config(
                "track.length_m",
                format!("is {}; it must be between 500 and 100000 m", self.track.length_m),
            ));
        }
        if self.sessions.is_empty() {
            return Err(SimError::config("sessions", "is empty; at least one session is needed"));
        }
        if self.sessions.len() > usize::from(u8::MAX) {
            return Err(SimError::config("sessions", format!("has {}; at most 255", self.sessions.len())));
        }
        if let Some((_, _, line)) = self.chat_script.iter().find(|(_, _, l)| l.chars().count() > 255) {
            return Err(SimError::config(
                "chat_script",
                format!("has a line of {} characters; a chat line carries at most 255", line.chars().count()),
            ));
        }
        if self.join_interval > Duration::from_secs(3600) {
            return Err(SimError::config(
                "join_interval",
                format!("is {:?}; at most an hour", self.join_interval),
            ));
        }
        if self.load_time > Duration::from_secs(600) {
            return Err(SimError::config(
                "load_time",
                format!("is {:?}; at most 10 minutes", self.load_time),
            ));
        }
        if self.tick.is_zero() || self.tick > Duration::from_secs(1) {
            return Err(SimError::config("tick", format!("is {:?}; it must be in (0, 1 s]", self.tick)));
        }
        // Wide strings count characters, narrow ones bytes; both have a one-byte length.
        if self.server_name.chars().count() > 255 {
            return Err(SimError::config("server_name", "is longer than 255 characters"));
        }
        for (field, s) in [
            ("track.name", &self.track.name),
            ("track.config", &self.track.config),
            ("weather", &self.weather),
        ] {
            if s.len() > 255 {
                return Err(SimError::config(field, "is longer than 255 bytes"));
            }
        }
        if let Some(s) = self.sessions.iter().find(|s| s.name.len() > 255) {
            let start: String = s.name.chars().take(8).collect();
            return Err(SimError::config("sessions.name", format!("`{start}…` is longer than 255 bytes")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        ServerConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_values_are_reported_by_field() {
        let field = |c: ServerConfig| match c.validate() {
            Err(SimError::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(field(ServerConfig { cars: 0, ..Default::default() }), "cars");
        assert_eq!(field(ServerConfig { cars: 10, entry_list: Some(8), ..Default::default() }), "entry_list");
        assert_eq!(field(ServerConfig { cars: 65, ..Default::default() }), "entry_list");
        assert_eq!(field(ServerConfig { external_cars: vec![8], ..Default::default() }), "external_cars");
        assert_eq!(
            field(ServerConfig { external_cars: vec![1, 2, 1], ..Default::default() }),
            "external_cars"
        );
        assert_eq!(field(ServerConfig { speed: 0.0, ..Default::default() }), "speed");
        assert_eq!(field(ServerConfig { speed: f64::NAN, ..Default::default() }), "speed");
        assert_eq!(field(ServerConfig { sessions: vec![], ..Default::default() }), "sessions");
        let join_interval = Duration::from_secs(1 << 40);
        assert_eq!(field(ServerConfig { join_interval, ..Default::default() }), "join_interval");
        assert_eq!(field(ServerConfig { server_name: "x".repeat(256), ..Default::default() }), "server_name");
        let track = TrackConfig { length_m: 10.0, ..Default::default() };
        assert_eq!(field(ServerConfig { track, ..Default::default() }), "track.length_m");
    }
}
