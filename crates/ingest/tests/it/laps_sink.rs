//! The laps sink: conformance, and a real server turning a simulated car's stream into
//! telemetry laps in the records database, where a server lap of the same drive links to them.

use std::time::Duration;

use ingest::SessionId;
use ingest::sinks::conformance;
use ingest::sinks::laps::{LapsConfig, LapsSink};
use ingest::sinks::{SinkConfig, SinkKind};
use records::{EntryInput, LapInput, SessionInput, SessionType, Store};
use testkit::sim::{Run, WALL0_NS, oval, session_id};

use crate::common::*;

#[tokio::test]
async fn the_laps_sink_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    // The sink's output is laps, not frames: the content checks do not apply (the generated
    // sessions are too short to finish a lap); durability, retries and "never a panic" do.
    let report = conformance::run(
        || {
            let db = db.clone();
            async move { LapsSink::open(db, &LapsConfig::default()) }
        },
        conformance::nothing_to_read,
    )
    .await
    .unwrap();
    assert_eq!((report.write_failures, report.flush_failures), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_cars_laps_land_in_the_records_database_and_link_to_the_server_lap() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.sinks.push(SinkConfig {
        flush_interval_ms: 50,
        ..SinkConfig::new("laps", SinkKind::Laps(LapsConfig::default()))
    });
    let running = start(cfg).await;

    let mut game = oval(7);
    game.player_name = "Ada".into();
    game.player_surname = "Lovelace".into();
    game.player_nick = "countess".into();
    let (frames, sim_laps) = Run::new(game, Duration::from_secs(150)).frames();
    assert!(sim_laps.len() >= 3, "{sim_laps:?}");
    let n = frames.len() as u64;
    let sid: [u8; 16] = session_id(1).as_ref().try_into().unwrap();
    let out = send(&mut client(running.local_addr()).await, frames).await;
    assert_eq!(out.acked(sid), n);
    running.shutdown().await.unwrap();

    // Every lap the simulator completed, with the game's time and the car PC's clock.
    let mut store = Store::open(&dir.path().join("records.sqlite")).unwrap();
    let laps = store.telemetry_laps(&sid).unwrap();
    assert_eq!(laps.len(), sim_laps.len(), "{laps:#?}");
    for (t, s) in laps.iter().zip(&sim_laps) {
        assert_eq!((t.lap, i64::from(t.time_ms)), (s.lap, i64::from(s.time_ms)));
        let completed_ms = WALL0_NS / 1_000_000 + s.completed_at.as_millis() as i64;
        assert!(
            (t.finished_at_ms - completed_ms).abs() < 50,
            "lap {}: {} vs {completed_ms}",
            t.lap,
            t.finished_at_ms
        );
        assert_eq!((t.game.player_name.as_str(), t.game.player_nick.as_str()), ("Ada", "countess"));
        assert!(t.server.is_none());
    }
    assert_eq!(laps[0].invalid, ["out-lap"], "lap 1 starts in the pit box");
    let car = laps[0].game.car_model.clone();
    assert!(!car.is_empty());

    // The dedicated server saw lap 2 too: "Ada Lovelace" in the same car, its clock 3 s behind
    // the car PC's, its time 2 ms off.
    let session = store
        .begin_session(&SessionInput {
            server: "pitwall test".into(),
            track: laps[0].game.track.clone(),
            layout: laps[0].game.layout.clone(),
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
                car_id: 0,
                car_model: car,
                skin: String::new(),
            },
        )
        .unwrap();
    let t2 = &laps[1];
    store
        .add_lap(
            entry,
            &LapInput {
                lap: 2,
                time_ms: t2.time_ms + 2,
                sectors: Vec::new(),
                cuts: 0,
                grip: None,
                top_speed_kmh: None,
                tyre: None,
                finished_at_ms: t2.finished_at_ms - 3_000,
            },
        )
        .unwrap();
    store.flush().unwrap();
    let linked = store.telemetry_lap(&sid, 2).unwrap().unwrap().server.unwrap();
    assert_eq!((linked.lap, linked.guid.as_str(), linked.valid), (2, "76561198000000001", true));
    let refs = store.linked_telemetry(entry).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!((refs[0].0, refs[0].1.lap, refs[0].1.session_id.clone()), (2, 2, SessionId(sid).to_string()));

    // A restart of the server re-reads nothing it stored: the laps are there once.
    drop(store);
    let mut cfg = config(dir.path());
    cfg.sinks.push(SinkConfig {
        flush_interval_ms: 50,
        ..SinkConfig::new("laps", SinkKind::Laps(LapsConfig::default()))
    });
    let running = start(cfg).await;
    running.shutdown().await.unwrap();
    let store = Store::open(&dir.path().join("records.sqlite")).unwrap();
    assert_eq!(store.telemetry_laps(&sid).unwrap().len(), sim_laps.len());
}

#[test]
fn the_default_config_has_the_laps_sink() {
    let c = ingest::Config::serve_default();
    let laps: Vec<_> = c.sinks.iter().filter(|s| matches!(s.kind, SinkKind::Laps(_))).collect();
    assert_eq!(laps.len(), 1);
    assert_eq!(laps[0].name, "laps");
    let c = ingest::Config::from_toml(
        "[[sinks]]\nname = \"l\"\ntype = \"laps\"\npath = \"/srv/r.sqlite\"",
        "x.toml".as_ref(),
    )
    .unwrap();
    let SinkKind::Laps(l) = &c.sinks[0].kind else { panic!("{:?}", c.sinks[0]) };
    assert_eq!(l.path.as_deref(), Some(std::path::Path::new("/srv/r.sqlite")));
    c.validate().unwrap();
}
