//! Leaderboards and each filter, personal and theoretical bests.

use records::{Query, Ranking, SessionType, Store};

use crate::{DAY, T0, entry, lap, session, store};

const ADA: &str = "76561198000000001";
const BEN: &str = "76561198000000002";
const CID: &str = "76561198000000003";
const MX5: &str = "ks_mazda_mx5_cup";
const GT3: &str = "ks_porsche_911_gt3_r_2016";

/// Three drivers on two tracks and two cars, in practice (day 0) and a race (day 10):
///
/// - monza, practice: Ada MX5 1:50.000 and 1:49.500 (cut), Ben MX5 1:51.000, Ada GT3 1:45.000
/// - monza, race: Ben MX5 1:49.800 and 1:52.000, Cid GT3 1:44.000
/// - spa, practice: Ada MX5 2:30.000
fn fill(store: &mut Store) {
    let p = session(store, "monza", SessionType::Practice, 0);
    let ada = entry(store, p, ADA, "Ada", MX5);
    store.add_lap(ada, &lap(1, 110_000, 30_000, 40_000, 0, T0 + 1000)).unwrap();
    store.add_lap(ada, &lap(2, 109_500, 29_000, 40_000, 2, T0 + 2000)).unwrap();
    let ben = entry(store, p, BEN, "Ben", MX5);
    store.add_lap(ben, &lap(1, 111_000, 31_000, 40_000, 0, T0 + 3000)).unwrap();
    // Ada changes car in the same session: a new entry, a separate record.
    let ada_gt3 = entry(store, p, ADA, "Ada", GT3);
    store.add_lap(ada_gt3, &lap(1, 105_000, 28_000, 37_000, 0, T0 + 4000)).unwrap();
    store.end_session(p, T0 + 5000).unwrap();

    let r = session(store, "monza", SessionType::Race, 10);
    let ben = entry(store, r, BEN, "Ben", MX5);
    store.add_lap(ben, &lap(1, 109_800, 29_800, 40_000, 0, T0 + 10 * DAY + 1000)).unwrap();
    store.add_lap(ben, &lap(2, 112_000, 31_000, 41_000, 0, T0 + 10 * DAY + 2000)).unwrap();
    let cid = entry(store, r, CID, "Cid", GT3);
    store.add_lap(cid, &lap(1, 104_000, 28_000, 36_000, 0, T0 + 10 * DAY + 3000)).unwrap();
    store.end_session(r, T0 + 10 * DAY + 5000).unwrap();

    let spa = session(store, "spa", SessionType::Practice, 0);
    let ada = entry(store, spa, ADA, "Ada", MX5);
    store.add_lap(ada, &lap(1, 150_000, 50_000, 50_000, 0, T0 + 6000)).unwrap();
    store.flush().unwrap();
}

/// `(name, car, time)` of each row.
fn rows(store: &Store, q: &Query) -> Vec<(String, String, u32)> {
    store.leaderboard(q).unwrap().into_iter().map(|r| (r.name, r.car, r.time_ms)).collect()
}

fn row(name: &str, car: &str, time: u32) -> (String, String, u32) {
    (name.to_owned(), car.to_owned(), time)
}

#[test]
fn default_is_best_valid_lap_per_driver_and_car() {
    let (_dir, _path, mut store) = store();
    fill(&mut store);
    let board = store.leaderboard(&Query::new("monza", "")).unwrap();
    let got: Vec<_> =
        board.iter().map(|r| (r.position, r.name.as_str(), r.car.as_str(), r.time_ms, r.gap_ms)).collect();
    assert_eq!(
        got,
        [
            (1, "Cid", GT3, 104_000, 0),
            (2, "Ada", GT3, 105_000, 1000),
            (3, "Ben", MX5, 109_800, 5800),
            // Ada's 1:49.500 had cuts: her record in the MX5 is the valid 1:50.000.
            (4, "Ada", MX5, 110_000, 6000),
        ]
    );
    let first = &board[0];
    assert_eq!(first.guid, CID);
    assert_eq!(first.sectors, [28_000, 36_000, 40_000]);
    assert_eq!(first.session_type, "race");
    assert_eq!(first.server, "pitwall test");
    assert_eq!(first.finished_at_ms, T0 + 10 * DAY + 3000);
    assert!(first.valid);
    assert_eq!(first.tyre.as_deref(), Some("M"));
    assert_eq!((first.grip, first.top_speed_kmh), (Some(0.97), Some(201.5)));
}

#[test]
fn a_driver_changing_car_keeps_both_records() {
    let (_dir, _path, mut store) = store();
    fill(&mut store);
    let ada: Vec<_> = rows(&store, &Query::new("monza", "")).into_iter().filter(|r| r.0 == "Ada").collect();
    assert_eq!(ada, [row("Ada", GT3, 105_000), row("Ada", MX5, 110_000)]);
    let bests = store.personal_bests(ADA).unwrap();
    let got: Vec<_> = bests.iter().map(|b| (b.track.as_str(), b.car.as_str(), b.time_ms)).collect();
    assert_eq!(got, [("monza", MX5, 110_000), ("monza", GT3, 105_000), ("spa", MX5, 150_000)]);
}

#[test]
fn every_lap_against_best_per_driver() {
    let (_dir, _path, mut store) = store();
    fill(&mut store);
    let q = Query { cars: vec![MX5.into()], ranking: Ranking::EveryLap, ..Query::new("monza", "") };
    assert_eq!(
        rows(&store, &q),
        [
            row("Ben", MX5, 109_800),
            row("Ada", MX5, 110_000),
            row("Ben", MX5, 111_000),
            row("Ben", MX5, 112_000)
        ]
    );
    let q = Query { ranking: Ranking::BestPerDriver, ..q };
    assert_eq!(rows(&store, &q), [row("Ben", MX5, 109_800), row("Ada", MX5, 110_000)]);
}

#[test]
fn invalid_laps_only_on_request() {
    let (_dir, _path, mut store) = store();
    fill(&mut store);
    let q = Query { cars: vec![MX5.into()], include_invalid: true, ..Query::new("monza", "") };
    let board = store.leaderboard(&q).unwrap();
    assert_eq!(
        (board[0].name.as_str(), board[0].time_ms, board[0].valid, board[0].cuts),
        ("Ada", 109_500, false, 2)
    );
    assert_eq!(board.len(), 2);
}

#[test]
fn each_filter() {
    let (_dir, _path, mut store) = store();
    fill(&mut store);
    let monza = || Query::new("monza", "");
    // Track.
    assert_eq!(rows(&store, &Query::new("spa", "")), [row("Ada", MX5, 150_000)]);
    assert!(rows(&store, &Query::new("imola", "")).is_empty());
    // Layout: monza has no "junior" layout in the data.
    assert!(rows(&store, &Query::new("monza", "junior")).is_empty());
    // One car, then several.
    let q = Query { cars: vec![GT3.into()], ..monza() };
    assert_eq!(rows(&store, &q), [row("Cid", GT3, 104_000), row("Ada", GT3, 105_000)]);
    let q = Query { cars: vec![GT3.into(), MX5.into()], ..monza() };
    assert_eq!(rows(&store, &q).len(), 4);
    // Session type.
    let q = Query { session_type: Some(SessionType::Practice), ..monza() };
    assert_eq!(
        rows(&store, &q),
        [row("Ada", GT3, 105_000), row("Ada", MX5, 110_000), row("Ben", MX5, 111_000)]
    );
    let q = Query { session_type: Some(SessionType::Qualify), ..monza() };
    assert!(rows(&store, &q).is_empty());
    // Date range: the race was on day 10.
    let q = Query { since_ms: Some(T0 + 5 * DAY), ..monza() };
    assert_eq!(rows(&store, &q), [row("Cid", GT3, 104_000), row("Ben", MX5, 109_800)]);
    let q = Query { until_ms: Some(T0 + 5 * DAY), ..monza() };
    assert_eq!(
        rows(&store, &q),
        [row("Ada", GT3, 105_000), row("Ada", MX5, 110_000), row("Ben", MX5, 111_000)]
    );
    // Limit.
    let q = Query { limit: Some(1), ..monza() };
    assert_eq!(rows(&store, &q), [row("Cid", GT3, 104_000)]);
}

#[test]
fn equal_times_share_a_position_and_the_earlier_lap_comes_first() {
    let (_dir, _path, mut store) = store();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, ADA, "Ada", MX5);
    let b = entry(&mut store, s, BEN, "Ben", MX5);
    let c = entry(&mut store, s, CID, "Cid", MX5);
    store.add_lap(b, &lap(1, 100_000, 30_000, 30_000, 0, T0 + 2)).unwrap();
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0 + 1)).unwrap();
    store.add_lap(c, &lap(1, 100_001, 30_000, 30_000, 0, T0 + 3)).unwrap();
    let board = store.leaderboard(&Query::new("monza", "")).unwrap();
    let got: Vec<_> = board.iter().map(|r| (r.position, r.name.as_str(), r.gap_ms)).collect();
    assert_eq!(got, [(1, "Ada", 0), (1, "Ben", 0), (3, "Cid", 1)]);
}

#[test]
fn theoretical_best_sums_the_best_sectors() {
    let (_dir, _path, mut store) = store();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, ADA, "Ada", MX5);
    // Best S1 on lap 1, best S2 on lap 2, best S3 on lap 3; lap 4 is faster everywhere but cut.
    store.add_lap(a, &lap(1, 100_000, 30_000, 35_000, 0, T0)).unwrap(); // S3 35_000
    store.add_lap(a, &lap(2, 100_500, 31_000, 34_000, 0, T0 + 1)).unwrap(); // S3 35_500
    store.add_lap(a, &lap(3, 100_200, 31_000, 35_000, 0, T0 + 2)).unwrap(); // S3 34_200
    store.add_lap(a, &lap(4, 90_000, 20_000, 30_000, 1, T0 + 3)).unwrap();
    let tb = store.theoretical_best(ADA, "monza", "", MX5).unwrap().unwrap();
    assert_eq!(tb.sectors, [30_000, 34_000, 34_200]);
    assert_eq!(tb.time_ms, 98_200);
    assert_eq!(tb.best_lap_ms, 100_000);
    assert_eq!(tb.laps, 3);
    // No laps in another car, or for another driver.
    assert_eq!(store.theoretical_best(ADA, "monza", "", GT3).unwrap(), None);
    assert_eq!(store.theoretical_best(BEN, "monza", "", MX5).unwrap(), None);
}

#[test]
fn a_driver_keeps_the_latest_name_and_the_history() {
    let (_dir, _path, mut store) = store();
    let old = session(&mut store, "monza", SessionType::Practice, 0);
    let new = session(&mut store, "monza", SessionType::Practice, 5);
    let a = entry(&mut store, new, ADA, "Ada Lovelace", MX5);
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0 + 5 * DAY)).unwrap();
    // An older session stored later (an import of an old results file) does not rename her.
    let a_old = entry(&mut store, old, ADA, "ada_1815", GT3);
    store.add_lap(a_old, &lap(1, 99_000, 30_000, 30_000, 0, T0)).unwrap();
    let names: Vec<_> =
        store.leaderboard(&Query::new("monza", "")).unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["Ada Lovelace", "Ada Lovelace"]);
    let history: Vec<_> = store.driver_names(ADA).unwrap().into_iter().map(|h| h.0).collect();
    assert_eq!(history, ["ada_1815", "Ada Lovelace"]);
}

#[test]
fn a_repeated_lap_number_keeps_the_first() {
    let (_dir, _path, mut store) = store();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, ADA, "Ada", MX5);
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0)).unwrap();
    store.add_lap(a, &lap(1, 90_000, 30_000, 30_000, 0, T0)).unwrap();
    let q = Query { ranking: Ranking::EveryLap, ..Query::new("monza", "") };
    assert_eq!(rows(&store, &q), [row("Ada", MX5, 100_000)]);
}
