//! `pitwall records` on a database filled through the `records` library.

use records::{EntryInput, LapInput, SessionInput, SessionType, Store};

use crate::{pitwall, run_ok};

fn lap(n: u32, time_ms: u32, cuts: u32) -> LapInput {
    LapInput {
        lap: n,
        time_ms,
        sectors: vec![30_000, 30_000, time_ms - 60_000],
        cuts,
        grip: None,
        top_speed_kmh: None,
        tyre: None,
        finished_at_ms: 1_767_225_600_000,
    }
}

#[test]
fn records_json_lists_each_drivers_best_per_car() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let mut store = Store::open(&db).unwrap();
    let s = store
        .begin_session(&SessionInput {
            server: "test".into(),
            track: "monza".into(),
            layout: String::new(),
            session_type: SessionType::Race,
            name: "Race".into(),
            started_at_ms: 1_767_225_600_000,
            laps_limit: Some(10),
            time_limit_s: None,
        })
        .unwrap();
    let mut entry = |guid: &str, name: &str, car: &str| {
        let e = EntryInput {
            guid: guid.into(),
            name: name.into(),
            team: String::new(),
            car_id: 0,
            car_model: car.into(),
            skin: String::new(),
        };
        store.add_entry(s, &e).unwrap()
    };
    let (ada_mx5, ada_gt3, ben) =
        (entry("g1", "Ada\u{1b}[2J", "mx5"), entry("g1", "Ada", "gt3"), entry("g2", "Ben", "mx5"));
    store.add_lap(ada_mx5, &lap(1, 101_000, 0)).unwrap();
    store.add_lap(ada_mx5, &lap(2, 99_000, 1)).unwrap();
    store.add_lap(ada_gt3, &lap(1, 95_000, 0)).unwrap();
    store.add_lap(ben, &lap(1, 100_500, 0)).unwrap();
    store.end_session(s, 1_767_229_200_000).unwrap();
    drop(store);

    let out = run_ok(pitwall().args(["records", "--track", "monza", "--json", "--db"]).arg(&db));
    let rows: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r["position"].as_u64().unwrap(), r["car"].as_str().unwrap(), r["time"].as_str().unwrap()))
        .collect();
    // Ada's cut 1:39.000 is not a record; her GT3 lap does not replace her MX5 record.
    assert_eq!(got, [(1, "gt3", "1:35.000"), (2, "mx5", "1:40.500"), (3, "mx5", "1:41.000")]);
    assert_eq!(rows[2]["name"], "Ada", "the latest name");
    assert_eq!(rows[1]["gap_ms"], 5500);
    assert_eq!(rows[0]["session_type"], "race");
    assert_eq!(rows[0]["date"], "2026-01-01 00:00:00");

    // Filters: one car, every lap with cuts.
    let out = run_ok(
        pitwall()
            .args([
                "records",
                "--track",
                "monza",
                "--car",
                "mx5",
                "--all-laps",
                "--include-invalid",
                "--json",
                "--db",
            ])
            .arg(&db),
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);

    // A database that is not there is a usage error, and is not created.
    let missing = dir.path().join("missing.sqlite");
    let out = pitwall().args(["records", "--track", "monza", "--db"]).arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!missing.exists());
}
