//! Live telemetry end to end: realistic frames streamed through a real ingest server on
//! loopback, its live tap followed by the dashboard, and `/ws/telemetry`, `/api/telemetry` and
//! the `/telemetry` page read by a real WebSocket client and a real headless Chromium.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::get;
use crate::support;
use crate::webdriver::Browser;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, session: [u8; 16]) -> Socket {
    let url = format!("ws://{addr}/ws/telemetry?session={}", proto::hex(&session));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("a WebSocket");
    socket
}

/// The next JSON message; panics on a close or an error.
async fn next(socket: &mut Socket) -> Value {
    loop {
        match timeout(Duration::from_secs(30), socket.next()).await.expect("a message within 30 s") {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
            Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("WebSocket error: {e}"),
            None => panic!("the WebSocket ended"),
        }
    }
}

fn round(x: f32, per: f64) -> f64 {
    (f64::from(x) * per).round() / per
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_comes_at_most_thirty_times_a_second_with_the_frames_values() {
    const RATE: u32 = 200;
    const FRAMES: u64 = 1_000; // five seconds
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = support::ingest_server(dir.path()).await;
    let dash = support::dashboard_with(None, None, None, Some(ingest.live_tap())).await;
    let session = loadgen::frames::session_id(1);

    // A browser that never reads: it must slow neither ingest nor the other browser.
    let idle = connect(dash.addr, session).await;
    let mut socket = connect(dash.addr, session).await;
    let streamer = tokio::spawn(support::stream_frames(ingest.local_addr(), session, Some(RATE), FRAMES));

    // The first sample, then three seconds of them.
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let mut tyres: Vec<Value> = Vec::new();
    loop {
        let m = next(&mut socket).await;
        if let Some(s) = m.get("s") {
            samples.push(serde_json::from_value(s.clone()).expect("a sample of numbers"));
            break;
        }
    }
    let start = Instant::now();
    samples.clear();
    while start.elapsed() < Duration::from_secs(3) {
        let m = next(&mut socket).await;
        match (m.get("s"), m.get("t")) {
            (Some(s), _) => samples.push(serde_json::from_value(s.clone()).expect("a sample of numbers")),
            (_, Some(t)) => tyres.push(t.clone()),
            _ => panic!("unknown message {m}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = samples.len() as f64 / elapsed;
    // Never over 30 a second; under it only when the machine is busy (a tick is skipped, not
    // caught up with, and a slot without a new durable frame sends nothing), hence the loose
    // floor: CI shares its two cores with the other tests (5/s seen with fuzzers running beside).
    assert!((2.0..=31.0).contains(&rate), "{} samples in {elapsed:.2} s: {rate:.1}/s", samples.len());
    let tyre_rate = tyres.len() as f64 / elapsed;
    assert!((0.3..=2.4).contains(&tyre_rate), "{} tyre messages in {elapsed:.2} s", tyres.len());

    // Each sample is the latest frame of its slot: seqs rise, several frames apart, and every
    // value is the frame's.
    let seqs: Vec<u64> = samples.iter().map(|s| s[0] as u64).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let stride = (seqs[seqs.len() - 1] - seqs[0]) as f64 / (seqs.len() - 1) as f64;
    assert!(stride > 4.0, "one sample in about {} frames, not {stride:.1}", RATE / 30);
    for s in &samples {
        let f = loadgen::frames::realistic(session, s[0] as u64);
        let expected = [
            f.seq as f64,
            (f.wall_time_ns / 1_000_000) as f64,
            round(f.speed_kmh, 10.0),
            round(f.throttle, 1000.0),
            round(f.brake, 1000.0),
            round(f.steering, 1000.0),
            f64::from(f.gear),
            f64::from(f.rpm),
        ];
        assert_eq!(s.as_slice(), expected.as_slice(), "sample of frame {}", f.seq);
    }
    for t in &tyres {
        let f = loadgen::frames::realistic(session, t[0].as_u64().expect("a seq"));
        let temps = f.tyre_core_temp_c.expect("tyre temperatures");
        let psi = f.tyre_pressure_psi.expect("tyre pressures");
        assert_eq!(t[1][0].as_f64(), Some(round(temps.fl, 10.0)), "{t}");
        assert_eq!(t[1][3].as_f64(), Some(round(temps.rr, 10.0)), "{t}");
        assert_eq!(t[2][1].as_f64(), Some(round(psi.fr, 10.0)), "{t}");
        assert_eq!(t[2][2].as_f64(), Some(round(psi.rl, 10.0)), "{t}");
    }

    // The car in the list, with the metadata of its first frame and its frame rate.
    let list = get(dash.addr, "/api/telemetry").await.json();
    let meta = loadgen::frames::metadata();
    let car = &list[0];
    assert_eq!(car["session"], proto::hex(&session), "{list}");
    assert_eq!(car["car_model"], meta.car_model.as_str(), "{list}");
    assert!(car["player"].as_str().is_some_and(|p| p.contains(meta.player_name.as_str())), "{list}");
    let fps = car["frames_per_second"].as_u64().unwrap_or_default();
    assert!((100..=260).contains(&fps), "{fps} frames/s for {RATE} sent: {list}");

    // Every frame was acked although one browser never read.
    let acked = timeout(Duration::from_secs(60), streamer).await.expect("the stream ends").expect("streamer");
    assert_eq!(acked, FRAMES);
    drop(idle);
    let stats = dash.stop().await;
    assert!(stats.telemetry_sent as usize >= samples.len());
    assert_eq!(stats.telemetry_bad_frames, 0);
    let ingest_stats = ingest.shutdown().await.expect("the ingest server stops");
    assert_eq!(ingest_stats.frames_stored, FRAMES);
}

/// A session's metadata comes on its first frame only; a dashboard that starts after a car began
/// streaming still names the car, from the first frames the tap keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_started_after_the_car_still_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = support::ingest_server(dir.path()).await;
    let session = loadgen::frames::session_id(2);
    // Nobody watches these 100, the first among them.
    support::stream_frames(ingest.local_addr(), session, None, 100).await;
    let dash = support::dashboard_with(None, None, None, Some(ingest.live_tap())).await;
    // The stream again: the first 100 are duplicates (not stored, not shown), then 200 new.
    support::stream_frames(ingest.local_addr(), session, None, 300).await;
    let meta = loadgen::frames::metadata();
    let mut list = Value::Null;
    for _ in 0..100 {
        list = get(dash.addr, "/api/telemetry").await.json();
        if list[0]["seq"].as_u64() == Some(299) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list[0]["seq"].as_u64(), Some(299), "{list}");
    assert_eq!(list[0]["car_model"], meta.car_model.as_str(), "{list}");
    assert!(list[0]["player"].as_str().is_some_and(|p| p.contains(meta.player_name.as_str())), "{list}");
    dash.stop().await;
}

#[tokio::test]
async fn telemetry_needs_a_tap_and_a_session() {
    let dash = support::dashboard(None, None, None).await;
    let no_tap = get(dash.addr, "/api/telemetry").await;
    assert_eq!(no_tap.status, 503, "{}", no_tap.text());
    let hex = "0".repeat(32);
    assert_eq!(get(dash.addr, &format!("/ws/telemetry?session={hex}")).await.status, 503);
    let page = get(dash.addr, "/telemetry").await;
    assert_eq!(page.status, 200, "the page says there is nothing");
    assert!(page.header("content-security-policy").is_some());
    assert!(page.text().contains("/assets/telemetry.js") && page.text().contains("uPlot.iife.min.js"));
    let script = get(dash.addr, "/assets/telemetry.js").await;
    assert_eq!(script.status, 200);
    assert!(script.text().contains("/ws/telemetry"));
    dash.stop().await;

    let tap = ingest::live::LiveTap::new();
    let dash = support::dashboard_with(None, None, None, Some(tap)).await;
    assert_eq!(get(dash.addr, "/api/telemetry").await.json(), serde_json::json!([]));
    assert_eq!(get(dash.addr, "/api/telemetry?x=1").await.status, 400);
    for bad in
        ["", "?session=", "?session=12", "?session=zz", "?other=1", &format!("?session={hex}&session={hex}")]
    {
        let r = get(dash.addr, &format!("/ws/telemetry{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    dash.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_telemetry_page_draws_the_live_car() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = support::ingest_server(dir.path()).await;
    let dash = support::dashboard_with(None, None, None, Some(ingest.live_tap())).await;
    let session = loadgen::frames::session_id(7);
    // A minute of a car at 100 Hz: more than the test needs; it is stopped at the end.
    let streamer = tokio::spawn(support::stream_frames(ingest.local_addr(), session, Some(100), 6_000));
    let browser = Browser::start().await;
    // No session in the URL: the page picks the live car itself.
    browser.goto(&format!("http://{}/telemetry", dash.addr)).await;
    let first = browser
        .wait_for(
            "samples in the traces",
            Duration::from_secs(60),
            "const p = document.getElementById('points'); return Number(p.dataset.count) >= 30 && Number(p.dataset.series) > 0 ? [Number(p.dataset.count), Number(p.dataset.series)] : null;",
        )
        .await;
    // The counter keeps growing, the tyres and the car are shown.
    let grown = browser
        .wait_for(
            "more samples",
            Duration::from_secs(30),
            &format!(
                "const n = Number(document.getElementById('points').dataset.count); return n > {} ? n : null;",
                first[0]
            ),
        )
        .await;
    assert!(grown.as_u64() > first[0].as_u64(), "{first} then {grown}");
    let shown = browser
        .wait_for(
            "tyres and the car",
            Duration::from_secs(30),
            "const t = document.querySelector('.tyre[data-wheel=\"0\"] .temp').textContent; const car = document.getElementById('t-car').textContent; return t !== '—' && car !== '—' ? [t, car, document.getElementById('car').value, document.getElementById('connection').dataset.state] : null;",
        )
        .await;
    assert_eq!(shown[1], loadgen::frames::metadata().car_model.as_str(), "{shown}");
    assert_eq!(shown[2], proto::hex(&session), "{shown}");
    assert_eq!(shown[3], "live", "{shown}");
    assert!(shown[0].as_str().is_some_and(|t| t.parse::<f64>().is_ok()), "{shown}");
    let series = browser.eval("return Number(document.getElementById('points').dataset.series);").await;
    assert!(series.as_u64().is_some_and(|n| n > 0), "{series}");
    let shot = browser.screenshot("telemetry").await;
    assert!(shot.exists());
    browser.quit().await;
    streamer.abort();
    dash.stop().await;
    ingest.shutdown().await.expect("the ingest server stops");
}
