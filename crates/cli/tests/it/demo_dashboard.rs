//! The README's main command with a browser on it: `pitwall demo` runs (simulated server,
//! simulated games and their bridges, the ingest server, the timing follower), and a real
//! headless Chromium reads every page of the dashboard it prints: the timing table and the map,
//! a live trace, the sessions, two stored laps and their delta, a leaderboard filter.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::browser::Browser;
use testkit::http::get;

use crate::pitwall;

/// The demo, killed when dropped (a failed test included).
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` every half second until it gives something, for at most `within`.
async fn until<T>(what: &str, within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn the_demo_dashboard_shows_timing_map_telemetry_sessions_laps_and_records() {
    // One demo at a time: two would starve each other's simulated games on a 2-core machine.
    let _one = crate::ONE_DEMO.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let child = pitwall()
        .args(["demo", "--json", "--telemetry-cars", "2", "--track", "pitwall_oval", "--cars", "6"])
        .args(["--speed", "8", "--duration", "150", "--http", "127.0.0.1:0"])
        .arg("--data")
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pitwall demo starts");
    let mut demo = Demo(child);
    // The dashboard's address is the demo's first JSON line of its kind; the rest of the
    // output is read (and dropped) on a thread so that the demo never blocks on a full pipe.
    let stdout = demo.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["type"] == "dashboard" {
                let _ = tx.send(v["url"].as_str().unwrap_or_default().to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(120)).expect("the demo prints its dashboard's URL");
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{url}: {e}"));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let browser = Browser::start().await;

        // Live timing: every car of the server in the table, a dot per car on the map.
        browser.goto(&url).await;
        let timing = browser
            .wait_for(
                "six cars in the table and on the map",
                Duration::from_secs(90),
                "const rows = document.querySelectorAll('#standings tbody tr').length; const dots = document.querySelectorAll('#map-cars circle').length; const d = document.getElementById('map-line').getAttribute('d'); return rows === 6 && dots === 6 && d && d.length > 100 ? [rows, dots] : null;",
            )
            .await;
        assert_eq!(timing, serde_json::json!([6, 6]));
        browser.screenshot("demo-timing").await;

        // Live telemetry: a trace receives the samples of one of the demo's games.
        browser.goto(&format!("http://{addr}/telemetry")).await;
        let points = browser
            .wait_for(
                "live samples on the telemetry page",
                Duration::from_secs(60),
                "const n = Number(document.getElementById('points').dataset.count); return n > 30 ? n : null;",
            )
            .await;
        assert!(points.as_u64() > Some(30), "{points}");

        // Stored laps: wait until the first game's laps 2 and 3 are in the Parquet files (the
        // demo finishes them every 10 s), then compare them from the sessions page.
        let uuid = until("two stored laps of a telemetry car", Duration::from_secs(120), async || {
            let sessions = get(addr, "/api/sessions").await.json();
            let first = sessions["telemetry"].as_array()?.iter().find(|s| s["laps"].as_u64() >= Some(3))?;
            let uuid = first["session_id"].as_str()?.to_owned();
            for lap in [2, 3] {
                if get(addr, &format!("/api/lap?session={uuid}&lap={lap}")).await.status != 200 {
                    return None;
                }
            }
            Some(uuid)
        })
        .await;
        browser.goto(&format!("http://{addr}/sessions")).await;
        browser
            .wait_for(
                "the telemetry sessions",
                Duration::from_secs(30),
                &format!("return document.querySelector('#telemetry-sessions tr[data-session=\"{uuid}\"]') !== null || null;"),
            )
            .await;
        browser.click(&format!("#telemetry-sessions tr[data-session=\"{uuid}\"]")).await;
        browser
            .wait_for(
                "the laps",
                Duration::from_secs(30),
                &format!("return document.querySelector('#laps input[value=\"{uuid}:3\"]') !== null || null;"),
            )
            .await;
        browser.click(&format!("#laps input[value=\"{uuid}:2\"]")).await;
        browser.click(&format!("#laps input[value=\"{uuid}:3\"]")).await;
        browser.click("#compare").await;
        let drawn = browser
            .wait_for(
                "two laps and the delta drawn",
                Duration::from_secs(60),
                "const d = document.getElementById('c-delta'); const s = document.getElementById('c-speed'); return document.body.dataset.laps === '2' && d.dataset.series === '2' && s.querySelector('canvas') ? [Number(s.dataset.points), JSON.parse(d.dataset.finalDeltas)] : null;",
            )
            .await;
        assert!(drawn[0].as_u64() > Some(100), "a lap of the oval is over 200 m: {drawn}");
        // The reference's own delta is 0 at every point; the other lap's is some time.
        let deltas: Vec<f64> = drawn[1].as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
        assert_eq!(deltas.len(), 2, "{drawn}");
        assert!(deltas.contains(&0.0) && deltas.iter().any(|d| *d != 0.0), "{drawn}");
        browser.screenshot("demo-lap").await;

        // Records: the leaderboard of the demo's track; one car ticked leaves that car's rows.
        let tracks = get(addr, "/api/tracks").await.json();
        let track = &tracks[0];
        let cars: Vec<String> =
            track["cars"].as_array().into_iter().flatten().filter_map(|c| c["car"].as_str().map(str::to_owned)).collect();
        assert!(cars.len() >= 2, "the demo's grid has several car models: {tracks}");
        let layout = track["layout"].as_str().unwrap_or_default();
        browser
            .goto(&format!("http://{addr}/records?track=pitwall_oval&layout={layout}&ranking=every&invalid=true"))
            .await;
        const RECORDS: &str = "return [...document.querySelectorAll('#records tbody tr [data-col=\"car\"]')].map((td) => td.textContent);";
        let all = browser
            .wait_for("the leaderboard", Duration::from_secs(30), &format!("const cars = (() => {{ {RECORDS} }})(); return cars.length > 0 ? cars : null;"))
            .await;
        let all: Vec<&str> = all.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let one = all.first().expect("a row").to_string();
        assert!(all.iter().any(|c| *c != one), "several cars before filtering: {all:?}");
        browser.click(&format!("#f-cars input[value=\"{one}\"]")).await;
        let filtered = browser
            .wait_for(
                "one car's rows",
                Duration::from_secs(30),
                &format!("const cars = (() => {{ {RECORDS} }})(); return cars.length > 0 && cars.every((c) => c === '{one}') ? cars : null;"),
            )
            .await;
        assert!(filtered.as_array().map(Vec::len) < Some(all.len()), "{filtered}");
        browser.screenshot("demo-records").await;
        browser.quit().await;
    });
    drop(demo);
}
