//! The join on the command line: `pitwall laps --db` shows each telemetry lap's server lap, and
//! `pitwall records` which laps have telemetry.

use std::time::Duration;

use records::{EntryInput, GameIdentity, LapInput, SessionInput, SessionType, Store, TelemetryLapInput};
use testkit::sim::{Run, WALL0_NS, oval, read_recording};

use crate::{pitwall, run_ok};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn laps_with_a_database_show_the_server_lap_and_records_show_the_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("run.pb.gz");
    let mut game = oval(11);
    game.player_name = "Ada".into();
    game.player_surname = "Lovelace".into();
    let recorded = Run::new(game, Duration::from_secs(130)).record(&input);
    assert!(recorded.laps.len() >= 3, "{:?}", recorded.laps);
    let first = read_recording(&input).into_iter().next().unwrap();
    let meta = first.session.clone().unwrap();
    let sid: [u8; 16] = first.session_id.as_ref().try_into().unwrap();

    // The server's view of laps 2 and 3: the server's clock 2 s behind the car PC's; lap 2 cut.
    let db = dir.path().join("records.sqlite");
    let mut store = Store::open(&db).unwrap();
    let session = store
        .begin_session(&SessionInput {
            server: "test server".into(),
            track: meta.track.clone(),
            layout: meta.track_configuration.clone(),
            session_type: SessionType::Practice,
            name: "Practice".into(),
            started_at_ms: WALL0_NS / 1_000_000,
            laps_limit: None,
            time_limit_s: None,
        })
        .unwrap();
    let entry = store
        .add_entry(
            session,
            &EntryInput {
                guid: "76561198000000001".into(),
                name: "Ada Lovelace".into(),
                team: String::new(),
                car_id: 3,
                car_model: meta.car_model.clone(),
                skin: String::new(),
            },
        )
        .unwrap();
    let end_ms = |i: usize| WALL0_NS / 1_000_000 + recorded.laps[i].completed_at.as_millis() as i64;
    for (i, cuts) in [(1, 1), (2, 0)] {
        let r = &recorded.laps[i];
        let lap = LapInput {
            lap: r.lap,
            time_ms: r.time_ms as u32,
            sectors: r.sectors_ms.iter().map(|&s| s as u32).collect(),
            cuts,
            grip: None,
            top_speed_kmh: None,
            tyre: None,
            finished_at_ms: end_ms(i) - 2_000,
        };
        store.add_lap(entry, &lap).unwrap();
    }
    // Lap 3 went through `pitwall serve` (its laps sink): stored, and linked there.
    let r = &recorded.laps[2];
    store
        .add_telemetry_lap(&TelemetryLapInput {
            session_id: sid,
            lap: r.lap,
            game: GameIdentity {
                car_model: meta.car_model.clone(),
                track: meta.track.clone(),
                layout: meta.track_configuration.clone(),
                player_name: "Ada".into(),
                player_surname: "Lovelace".into(),
                player_nick: String::new(),
            },
            time_ms: r.time_ms as u32,
            invalid: Vec::new(),
            finished_at_ms: end_ms(2),
            first_seq: 0,
            last_seq: 0,
            frames: 0,
            missed_steps: 0,
            sectors_ms: Vec::new(),
        })
        .unwrap();
    store.flush().unwrap();
    drop(store);

    let out = run_ok(pitwall().arg("laps").arg(&input).arg("--json").arg("--db").arg(&db));
    let laps: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(laps[0]["server_lap"], serde_json::Value::Null, "the out-lap: no server lap");
    let two = &laps[1]["server_lap"];
    assert_eq!(
        (two["found"].as_str(), two["lap"].as_u64(), two["cuts"].as_u64()),
        (Some("matched"), Some(2), Some(1))
    );
    assert_eq!((two["valid"].as_bool(), two["guid"].as_str()), (Some(false), Some("76561198000000001")));
    let three = &laps[2]["server_lap"];
    assert_eq!(
        (three["found"].as_str(), three["lap"].as_u64(), three["valid"].as_bool()),
        (Some("linked"), Some(3), Some(true))
    );
    assert_eq!(laps.last().unwrap()["server_lap"], serde_json::Value::Null, "the unfinished lap");

    let text = stdout(&run_ok(pitwall().arg("laps").arg(&input).arg("--db").arg(&db)));
    assert!(
        text.contains("Server lap") && text.contains("lap 2, 1 cut") && text.contains("lap 3, valid"),
        "{text}"
    );
    let plain = stdout(&run_ok(pitwall().arg("laps").arg(&input)));
    assert!(!plain.contains("Server lap"), "without --db the table is as it was:\n{plain}");

    // The records: lap 3 has telemetry, lap 2 (matched on the fly only) has none stored.
    let args = [
        "records",
        "--track",
        &meta.track,
        "--layout",
        &meta.track_configuration,
        "--all-laps",
        "--include-invalid",
    ];
    let out = run_ok(pitwall().args(args).arg("--json").arg("--db").arg(&db));
    let rows: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let expected = if row["valid"] == true {
            serde_json::json!({ "session_id": records::session_id_text(&sid), "lap": 3 })
        } else {
            serde_json::Value::Null
        };
        assert_eq!(row["telemetry"], expected, "{row}");
    }
    let table = stdout(&run_ok(pitwall().args(args).arg("--db").arg(&db)));
    assert!(table.lines().next().unwrap().ends_with("Telemetry"), "{table}");
    assert!(table.contains(&format!("{} lap 3", records::session_id_text(&sid))), "{table}");
}
