//! `pitwall demo`: the README's main command runs on the simulators and shows live timing.
//! Read through `--json`, one object per line, so that the assertions do not depend on prose.

use serde_json::Value;

use crate::{pitwall, run_ok};

/// The telemetry cars are cars of the server: this asks for two of its six, on the short oval
/// so that their games complete laps within the run. A debug build's games may run slower
/// than `--speed` asks on a busy machine: 20 s give them their first lap (about 45 s of game
/// time) even at half of it.
#[test]
fn demo_follows_a_simulated_server_live_and_stores_every_telemetry_frame() {
    let _one = crate::ONE_DEMO.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = run_ok(
        pitwall()
            .args(["demo", "--json", "--telemetry-cars", "2", "--track", "pitwall_oval"])
            .arg("--data")
            .arg(&data)
            .args(["--duration", "20", "--speed", "8", "--cars", "6", "--board-every", "2"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{text}")))
        .collect();
    let of_type = |t: &'static str| lines.iter().filter(move |v| v["type"] == t);

    // The dashboard said where it was.
    let dashboard = of_type("dashboard").next().expect(&text);
    assert!(dashboard["url"].as_str().is_some_and(|u| u.starts_with("http://127.0.0.1:")), "{dashboard}");

    // The server side: sessions, drivers and laps, as the timing engine saw them.
    let practice = of_type("session_started").find(|s| s["name"] == "Practice").expect(&text);
    assert_eq!(practice["track"], "pitwall_oval", "the server runs on the games' track: {practice}");
    assert_eq!(of_type("driver_joined").count(), 6, "{text}");
    let laps: Vec<&Value> = of_type("lap_completed").collect();
    // At least the telemetry cars' (checked below); the simulator's cars start with an out lap.
    assert!(laps.len() >= 2, "laps completed: {text}");
    assert!(laps.iter().all(|l| l["lap_ms"].as_u64().is_some_and(|ms| ms > 0)), "{text}");

    // Timing boards: the last one ranks cars from 1 with their drivers.
    let board = of_type("board").next_back().expect("a timing board");
    let rows = board["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{board}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["position"].as_u64(), Some(i as u64 + 1), "{board}");
        assert!(row["driver"].as_str().is_some_and(|d| !d.is_empty()), "{board}");
    }
    // The boards as laps are completed: at least one (practice's last, printed as it ends) has
    // laps on it.
    let with_laps = |b: &Value| b["rows"].as_array().unwrap().iter().any(|r| r["laps"].as_u64() > Some(0));
    assert!(of_type("board").any(with_laps), "{text}");

    // The summary is the last line: the UDP counters, then the car side.
    assert_eq!(of_type("summary").count(), 1, "{text}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{text}");
    let udp = &summary["udp"];
    assert_eq!((udp["malformed"].as_u64(), udp["rejected"].as_u64()), (Some(0), Some(0)), "{summary}");
    assert!(udp["per_type"]["lap_completed"].as_u64() >= Some(laps.len() as u64), "{summary}");
    assert!(udp["events"].as_u64() > Some(0), "{summary}");

    // The car side: both bridges' frames acked, and stored exactly once by the server.
    let telemetry = summary["telemetry"].as_array().unwrap();
    assert_eq!(telemetry.len(), 2, "{summary}");
    let mut total = 0;
    for car in telemetry {
        let (frames, acked) = (car["frames"].as_u64().unwrap(), car["acked"].as_u64().unwrap());
        assert!(frames > 1000, "{car}");
        assert_eq!(frames, acked, "every recorded frame acked: {car}");
        total += frames;
    }
    let ingest = &summary["ingest"];
    assert_eq!(
        (ingest["frames_stored"].as_u64(), ingest["recorded"].as_u64(), ingest["duplicates"].as_u64()),
        (Some(total), Some(total), Some(0)),
        "frames stored exactly once: {summary}"
    );
    assert_eq!(
        summary["sessions"].as_array().map(Vec::len),
        Some(2),
        "two sessions in the catalogue: {summary}"
    );
    assert_eq!(summary["catalogue_error"], Value::Null, "{summary}");
    assert!(data.join("recordings/car-1.pb.gz").is_file());

    // The telemetry cars are the server's cars 0 and 1: on the timing board with the drivers
    // and cars of their telemetry sessions, and with laps on the server that are exactly laps
    // of their games.
    let sessions = summary["sessions"].as_array().unwrap();
    let cars = summary["telemetry_cars"].as_array().unwrap();
    assert_eq!(cars.len(), 2, "{summary}");
    for (i, car) in cars.iter().enumerate() {
        assert_eq!(car["car_id"].as_u64(), Some(i as u64), "{car}");
        let driver = car["driver"].as_str().unwrap();
        let session = sessions.iter().find(|s| s["driver"] == driver);
        let session = session.unwrap_or_else(|| panic!("no telemetry session of {driver}: {summary}"));
        assert_eq!((&session["car"], &session["track"]), (&car["car_model"], &Value::from("pitwall_oval")));
        let row = rows.iter().find(|r| r["car_id"].as_u64() == Some(i as u64)).expect("the car on the board");
        assert_eq!((&row["driver"], &row["car_model"]), (&car["driver"], &car["car_model"]), "{board}");
        let on_server: Vec<u64> =
            car["server_lap_ms"].as_array().unwrap().iter().filter_map(Value::as_u64).collect();
        let in_game: Vec<u64> =
            car["game_lap_ms"].as_array().unwrap().iter().filter_map(Value::as_u64).collect();
        assert!(!on_server.is_empty(), "no laps on the server for {driver}: {car}");
        assert_eq!(car["server_laps"].as_u64(), Some(on_server.len() as u64), "{car}");
        assert!(
            on_server.iter().all(|ms| in_game.contains(ms)),
            "a server lap its game did not drive: {car}"
        );
        assert!(
            laps.iter().any(|l| l["driver"] == driver && l["car_id"].as_u64() == Some(i as u64)),
            "{text}"
        );
    }
    assert!(data.join("server/sinks/parquet").is_dir());

    // The two halves joined: in the records the demo kept, the laps of the telemetry cars are
    // linked to their telemetry laps (all but the last, which the telemetry may not have closed
    // when the demo stopped), and no lap of another car is.
    let store = records::Store::open(&data.join("server/records.sqlite")).unwrap();
    let layout = practice["track_config"].as_str().unwrap();
    let q = records::Query {
        ranking: records::Ranking::EveryLap,
        include_invalid: true,
        ..records::Query::new("pitwall_oval", layout)
    };
    let stored = store.leaderboard(&q).unwrap();
    let telemetry_drivers: Vec<&str> = cars.iter().filter_map(|c| c["driver"].as_str()).collect();
    for driver in &telemetry_drivers {
        let mut own: Vec<&records::LeaderRow> = stored.iter().filter(|r| r.name == *driver).collect();
        own.sort_by_key(|r| r.finished_at_ms);
        let linked = own.iter().filter(|r| r.telemetry.is_some()).count();
        assert!(
            !own.is_empty() && linked + 1 >= own.len(),
            "{driver}: {linked} of {} laps linked",
            own.len()
        );
        assert!(linked > 0, "{driver}: no lap linked to its telemetry");
    }
    let others = stored.iter().filter(|r| !telemetry_drivers.contains(&r.name.as_str()));
    assert!(others.clone().all(|r| r.telemetry.is_none()), "a lap of a car without telemetry was linked");
}

/// A reader that goes away (`pitwall demo | head -1`) ends the demo quietly with status 0: it
/// panicked on the closed pipe once.
#[test]
fn a_closed_stdout_ends_the_demo_quietly() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = pitwall()
        .args(["demo", "--json", "--telemetry-cars", "0", "--duration", "5", "--speed", "200"])
        .arg("--data")
        .arg(dir.path().join("demo"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with('{'), "{first}");
    // The reader is dropped here: the demo's next line meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
