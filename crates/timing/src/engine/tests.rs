//! The engine fed real events: each one is encoded to the datagram a server sends and decoded
//! back, as the client would, before the engine sees it.

use std::collections::BTreeMap;

use acsp::{
    Chat, CollisionWithCar, CollisionWithEnv, EndSession, LeaderboardEntry, NO_TIME, StringWidth, Vec3,
};

use super::*;
use crate::config::Stats;

fn session(name: &str, session_type: SessionType, index: u8) -> SessionInfo {
    SessionInfo {
        protocol_version: 4,
        session_index: index,
        current_session_index: index,
        session_count: 3,
        server_name: "pitwall test".into(),
        track: "ks_vallelunga".into(),
        track_config: "club_circuit".into(),
        name: name.into(),
        session_type,
        time: if session_type == SessionType::Race { 0 } else { 10 },
        laps: if session_type == SessionType::Race { 5 } else { 0 },
        wait_time: 40_000,
        ambient_temp: 22,
        road_temp: 30,
        weather_graphics: "3_clear".into(),
        weather_encoding: StringWidth::Narrow,
        elapsed_ms: 0,
    }
}

fn connection(car_id: u8, driver: &str) -> ConnectionInfo {
    ConnectionInfo {
        driver_name: driver.into(),
        driver_guid: format!("7656119800000{car_id:04}{}", driver.len()),
        car_id,
        car_model: "ks_mazda_mx5_cup".into(),
        car_skin: "00_red".into(),
    }
}

/// A server's side of the timing, as small as the tests need: it keeps each car's laps, best
/// lap without cuts and total time, and writes the leaderboard of every LAP_COMPLETED the way
/// the dedicated server does (best laps, or race totals; [`NO_TIME`] for none).
#[derive(Default)]
struct Server {
    race: bool,
    /// Per car: laps, best lap, total time.
    cars: BTreeMap<u8, (u16, Option<u32>, u32)>,
    /// The race is over: a car that completes a lap now has finished.
    flag: bool,
    finished: std::collections::BTreeSet<u8>,
}

impl Server {
    fn new_session(&mut self, session_type: SessionType) {
        self.race = session_type == SessionType::Race;
        self.cars.clear();
        (self.flag, self.finished) = (false, Default::default());
    }

    fn lap(&mut self, car_id: u8, lap_time: u32, cuts: u8) -> Event {
        if self.flag {
            self.finished.insert(car_id);
        }
        let (laps, best, total) = self.cars.entry(car_id).or_default();
        *laps += 1;
        *total += lap_time;
        if cuts == 0 && best.is_none_or(|b| lap_time < b) {
            *best = Some(lap_time);
        }
        let leaderboard = self
            .cars
            .iter()
            .map(|(&car_id, &(laps, best, total))| LeaderboardEntry {
                car_id,
                time: if self.race { total } else { best.unwrap_or(NO_TIME) },
                laps,
                has_completed: Some(self.finished.contains(&car_id)),
            })
            .collect();
        Event::LapCompleted(LapCompleted { car_id, lap_time, cuts, leaderboard, grip_level: 0.98 })
    }
}

/// The engine, a server keeping the leaderboard, and a clock that moves a second per event.
struct Feed {
    engine: TimingEngine,
    server: Server,
    now: Duration,
}

impl Feed {
    fn new() -> Self {
        Feed { engine: TimingEngine::new(), server: Server::default(), now: Duration::ZERO }
    }

    /// Sends `event` through the wire and into the engine, a second after the last.
    fn send(&mut self, event: Event) -> Vec<Notice> {
        self.send_at(self.now + Duration::from_secs(1), event)
    }

    /// Sends `event` through the wire and into the engine at `now`.
    fn send_at(&mut self, now: Duration, event: Event) -> Vec<Notice> {
        let mut datagram = Vec::new();
        acsp::encode_event(&event, &mut datagram).unwrap();
        let decoded = acsp::decode(&datagram).unwrap();
        // Bit for bit: a NaN is not equal to itself.
        assert_eq!(format!("{decoded:?}"), format!("{event:?}"), "the datagram decodes to the event sent");
        self.now = now;
        self.engine.handle(self.now, &decoded)
    }

    /// Drives car `car_id` from `x0` at `t0_ms` to `x1` at `t1_ms` at a steady pace, a car update
    /// every 100 ms (after the one at `t0_ms`), at `kmh`. Positions are in laps from any lap's
    /// start: 0.9 to 1.1 crosses the line.
    fn drive(&mut self, car_id: u8, (t0_ms, x0): (u64, f64), (t1_ms, x1): (u64, f64), kmh: f32) {
        let n = (t1_ms - t0_ms) / 100;
        for i in 1..=n {
            let x = x0 + (x1 - x0) * i as f64 / n as f64;
            self.send_at(Duration::from_millis(t0_ms + i * 100), update(car_id, x.fract() as f32, kmh));
        }
    }

    fn session(&mut self, name: &str, session_type: SessionType, index: u8) -> Vec<Notice> {
        self.server.new_session(session_type);
        self.send(Event::NewSession(session(name, session_type, index)))
    }

    fn join(&mut self, car_id: u8, driver: &str) -> Vec<Notice> {
        self.send(Event::NewConnection(connection(car_id, driver)))
    }

    fn leave(&mut self, car_id: u8, driver: &str) -> Vec<Notice> {
        self.send(Event::ConnectionClosed(connection(car_id, driver)))
    }

    fn lap(&mut self, car_id: u8, lap_time: u32) -> Vec<Notice> {
        self.lap_with_cuts(car_id, lap_time, 0)
    }

    fn lap_with_cuts(&mut self, car_id: u8, lap_time: u32, cuts: u8) -> Vec<Notice> {
        let event = self.server.lap(car_id, lap_time, cuts);
        self.send(event)
    }

    /// The standings as (car id, laps, best lap) rows.
    fn standings(&self) -> Vec<(u8, u16, Option<u32>)> {
        self.engine.board().rows.iter().map(|r| (r.car_id, r.laps, r.best_lap_ms)).collect()
    }

    fn gaps(&self) -> Vec<Option<Gap>> {
        self.engine.board().rows.iter().map(|r| r.gap).collect()
    }
}

/// A grid of four in a session of `session_type`.
fn grid(session_type: SessionType) -> Feed {
    let mut feed = Feed::new();
    feed.session("Session", session_type, 0);
    for (id, name) in [(1, "Ayrton"), (2, "Käthe"), (3, "Juan"), (4, "Mika")] {
        feed.join(id, name);
    }
    feed
}

#[test]
fn practice_and_qualifying_are_ordered_by_best_lap() {
    for session_type in [SessionType::Practice, SessionType::Qualify] {
        let mut feed = grid(session_type);
        feed.lap(1, 82_000);
        feed.lap(1, 81_000);
        feed.lap(2, 80_500);
        // More laps do not make up for a slower best lap.
        for _ in 0..3 {
            feed.lap(3, 83_000);
        }
        assert_eq!(
            feed.standings(),
            [(2, 1, Some(80_500)), (1, 2, Some(81_000)), (3, 3, Some(83_000)), (4, 0, None)],
            "{session_type}"
        );
        assert_eq!(
            feed.gaps(),
            [Some(Gap::Leader), Some(Gap::Time { ms: 500 }), Some(Gap::Time { ms: 2_500 }), None],
        );
        let positions: Vec<usize> = feed.engine.board().rows.iter().map(|r| r.position).collect();
        assert_eq!(positions, [1, 2, 3, 4]);
    }
}

#[test]
fn equal_best_laps_are_ordered_by_who_set_theirs_first() {
    let mut feed = grid(SessionType::Qualify);
    feed.lap(3, 81_000);
    feed.lap(1, 81_000);
    assert_eq!(feed.standings()[..2], [(3, 1, Some(81_000)), (1, 1, Some(81_000))]);
    assert_eq!(feed.gaps()[1], Some(Gap::Time { ms: 0 }));
}

#[test]
fn a_race_is_ordered_by_laps_then_total_time() {
    let mut feed = grid(SessionType::Race);
    // Car 2 sets the fastest lap but completes fewer laps; car 3 is ahead of car 1 on time.
    feed.lap(1, 90_000);
    feed.lap(3, 88_000);
    feed.lap(2, 79_000);
    feed.lap(1, 85_000);
    feed.lap(3, 86_000);
    let board = feed.engine.board();
    let order: Vec<(u8, u16, Option<u32>)> =
        board.rows.iter().map(|r| (r.car_id, r.laps, r.total_ms)).collect();
    assert_eq!(order, [(3, 2, Some(174_000)), (1, 2, Some(175_000)), (2, 1, Some(79_000)), (4, 0, None)]);
    assert_eq!(
        feed.gaps(),
        [
            Some(Gap::Leader),
            Some(Gap::Time { ms: 1_000 }),
            Some(Gap::Laps { laps: 1 }),
            Some(Gap::Laps { laps: 2 })
        ]
    );
    // Best laps are still kept in a race, whose leaderboard carries only totals.
    assert_eq!(board.row(2).and_then(|r| r.best_lap_ms), Some(79_000));
    assert_eq!(board.row(1).and_then(|r| r.best_lap_ms), Some(85_000));
    assert!(board.session.as_ref().is_some_and(SessionState::is_race));
}

#[test]
fn finished_cars_come_first_and_their_cool_down_laps_do_not_reorder_them() {
    let mut feed = grid(SessionType::Race);
    for (car, lap) in [(1, 90_000), (3, 91_000), (2, 95_000), (1, 90_000)] {
        feed.lap(car, lap);
    }
    // Car 1 has done the race's laps: the flag is out, and each car's next crossing ends its race.
    feed.server.flag = true;
    feed.lap(1, 90_000);
    feed.lap(3, 92_000);
    feed.lap(3, 92_000);
    // On the cool-down lap car 3 has gone round nearly a lap, car 1 has just left the line;
    // car 2, still racing, is further along its lap than either.
    let t = feed.now.as_millis() as u64;
    feed.drive(3, (t, 0.0), (t + 2_000, 0.9), 120.0);
    feed.drive(1, (t + 2_000, 0.0), (t + 2_200, 0.05), 40.0);
    feed.drive(2, (t + 2_200, 0.5), (t + 2_400, 0.95), 200.0);
    let board = feed.engine.board();
    let order: Vec<(u8, u16, bool)> = board.rows.iter().map(|r| (r.car_id, r.laps, r.finished)).collect();
    assert_eq!(order, [(1, 3, true), (3, 3, true), (2, 1, false), (4, 0, false)]);
    // Gaps of finished cars are those at the flag: totals 270.000 and 275.000.
    assert_eq!(board.rows[1].gap, Some(Gap::Time { ms: 5_000 }));
    assert_eq!(board.rows[1].interval, Some(Gap::Time { ms: 5_000 }));
    assert!(timing_text(&board).contains("(finished)"));
}

fn timing_text(board: &Board) -> String {
    crate::text::board(board)
}

#[test]
fn gaps_from_the_grid_are_the_time_between_the_cars() {
    let mut feed = grid(SessionType::Race);
    // On the grid, behind the line and standing: car 1 at 0.98, car 2 behind it at 0.97.
    for i in 0..10 {
        let t = Duration::from_millis(10_000 + i * 100);
        feed.send_at(t, update(1, 0.98, 0.0));
        feed.send_at(t, update(2, 0.97, 0.0));
    }
    // The start: both at the same pace, car 2 a hundredth of a lap (1 s) behind; over the line
    // (which starts lap 1, no lap completed) and half a lap on.
    for i in 0..=500u64 {
        let t = Duration::from_millis(20_000 + i * 100);
        let x = i as f64 / 1000.0;
        feed.send_at(t, update(1, (0.98 + x).fract() as f32, 150.0));
        feed.send_at(t, update(2, (0.97 + x).fract() as f32, 150.0));
        if i == 25 {
            // Car 1 is over the line, car 2 still behind it: car 1 leads.
            let order: Vec<u8> = feed.engine.board().rows.iter().take(2).map(|r| r.car_id).collect();
            assert_eq!(order, [1, 2], "the car over the line is ahead of the one behind it");
        }
    }
    let board = feed.engine.board();
    let order: Vec<u8> = board.rows.iter().take(2).map(|r| r.car_id).collect();
    assert_eq!(order, [1, 2]);
    let Some(Gap::Time { ms }) = board.row(2).and_then(|r| r.gap) else {
        panic!("a time gap from the grid: {:?}", board.row(2))
    };
    assert!((900..=1_100).contains(&ms), "car 2 runs a second behind: {ms} ms");
    assert_eq!(board.row(1).map(|r| r.laps), Some(0), "crossing from the grid completes no lap");
}

#[test]
fn the_average_lap_leaves_out_laps_with_cuts() {
    let mut feed = grid(SessionType::Practice);
    feed.lap(1, 90_000);
    feed.lap_with_cuts(1, 80_000, 2);
    feed.lap(1, 88_001);
    assert_eq!(feed.engine.board().row(1).and_then(|r| r.average_lap_ms), Some(89_000));
    assert_eq!(feed.engine.board().row(2).and_then(|r| r.average_lap_ms), None);
}

#[test]
fn a_lap_with_cuts_is_timed_but_does_not_count_as_best() {
    let mut feed = grid(SessionType::Practice);
    let notices = feed.lap_with_cuts(1, 78_000, 2);
    assert_eq!(
        notices,
        [Notice::LapCompleted {
            car_id: 1,
            driver: "Ayrton".into(),
            lap_ms: Some(78_000),
            cuts: 2,
            counted: false,
            personal_best: false,
            laps: 1,
        }]
    );
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!((row.laps, row.last_lap_ms, row.best_lap_ms), (1, Some(78_000), None));

    // A slower clean lap is the best; a faster lap elsewhere beats it, the cut lap does not.
    let notices = feed.lap(1, 82_000);
    assert!(matches!(notices[..], [Notice::LapCompleted { counted: true, personal_best: true, .. }]));
    feed.lap(2, 81_000);
    assert_eq!(feed.standings()[..2], [(2, 1, Some(81_000)), (1, 2, Some(82_000))]);

    // A later cut lap faster than the best changes nothing either.
    feed.lap_with_cuts(1, 75_000, 1);
    assert_eq!(feed.standings()[..2], [(2, 1, Some(81_000)), (1, 3, Some(82_000))]);
}

#[test]
fn a_driver_who_leaves_keeps_the_cars_laps_and_finds_them_on_rejoining() {
    let mut feed = grid(SessionType::Practice);
    feed.lap(2, 80_000);
    feed.lap(2, 79_500);
    feed.lap(1, 81_000);

    assert_eq!(feed.leave(2, "Käthe"), [Notice::DriverLeft { car_id: 2, driver: "Käthe".into() }]);
    // Car 4 leaves before completing a lap: it has no place in the standings any more.
    feed.leave(4, "Mika");
    let board = feed.engine.board();
    let rows: Vec<(u8, bool, u16)> = board.rows.iter().map(|r| (r.car_id, r.connected, r.laps)).collect();
    assert_eq!(rows, [(2, false, 2), (1, true, 1), (3, true, 0)]);

    let notices = feed.join(2, "Käthe");
    assert_eq!(
        notices,
        [Notice::DriverJoined {
            car_id: 2,
            driver: "Käthe".into(),
            car_model: "ks_mazda_mx5_cup".into(),
            rejoined: true,
        }]
    );
    let board = feed.engine.board();
    let row = board.row(2).unwrap();
    assert_eq!((row.position, row.connected, row.laps, row.best_lap_ms), (1, true, 2, Some(79_500)));

    // Her next lap counts on from there.
    feed.lap(2, 80_100);
    assert_eq!(feed.standings()[0], (2, 3, Some(79_500)));
}

#[test]
fn a_different_driver_in_a_car_starts_from_nothing() {
    let mut feed = grid(SessionType::Practice);
    feed.lap(3, 80_000);
    feed.leave(3, "Juan");
    let notices = feed.join(3, "Sofía");
    assert!(matches!(&notices[..], [Notice::DriverJoined { rejoined: false, .. }]));
    let board = feed.engine.board();
    let row = board.row(3).unwrap();
    assert_eq!((row.driver.as_str(), row.laps, row.best_lap_ms), ("Sofía", 0, None));
}

#[test]
fn a_new_session_resets_laps_times_and_collisions() {
    let mut feed = grid(SessionType::Practice);
    feed.lap(1, 80_000);
    feed.lap(2, 81_000);
    feed.send(Event::CollisionWithEnv(CollisionWithEnv {
        car_id: 1,
        impact_speed: 10.0,
        world_position: Vec3::default(),
        relative_position: Vec3::default(),
    }));
    // Car 2's driver leaves with a lap to its name: gone with the session.
    feed.leave(2, "Käthe");
    feed.send(Event::EndSession(EndSession { filename: "results/practice.json".into() }));
    assert!(feed.engine.board().session.is_some_and(|s| s.over));

    let notices = feed.session("Qualify", SessionType::Qualify, 1);
    let [Notice::SessionStarted(s)] = &notices[..] else { panic!("{notices:?}") };
    assert_eq!(
        (s.name.as_str(), s.session_type, s.index, s.over),
        ("Qualify", SessionType::Qualify, 1, false)
    );

    let board = feed.engine.board();
    let ids: Vec<u8> = board.rows.iter().map(|r| r.car_id).collect();
    assert_eq!(ids, [1, 3, 4]);
    for r in &board.rows {
        assert_eq!(
            (r.laps, r.last_lap_ms, r.best_lap_ms, r.total_ms, r.collisions),
            (0, None, None, None, 0)
        );
        assert_eq!(r.gap, None, "nobody leads before a lap");
    }
    assert_eq!(board.session.map(|s| s.name), Some("Qualify".to_owned()));

    // The new session's laps count from one.
    assert!(matches!(feed.lap(4, 82_000)[..], [Notice::LapCompleted { laps: 1, personal_best: true, .. }]));
}

#[test]
fn a_missed_new_session_is_found_by_the_session_info_index() {
    let mut feed = grid(SessionType::Practice);
    feed.lap(1, 80_000);
    // An answer about another session changes nothing.
    let mut other = session("Race", SessionType::Race, 2);
    other.current_session_index = 0;
    assert!(feed.send(Event::SessionInfo(other)).is_empty());
    assert_eq!(feed.standings()[0], (1, 1, Some(80_000)));

    feed.server.new_session(SessionType::Qualify);
    let notices = feed.send(Event::SessionInfo(session("Qualify", SessionType::Qualify, 1)));
    assert!(matches!(&notices[..], [Notice::SessionStarted(s)] if s.name == "Qualify"));
    assert_eq!(feed.standings()[0], (1, 0, None));
}

#[test]
fn the_servers_leaderboard_fills_in_laps_the_engine_missed() {
    // The engine starts listening mid-session: car 2 has five laps it never saw. The engine
    // asks what session runs, and takes no lap before it knows.
    let mut feed = Feed::new();
    feed.join(1, "Ayrton");
    let tick = feed.engine.tick(feed.now);
    assert!(tick.commands.contains(&Command::GetSessionInfo { session_index: -1 }), "{tick:?}");
    feed.send(Event::SessionInfo(session("Practice", SessionType::Practice, 0)));
    let event = Event::LapCompleted(LapCompleted {
        car_id: 1,
        lap_time: 81_000,
        cuts: 0,
        leaderboard: vec![
            LeaderboardEntry { car_id: 2, time: 79_000, laps: 5, has_completed: None },
            LeaderboardEntry { car_id: 1, time: 81_000, laps: 1, has_completed: None },
            LeaderboardEntry { car_id: 7, time: NO_TIME, laps: 0, has_completed: None },
        ],
        grip_level: 0.99,
    });
    feed.send(event);
    // Car 7 is an empty slot: no driver, no laps, no row.
    assert_eq!(feed.standings(), [(2, 5, Some(79_000)), (1, 1, Some(81_000))]);
    assert_eq!(feed.engine.board().grip, Some(0.99));
}

#[test]
fn the_session_clock_runs_on_the_callers_clock() {
    let mut engine = TimingEngine::new();
    let mut race = session("Race", SessionType::Race, 2);
    race.elapsed_ms = -40_000;
    engine.handle(Duration::from_secs(100), &Event::NewSession(race));
    let board = engine.board();
    assert_eq!((board.at, board.session.map(|s| s.elapsed_ms)), (Duration::from_secs(100), Some(-40_000)));

    engine.handle(Duration::from_millis(145_500), &Event::Chat(Chat { car_id: 9, message: "go".into() }));
    let board = engine.board();
    assert_eq!(
        (board.at, board.session.map(|s| s.elapsed_ms)),
        (Duration::from_millis(145_500), Some(5_500))
    );
}

#[test]
fn collisions_chat_and_teams_name_the_cars() {
    let mut feed = grid(SessionType::Race);
    let notices = feed.send(Event::CollisionWithCar(CollisionWithCar {
        car_id: 1,
        other_car_id: 3,
        impact_speed: 10.0,
        world_position: Vec3::default(),
        relative_position: Vec3::default(),
    }));
    assert!(
        matches!(notices[..], [Notice::CarCollision { car_id: 1, other_car_id: 3, impact_kmh }] if impact_kmh == 36.0)
    );
    let board = feed.engine.board();
    assert_eq!((board.row(1).unwrap().collisions, board.row(3).unwrap().collisions), (1, 1));

    let notices = feed.send(Event::Chat(Chat { car_id: 2, message: "sorry".into() }));
    assert_eq!(notices, [Notice::Chat { car_id: 2, driver: "Käthe".into(), message: "sorry".into() }]);

    let info = |team: &str| CarInfo {
        car_id: 3,
        is_connected: true,
        car_model: "ks_mazda_mx5_cup".into(),
        car_skin: "00_red".into(),
        driver_name: "Juan".into(),
        driver_guid: "1".into(),
        driver_team: team.into(),
    };
    assert!(feed.send(Event::CarInfo(info(""))).is_empty());
    let notices = feed.send(Event::CarInfo(info("Scuderia Test")));
    assert_eq!(
        notices,
        [Notice::DriverTeam { car_id: 3, driver: "Juan".into(), team: "Scuderia Test".into() }]
    );
    assert_eq!(feed.engine.board().row(3).unwrap().team, "Scuderia Test");
}

/// The server answers CAR_INFO for a driver still loading with `is_connected` false; an empty
/// slot has no driver. Only the second is a car without a driver.
#[test]
fn car_info_of_a_driver_still_loading_is_no_disconnection() {
    let mut feed = grid(SessionType::Practice);
    let info = |car_id: u8, driver: &str, is_connected: bool| {
        Event::CarInfo(CarInfo {
            car_id,
            is_connected,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "00_red".into(),
            driver_name: driver.into(),
            driver_guid: String::new(),
            driver_team: String::new(),
        })
    };
    feed.send(info(2, "Käthe", false));
    feed.send(info(4, "", false));
    // A car the engine missed the join of.
    feed.send(info(6, "Niki", true));
    feed.session("Qualify", SessionType::Qualify, 1);
    let board = feed.engine.board();
    let rows: Vec<(u8, &str, bool)> =
        board.rows.iter().map(|r| (r.car_id, r.driver.as_str(), r.connected)).collect();
    assert_eq!(rows, [(1, "Ayrton", true), (2, "Käthe", true), (3, "Juan", true), (6, "Niki", true)]);
}

#[test]
fn car_updates_move_the_car_and_say_nothing() {
    let mut feed = grid(SessionType::Practice);
    let notices = feed.send(Event::CarUpdate(CarUpdate {
        car_id: 2,
        position: Vec3::new(1.0, 2.0, 3.0),
        velocity: Vec3::new(30.0, 0.0, 40.0),
        gear: 4,
        engine_rpm: 7000,
        normalized_spline_pos: 0.25,
    }));
    assert!(notices.is_empty());
    let board = feed.engine.board();
    let row = board.row(2).unwrap();
    assert_eq!((row.spline, row.speed_kmh.round()), (0.25, 180.0));
}

/// The JSON form is what `pitwall demo --json` prints and its test reads.
#[test]
fn the_board_and_notices_serialize_with_stable_keys() {
    let mut feed = grid(SessionType::Practice);
    let notices = feed.lap(1, 80_902);
    let notice = serde_json::to_value(&notices[0]).unwrap();
    assert_eq!(notice["type"], "lap_completed");
    assert_eq!(notice["lap_ms"], 80_902);
    let joined = serde_json::to_value(&feed.join(5, "Niki")[0]).unwrap();
    assert_eq!((joined["type"].as_str(), joined["driver"].as_str()), (Some("driver_joined"), Some("Niki")));

    let board = serde_json::to_value(feed.engine.board()).unwrap();
    assert_eq!(board["at_ms"], 7_000);
    assert_eq!(board["session"]["session_type"], "practice");
    assert_eq!(board["rows"][0]["position"], 1);
    assert_eq!(board["rows"][0]["best_lap_ms"], 80_902);
    assert_eq!(board["rows"][0]["gap"], serde_json::json!({ "kind": "leader" }));
    assert_eq!(board["rows"][1]["gap"], serde_json::Value::Null);
    let started =
        serde_json::to_value(Notice::SessionStarted(session_state(&session("P", SessionType::Practice, 0))))
            .unwrap();
    assert_eq!((started["type"].as_str(), started["name"].as_str()), (Some("session_started"), Some("P")));
}

/// A car update of car `car_id` at `spline`, driving at `kmh` (level, along x).
fn update(car_id: u8, spline: f32, kmh: f32) -> Event {
    Event::CarUpdate(CarUpdate {
        car_id,
        position: Vec3::default(),
        velocity: Vec3::new(kmh / 3.6, 0.0, 0.0),
        gear: 4,
        engine_rpm: 6000,
        normalized_spline_pos: spline,
    })
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Whether `gap` is a time within a millisecond or two of `ms` (interpolated between updates).
fn about(gap: Option<Gap>, ms: u32) -> bool {
    matches!(gap, Some(Gap::Time { ms: g }) if g.abs_diff(ms) <= 2)
}

/// Three cars on a 20 s lap: car 1 leads, car 2 follows three seconds behind, car 3 stops on
/// its first lap. Gaps and intervals move with every car update, between the laps.
#[test]
fn race_gaps_and_intervals_are_live_from_the_timing_points() {
    let mut feed = grid(SessionType::Race);
    feed.leave(4, "Mika");
    let t = feed.now.as_millis() as u64 + 1_000;
    // On the grid, all at 0.99; then car 1 gets away, car 2 three seconds later, car 3 stops at
    // 0.1. Each car's pace is 0.05 lap per second; updates interleave, as from a server.
    for id in [1, 2, 3] {
        feed.send_at(ms(t), update(id, 0.99, 0.0));
    }
    for step in 1..=250u64 {
        let now = t + step * 100;
        let x1 = -0.01 + step as f64 * 0.005;
        let x2 = -0.01 + step.saturating_sub(30) as f64 * 0.005;
        let x3 = -0.01 + step.min(22) as f64 * 0.005;
        for (id, x, kmh) in [(1, x1, 180.0), (2, x2, 180.0), (3, x3, if step > 22 { 0.0 } else { 180.0 })] {
            feed.send_at(ms(now), update(id, x.rem_euclid(1.0) as f32, kmh));
            // Car 1's LAP_COMPLETED comes after its line crossing (step 202); car 2's a little
            // before its own (step 232).
            if (id, step) == (1, 204) || (id, step) == (2, 231) {
                let event = feed.server.lap(id, 20_000, 0);
                feed.send_at(ms(now), event);
            }
        }
        if step == 150 {
            // Car 2 passed each point 3 s after car 1. Car 3 passed point 10 with car 1, but
            // car 1 passed point 11 12.6 s ago and car 2 9.6 s ago: the gaps grow while it stands.
            let board = feed.engine.board();
            let ids: Vec<u8> = board.rows.iter().map(|r| r.car_id).collect();
            assert_eq!(ids, [1, 2, 3]);
            let [r1, r2, r3] = &board.rows[..] else { unreachable!() };
            assert_eq!((r1.gap, r1.interval), (Some(Gap::Leader), None));
            assert_eq!((r2.gap, r2.interval), (Some(Gap::Time { ms: 3_000 }), Some(Gap::Time { ms: 3_000 })));
            assert!(about(r3.gap, 12_600) && about(r3.interval, 9_600), "{r3:?}");
        }
    }
    // Car 1 is at 1.24 of the race, car 2 at 1.09, car 3 still at 0.1: a lap down to the leader,
    // less than one to car 2.
    let board = feed.engine.board();
    let ids: Vec<(u8, u16)> = board.rows.iter().map(|r| (r.car_id, r.laps)).collect();
    assert_eq!(ids, [(1, 1), (2, 1), (3, 0)]);
    let [_, r2, r3] = &board.rows[..] else { unreachable!() };
    assert_eq!((r2.gap, r2.interval), (Some(Gap::Time { ms: 3_000 }), Some(Gap::Time { ms: 3_000 })));
    assert_eq!(r3.gap, Some(Gap::Laps { laps: 1 }));
    assert!(about(r3.interval, 19_600), "{r3:?}");
    assert_eq!(feed.engine.stats(), Stats { events: feed.engine.stats().events, ..Stats::default() });
}

/// The grid of [`grid`], timed with `config`.
fn grid_with(config: TimingConfig, session_type: SessionType) -> Feed {
    let mut feed = Feed::new();
    feed.engine = TimingEngine::with_config(config);
    feed.session("Session", session_type, 0);
    for (id, name) in [(1, "Ayrton"), (2, "Käthe"), (3, "Juan"), (4, "Mika")] {
        feed.join(id, name);
    }
    feed
}

#[test]
fn sectors_theoretical_best_and_top_speed_come_with_every_lap() {
    // Sectors from the config of this layout: a quarter, a quarter, a half.
    let mut config = TimingConfig::default();
    config.sectors.insert("ks_vallelunga".into(), vec![0.5]);
    config.sectors.insert("ks_vallelunga/club_circuit".into(), vec![0.5, 0.25]);
    let mut feed = grid_with(config, SessionType::Practice);
    assert_eq!(feed.engine.board().sectors, [0.25, 0.5]);
    let t = feed.now.as_millis() as u64 + 1_000;

    // Seen first at 0.9: the lap that ends at the line has no sectors.
    feed.send_at(ms(t), update(1, 0.9, 100.0));
    feed.drive(1, (t, 0.9), (t + 2_000, 1.0), 100.0);
    let lap = feed.server.lap(1, 30_000, 0);
    feed.send(lap);
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!(row.last_sectors_ms, [None, None, None]);
    assert_eq!((row.theoretical_best_ms, row.last_lap_top_kmh.map(f32::round)), (None, Some(100.0)));

    // A clean lap: 5 s, 6 s, 10 s; its LAP_COMPLETED after the line.
    feed.drive(1, (t + 2_000, 0.0), (t + 7_000, 0.25), 150.0);
    feed.drive(1, (t + 7_000, 0.25), (t + 13_000, 0.5), 150.0);
    feed.drive(1, (t + 13_000, 0.5), (t + 23_000, 1.0), 120.0);
    let lap = feed.server.lap(1, 21_000, 0);
    feed.send_at(ms(t + 23_010), lap);
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!(row.last_sectors_ms, [Some(5_000), Some(6_000), Some(10_000)]);
    assert_eq!(row.best_sectors_ms, row.last_sectors_ms);
    assert_eq!(row.theoretical_best_ms, Some(21_000));
    assert_eq!(
        (row.last_lap_top_kmh.map(f32::round), row.best_lap_top_kmh.map(f32::round)),
        (Some(150.0), Some(150.0))
    );

    // A lap with a cut, faster in the first sector: timed, but not best; its LAP_COMPLETED
    // comes just before the car update that crosses the line.
    feed.drive(1, (t + 23_000, 0.0), (t + 27_000, 0.25), 200.0);
    feed.drive(1, (t + 27_000, 0.25), (t + 34_000, 0.5), 140.0);
    feed.drive(1, (t + 34_000, 0.5), (t + 43_800, 0.99), 140.0);
    let lap = feed.server.lap(1, 21_000, 1);
    feed.send_at(ms(t + 43_800), lap);
    feed.drive(1, (t + 43_800, 0.99), (t + 44_000, 1.0), 140.0);
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!(row.last_sectors_ms, [Some(4_000), Some(7_000), Some(10_000)]);
    assert_eq!(row.best_sectors_ms, [Some(5_000), Some(6_000), Some(10_000)]);
    assert_eq!(row.theoretical_best_ms, Some(21_000));
    assert_eq!(
        (row.last_lap_top_kmh.map(f32::round), row.best_lap_top_kmh.map(f32::round)),
        (Some(200.0), Some(150.0))
    );

    // A clean lap of 4 s, 7 s, 9 s: the theoretical best takes the best of each.
    feed.drive(1, (t + 44_000, 0.0), (t + 48_000, 0.25), 200.0);
    feed.drive(1, (t + 48_000, 0.25), (t + 55_000, 0.5), 140.0);
    feed.drive(1, (t + 55_000, 0.5), (t + 64_000, 1.0), 140.0);
    let lap = feed.server.lap(1, 20_000, 0);
    feed.send_at(ms(t + 64_000), lap);
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!(row.best_sectors_ms, [Some(4_000), Some(6_000), Some(9_000)]);
    assert_eq!(row.theoretical_best_ms, Some(19_000));

    // Another track falls back to thirds.
    feed.send(Event::NewSession(SessionInfo {
        track: "monza".into(),
        ..session("Q", SessionType::Qualify, 1)
    }));
    let board = feed.engine.board();
    assert_eq!(board.sectors, [1.0 / 3.0, 2.0 / 3.0]);
    assert_eq!(board.row(1).unwrap().best_sectors_ms, [None, None, None]);
}

#[test]
fn out_and_in_laps_are_told_by_standstills() {
    let mut feed = grid(SessionType::Practice);
    let t = feed.now.as_millis() as u64 + 1_000;
    // In the pit box at 0.95, then out and across the line: an out lap.
    for i in 0..5 {
        feed.send_at(ms(t + i * 100), update(2, 0.95, 0.0));
    }
    feed.drive(2, (t + 400, 0.95), (t + 2_400, 1.0), 80.0);
    let lap = feed.server.lap(2, 95_000, 0);
    feed.send(lap);
    let row = |feed: &Feed| {
        let board = feed.engine.board();
        let r = board.row(2).unwrap();
        (r.last_lap_out, r.last_lap_in)
    };
    assert_eq!(row(&feed), (true, false));

    // A flying lap.
    let t = feed.now.as_millis() as u64;
    feed.drive(2, (t, 0.0), (t + 20_000, 1.0), 200.0);
    let lap = feed.server.lap(2, 20_000, 0);
    feed.send_at(ms(t + 20_000), lap);
    assert_eq!(row(&feed), (false, false));

    // Into the pit lane across the line, and stopped in the box at 4 % of the next lap: the lap
    // just completed was an in lap.
    let t = t + 20_000;
    feed.drive(2, (t, 0.0), (t + 20_000, 1.0), 200.0);
    let lap = feed.server.lap(2, 20_000, 0);
    feed.send_at(ms(t + 20_000), lap);
    feed.drive(2, (t + 20_000, 0.0), (t + 22_000, 0.04), 60.0);
    assert_eq!(row(&feed), (false, false));
    feed.send_at(ms(t + 22_100), update(2, 0.04, 0.0));
    assert_eq!(row(&feed), (false, true));
}

#[test]
fn collisions_are_counted_by_kind_with_the_hardest_impact() {
    let mut feed = grid(SessionType::Race);
    let car = |car_id, other_car_id, impact_speed| {
        Event::CollisionWithCar(CollisionWithCar {
            car_id,
            other_car_id,
            impact_speed,
            world_position: Vec3::default(),
            relative_position: Vec3::default(),
        })
    };
    let wall = |car_id, impact_speed| {
        Event::CollisionWithEnv(CollisionWithEnv {
            car_id,
            impact_speed,
            world_position: Vec3::default(),
            relative_position: Vec3::default(),
        })
    };
    feed.send(car(1, 2, 5.0));
    feed.send(wall(1, 20.0));
    feed.send(wall(1, f32::NAN));
    feed.send(car(2, 1, 10.0));
    let board = feed.engine.board();
    let kinds = |id| {
        let r = board.row(id).unwrap();
        (r.collisions, r.car_collisions, r.env_collisions, r.max_impact_kmh)
    };
    assert_eq!(kinds(1), (4, 2, 2, Some(72.0)));
    assert_eq!(kinds(2), (2, 2, 0, Some(36.0)));
    assert_eq!(kinds(3), (0, 0, 0, None));
}

#[test]
fn a_plugin_started_mid_session_asks_what_it_missed() {
    let mut engine = TimingEngine::new();
    assert!(engine.handle(ms(1_000), &update(3, 0.5, 100.0)).is_empty());
    assert_eq!(engine.stats().unannounced_update, 1);
    assert!(engine.board().rows.is_empty());
    assert_eq!(
        engine.tick(ms(1_000)).commands,
        [
            Command::GetSessionInfo { session_index: -1 },
            Command::RealtimeposInterval { interval_ms: 100 },
            Command::GetCarInfo { car_id: 3 }
        ]
    );
    // Asked once: the next update of the car asks nothing more.
    engine.handle(ms(2_000), &update(3, 0.51, 100.0));
    assert_eq!(engine.tick(ms(2_000)).commands, []);

    // The answers come, and the car is timed from its next update.
    engine.handle(ms(2_100), &Event::SessionInfo(session("Race", SessionType::Race, 2)));
    engine.handle(
        ms(2_200),
        &Event::CarInfo(CarInfo {
            car_id: 3,
            is_connected: true,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "00".into(),
            driver_name: "Juan".into(),
            driver_guid: "3".into(),
            driver_team: String::new(),
        }),
    );
    engine.handle(ms(3_000), &update(3, 0.52, 100.0));
    let board = engine.board();
    let row = board.row(3).unwrap();
    assert_eq!(
        (row.position, row.driver.as_str(), row.spline, row.gap),
        (1, "Juan", 0.52, Some(Gap::Leader))
    );
    assert_eq!(engine.stats().unannounced_update, 2);
}

#[test]
fn a_server_that_starts_with_the_plugin_is_asked_for_car_updates_only() {
    for first in [
        Event::NewSession(session("P", SessionType::Practice, 0)),
        Event::Version(acsp::Version { protocol_version: 4 }),
    ] {
        let mut engine = TimingEngine::new();
        engine.handle(ms(0), &first);
        let expected: &[Command] = match first {
            Event::NewSession(_) => &[Command::RealtimeposInterval { interval_ms: 100 }],
            _ => &[],
        };
        assert_eq!(engine.tick(ms(0)).commands, expected);
    }
    // Without an interval to ask for, nothing.
    let mut engine =
        TimingEngine::with_config(TimingConfig { realtime_interval_ms: None, ..TimingConfig::default() });
    engine.handle(ms(0), &Event::NewSession(session("P", SessionType::Practice, 0)));
    assert_eq!(engine.tick(ms(10_000)).commands, []);
}

#[test]
fn silent_cars_and_a_silent_server_are_asked_again_then_marked_down() {
    let mut feed = grid(SessionType::Practice);
    feed.engine.tick(feed.now);
    let t = feed.now.as_millis() as u64 + 1_000;
    for s in 0..=10 {
        for id in [1, 2, 3, 4] {
            if s <= 4 || id != 1 {
                feed.send_at(ms(t + s * 1_000), update(id, 0.1, 100.0));
            }
        }
        let commands = feed.engine.tick(feed.now).commands;
        // Car 1 fell silent after 4 s: asked at 9 s, not again before 14 s.
        let expected: &[Command] = if s == 9 { &[Command::GetCarInfo { car_id: 1 }] } else { &[] };
        assert_eq!(commands, expected, "at {s} s");
    }
    // Nothing at all from now (t + 10 s): car updates are asked for again 5 s on.
    let commands = feed.engine.tick(ms(t + 15_000)).commands;
    assert!(commands.contains(&Command::RealtimeposInterval { interval_ms: 100 }), "{commands:?}");
    assert!(!feed.engine.board().server_down);
    assert!(feed.engine.tick(ms(t + 24_900)).notices.is_empty());
    assert_eq!(feed.engine.tick(ms(t + 25_000)).notices, [Notice::ServerDown { silent_ms: 15_000 }]);
    assert!(feed.engine.board().server_down);
    assert!(feed.engine.tick(ms(t + 30_000)).notices.is_empty(), "said once");

    let notices = feed.send_at(ms(t + 40_000), Event::Chat(Chat { car_id: 2, message: "back?".into() }));
    assert!(matches!(&notices[..], [Notice::ServerUp, Notice::Chat { .. }]), "{notices:?}");
    assert!(!feed.engine.board().server_down);
    let commands = feed.engine.tick(ms(t + 40_000)).commands;
    assert!(commands.contains(&Command::GetSessionInfo { session_index: -1 }), "{commands:?}");
}

#[test]
fn bad_input_is_counted_and_skipped() {
    let mut feed = grid(SessionType::Practice);
    let before = feed.engine.board();
    for spline in [f32::NAN, f32::INFINITY, -0.1, 1.5] {
        feed.send(update(1, spline, 100.0));
    }
    feed.send(update(1, 0.5, f32::NAN));
    feed.send(update(9, 0.5, 100.0));
    // A lap of a car nobody knows, not even the leaderboard.
    let lap = Event::LapCompleted(LapCompleted {
        car_id: 9,
        lap_time: 80_000,
        cuts: 0,
        leaderboard: vec![LeaderboardEntry { car_id: 1, time: NO_TIME, laps: 0, has_completed: None }],
        grip_level: f32::NAN,
    });
    assert!(feed.send(lap).is_empty());
    feed.send(Event::CollisionWithEnv(CollisionWithEnv {
        car_id: 9,
        impact_speed: 1.0,
        world_position: Vec3::default(),
        relative_position: Vec3::default(),
    }));
    // An absurd lap time is no time; the lap still counts as a lap.
    let notices = feed.lap(2, 0);
    assert!(
        matches!(notices[..], [Notice::LapCompleted { lap_ms: None, counted: false, laps: 1, .. }]),
        "{notices:?}"
    );
    let at = feed.now;
    feed.send_at(at - Duration::from_secs(10), Event::Chat(Chat { car_id: 1, message: "late".into() }));
    assert_eq!(feed.engine.now(), at);

    assert_eq!(
        feed.engine.stats(),
        Stats {
            events: feed.engine.stats().events,
            unknown_car: 2,
            unannounced_update: 1,
            before_session: 0,
            absurd_time: 2,
            bad_position: 5,
            clock_backwards: 1,
        }
    );
    let board = feed.engine.board();
    let row = board.row(1).unwrap();
    assert_eq!((row.spline, row.speed_kmh), (before.row(1).unwrap().spline, 0.0));
    assert!(board.row(9).is_none());
    // The NaN grip was skipped; the grip is the last lap's.
    assert_eq!(board.grip, Some(0.98));
    let positions: Vec<usize> = board.rows.iter().map(|r| r.position).collect();
    assert_eq!(positions, [1, 2, 3, 4]);

    // A lap before any session.
    let mut engine = TimingEngine::new();
    let lap = Server::default().lap(1, 80_000, 0);
    assert!(engine.handle(ms(0), &lap).is_empty());
    assert_eq!(engine.stats().before_session, 1);
    assert!(engine.board().rows.is_empty());
}
