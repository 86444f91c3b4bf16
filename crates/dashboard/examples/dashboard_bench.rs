//! The dashboard's cost and speed (not a test; figures for the closing notes and BENCHMARKS.md).
//!
//! `cargo run --release -p pitwall-dashboard --example dashboard_bench [-- SECONDS]`
//!
//! 1. **Live**: the dedicated-server simulator with 24 cars in a race at real time (car updates
//!    every 100 ms), followed by the timing engine, and 24 telemetry streams of the load
//!    generator's realistic frames at 333 Hz through a real ingest server; the dashboard shows
//!    both. For SECONDS (default 20) with no browser, then SECONDS with three headless
//!    Chromiums, each on the telemetry page of another car, and three WebSocket clients on the
//!    timing feed (the three browsers' timing tabs). Printed: the samples and boards delivered
//!    per second to each, and the CPU the process spent in each phase; the difference, per
//!    browser, is what a browser costs the server (target: under 5 % of a core).
//! 2. **Lap page**: two 90-second laps (30 000 frames each, the load generator's lap stretched
//!    to 90 s) stored by a real ingest server with `serve`'s sinks; the lap page opened five
//!    times, and the time from navigation to the charts drawn read from the page (target:
//!    under 1 s).
//!
//! The browser is Debian's Chromium through chromedriver, as in the browser tests
//! (`testkit::browser`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dashboard::{Dashboard, DashboardConfig};
use futures_util::StreamExt;
use live::follow::{FollowConfig, Follower};
use loadgen::frames::{FRAMES_PER_SECOND, LAP_FRAMES};
use proto::telemetry::v1::TelemetryFrame;
use sim::server::{ServerConfig, ServerSim, SessionConfig};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use testkit::browser::Browser;
use testkit::http as client;

const CARS: u8 = 24;
const BROWSERS: usize = 3;

fn cpu_now() -> f64 {
    loadgen::procstat::cpu_seconds(std::process::id()).expect("/proc/self/stat")
}

/// The calling thread's id (Linux: `/proc/thread-self` is `<pid>/task/<tid>`).
fn thread_id() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).expect("a thread id")
}

/// CPU seconds (user and system) of thread `tid` of this process.
fn thread_cpu(tid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).expect("the thread's stat");
    // The fields after the command's closing parenthesis start at the 3rd (state); utime and
    // stime are the 14th and 15th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(14) + ticks(15)) / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    live_phase(seconds).await;
    lap_page().await;
}

/// Streams frames made by `make(seq)` at `per_second` (or as fast as acked) to `addr`.
async fn stream(
    addr: SocketAddr,
    per_second: Option<u64>,
    count: u64,
    make: impl Fn(u64) -> TelemetryFrame + Send + Sync + 'static,
) -> u64 {
    let channel = loadgen::client::connect(&addr.to_string()).await.expect("connect to ingest");
    let start = tokio::time::Instant::now();
    let make = std::sync::Arc::new(make);
    let frames = futures_util::stream::unfold(0u64, move |seq| {
        let make = std::sync::Arc::clone(&make);
        async move {
            if seq >= count {
                return None;
            }
            if let Some(n) = per_second {
                // Paced against the start, so that a late wake-up is made up.
                tokio::time::sleep_until(start + Duration::from_secs_f64(seq as f64 / n as f64)).await;
            }
            Some((bytes::Bytes::from(prost::Message::encode_to_vec(&make(seq))), seq + 1))
        }
    });
    let mut acks = loadgen::client::stream_frames(channel, frames).await.expect("a StreamFrames call");
    let mut last = 0;
    while let Ok(Some(ack)) = acks.message().await {
        last = ack.next_seq;
    }
    last
}

/// The samples each browser's telemetry page has drawn so far.
async fn counts(browsers: &[Browser]) -> Vec<f64> {
    let mut out = Vec::new();
    for b in browsers {
        out.push(
            b.eval("return Number(document.getElementById('points').dataset.count);")
                .await
                .as_f64()
                .unwrap_or(0.0),
        );
    }
    out
}

async fn live_phase(seconds: u64) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let config = ServerConfig {
        cars: CARS,
        seed: 3,
        speed: 1.0,
        bind: loopback,
        plugin: loopback,
        sessions: vec![SessionConfig::race(50, 0)],
        join_interval: Duration::from_millis(50),
        load_time: Duration::from_millis(200),
        churn: false,
        ..ServerConfig::default()
    };
    let mut server = ServerSim::bind(config).await.expect("bind the simulator");
    let mut follow = FollowConfig::new(loopback, server.local_addr());
    follow.timing.realtime_interval_ms = Some(100);
    let follower = Follower::bind(follow, None).await.expect("bind the follower");
    server.set_plugin_addr(follower.local_addr());
    let feed = follower.feed();
    let (stop_follower, stopped) = oneshot::channel::<()>();
    let follow_task = tokio::spawn(follower.run_until(async move {
        let _ = stopped.await;
    }));
    let server = server.spawn();

    let dir = tempfile::tempdir().expect("tempdir");
    let ingest = ingest::Server::new(ingest::Config {
        listen: loopback,
        data_dir: dir.path().to_owned(),
        ..ingest::Config::default()
    })
    .start()
    .await
    .expect("start the ingest server");
    let total = (3 * seconds + 15) * FRAMES_PER_SECOND;
    let streams: Vec<_> = (0..u32::from(CARS))
        .map(|i| {
            let session = loadgen::frames::session_id(i + 1);
            tokio::spawn(stream(ingest.local_addr(), Some(FRAMES_PER_SECOND), total, move |seq| {
                loadgen::frames::realistic(session, seq)
            }))
        })
        .collect();

    // The dashboard on a thread and runtime of its own, so that its CPU is that thread's.
    let tap = ingest.live_tap();
    let (ready, started) = std::sync::mpsc::channel();
    let (stop_dash, dash_stopped) = oneshot::channel::<()>();
    let dash_thread = std::thread::Builder::new()
        .name("dashboard".into())
        .spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let config = DashboardConfig { listen: loopback, ..DashboardConfig::default() };
                let dash = Dashboard::bind(config, Some(feed))
                    .await
                    .expect("bind the dashboard")
                    .with_telemetry(tap);
                let _ = ready.send((dash.local_addr(), dash.stats(), thread_id()));
                let _ = dash
                    .run_until(async move {
                        let _ = dash_stopped.await;
                    })
                    .await;
            });
        })
        .expect("the dashboard thread");
    let (addr, stats, tid) = started.recv().expect("the dashboard started");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let board = client::get(addr, "/api/board").await.json();
    let live_cars = board["rows"].as_array().map_or(0, Vec::len);

    // No browser.
    let (cpu0, dash0, t0) = (cpu_now(), thread_cpu(tid), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let idle_core = (cpu_now() - cpu0) / t0.elapsed().as_secs_f64();
    let idle_dash = (thread_cpu(tid) - dash0) / t0.elapsed().as_secs_f64();

    // Three browsers: each on one car's telemetry page, and a timing feed.
    let mut browsers = Vec::new();
    for i in 0..BROWSERS {
        let b = Browser::start().await;
        let session = proto::hex(&loadgen::frames::session_id(i as u32 + 1));
        b.goto(&format!("http://{addr}/telemetry?session={session}")).await;
        b.wait_for(
            "samples",
            Duration::from_secs(30),
            "return Number(document.getElementById('points').dataset.count) > 0 || null;",
        )
        .await;
        browsers.push(b);
    }
    let mut feeds = Vec::new();
    for _ in 0..BROWSERS {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws/timing")).await.expect("ws");
        feeds.push(tokio::spawn(async move {
            let mut socket = socket;
            let mut boards = 0u64;
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    boards += u64::from(text.starts_with("{\"kind\":\"board\""));
                }
            }
            boards
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = counts(&browsers).await;
    let boards_before = stats.snapshot().boards_sent;
    let (cpu1, dash1, t1) = (cpu_now(), thread_cpu(tid), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let busy_core = (cpu_now() - cpu1) / t1.elapsed().as_secs_f64();
    let busy_dash = (thread_cpu(tid) - dash1) / t1.elapsed().as_secs_f64();
    let elapsed = t1.elapsed().as_secs_f64();
    let after = counts(&browsers).await;
    let boards = (stats.snapshot().boards_sent - boards_before) as f64 / elapsed / BROWSERS as f64;
    let samples: Vec<f64> = before.iter().zip(&after).map(|(b, a)| (a - b) / elapsed).collect();

    println!(
        "dashboard bench: {live_cars} cars on the timing board, {CARS} telemetry streams at {FRAMES_PER_SECOND} Hz, {BROWSERS} browsers, {seconds} s per phase"
    );
    println!(
        "  telemetry samples delivered per second to each browser: {}",
        samples.iter().map(|s| format!("{s:.1}")).collect::<Vec<_>>().join(", ")
    );
    println!("  timing boards delivered per second to each timing feed: {boards:.2}");
    println!(
        "  the whole process (simulator, follower, ingest of {} frames/s, dashboard): {:.1} % of a core without browsers, {:.1} % with",
        u64::from(CARS) * FRAMES_PER_SECOND,
        idle_core * 100.0,
        busy_core * 100.0
    );
    println!(
        "  the dashboard's thread: {:.2} % of a core without browsers (decoding every live frame), {:.2} % with {BROWSERS}",
        idle_dash * 100.0,
        busy_dash * 100.0
    );
    println!(
        "  the dashboard's cost per browser: {:.2} % of a core (target: under 5 %)",
        (busy_dash - idle_dash) * 100.0 / BROWSERS as f64
    );

    for b in browsers {
        b.quit().await;
    }
    let _ = stop_dash.send(());
    let _ = dash_thread.join();
    for f in feeds {
        f.abort();
    }
    for s in streams {
        s.abort();
    }
    let _ = stop_follower.send(());
    let _ = follow_task.await;
    let _ = server.shutdown().await;
    let _ = ingest.shutdown().await;
}

/// Frame `seq` of a session whose laps take 90 s at 333 Hz: the load generator's lap of 75 s
/// (25 000 frames) stretched to 30 000 frames, each step 3 ms.
fn ninety_second_lap(session: [u8; 16], seq: u64) -> TelemetryFrame {
    let mut f = loadgen::frames::realistic(session, seq * LAP_FRAMES / 30_000);
    let step_ns = 1_000_000_000 / FRAMES_PER_SECOND as i64;
    let zero = loadgen::frames::realistic(session, 0);
    f.seq = seq;
    f.mono_time_ns = zero.mono_time_ns + seq as i64 * step_ns;
    f.wall_time_ns = zero.wall_time_ns + seq as i64 * step_ns;
    // The game's own lap clock runs as the frames do.
    f.current_lap_ms = ((seq % 30_000) as i64 * step_ns / 1_000_000) as i32;
    if f.last_lap_ms > 0 {
        f.last_lap_ms = (30_000 * step_ns / 1_000_000) as i32;
    }
    f
}

async fn lap_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ingest::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.path().to_owned(),
        ..ingest::Config::serve_default()
    };
    let dataset = config.parquet_dataset().expect("a Parquet sink");
    let ingest = ingest::Server::new(config).start().await.expect("start the ingest server");
    let session = loadgen::frames::session_id(90);
    let frames = 3 * 30_000 + 600;
    stream(ingest.local_addr(), None, frames, move |seq| ninety_second_lap(session, seq)).await;
    ingest.shutdown().await.expect("stop the ingest server");
    let records = dir.path().join("records.sqlite");
    let store = records::Store::open(&records).expect("records");
    let laps = store.telemetry_laps(&session).expect("laps");
    drop(store);
    let times: Vec<String> =
        laps.iter().map(|l| format!("lap {}: {} ms, {} frames", l.lap, l.time_ms, l.frames)).collect();

    let config = DashboardConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        records_db: Some(records),
        dataset: Some(dataset),
        ..DashboardConfig::default()
    };
    let dash = Dashboard::bind(config, None).await.expect("bind the dashboard");
    let addr = dash.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(dash.run_until(async move {
        let _ = stopped.await;
    }));
    let uuid = records::session_id_text(&session);
    let started = Instant::now();
    let api = client::get(addr, &format!("/api/lap?session={uuid}&lap=2")).await;
    let api_ms = started.elapsed().as_secs_f64() * 1000.0;
    let browser = Browser::start().await;
    let mut drawn = Vec::new();
    for _ in 0..5 {
        browser.goto(&format!("http://{addr}/lap?l={uuid}:2&l={uuid}:3")).await;
        let ms = browser
            .wait_for(
                "the lap page drawn",
                Duration::from_secs(30),
                "return document.body.dataset.drawnMs ? Number(document.body.dataset.drawnMs) : null;",
            )
            .await;
        drawn.push(ms.as_f64().unwrap_or(f64::NAN));
    }
    browser.quit().await;
    let _ = stop.send(());
    let _ = task.await;
    drawn.sort_by(f64::total_cmp);
    println!("lap page: two laps ({})", times.join("; "));
    println!("  /api/lap for one lap: {api_ms:.0} ms, {} KB of JSON (first request)", api.body.len() / 1024);
    println!(
        "  navigation to both laps drawn, 5 loads: min {:.0} ms, median {:.0} ms, max {:.0} ms (target: under 1 000 ms)",
        drawn[0], drawn[2], drawn[4]
    );
}
