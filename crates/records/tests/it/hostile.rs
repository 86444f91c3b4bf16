//! Text from the wire stored and returned byte for byte; input that cannot be stored refused
//! with the file named, without losing what was written before.

use records::{CollisionInput, EntryInput, Query, Ranking, RecordsError, SessionInput, SessionType};

use crate::{T0, entry, lap, session, store};

#[test]
fn hostile_text_comes_back_intact() {
    let (_dir, path, mut store) = store();
    let controls = "\u{1b}[2J\u{1b}]0;pwned\u{7}Ada\0\r\n\t\u{202e}evil\u{fffd}";
    let long = "Ω".repeat(100_000);
    let injection = "Robert'); DROP TABLE laps;--";
    let track = "tr\"ack'\n\0";
    let s = store
        .begin_session(&SessionInput {
            server: controls.into(),
            track: track.into(),
            layout: injection.into(),
            session_type: SessionType::Race,
            name: long.clone(),
            started_at_ms: T0,
            laps_limit: Some(u32::MAX),
            time_limit_s: None,
        })
        .unwrap();
    let a = store
        .add_entry(
            s,
            &EntryInput {
                guid: controls.into(),
                name: long.clone(),
                team: injection.into(),
                car_id: 255,
                car_model: controls.into(),
                skin: long.clone(),
            },
        )
        .unwrap();
    let b = entry(&mut store, s, injection, injection, injection);
    let mut extreme = lap(1, u32::MAX, 0, 0, 0, i64::MIN);
    extreme.sectors = vec![u32::MAX, 0];
    extreme.tyre = Some(controls.into());
    store.add_lap(a, &extreme).unwrap();
    store.add_lap(b, &lap(1, 1, 0, 0, 0, i64::MAX)).unwrap();
    store.add_chat(a, controls, T0).unwrap();
    store.add_chat(a, &long, T0 + 1).unwrap();
    store.add_chat(a, "", T0 + 2).unwrap();
    store
        .add_collision(a, &CollisionInput { other: Some(b), impact_speed_kmh: f32::MAX, at_ms: T0 })
        .unwrap();
    store.add_collision(a, &CollisionInput { other: None, impact_speed_kmh: -1.5, at_ms: T0 + 1 }).unwrap();
    drop(store);

    let store = records::Store::open(&path).unwrap();
    let q = Query { ranking: Ranking::EveryLap, ..Query::new(track, injection) };
    let board = store.leaderboard(&q).unwrap();
    assert_eq!(board.len(), 2);
    assert_eq!((board[0].name.as_str(), board[0].car.as_str(), board[0].time_ms), (injection, injection, 1));
    let r = &board[1];
    assert_eq!((r.guid.as_str(), r.car.as_str(), r.server.as_str()), (controls, controls, controls));
    assert_eq!(r.name, long);
    assert_eq!(r.session_name, long);
    assert_eq!((r.time_ms, r.gap_ms, r.finished_at_ms), (u32::MAX, u32::MAX - 1, i64::MIN));
    assert_eq!(r.sectors, [u32::MAX, 0]);
    assert_eq!(r.tyre.as_deref(), Some(controls));
    let chat: Vec<_> = store.chat(a).unwrap().into_iter().map(|c| c.0).collect();
    assert_eq!(chat, [controls, long.as_str(), ""]);
    assert_eq!(store.collisions(a).unwrap(), [(Some(b), f32::MAX, T0), (None, -1.5, T0 + 1)]);
    assert_eq!(store.driver_names(controls).unwrap()[0].0, long);
}

#[test]
fn input_that_cannot_be_stored_is_an_error_and_loses_nothing() {
    let (_dir, path, mut store) = store();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, "g1", "Ada", "mx5");
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0)).unwrap();

    let no_guid = EntryInput {
        guid: String::new(),
        name: "x".into(),
        team: String::new(),
        car_id: 0,
        car_model: "mx5".into(),
        skin: String::new(),
    };
    let err = store.add_entry(s, &no_guid).unwrap_err();
    assert!(matches!(err, RecordsError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("records.sqlite"), "{err}");

    // Keys that are not in this database: a session, and an entry (a foreign key).
    let mut other = store_with_one_more_session();
    let foreign = session(&mut other.2, "x", SessionType::Race, 0);
    let err = store.end_session(foreign, T0).unwrap_err();
    assert!(err.to_string().contains("no session"), "{err}");
    let foreign_entry = entry(&mut other.2, foreign, "g9", "Zed", "mx5");
    let err = store.add_lap(foreign_entry, &lap(1, 1, 0, 0, 0, T0)).unwrap_err();
    assert!(matches!(err, RecordsError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("no entry"), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");

    // The lap before the errors, still uncommitted then, is there after a reopen.
    drop(store);
    let store = records::Store::open(&path).unwrap();
    assert_eq!(store.leaderboard(&Query::new("monza", "")).unwrap().len(), 1);
}

/// Another database with more sessions and entries, so that its next keys do not exist in the
/// test's.
fn store_with_one_more_session() -> (tempfile::TempDir, std::path::PathBuf, records::Store) {
    let (dir, path, mut store) = store();
    for _ in 0..2 {
        let s = session(&mut store, "x", SessionType::Race, 0);
        entry(&mut store, s, "g8", "Yan", "mx5");
    }
    (dir, path, store)
}
