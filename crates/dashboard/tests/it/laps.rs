//! Stored laps end to end: realistic frames streamed through a real ingest server on loopback
//! (its Parquet and laps sinks, as `pitwall serve` runs them), a server lap linked to one of
//! the telemetry laps with a collision on it, then the catalogue, the lap API, the downloads
//! and the sessions and lap pages in a real headless Chromium.

use std::path::PathBuf;
use std::time::Duration;

use records::{CollisionInput, EntryInput, LapInput, SessionInput, SessionType, Store};
use serde_json::Value;

use crate::client::get;
use crate::support;
use crate::webdriver::Browser;

/// Frames streamed: three laps of the load generator's car and a little of the fourth.
const FRAMES: u64 = 3 * loadgen::frames::LAP_FRAMES + 600;

/// The load generator's frame `seq`, but the third lap 1 % slower (each of its steps 1 %
/// longer): the generator drives every lap alike, and a delta needs two laps that differ.
fn frame(session: [u8; 16], seq: u64) -> proto::telemetry::v1::TelemetryFrame {
    const STEP_NS: f64 = 1e9 / loadgen::frames::FRAMES_PER_SECOND as f64;
    let mut f = loadgen::frames::realistic(session, seq);
    let into_third = seq.saturating_sub(2 * loadgen::frames::LAP_FRAMES).min(loadgen::frames::LAP_FRAMES);
    let later = (into_third as f64 * STEP_NS * 0.01) as i64;
    f.mono_time_ns += later;
    f.wall_time_ns += later;
    f
}

/// What [`stored`] leaves: a records database and a dataset with one telemetry session.
struct Stored {
    _dir: tempfile::TempDir,
    records: PathBuf,
    dataset: PathBuf,
    session: [u8; 16],
    uuid: String,
    /// The telemetry lap linked to a server lap, and the collision's time into it, ms.
    linked_lap: u32,
    collision_t_ms: i64,
}

async fn stored() -> Stored {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ingest::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.path().to_owned(),
        wal: ingest::WalConfig { commit_interval_ms: 1, ..ingest::WalConfig::default() },
        ..ingest::Config::serve_default()
    };
    let dataset = config.parquet_dataset().expect("serve's sinks have a Parquet one");
    let records = dir.path().join("records.sqlite");
    let server = ingest::Server::new(config).start().await.expect("start the ingest server");
    let session = loadgen::frames::session_id(7);
    let acked =
        support::stream_frames_with(server.local_addr(), None, FRAMES, move |seq| frame(session, seq)).await;
    assert_eq!(acked, FRAMES);
    // A graceful stop flushes every sink: the Parquet files are finished, the laps stored.
    server.shutdown().await.expect("stop the ingest server");

    // The server's side of the same drive: lap 2 of "Ayrton Pitwall", with a cut and a wall
    // hit 30 s in.
    let mut store = Store::open(&records).expect("open the records");
    let lap = store.telemetry_lap(&session, 2).expect("read").expect("telemetry lap 2 is stored");
    let start = lap.finished_at_ms - i64::from(lap.time_ms);
    let s = store
        .begin_session(&SessionInput {
            server: "league server".into(),
            track: lap.game.track.clone(),
            layout: lap.game.layout.clone(),
            session_type: SessionType::Race,
            name: "Race".into(),
            started_at_ms: start - 100_000,
            laps_limit: Some(20),
            time_limit_s: None,
        })
        .expect("a session");
    let entry = store
        .add_entry(
            s,
            &EntryInput {
                guid: "76561198000000001".into(),
                name: "Ayrton Pitwall".into(),
                team: String::new(),
                car_id: 0,
                car_model: lap.game.car_model.clone(),
                skin: String::new(),
            },
        )
        .expect("an entry");
    let collision_t_ms = 30_000;
    store
        .add_collision(
            entry,
            &CollisionInput { other: None, impact_speed_kmh: 120.0, at_ms: start + collision_t_ms },
        )
        .expect("a collision");
    store
        .add_lap(
            entry,
            &LapInput {
                lap: 1,
                time_ms: lap.time_ms,
                sectors: lap.sectors_ms.clone(),
                cuts: 1,
                grip: None,
                top_speed_kmh: None,
                tyre: None,
                finished_at_ms: lap.finished_at_ms,
            },
        )
        .expect("the server lap");
    store.flush().expect("flush");
    assert!(store.telemetry_lap(&session, 2).expect("read").and_then(|l| l.server).is_some(), "linked");
    Stored {
        _dir: dir,
        records,
        dataset,
        session,
        uuid: records::session_id_text(&session),
        linked_lap: 2,
        collision_t_ms,
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_laps_are_listed_drawn_and_downloaded() {
    let s = stored().await;
    // A lap whose last frames never reached the dataset (as when its session's files are not
    // flushed yet): not drawn half.
    {
        let mut store = Store::open(&s.records).expect("open the records");
        let mut lap = store.telemetry_lap(&s.session, 3).expect("read").expect("lap 3");
        let input = records::TelemetryLapInput {
            session_id: s.session,
            lap: 9,
            game: lap.game.clone(),
            time_ms: lap.time_ms,
            invalid: Vec::new(),
            finished_at_ms: lap.finished_at_ms + 3_600_000,
            first_seq: FRAMES - 100,
            last_seq: FRAMES + 10_000,
            frames: 10_100,
            missed_steps: 0,
            sectors_ms: std::mem::take(&mut lap.sectors_ms),
        };
        store.add_telemetry_lap(&input).expect("store the lap");
        store.flush().expect("flush");
    }
    let dash = support::dashboard_of(None, Some(&s.records), Some(&s.dataset), None, None).await;

    // The catalogue: the telemetry session with its laps and their fidelity, the server session
    // with its one lap that has telemetry.
    let sessions = get(dash.addr, "/api/sessions").await.json();
    let telemetry = &sessions["telemetry"][0];
    assert_eq!(telemetry["session_id"], s.uuid.as_str());
    assert_eq!(telemetry["laps"], 4, "{telemetry}");
    assert_eq!(telemetry["linked_laps"], 1);
    assert_eq!(telemetry["game"]["player_name"], "Ayrton");
    let server = &sessions["server"][0];
    assert_eq!((server["laps"].as_u64(), server["laps_with_telemetry"].as_u64()), (Some(1), Some(1)));

    let laps = get(dash.addr, &format!("/api/session/laps?telemetry={}", s.uuid)).await.json();
    let laps = laps.as_array().expect("laps");
    assert_eq!(laps.len(), 4);
    for lap in &laps[..3] {
        let frames = lap["frames"].as_u64().unwrap_or_default();
        assert!((24_000..=26_000).contains(&frames), "{lap}");
        // The load generator's car skips a step now and then, as a real game does.
        assert!(lap["missed_steps"].as_u64().is_some_and(|m| m < 100), "{lap}");
    }
    assert_eq!(laps[1]["server"]["name"], "Ayrton Pitwall");
    let server_laps = get(dash.addr, &format!("/api/session/laps?server={}", server["id"])).await.json();
    assert_eq!(server_laps[0]["telemetry"]["lap"], 2, "{server_laps}");

    // One lap's traces: on a 2 m grid, as long as the lap, timed like it, with the server's
    // events on it.
    let lap = get(dash.addr, &format!("/api/lap?session={}&lap={}", s.uuid, s.linked_lap)).await.json();
    let trace = &lap["trace"];
    let distance = trace["distance_m"].as_array().expect("distances");
    let n = distance.len();
    for key in ["t_ms", "speed_kmh", "throttle", "brake", "steering", "gear", "rpm", "x", "z"] {
        assert_eq!(trace[key].as_array().map(Vec::len), Some(n), "{key}");
    }
    assert_eq!(f(&distance[1]) - f(&distance[0]), 2.0);
    let length = f(&lap["track_length_m"]);
    assert!(
        length > 4_000.0 && (f(&distance[n - 1]) - length).abs() < 30.0,
        "{} of {length} m",
        f(&distance[n - 1])
    );
    let time_ms = f(&lap["time_ms"]);
    let end_t = f(&trace["t_ms"][n - 1]);
    assert!((end_t - time_ms).abs() < 100.0, "the trace ends at {end_t} ms, the lap is {time_ms} ms");
    assert_eq!(lap["frames_read"].as_u64(), lap["frames"].as_u64());
    let speeds: Vec<f64> = trace["speed_kmh"].as_array().into_iter().flatten().map(f).collect();
    assert!(
        speeds.iter().any(|&v| v > 250.0) && speeds.iter().any(|&v| v < 150.0),
        "a lap has straights and corners"
    );
    let events = lap["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"cut") && kinds.contains(&"collision"), "{events:?}");
    let hit = events.iter().find(|e| e["kind"] == "collision").expect("the collision");
    assert_eq!(f(&hit["t_ms"]), s.collision_t_ms as f64);
    // Placed where the car was 30 s into the lap.
    let k = trace["t_ms"]
        .as_array()
        .expect("times")
        .iter()
        .position(|t| f(t) >= s.collision_t_ms as f64)
        .expect("inside");
    assert!((f(&hit["distance_m"]) - f(&distance[k])).abs() < 4.0, "{hit}");
    assert_eq!(lap["sectors_ms"].as_array().map(Vec::len), Some(3));
    assert_eq!(lap["sector_ends_m"].as_array().map(Vec::len), Some(2));

    // Downloads: the lap's frames, converted as `pitwall convert` does.
    let frames = lap["frames"].as_u64().expect("frames") as usize;
    let base = format!("/api/lap/download?session={}&lap={}", s.uuid, s.linked_lap);
    let csv = get(dash.addr, &format!("{base}&format=csv")).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-disposition")
            .is_some_and(|d| d.contains("Ayrton_Pitwall-ks_red_bull_ring-lap2.csv")),
        "{:?}",
        csv.headers
    );
    assert_eq!(csv.text().lines().count(), frames + 1, "a header and one line per frame");
    let dir = tempfile::tempdir().expect("tempdir");
    for (format, name) in [("parquet", "lap.parquet"), ("motec", "lap.ld")] {
        let file = get(dash.addr, &format!("{base}&format={format}")).await;
        assert_eq!(file.status, 200, "{format}: {}", file.text());
        let path = dir.path().join(name);
        std::fs::write(&path, &file.body).expect("write");
        if format == "parquet" {
            assert_eq!(&file.body[..4], b"PAR1");
            let summary =
                convert::for_each_frames(&path, &mut |_| {}, |_| Ok(())).expect("a readable Parquet file");
            assert_eq!(summary.frames as usize, frames);
        } else {
            // A MoTeC log of the lap: its header and a channel per field, well over the
            // header's size.
            assert!(file.body.len() > 100_000, "{} bytes", file.body.len());
        }
    }

    let half = get(dash.addr, &format!("/api/lap?session={}&lap=9", s.uuid)).await;
    assert_eq!(half.status, 404);
    assert!(half.json()["error"].as_str().is_some_and(|e| e.contains("not whole")), "{}", half.text());

    // Hostile and unknown: 4xx, never a panic.
    for (target, status) in [
        (format!("/api/lap?session={}&lap=99", s.uuid), 404),
        (format!("/api/lap?session={}&lap=0", s.uuid), 400),
        (format!("/api/lap?session={}&lap=-1", s.uuid), 400),
        (format!("/api/lap?session={}&lap=%2B2", s.uuid), 400),
        (format!("/api/lap?session={}&lap=2&lap=3", s.uuid), 400),
        ("/api/lap?session=not-a-uuid&lap=1".to_owned(), 400),
        (format!("/api/lap?session={}", s.uuid), 400),
        (format!("/api/lap?session={}&lap=2&evil=1", s.uuid), 400),
        (format!("{base}&format=exe"), 400),
        (format!("/api/lap/download?session={}&lap=2", s.uuid), 400),
        (format!("/api/lap/download?session={}&lap=77&format=csv", s.uuid), 404),
        ("/api/session/laps".to_owned(), 400),
        (format!("/api/session/laps?server=1&telemetry={}", s.uuid), 400),
        ("/api/session/laps?server=abc".to_owned(), 400),
        ("/api/sessions?limit=100000".to_owned(), 400),
        ("/api/lap?session=%00&lap=1".to_owned(), 400),
    ] {
        let answer = get(dash.addr, &target).await;
        assert_eq!(answer.status, status, "{target}: {}", answer.text());
    }
    // An unknown session has no laps (not an error); the hex form of a UUID is taken too.
    assert_eq!(
        get(dash.addr, &format!("/api/session/laps?telemetry={}", "0".repeat(32))).await.json(),
        serde_json::json!([])
    );
    let hex = get(dash.addr, &format!("/api/lap?session={}&lap=1", proto::hex(&s.session))).await;
    assert_eq!(hex.status, 200);
    let stats = dash.stop().await;
    assert!(stats.bad_requests >= 13, "{stats:?}");

    // Without a dataset the lap API says so.
    let bare = support::dashboard_of(None, Some(&s.records), None, None, None).await;
    assert_eq!(get(bare.addr, &format!("/api/lap?session={}&lap=2", s.uuid)).await.status, 503);
    bare.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lap_page_overlays_two_laps_with_their_delta_and_one_cursor() {
    let s = stored().await;
    let dash = support::dashboard_of(None, Some(&s.records), Some(&s.dataset), None, None).await;
    let browser = Browser::start().await;

    // The sessions page: the telemetry session's laps, two of them ticked and compared.
    browser.goto(&format!("http://{}/sessions", dash.addr)).await;
    browser
        .wait_for(
            "the telemetry session",
            Duration::from_secs(30),
            "return document.querySelectorAll('#telemetry-sessions tbody tr').length === 1 || null;",
        )
        .await;
    browser.click("#telemetry-sessions tbody tr").await;
    let rows = browser
        .wait_for(
            "the session's laps",
            Duration::from_secs(30),
            "const rows = [...document.querySelectorAll('#laps tbody tr')]; return rows.length === 3 ? rows.map((r) => [r.dataset.telemetry, r.querySelector('[data-col=\"fidelity\"]').textContent, r.querySelector('[data-col=\"server\"]').textContent]) : null;",
        )
        .await;
    let first = get(dash.addr, &format!("/api/session/laps?telemetry={}", s.uuid)).await.json();
    let (frames, missed) = (f(&first[0]["frames"]), f(&first[0]["missed_steps"]));
    assert_eq!(rows[0][1], format!("{:.1} %", 100.0 * frames / (frames + missed)), "{rows}");
    assert!(rows[1][2].as_str().is_some_and(|t| t.contains("Ayrton Pitwall")), "{rows}");
    browser.screenshot("sessions").await;
    // Laps 2 and 3: the third is 1 % slower everywhere (see `frame`).
    browser.click(&format!("#laps input[value=\"{}:2\"]", s.uuid)).await;
    browser.click(&format!("#laps input[value=\"{}:3\"]", s.uuid)).await;
    browser.click("#compare").await;

    // The lap page: both laps on every chart, the delta to the reference.
    let drawn = browser
        .wait_for(
            "two laps drawn",
            Duration::from_secs(30),
            "const ids = ['c-delta', 'c-speed', 'c-throttle', 'c-brake', 'c-steering', 'c-gear', 'c-rpm']; const els = ids.map((id) => document.getElementById(id)); return document.body.dataset.laps === '2' && els.every((e) => e.dataset.series === '2' && e.querySelector('canvas')) ? els.map((e) => Number(e.dataset.points)) : null;",
        )
        .await;
    let points = drawn.as_array().expect("points");
    assert!(points.iter().all(|p| p == &points[0] && p.as_u64() > Some(2_000)), "{drawn}");
    let a = get(dash.addr, &format!("/api/lap?session={}&lap=2", s.uuid)).await.json();
    let b = get(dash.addr, &format!("/api/lap?session={}&lap=3", s.uuid)).await.json();
    let delta = browser
        .eval("const d = document.getElementById('c-delta'); return [d.dataset.reference, JSON.parse(d.dataset.finalDeltas)];")
        .await;
    // The reference is the faster lap without a reason to set it aside; each lap's delta at
    // the end of the shorter is the difference of their times there.
    let (ta, tb) = (&a["trace"]["t_ms"], &b["trace"]["t_ms"]);
    let m = ta.as_array().map(Vec::len).unwrap_or(0).min(tb.as_array().map(Vec::len).unwrap_or(0)) - 1;
    let reference = delta[0].as_str().expect("a reference").to_owned();
    let expected = if reference.ends_with(":2") {
        [0.0, (f(&tb[m]) - f(&ta[m])).round()]
    } else {
        [(f(&ta[m]) - f(&tb[m])).round(), 0.0]
    };
    assert_eq!([f(&delta[1][0]), f(&delta[1][1])], expected, "{delta}");
    // About 1 % of a 75 s lap.
    assert!(expected.iter().any(|&d| d.abs() > 500.0), "two different laps differ: {expected:?}");

    // The map and the lap list: the reference lap's path, the collision marked, sectors and the
    // theoretical best, downloads.
    let map = browser
        .eval("return [document.getElementById('lap-map-line').getAttribute('d').length, document.querySelectorAll('#lap-map-marks .mark.collision').length, document.querySelectorAll('#lap-map-marks .sector-end').length, document.getElementById('theoretical').dataset.ms, document.querySelectorAll('#lap-list a.download').length];")
        .await;
    assert!(map[0].as_u64() > Some(1_000), "{map}");
    assert_eq!((map[1].as_u64(), map[2].as_u64(), map[4].as_u64()), (Some(1), Some(2), Some(6)), "{map}");
    let best: u64 = [&a, &b]
        .iter()
        .map(|l| l["sectors_ms"].as_array().cloned().unwrap_or_default())
        .fold(vec![u64::MAX; 3], |best, s| {
            best.iter().zip(&s).map(|(x, y)| (*x).min(y.as_u64().unwrap_or(u64::MAX))).collect()
        })
        .iter()
        .sum();
    assert_eq!(map[3], best.to_string());

    // One cursor: moving over the speed chart moves every chart's cursor and a dot per lap on
    // the map.
    let cursor = browser
        .eval("const over = document.querySelector('#c-speed .u-over'); const r = over.getBoundingClientRect(); over.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + r.width * 0.4, clientY: r.top + r.height / 2, bubbles: true })); return true;")
        .await;
    assert_eq!(cursor, true);
    let synced = browser
        .wait_for(
            "the cursor on every chart and the map",
            Duration::from_secs(10),
            "const xs = [...document.querySelectorAll('#lap-charts .u-cursor-x')].map((c) => c.style.transform || c.style.left); const dots = document.querySelectorAll('#lap-map-cursor circle').length; return document.body.dataset.cursor && dots === 2 && xs.length === 7 && xs.every((x) => x && x === xs[0]) ? [document.body.dataset.cursor, xs[0]] : null;",
        )
        .await;
    let k: f64 = synced[0].as_str().and_then(|k| k.parse().ok()).expect("a cursor index");
    assert!(k > 0.0, "{synced}");
    let readout = browser.eval("return document.getElementById('cursor-readout').textContent;").await;
    assert!(
        readout.as_str().is_some_and(|t| t.contains("L2") && t.contains("L3") && t.contains("km/h")),
        "{readout}"
    );
    browser.screenshot("lap").await;
    browser.quit().await;
    dash.stop().await;
}
