//! Captures of the simulated weekend replayed into a records database: every lap the simulator
//! completed is stored once, whatever the capture's form, however often it is replayed, and
//! across a restart of the plugin mid-session.

use std::path::Path;
use std::time::Duration;

use acsp::Event;
use live::recorder::{Recorder, RecorderConfig};
use live::replay::{ReplayConfig, ReplayReport, replay};
use records::{Query, Store};

use crate::{T0_UNIX_MS, TrueLap, Weekend, simulate, simulate_with_restart, weekend_config};

/// Replays `capture` into the database `db` (created if needed).
fn replay_into(capture: &Path, db: &Path) -> ReplayReport {
    let store = Store::open(db).unwrap();
    let mut recorder = Recorder::new(store, RecorderConfig::default());
    let config = ReplayConfig { raw_start_unix_ms: T0_UNIX_MS as i64, ..ReplayConfig::default() };
    replay(capture, Some(&mut recorder), &config).unwrap()
}

/// Every stored lap, as [`TrueLap`]s, sorted.
fn stored_laps(db: &Path) -> Vec<TrueLap> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT d.guid, e.car_model, s.session_type, l.lap, l.time_ms, l.cuts FROM laps l
             JOIN entries e ON e.id = l.entry_id JOIN drivers d ON d.id = l.driver_id
             JOIN sessions s ON s.id = l.session_id",
        )
        .unwrap();
    let mut laps: Vec<TrueLap> = st
        .query_map([], |r| {
            Ok(TrueLap {
                guid: r.get(0)?,
                car: r.get(1)?,
                session_type: r.get(2)?,
                lap: r.get(3)?,
                time_ms: r.get(4)?,
                cuts: r.get(5)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    laps.sort();
    laps
}

/// Rows in each table: sessions, entries, laps, collisions, chat, drivers.
fn table_counts(db: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    ["sessions", "entries", "laps", "collisions", "chat", "drivers"]
        .iter()
        .map(|t| conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).unwrap())
        .collect()
}

/// Each driver's best lap without cuts per car, fastest first: `(guid, car, time)`.
fn true_bests(laps: &[TrueLap]) -> Vec<(String, String, u32)> {
    let mut best = std::collections::BTreeMap::new();
    for l in laps.iter().filter(|l| l.cuts == 0) {
        let t = best.entry((l.guid.clone(), l.car.clone())).or_insert(l.time_ms);
        *t = (*t).min(l.time_ms);
    }
    let mut v: Vec<(String, String, u32)> = best.into_iter().map(|((g, c), t)| (g, c, t)).collect();
    v.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    v
}

fn count(weekend: &Weekend, f: impl Fn(&Event) -> bool) -> u64 {
    weekend.events.iter().filter(|(_, e)| f(e)).count() as u64
}

#[test]
fn a_replay_stores_every_lap_the_simulator_completed() {
    let weekend = simulate(&weekend_config(6, 3));
    let truth = weekend.true_laps();
    for kind in ["practice", "qualify", "race"] {
        assert!(truth.iter().any(|l| l.session_type == kind), "no {kind} lap in {truth:?}");
    }
    assert!(truth.iter().any(|l| l.cuts > 0), "the simulator cuts now and then");
    let dir = tempfile::tempdir().unwrap();
    let (capture, db) = (dir.path().join("weekend.pcap"), dir.path().join("records.sqlite"));
    weekend.write_pcap(&capture);

    let report = replay_into(&capture, &db);
    assert_eq!(report.format, "pcap");
    assert_eq!(report.events, weekend.events.len() as u64);
    assert_eq!((report.commands, report.undecodable), (1, 0), "{:?}", report.damage);
    assert_eq!(report.sessions, 3);
    assert_eq!(report.laps_stored, truth.len() as u64);
    assert_eq!(stored_laps(&db), truth);

    // The leaderboard: each driver's best valid lap, fastest first.
    let store = Store::open(&db).unwrap();
    let board = store.leaderboard(&Query::new("ks_red_bull_ring", "layout_gp")).unwrap();
    let board: Vec<(String, String, u32)> = board.into_iter().map(|r| (r.guid, r.car, r.time_ms)).collect();
    assert_eq!(board, true_bests(&truth));

    // Collisions and chat lines, all of known drivers.
    let stats = report.recorder.unwrap();
    let collisions =
        count(&weekend, |e| matches!(e, Event::CollisionWithCar(_) | Event::CollisionWithEnv(_)));
    assert_eq!(stats.collisions_stored, collisions);
    assert_eq!(stats.chat_stored, count(&weekend, |e| matches!(e, Event::Chat(_))));
    assert_eq!((stats.before_session, stats.unknown_driver, stats.no_lap_time), (0, 0, 0));

    // With car updates, every lap after a car's first of a session (which starts in the pits,
    // or on the grid behind the line) has the engine's sectors, adding up to the lap, and
    // every lap a top speed.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut st = conn.prepare("SELECT lap, time_ms, sectors, top_speed_kmh FROM laps").unwrap();
    let rows: Vec<(u32, u32, String, Option<f64>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (lap, time, sectors, top) in &rows {
        let sectors: Vec<u32> = serde_json::from_str(sectors).unwrap();
        if *lap >= 2 {
            assert_eq!(sectors.len(), 3, "lap {lap} of {time} ms");
        }
        if !sectors.is_empty() {
            let sum: u32 = sectors.iter().sum();
            assert!(sum.abs_diff(*time) * 100 <= 3 * *time, "sectors {sectors:?} for a lap of {time}");
        }
        assert!(top.is_some_and(|kmh| kmh > 50.0 && kmh < 400.0), "lap {lap}: top speed {top:?}");
    }
}

#[test]
fn replaying_the_same_capture_twice_stores_nothing_twice() {
    let weekend = simulate(&weekend_config(4, 11));
    let truth = weekend.true_laps();
    let dir = tempfile::tempdir().unwrap();
    let (capture, db) = (dir.path().join("weekend.pcap"), dir.path().join("records.sqlite"));
    weekend.write_pcap(&capture);

    replay_into(&capture, &db);
    let once = table_counts(&db);
    let again = replay_into(&capture, &db);
    assert_eq!(table_counts(&db), once);
    assert_eq!(stored_laps(&db), truth);
    let stats = again.recorder.unwrap();
    assert_eq!((stats.sessions_begun, stats.sessions_resumed), (0, 3));
    assert_eq!((stats.laps_stored, stats.laps_repeated), (0, truth.len() as u64));
    assert_eq!((stats.entries_added, stats.collisions_stored, stats.chat_stored), (0, 0, 0));
}

#[test]
fn a_capture_without_car_updates_gives_the_same_lap_records() {
    let weekend = simulate(&weekend_config(5, 7));
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.pcap");
    let bare = dir.path().join("bare.pcap");
    weekend.write_pcap(&full);
    weekend.without_car_updates().write_pcap(&bare);
    let (full_db, bare_db) = (dir.path().join("full.sqlite"), dir.path().join("bare.sqlite"));

    replay_into(&full, &full_db);
    let report = replay_into(&bare, &bare_db);
    assert_eq!(report.events, count(&weekend, |e| !matches!(e, Event::CarUpdate(_))));
    assert_eq!(stored_laps(&bare_db), stored_laps(&full_db));
    assert_eq!(stored_laps(&bare_db), weekend.true_laps());
    // Without car updates there is nothing to time sectors or speeds with.
    let conn = rusqlite::Connection::open(&bare_db).unwrap();
    let timed: i64 = conn
        .query_row("SELECT COUNT(*) FROM laps WHERE sectors != '[]' OR top_speed_kmh IS NOT NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(timed, 0);
}

#[test]
fn a_restart_mid_session_continues_the_stored_session() {
    let config = weekend_config(5, 21);
    let whole = simulate(&config);
    // Stop the plugin in the middle of qualifying (practice is 4 minutes after the start).
    let (before, after) = simulate_with_restart(&config, Duration::from_secs(6 * 60));
    assert!(
        matches!(after.events[0].1, Event::SessionInfo(ref s) if s.name == "Qualify" && s.elapsed_ms > 0)
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let (first, second) = (dir.path().join("before.pcap"), dir.path().join("after.pcap"));
    before.write_pcap(&first);
    after.write_pcap(&second);

    replay_into(&first, &db);
    let report = replay_into(&second, &db);
    let stats = report.recorder.unwrap();
    // Qualifying is found again; the race is new.
    assert_eq!((stats.sessions_resumed, stats.sessions_begun), (1, 1));
    assert_eq!(table_counts(&db)[0], 3);
    // Nothing lost, nothing twice: the laps are the uninterrupted weekend's.
    assert_eq!(stored_laps(&db), whole.true_laps());
    assert_eq!((stats.unknown_driver, stats.before_session), (0, 0));
}

#[test]
fn a_raw_concatenation_gives_the_same_lap_records_and_reports_its_damage() {
    let weekend = simulate(&weekend_config(4, 5)).without_car_updates();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("weekend.bin");
    weekend.write_raw(&raw);
    // Garbage between two messages, after the first 40: a CLIENT_LOADED followed by a byte
    // that starts no message. Reading resumes after it, and loses nothing else.
    let mut data = std::fs::read(&raw).unwrap();
    let mut at = 0;
    for (_, e) in weekend.events.iter().take(40) {
        let mut b = Vec::new();
        acsp::encode_event(e, &mut b).unwrap();
        at += b.len();
    }
    data.splice(at..at, [acsp::id::CLIENT_LOADED, 0xff, 0xfe]);
    std::fs::write(&raw, &data).unwrap();
    let db = dir.path().join("records.sqlite");

    let report = replay_into(&raw, &db);
    assert_eq!(report.format, "raw concatenation");
    assert_eq!(report.events, weekend.events.len() as u64);
    assert_eq!(report.undecodable, 1);
    assert_eq!(report.damage[0].offset, Some(at), "{:?}", report.damage);
    assert_eq!(stored_laps(&db), weekend.true_laps());
    // The made-up clock: laps are dated after the start, in order, within the weekend.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (min, max): (i64, i64) = conn
        .query_row("SELECT MIN(finished_at_ms), MAX(finished_at_ms) FROM laps", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let t0 = T0_UNIX_MS as i64;
    assert!(min > t0 && max < t0 + 3_600_000, "{min}..{max}");

    let once = table_counts(&db);
    replay_into(&raw, &db);
    assert_eq!(table_counts(&db), once);
}

#[test]
fn garbage_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.bin");
    let bytes: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    let e = replay(&path, None, &ReplayConfig::default()).unwrap_err();
    assert!(e.to_string().contains("garbage.bin"), "{e}");

    std::fs::write(&path, b"").unwrap();
    let e = replay(&path, None, &ReplayConfig::default()).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");

    // A pcap header cut short.
    std::fs::write(&path, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    let e = replay(&path, None, &ReplayConfig::default()).unwrap_err();
    assert!(matches!(e, live::ReplayError::NotACapture { .. }), "{e}");
}
