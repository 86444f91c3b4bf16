//! What the engine is told ([`TimingConfig`]) and what it counts of the input it skipped
//! ([`Stats`]).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

/// How the engine times a server: sector boundaries and the timeouts of its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingConfig {
    /// Sector boundaries per track: the spline positions (0..1, increasing) where sectors 2, 3,
    /// … start. The key is the track folder (`ks_vallelunga`) or the track and its layout
    /// (`ks_vallelunga/club_circuit`), which wins. A track not listed has thirds of the lap;
    /// an empty list makes the whole lap one sector. Values outside 0..1 are dropped.
    pub sectors: HashMap<String, Vec<f32>>,
    /// The car-update interval to ask the server for (REALTIMEPOS_INTERVAL), ms: after every new
    /// session and whenever updates stop. `None` leaves the interval to someone else (a relay,
    /// another plugin).
    pub realtime_interval_ms: Option<u16>,
    /// A connected car without a car update for this long is asked about (GET_CAR_INFO); no car
    /// update from anybody for this long, and the interval is asked for again.
    pub silence: Duration,
    /// No event at all for this long and the server is taken as down.
    pub server_timeout: Duration,
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            sectors: HashMap::new(),
            realtime_interval_ms: Some(100),
            silence: Duration::from_secs(5),
            server_timeout: Duration::from_secs(15),
        }
    }
}

/// Input the engine skipped, by kind: none of it is an error, and none stops the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events handled.
    pub events: u64,
    /// A lap or a collision of a car id the engine has never heard of (no connection, no car
    /// info, not in a leaderboard): skipped, and the car asked about.
    pub unknown_car: u64,
    /// A car update of a car with no driver connected (never announced, or gone): skipped, and
    /// the car asked about.
    pub unannounced_update: u64,
    /// A lap completed before any session was known: skipped, since whether the leaderboard
    /// holds best laps or race totals depends on the session.
    pub before_session: u64,
    /// A lap time of 0 or over an hour, or a leaderboard best lap of the same: taken as no time.
    pub absurd_time: u64,
    /// A car update whose spline position is not a number in 0..=1, or whose velocity is not
    /// finite: skipped.
    pub bad_position: u64,
    /// An event stamped earlier than the one before: handled at the time of the one before.
    pub clock_backwards: u64,
}
