//! Importing the server's results files, and refusing what is not one.

use std::path::Path;

use records::{Query, Ranking, RecordsError, SessionType, Store};

use crate::store;

const RESULTS: &str = r#"{
  "TrackName": "ks_vallelunga",
  "TrackConfig": "club_circuit",
  "Type": "QUALIFY",
  "DurationSecs": 600,
  "RaceLaps": 0,
  "Cars": [
    {"CarId": 0, "Driver": {"Name": "Ada", "Team": "Engines", "Nation": "GBR", "Guid": "g-ada", "GuidsList": []},
     "Model": "ks_mazda_mx5_cup", "Skin": "red", "BallastKG": 0, "Restrictor": 0},
    {"CarId": 1, "Driver": {"Name": "Ben", "Team": "", "Nation": "", "Guid": "g-ben", "GuidsList": null},
     "Model": "ks_mazda_mx5_cup", "Skin": "blue", "BallastKG": 0, "Restrictor": 0},
    {"CarId": 2, "Driver": {"Name": "", "Team": "", "Nation": "", "Guid": "", "GuidsList": []},
     "Model": "ks_mazda_mx5_cup", "Skin": "", "BallastKG": 0, "Restrictor": 0}
  ],
  "Result": [
    {"DriverName": "Ada", "DriverGuid": "g-ada", "CarId": 0, "CarModel": "ks_mazda_mx5_cup", "BestLap": 71234, "TotalTime": 0}
  ],
  "Laps": [
    {"DriverName": "Ada", "DriverGuid": "g-ada", "CarId": 0, "CarModel": "ks_mazda_mx5_cup", "Timestamp": 200,
     "LapTime": 72000, "Sectors": [24000, 24000, 24000], "Cuts": 0, "BallastKG": 0, "Tyre": "M", "Restrictor": 0},
    {"DriverName": "Ada", "DriverGuid": "g-ada", "CarId": 0, "CarModel": "ks_mazda_mx5_cup", "Timestamp": 100,
     "LapTime": 71234, "Sectors": [23000, 24000, 24234], "Cuts": 0, "BallastKG": 0, "Tyre": "M", "Restrictor": 0},
    {"DriverName": "Ben", "DriverGuid": "g-ben", "CarId": 1, "CarModel": "ks_mazda_mx5_cup", "Timestamp": 150,
     "LapTime": 70000, "Sectors": [22000, 24000, 24000], "Cuts": 3, "BallastKG": 0, "Tyre": "H", "Restrictor": 0},
    {"DriverName": "Ben", "DriverGuid": "g-ben", "CarId": 1, "CarModel": "ks_mazda_mx5_cup", "Timestamp": 250,
     "LapTime": 73000, "Sectors": null, "Cuts": 0, "BallastKG": 0, "Tyre": "", "Restrictor": 0},
    {"DriverName": "", "DriverGuid": "", "CarId": 2, "CarModel": "ks_mazda_mx5_cup", "Timestamp": 300,
     "LapTime": 60000, "Sectors": [], "Cuts": 0}
  ],
  "Events": [
    {"Type": "COLLISION_WITH_CAR", "CarId": 0, "Driver": {"Name": "Ada", "Guid": "g-ada"},
     "OtherCarId": 1, "OtherDriver": {"Name": "Ben", "Guid": "g-ben"}, "ImpactSpeed": 42.5,
     "WorldPosition": {"X": 1, "Y": 2, "Z": 3}, "RelPosition": {"X": 0, "Y": 0, "Z": 0}},
    {"Type": "COLLISION_WITH_ENV", "CarId": 1, "Driver": {"Name": "Ben", "Guid": "g-ben"},
     "OtherCarId": -1, "OtherDriver": {"Name": "", "Guid": ""}, "ImpactSpeed": 80}
  ]
}"#;

fn write(dir: &Path, name: &str, text: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn imports_a_results_file_once() {
    let (dir, _path, mut store) = store();
    let file = write(dir.path(), "2026_1_2_20_30_QUALIFY.json", RESULTS.as_bytes());
    let summary = store.import_results(&file).unwrap();
    assert!(summary.imported);
    assert_eq!((summary.entries, summary.laps, summary.collisions, summary.skipped), (2, 4, 2, 1));

    let q = Query {
        ranking: Ranking::EveryLap,
        include_invalid: true,
        ..Query::new("ks_vallelunga", "club_circuit")
    };
    let board = store.leaderboard(&q).unwrap();
    let got: Vec<_> =
        board.iter().map(|r| (r.name.as_str(), r.time_ms, r.valid, r.tyre.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("Ben", 70_000, false, Some("H")),
            ("Ada", 71_234, true, Some("M")),
            ("Ada", 72_000, true, Some("M")),
            ("Ben", 73_000, true, None)
        ]
    );
    let best = store.leaderboard(&Query::new("ks_vallelunga", "club_circuit")).unwrap();
    assert_eq!(best.len(), 2);
    assert_eq!(
        (best[0].session_type.as_str(), best[0].sectors.as_slice()),
        ("qualify", &[23_000, 24_000, 24_234][..])
    );
    // Dated by the file's name.
    assert_eq!(records::format_date(best[0].finished_at_ms), "2026-01-02 20:30:00");
    let q = Query { session_type: Some(SessionType::Qualify), ..Query::new("ks_vallelunga", "club_circuit") };
    assert_eq!(store.leaderboard(&q).unwrap().len(), 2);

    let again = store.import_results(&file).unwrap();
    assert!(!again.imported);
    assert_eq!(again.session, summary.session);
    assert_eq!(store.leaderboard(&Query::new("ks_vallelunga", "club_circuit")).unwrap().len(), 2);

    // The same file name from another server is another session.
    let other = store.import_results_of("other server", &file).unwrap();
    assert!(other.imported);
    assert_ne!(other.session, summary.session);
    let q = Query { ranking: Ranking::EveryLap, ..Query::new("ks_vallelunga", "club_circuit") };
    let servers: Vec<_> = store.leaderboard(&q).unwrap().into_iter().map(|r| r.server).collect();
    assert_eq!(servers, ["", "other server", "", "other server", "", "other server"]);
}

#[test]
fn a_live_session_is_completed_from_its_results_file_without_duplicates() {
    let (dir, _path, mut store) = store();
    let file = write(dir.path(), "2026_1_2_20_30_QUALIFY.json", RESULTS.as_bytes());
    // Followed live: Ada's first lap only (the plugin restarted and missed the rest), and Ben
    // not at all.
    let session = store
        .begin_session(&records::SessionInput {
            server: "srv".into(),
            track: "ks_vallelunga".into(),
            layout: "club_circuit".into(),
            session_type: SessionType::Qualify,
            name: "Qualify".into(),
            started_at_ms: 1_000,
            laps_limit: None,
            time_limit_s: Some(600),
        })
        .unwrap();
    let ada = store
        .add_entry(
            session,
            &records::EntryInput {
                guid: "g-ada".into(),
                name: "Ada".into(),
                team: String::new(),
                car_id: 0,
                car_model: "ks_mazda_mx5_cup".into(),
                skin: "red".into(),
            },
        )
        .unwrap();
    let lap = records::LapInput {
        lap: 1,
        time_ms: 71_234,
        sectors: vec![23_000, 24_000, 24_234],
        cuts: 0,
        grip: Some(0.97),
        top_speed_kmh: Some(180.0),
        tyre: None,
        finished_at_ms: 90_000,
    };
    store.add_lap(ada, &lap).unwrap();
    store.end_session(session, 700_000).unwrap();

    let summary = store.complete_from_results(session, &file).unwrap();
    assert!(summary.imported);
    // Ada's 72.000 and Ben's two laps are added; Ada's 71.234 was there; the lap without a GUID
    // is skipped.
    assert_eq!((summary.entries, summary.laps, summary.skipped), (1, 3, 1));
    let q = Query {
        ranking: Ranking::EveryLap,
        include_invalid: true,
        ..Query::new("ks_vallelunga", "club_circuit")
    };
    let board = store.leaderboard(&q).unwrap();
    let got: Vec<_> = board.iter().map(|r| (r.name.as_str(), r.time_ms, r.session)).collect();
    assert_eq!(
        got,
        [
            ("Ben", 70_000, session),
            ("Ada", 71_234, session),
            ("Ada", 72_000, session),
            ("Ben", 73_000, session)
        ]
    );
    // The live lap keeps what only the live feed knew.
    assert_eq!(board[1].grip, Some(0.97));
    // Once only.
    let again = store.complete_from_results(session, &file).unwrap();
    assert!(!again.imported);
    assert_eq!(store.leaderboard(&q).unwrap().len(), 4);
}

#[test]
fn what_is_not_a_results_file_is_an_error_naming_it() {
    let (dir, _path, mut store) = store();
    let deep = "[".repeat(100_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.json", Vec::new()),
        ("text.json", b"hello".to_vec()),
        ("truncated.json", RESULTS.as_bytes()[..RESULTS.len() / 2].to_vec()),
        ("array.json", b"[1, 2, 3]".to_vec()),
        ("deep.json", deep.into_bytes()),
        ("negative.json", br#"{"TrackName": "t", "Type": "RACE", "Laps": [{"LapTime": -5}]}"#.to_vec()),
        ("huge-number.json", br#"{"TrackName": "t", "Type": "RACE", "Laps": [{"LapTime": 1e400}]}"#.to_vec()),
        ("wrong-type.json", br#"{"TrackName": "t", "Type": "RACE", "Cars": "nope"}"#.to_vec()),
        ("car-id.json", br#"{"TrackName": "t", "Type": "RACE", "Cars": [{"CarId": 300}]}"#.to_vec()),
        ("no-track.json", br#"{"Type": "RACE"}"#.to_vec()),
        ("unknown-type.json", br#"{"TrackName": "t", "Type": "DRIFT"}"#.to_vec()),
        ("not-utf8.json", b"{\"TrackName\": \"\xff\xfe\", \"Type\": \"RACE\"}".to_vec()),
    ];
    for (name, bytes) in cases {
        let file = write(dir.path(), name, &bytes);
        let err = store.import_results(&file).unwrap_err();
        assert!(matches!(err, RecordsError::Results { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    // Missing, a folder, too large.
    for name in ["missing.json", ""] {
        let err = store.import_results(&dir.path().join(name)).unwrap_err();
        assert!(matches!(err, RecordsError::Results { .. }), "{name}: {err:?}");
    }
    let big = dir.path().join("big.json");
    std::fs::File::create(&big).unwrap().set_len(65 << 20).unwrap();
    let err = store.import_results(&big).unwrap_err();
    assert!(err.to_string().contains("big.json"), "{err}");
    // Nothing was written.
    assert!(store.leaderboard(&Query::new("t", "")).unwrap().is_empty());
    assert!(store.personal_bests("g-ada").unwrap().is_empty());
    drop(store);
    let _ = Store::open(&dir.path().join("records.sqlite")).unwrap();
}
