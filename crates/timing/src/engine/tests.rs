//! The engine fed real events: each one is encoded to the datagram a server sends and decoded
//! back, as the client would, before the engine sees it.

use std::collections::BTreeMap;

use acsp::{
    Chat, CollisionWithCar, CollisionWithEnv, EndSession, LeaderboardEntry, NO_TIME, StringWidth, Vec3,
};

use super::*;

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
}

impl Server {
    fn new_session(&mut self, session_type: SessionType) {
        self.race = session_type == SessionType::Race;
        self.cars.clear();
    }

    fn lap(&mut self, car_id: u8, lap_time: u32, cuts: u8) -> Event {
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
                has_completed: Some(false),
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

    /// Sends `event` through the wire and into the engine.
    fn send(&mut self, event: Event) -> Vec<Notice> {
        let mut datagram = Vec::new();
        acsp::encode_event(&event, &mut datagram).unwrap();
        let decoded = acsp::decode(&datagram).unwrap();
        assert_eq!(decoded, event, "the datagram decodes to the event sent");
        self.now += Duration::from_secs(1);
        self.engine.handle(self.now, &decoded)
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
