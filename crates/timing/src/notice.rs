//! What happened, in timing terms: the engine's answer to each event, for a live feed.

use std::time::Duration;

use serde::Serialize;

use crate::board::{SessionState, millis};

/// Something a live-timing feed reports, returned by
/// [`TimingEngine::handle`](crate::TimingEngine::handle). Names are the engine's view (the
/// driver of a car, whether a lap counted), not just the wire's.
///
/// In JSON each notice is an object whose `"type"` is the variant's name in snake case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// A session started (NEW_SESSION): laps, times and collisions of every car start again.
    SessionStarted(SessionState),
    /// A driver connected to a car (NEW_CONNECTION).
    DriverJoined {
        /// Car id.
        car_id: u8,
        /// Driver name.
        driver: String,
        /// Car model.
        car_model: String,
        /// The same driver was in this car earlier in the session, and keeps its laps.
        rejoined: bool,
    },
    /// A driver disconnected (CONNECTION_CLOSED). The car keeps its laps in the standings.
    DriverLeft {
        /// Car id.
        car_id: u8,
        /// Driver name.
        driver: String,
    },
    /// The server named a driver's team (CAR_INFO with a team).
    DriverTeam {
        /// Car id.
        car_id: u8,
        /// Driver name.
        driver: String,
        /// Team name.
        team: String,
    },
    /// A car crossed the line (LAP_COMPLETED).
    LapCompleted {
        /// Car id.
        car_id: u8,
        /// Driver name, empty when unknown.
        driver: String,
        /// Lap time, ms (`None` if the server sent its "no time" value).
        lap_ms: Option<u32>,
        /// Cuts on the lap.
        cuts: u8,
        /// Whether the lap counts for best laps: it had no cuts.
        counted: bool,
        /// Whether it is the car's best lap of the session so far.
        personal_best: bool,
        /// Laps the car has completed in this session, this one included.
        laps: u16,
    },
    /// Two cars touched (CLIENT_EVENT, collision with a car).
    CarCollision {
        /// Car id.
        car_id: u8,
        /// The other car's id.
        other_car_id: u8,
        /// Impact speed, km/h.
        impact_kmh: f32,
    },
    /// A car hit the environment (CLIENT_EVENT, collision with the environment).
    WallCollision {
        /// Car id.
        car_id: u8,
        /// Impact speed, km/h.
        impact_kmh: f32,
    },
    /// A chat line (CHAT).
    Chat {
        /// Sender's car id.
        car_id: u8,
        /// Sender's name, empty when unknown.
        driver: String,
        /// The text, as the player typed it.
        message: String,
    },
    /// The server ended the session (END_SESSION); the standings stay as they are until the
    /// next one starts.
    SessionEnded {
        /// The results file the server wrote (empty on AssettoServer).
        results_file: String,
    },
    /// The server reported an error (ERROR).
    ServerError {
        /// The error text.
        message: String,
    },
    /// No event from the server for longer than the engine's timeout (from
    /// [`TimingEngine::tick`](crate::TimingEngine::tick)): it stopped, or the network did.
    ServerDown {
        /// How long the server had been silent, ms.
        silent_ms: u64,
    },
    /// An event came from a server that was down.
    ServerUp,
}

/// A notice with the time it happened on the engine's clock ([`TimingEngine::now`] after the
/// event that caused it), for a feed that mixes notices and boards.
///
/// In JSON it is the notice's object with `"at_ms"` first, the same field as a [`Board`]'s:
/// `{"at_ms":85000,"type":"driver_left","car_id":1,"driver":"Ayrton"}`.
///
/// [`TimingEngine::now`]: crate::TimingEngine::now
/// [`Board`]: crate::Board
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StampedNotice<'a> {
    /// When the notice happened, on the engine's clock.
    #[serde(rename = "at_ms", serialize_with = "millis")]
    pub at: Duration,
    /// What happened.
    #[serde(flatten)]
    pub notice: &'a Notice,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_notice_is_the_notice_with_its_time() {
        let notice = Notice::DriverLeft { car_id: 1, driver: "Ayrton".into() };
        let stamped = StampedNotice { at: Duration::from_millis(85_000), notice: &notice };
        assert_eq!(
            serde_json::to_string(&stamped).unwrap(),
            r#"{"at_ms":85000,"type":"driver_left","car_id":1,"driver":"Ayrton"}"#
        );
    }
}
