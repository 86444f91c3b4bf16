//! The human-readable, one-line form of each event. Every string from the wire goes through
//! [`quoted`] or [`escape_controls`]: names and chat lines are typed by players.

use acsp::{Event, NO_TIME, SessionInfo};
use timing::{format_lap_time, time_from_wire};

use crate::cmd::text::{escape_controls, quoted};

fn session(s: &SessionInfo) -> String {
    let layout = if s.track_config.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape_controls(&s.track_config))
    };
    let length = if s.laps > 0 { format!("{} laps", s.laps) } else { format!("{} min", s.time) };
    format!(
        "session {}/{} (current {}) {} {} at {}{}, {}, wait {}, air {}°C road {}°C, {}, elapsed {} ms, server {}, protocol {}",
        s.session_index,
        s.session_count,
        s.current_session_index,
        quoted(&s.name),
        s.session_type,
        escape_controls(&s.track),
        layout,
        length,
        s.wait_time,
        s.ambient_temp,
        s.road_temp,
        escape_controls(&s.weather_graphics),
        s.elapsed_ms,
        quoted(&s.server_name),
        s.protocol_version
    )
}

/// One line describing `event`, starting with its type name.
pub(crate) fn human(event: &Event) -> String {
    let body = match event {
        Event::NewSession(s) | Event::SessionInfo(s) => session(s),
        Event::NewConnection(c) | Event::ConnectionClosed(c) => format!(
            "car {} driver {} guid {} car {} skin {}",
            c.car_id,
            quoted(&c.driver_name),
            escape_controls(&c.driver_guid),
            escape_controls(&c.car_model),
            escape_controls(&c.car_skin)
        ),
        Event::CarUpdate(c) => format!(
            "car {} pos ({:.1}, {:.1}, {:.1}) {:.1} km/h gear {} rpm {} spline {:.4}",
            c.car_id,
            c.position.x,
            c.position.y,
            c.position.z,
            c.speed_kmh(),
            gear(c.gear),
            c.engine_rpm,
            c.normalized_spline_pos
        ),
        Event::CarInfo(c) => format!(
            "car {} {} driver {} team {} guid {} car {} skin {}",
            c.car_id,
            if c.is_connected { "connected" } else { "not connected" },
            quoted(&c.driver_name),
            quoted(&c.driver_team),
            escape_controls(&c.driver_guid),
            escape_controls(&c.car_model),
            escape_controls(&c.car_skin)
        ),
        Event::EndSession(e) => format!("results {}", escape_controls(&e.filename)),
        Event::Version(v) => format!("protocol {}", v.protocol_version),
        Event::Chat(c) => format!("car {}: {}", c.car_id, escape_controls(&c.message)),
        Event::ClientLoaded(c) => format!("car {}", c.car_id),
        Event::Error(e) => escape_controls(&e.message).into_owned(),
        Event::LapCompleted(l) => {
            let board: Vec<String> = l
                .leaderboard
                .iter()
                .filter(|e| e.time != NO_TIME || e.laps > 0)
                .enumerate()
                .map(|(i, e)| {
                    let time = format_lap_time(time_from_wire(e.time));
                    format!("{}. car {} {time} ({} laps)", i + 1, e.car_id, e.laps)
                })
                .collect();
            format!(
                "car {} {}{} grip {:.3} | {}",
                l.car_id,
                format_lap_time(time_from_wire(l.lap_time)),
                if l.cuts > 0 { format!(" ({} cuts)", l.cuts) } else { String::new() },
                l.grip_level,
                board.join(", ")
            )
        }
        Event::CollisionWithCar(c) => format!(
            "car {} hit car {} at {:.1} km/h at ({:.1}, {:.1}, {:.1})",
            c.car_id,
            c.other_car_id,
            c.impact_speed * 3.6,
            c.world_position.x,
            c.world_position.y,
            c.world_position.z
        ),
        Event::CollisionWithEnv(c) => format!(
            "car {} hit the environment at {:.1} km/h at ({:.1}, {:.1}, {:.1})",
            c.car_id,
            c.impact_speed * 3.6,
            c.world_position.x,
            c.world_position.y,
            c.world_position.z
        ),
    };
    format!("{:<18} {body}", event.name())
}

/// AC's gear convention: 0 = R, 1 = N, 2 = 1st.
fn gear(g: u8) -> String {
    match g {
        0 => "R".to_owned(),
        1 => "N".to_owned(),
        g => (g - 1).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times read like a timing screen, and the leaderboard's "no time" as `-`.
    #[test]
    fn lap_completed_reads_like_a_timing_screen() {
        let e = Event::LapCompleted(acsp::LapCompleted {
            car_id: 3,
            lap_time: 80_902,
            cuts: 1,
            leaderboard: vec![
                acsp::LeaderboardEntry { car_id: 5, time: 5_004, laps: 2, has_completed: None },
                acsp::LeaderboardEntry { car_id: 3, time: NO_TIME, laps: 1, has_completed: None },
                acsp::LeaderboardEntry { car_id: 9, time: NO_TIME, laps: 0, has_completed: None },
            ],
            grip_level: 0.98,
        });
        assert_eq!(
            human(&e),
            format!(
                "{:<18} car 3 1:20.902 (1 cuts) grip 0.980 | 1. car 5 0:05.004 (2 laps), 2. car 3 - (1 laps)",
                "lap_completed"
            )
        );
    }

    #[test]
    fn gears_follow_ac_convention() {
        assert_eq!(gear(0), "R");
        assert_eq!(gear(1), "N");
        assert_eq!(gear(2), "1");
        assert_eq!(gear(7), "6");
    }

    #[test]
    fn every_line_starts_with_the_type_name() {
        let e = Event::Chat(acsp::Chat { car_id: 3, message: "gg è".into() });
        assert_eq!(human(&e), format!("{:<18} car 3: gg è", "chat"));
    }

    /// Every string of every event is escaped: none can put a control character (an escape
    /// sequence) on the terminal.
    #[test]
    fn no_string_from_the_wire_reaches_the_terminal_raw() {
        let evil = "x\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{7f}\r\n";
        let connection = acsp::ConnectionInfo {
            driver_name: evil.into(),
            driver_guid: evil.into(),
            car_id: 1,
            car_model: evil.into(),
            car_skin: evil.into(),
        };
        let session = SessionInfo {
            protocol_version: 4,
            session_index: 0,
            current_session_index: 0,
            session_count: 1,
            server_name: evil.into(),
            track: evil.into(),
            track_config: evil.into(),
            name: evil.into(),
            session_type: acsp::SessionType::Practice,
            time: 10,
            laps: 0,
            wait_time: 0,
            ambient_temp: 20,
            road_temp: 25,
            weather_graphics: evil.into(),
            weather_encoding: acsp::StringWidth::Narrow,
            elapsed_ms: 0,
        };
        let events = [
            Event::NewConnection(connection.clone()),
            Event::ConnectionClosed(connection),
            Event::CarInfo(acsp::CarInfo {
                car_id: 1,
                is_connected: true,
                car_model: evil.into(),
                car_skin: evil.into(),
                driver_name: evil.into(),
                driver_team: evil.into(),
                driver_guid: evil.into(),
            }),
            Event::NewSession(session.clone()),
            Event::SessionInfo(session),
            Event::EndSession(acsp::EndSession { filename: evil.into() }),
            Event::Chat(acsp::Chat { car_id: 1, message: evil.into() }),
            Event::Error(acsp::ErrorMessage { message: evil.into() }),
        ];
        for e in &events {
            let line = human(e);
            assert!(!line.chars().any(char::is_control), "{}: {line:?}", e.name());
            assert!(line.contains("x\\u{1b}]0;owned\\u{7}"), "{}: {line}", e.name());
        }
    }
}
