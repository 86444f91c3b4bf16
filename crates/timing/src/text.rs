//! The timing board and the notices as text for a terminal, as `pitwall demo` prints them.
//!
//! Pure functions that return `String`s: printing them is the caller's business. Names, chat
//! lines and file names come from the wire (players and server admins type them) and can carry
//! terminal escape sequences, so every such string has its control characters escaped here.

use std::fmt::Write as _;

use text::escape_controls;

use crate::board::{Board, Gap, SessionState};
use crate::format::format_lap_time;
use crate::notice::Notice;

/// One notice as a line of text, without its line end: `  ⏱ car 3 Juan: 1:20.902`. A session's
/// start and end begin with an empty line (a `\n`), which sets them apart in a feed.
pub fn notice(notice: &Notice) -> String {
    match notice {
        Notice::SessionStarted(s) => format!(
            "\n▶ new session: {} ({}) at {}, {} min / {} laps",
            escape_controls(&s.name),
            s.session_type,
            escape_controls(&s.track),
            s.minutes,
            s.laps
        ),
        Notice::DriverJoined { car_id, driver, car_model, .. } => {
            format!("  + {} joins in car {car_id} ({})", escape_controls(driver), escape_controls(car_model))
        }
        Notice::DriverLeft { car_id, driver } => {
            format!("  - {} leaves car {car_id}", escape_controls(driver))
        }
        Notice::DriverTeam { car_id, driver, team } => {
            format!("    car {car_id}: {} drives for {}", escape_controls(driver), escape_controls(team))
        }
        Notice::LapCompleted { car_id, driver, lap_ms, cuts, .. } => {
            let cut = if *cuts > 0 { format!(" ({cuts} cuts: not counted)") } else { String::new() };
            format!("  ⏱ car {car_id} {}: {}{cut}", escape_controls(driver), format_lap_time(*lap_ms))
        }
        Notice::CarCollision { car_id, other_car_id, impact_kmh } => {
            format!("  ✖ car {car_id} and car {other_car_id} collide at {impact_kmh:.0} km/h")
        }
        Notice::WallCollision { car_id, impact_kmh } => {
            format!("  ✖ car {car_id} hits the wall at {impact_kmh:.0} km/h")
        }
        Notice::Chat { car_id, message, .. } => format!("  💬 car {car_id}: {}", escape_controls(message)),
        Notice::SessionEnded { results_file } => {
            format!("\n■ session over; the server wrote {}", escape_controls(results_file))
        }
        Notice::ServerError { message } => format!("  ! server error: {}", escape_controls(message)),
        Notice::ServerDown { silent_ms } => {
            format!("  ! the server is silent ({:.0} s): down?", *silent_ms as f64 / 1000.0)
        }
        Notice::ServerUp => "  ! the server is back".to_owned(),
    }
}

/// How wide a line of [`board`] may be, in columns: wide enough for the interval column.
pub const BOARD_COLUMNS: usize = NARROW + INTERVAL;

/// The widest a car's line gets without the interval column: with the `(left)` mark.
const NARROW: usize = 112;

/// The width the interval column adds.
const INTERVAL: usize = 10;

/// The board as lines of text, each ending in `\n`: an empty line, a heading for the session,
/// the column titles, then one line per car, leader first. Lines fit [`BOARD_COLUMNS`]; see
/// [`board_in`] for another width.
pub fn board(board: &Board) -> String {
    board_in(board, BOARD_COLUMNS)
}

/// The board as [`board`] writes it, for a terminal `columns` wide: the interval to the car
/// ahead (`int`) is shown only if it fits.
pub fn board_in(board: &Board, columns: usize) -> String {
    let with_interval = columns >= NARROW + INTERVAL;
    let mut o = String::new();
    let grip = board.grip.map_or_else(|| "-".to_owned(), |g| format!("{g:.3}"));
    match &board.session {
        Some(s) => {
            let _ = writeln!(
                o,
                "\n── {} · {} · {} · {} · grip {grip}",
                escape_controls(&s.name),
                s.session_type,
                escape_controls(&s.track),
                session_clock(s)
            );
        }
        None => {
            let _ = writeln!(o, "\n── no session announced yet · grip {grip}");
        }
    }
    if board.server_down {
        let _ = writeln!(o, "   (the server is silent: standings as it left them)");
    }
    let interval_title = if with_interval { format!(" {:>9}", "int") } else { String::new() };
    let _ = writeln!(
        o,
        "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>9}{interval_title} {:>6} {:>6} {:>3}",
        "pos", "car", "driver", "model", "laps", "last", "best", "gap", "km/h", "track", "inc"
    );
    for r in &board.rows {
        let interval = if with_interval { format!(" {:>9}", gap_text(r.interval)) } else { String::new() };
        let _ = writeln!(
            o,
            "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>9}{interval} {:>6.0} {:>5.0}% {:>3}{}",
            r.position,
            r.car_id,
            truncate(&escape_controls(&r.driver), 22),
            truncate(&escape_controls(&r.car_model), 18),
            r.laps,
            format_lap_time(r.last_lap_ms),
            format_lap_time(r.best_lap_ms),
            gap_text(r.gap),
            r.speed_kmh,
            r.spline * 100.0,
            r.collisions,
            match (r.finished, r.connected) {
                (true, true) => "  (finished)",
                (true, false) => "  (finished, left)",
                (false, true) => "",
                (false, false) => "  (left)",
            }
        );
    }
    o
}

/// Where the session is: the countdown of a race's wait, or the time run.
fn session_clock(s: &SessionState) -> String {
    if s.over {
        return "over".to_owned();
    }
    if s.elapsed_ms < 0 {
        return format!("start in {:.0} s", -(s.elapsed_ms as f64) / 1000.0);
    }
    let run = format!("{}:{:02}", s.elapsed_ms / 60_000, s.elapsed_ms / 1000 % 60);
    if s.laps > 0 { format!("{run} into {} laps", s.laps) } else { format!("{run} of {} min", s.minutes) }
}

/// The gap column: `leader`, `+0.500`, `+1 lap`, or `-` when there is none.
fn gap_text(gap: Option<Gap>) -> String {
    match gap {
        None => "-".to_owned(),
        Some(Gap::Leader) => "leader".to_owned(),
        Some(Gap::Time { ms }) => format!("+{}.{:03}", ms / 1000, ms % 1000),
        Some(Gap::Laps { laps: 1 }) => "+1 lap".to_owned(),
        Some(Gap::Laps { laps }) => format!("+{laps} laps"),
    }
}

/// The first `n` characters of `s`, so that a long name keeps its column.
fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use acsp::{
        ConnectionInfo, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType, StringWidth,
    };

    use super::*;
    use crate::TimingEngine;

    fn practice() -> Event {
        Event::NewSession(SessionInfo {
            protocol_version: 4,
            session_index: 0,
            current_session_index: 0,
            session_count: 3,
            server_name: "pitwall".into(),
            track: "ks_vallelunga".into(),
            track_config: String::new(),
            name: "Practice".into(),
            session_type: SessionType::Practice,
            time: 10,
            laps: 0,
            wait_time: 0,
            ambient_temp: 22,
            road_temp: 30,
            weather_graphics: "3_clear".into(),
            weather_encoding: StringWidth::Narrow,
            elapsed_ms: 0,
        })
    }

    fn join(car_id: u8, driver: &str) -> Event {
        Event::NewConnection(ConnectionInfo {
            driver_name: driver.into(),
            driver_guid: format!("guid-{car_id}"),
            car_id,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "00".into(),
        })
    }

    fn lap(car_id: u8, lap_time: u32, cuts: u8) -> Event {
        Event::LapCompleted(LapCompleted {
            car_id,
            lap_time,
            cuts,
            leaderboard: vec![LeaderboardEntry { car_id, time: lap_time, laps: 1, has_completed: None }],
            grip_level: 0.981,
        })
    }

    /// Two cars with a lap each, a minute and a half into practice; the second has left.
    fn engine() -> TimingEngine {
        let mut engine = TimingEngine::new();
        for (s, event) in [
            (0, practice()),
            (1, join(1, "Ayrton")),
            (2, join(2, "Käthe")),
            (80, lap(2, 80_902, 0)),
            (81, lap(1, 81_402, 0)),
            (
                85,
                Event::ConnectionClosed(ConnectionInfo {
                    driver_name: "Ayrton".into(),
                    driver_guid: "guid-1".into(),
                    car_id: 1,
                    car_model: "ks_mazda_mx5_cup".into(),
                    car_skin: "00".into(),
                }),
            ),
        ] {
            engine.handle(Duration::from_secs(s), &event);
        }
        engine
    }

    #[test]
    fn the_board_reads_like_a_timing_screen() {
        let text = board(&engine().board());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "── Practice · practice · ks_vallelunga · 1:25 of 10 min · grip 0.981");
        assert!(lines[2].starts_with("pos  car  driver"), "{text}");
        assert!(lines[3].starts_with("  1    2  Käthe "), "{text}");
        assert!(lines[3].contains(" 1:20.902 ") && lines[3].contains(" leader "), "{text}");
        assert!(lines[4].starts_with("  2    1  Ayrton "), "{text}");
        assert!(lines[4].contains(" +0.500 ") && lines[4].ends_with("(left)"), "{text}");
        assert_eq!(lines.len(), 5, "{text}");
    }

    #[test]
    fn notices_read_as_the_demo_always_printed_them() {
        let mut engine = TimingEngine::new();
        let started = engine.handle(Duration::ZERO, &practice());
        assert_eq!(
            notice(&started[0]),
            "\n▶ new session: Practice (practice) at ks_vallelunga, 10 min / 0 laps"
        );
        let joined = engine.handle(Duration::ZERO, &join(3, "Juan"));
        assert_eq!(notice(&joined[0]), "  + Juan joins in car 3 (ks_mazda_mx5_cup)");
        let cut = engine.handle(Duration::ZERO, &lap(3, 80_902, 2));
        assert_eq!(notice(&cut[0]), "  ⏱ car 3 Juan: 1:20.902 (2 cuts: not counted)");
        let clean = engine.handle(Duration::ZERO, &lap(3, 81_000, 0));
        assert_eq!(notice(&clean[0]), "  ⏱ car 3 Juan: 1:21.000");
    }

    /// Names are typed by players: none reaches the terminal with its control characters.
    #[test]
    fn names_from_the_wire_are_escaped() {
        let evil = "x\u{1b}[2J\u{9b}31m";
        let mut engine = TimingEngine::new();
        engine.handle(Duration::ZERO, &practice());
        let joined = engine.handle(Duration::ZERO, &join(1, evil));
        for line in [notice(&joined[0]), board(&engine.board())] {
            assert!(!line.replace('\n', "").chars().any(char::is_control), "{line:?}");
            assert!(line.contains("x\\u{1b}[2J"), "{line}");
        }
    }

    #[test]
    fn the_interval_column_is_shown_only_if_it_fits() {
        let b = engine().board();
        let wide = board_in(&b, 122);
        let narrow = board_in(&b, 80);
        let title = |t: &str| t.lines().nth(2).unwrap_or_default().to_owned();
        assert!(title(&wide).contains(" int "), "{wide}");
        assert!(!title(&narrow).contains(" int "), "{narrow}");
        // The second car is half a second off the first, both as gap and as interval.
        assert_eq!(wide.lines().nth(4).unwrap().matches(" +0.500 ").count(), 2, "{wide}");
        assert!(wide.lines().all(|l| l.chars().count() <= NARROW + INTERVAL), "{wide}");
        assert!(narrow.lines().all(|l| l.chars().count() <= NARROW), "{narrow}");
        assert_eq!(board(&b), wide);
    }

    #[test]
    fn gaps_read_in_seconds_or_laps() {
        assert_eq!(gap_text(Some(Gap::Laps { laps: 2 })), "+2 laps");
        assert_eq!(gap_text(Some(Gap::Laps { laps: 1 })), "+1 lap");
        assert_eq!(gap_text(Some(Gap::Time { ms: 61_005 })), "+61.005");
        assert_eq!(gap_text(None), "-");
    }
}
