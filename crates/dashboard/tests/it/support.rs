//! What the tests run against: the dedicated-server simulator followed by a real follower, a
//! records database filled through the records API, and the dashboard on loopback.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dashboard::{Dashboard, DashboardConfig, DashboardStats, StatsHandle};
use live::follow::{Feed, FollowConfig, FollowError, FollowReport, Follower, TimedNotice};
use records::{EntryInput, LapInput, SessionInput, SessionType, Store};
use sim::server::{ServerConfig, ServerHandle, ServerSim, SessionConfig};
use timing::{Board, Notice};
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

/// Simulated seconds per real second: a lap of the default track takes a few real seconds.
pub const SPEED: f64 = 20.0;
/// Cars of the simulated server.
pub const CARS: u8 = 6;

/// A simulated server and the follower of it, on their own tasks.
pub struct Live {
    pub server: ServerHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<FollowReport, FollowError>>,
}

impl Live {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        let _ = self.server.shutdown().await;
    }
}

/// A race of many laps on the simulator, every car joined within a few simulated seconds, and
/// a follower of it: in a race the gaps and intervals move at every car update.
pub async fn live_race() -> (Live, Feed) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let config = ServerConfig {
        cars: CARS,
        seed: 5,
        speed: SPEED,
        bind: loopback,
        plugin: loopback,
        sessions: vec![SessionConfig::race(60, 5)],
        join_interval: Duration::from_millis(500),
        load_time: Duration::from_secs(1),
        churn: false,
        ..ServerConfig::default()
    };
    let mut server = ServerSim::bind(config).await.expect("bind the simulator");
    let mut follow = FollowConfig::new(loopback, server.local_addr());
    follow.clock_rate = SPEED;
    follow.timing.realtime_interval_ms = Some(200);
    let follower = Follower::bind(follow, None).await.expect("bind the follower");
    server.set_plugin_addr(follower.local_addr());
    let feed = follower.feed();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(follower.run_until(async move {
        let _ = stopped.await;
    }));
    (Live { server: server.spawn(), stop, task }, feed)
}

/// A dashboard running on its own task.
pub struct Running {
    pub addr: SocketAddr,
    pub stats: StatsHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<DashboardStats, dashboard::DashboardError>>,
}

impl Running {
    pub async fn stop(self) -> DashboardStats {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the dashboard stops within 30 s")
            .expect("the dashboard task")
            .expect("the dashboard ran")
    }
}

/// A dashboard on a free loopback port.
pub async fn dashboard(feed: Option<Feed>, records_db: Option<&Path>, token: Option<&str>) -> Running {
    dashboard_with(feed, records_db, token, None).await
}

/// A dashboard on a free loopback port, showing the live telemetry of `tap` if given.
pub async fn dashboard_with(
    feed: Option<Feed>,
    records_db: Option<&Path>,
    token: Option<&str>,
    tap: Option<ingest::live::LiveTap>,
) -> Running {
    dashboard_of(feed, records_db, None, token, tap).await
}

/// A dashboard on a free loopback port with everything it can show: live timing from `feed`,
/// records, laps from `dataset`, live telemetry from `tap`.
pub async fn dashboard_of(
    feed: Option<Feed>,
    records_db: Option<&Path>,
    dataset: Option<&Path>,
    token: Option<&str>,
    tap: Option<ingest::live::LiveTap>,
) -> Running {
    let config = DashboardConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        token: token.map(str::to_owned),
        records_db: records_db.map(Path::to_path_buf),
        dataset: dataset.map(Path::to_path_buf),
    };
    let mut dashboard = Dashboard::bind(config, feed).await.expect("bind the dashboard");
    if let Some(tap) = tap {
        dashboard = dashboard.with_telemetry(tap);
    }
    let addr = dashboard.local_addr();
    let stats = dashboard.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(dashboard.run_until(async move {
        let _ = stopped.await;
    }));
    Running { addr, stats, stop, task }
}

pub const VALLELUNGA: (&str, &str) = ("ks_vallelunga", "club_circuit");
pub const MAGIONE: (&str, &str) = ("magione", "");
pub const MX5: &str = "ks_mazda_mx5_cup";
pub const E30: &str = "bmw_m3_e30";
/// The first lap's time in the records, at 2026-12-01 10:00 UTC.
pub const DAY1_MS: i64 = 1_796_119_200_000;
pub const DAY_MS: i64 = 86_400_000;

/// Fills a records database: at Vallelunga, a practice on day 1 and a race on day 2, four
/// drivers (Ada and Bruno in both cars, Chiara in the MX-5, Dario in the E30), three laps each
/// per car and session, one lap with a cut each; at Magione one practice lap by Ada.
///
/// Lap times are `base + driver × 700 + car offset − session × 300 + lap × 100` ms, so every
/// ranking is known in advance: Ada is fastest, the MX-5 is slower than the E30, the race
/// faster than practice, and each driver's first lap their best.
pub fn fill_records(path: &Path) {
    let mut store = Store::open(path).expect("open the records");
    let drivers: [(&str, &[&str]); 4] =
        [("Ada", &[MX5, E30]), ("Bruno", &[MX5, E30]), ("Chiara", &[MX5]), ("Dario", &[E30])];
    for (s, session_type) in [SessionType::Practice, SessionType::Race].into_iter().enumerate() {
        let started = DAY1_MS + s as i64 * DAY_MS;
        let session = store
            .begin_session(&SessionInput {
                server: "pitwall test".into(),
                track: VALLELUNGA.0.into(),
                layout: VALLELUNGA.1.into(),
                session_type,
                name: if s == 0 { "Practice".into() } else { "Race".into() },
                started_at_ms: started,
                laps_limit: None,
                time_limit_s: Some(1800),
            })
            .expect("begin a session");
        let mut car_id = 0u8;
        for (d, (name, cars)) in drivers.iter().enumerate() {
            for car in cars.iter() {
                let entry = store
                    .add_entry(
                        session,
                        &EntryInput {
                            guid: format!("7656119800000000{d}"),
                            name: (*name).into(),
                            team: String::new(),
                            car_id,
                            car_model: (*car).into(),
                            skin: "red".into(),
                        },
                    )
                    .expect("add an entry");
                car_id += 1;
                for lap in 1..=3u32 {
                    let time_ms = lap_time(d, car, s, lap);
                    store
                        .add_lap(
                            entry,
                            &LapInput {
                                lap,
                                time_ms,
                                sectors: vec![time_ms / 3, time_ms / 3, time_ms - 2 * (time_ms / 3)],
                                // Every entry's third (and slowest) lap has a cut.
                                cuts: u32::from(lap == 3),
                                grip: Some(0.97),
                                top_speed_kmh: Some(180.0 + d as f32),
                                tyre: None,
                                finished_at_ms: started + i64::from(lap) * 120_000,
                            },
                        )
                        .expect("add a lap");
                }
            }
        }
        store.end_session(session, started + 1_800_000).expect("end the session");
    }
    let session = store
        .begin_session(&SessionInput {
            server: "pitwall test".into(),
            track: MAGIONE.0.into(),
            layout: MAGIONE.1.into(),
            session_type: SessionType::Practice,
            name: "Practice".into(),
            started_at_ms: DAY1_MS,
            laps_limit: None,
            time_limit_s: Some(1800),
        })
        .expect("begin a session");
    let entry = store
        .add_entry(
            session,
            &EntryInput {
                guid: "76561198000000000".into(),
                name: "Ada".into(),
                team: String::new(),
                car_id: 0,
                car_model: MX5.into(),
                skin: "red".into(),
            },
        )
        .expect("add an entry");
    store
        .add_lap(
            entry,
            &LapInput {
                lap: 1,
                time_ms: 70_000,
                sectors: Vec::new(),
                cuts: 0,
                grip: None,
                top_speed_kmh: None,
                tyre: None,
                finished_at_ms: DAY1_MS + 100_000,
            },
        )
        .expect("add a lap");
    store.end_session(session, DAY1_MS + 1_800_000).expect("end the session");
    store.flush().expect("flush the records");
}

/// The lap time [`fill_records`] stores.
pub fn lap_time(driver: usize, car: &str, session: usize, lap: u32) -> u32 {
    let car_offset = if car == MX5 { 4_000 } else { 0 };
    90_000 + driver as u32 * 700 + car_offset - session as u32 * 300 + lap * 100
}

/// A feed the test writes itself: the board's sender, the notices' sender (keeping `capacity`
/// notices for a late reader), and the feed to give the dashboard.
pub fn hand_fed(capacity: usize) -> (watch::Sender<Arc<Board>>, broadcast::Sender<Arc<TimedNotice>>, Feed) {
    let (board_tx, board) = watch::channel(Arc::new(empty_board(0)));
    let (notice_tx, notices) = broadcast::channel(capacity);
    // No outline: its sender is dropped, and the receiver keeps answering `None`.
    let (_, outline) = watch::channel(None);
    (board_tx, notice_tx, Feed { board, notices, outline })
}

/// A board with no session and no cars, taken at `at_ms`.
pub fn empty_board(at_ms: u64) -> Board {
    Board {
        at: Duration::from_millis(at_ms),
        session: None,
        grip: None,
        server_down: false,
        sectors: Vec::new(),
        rows: Vec::new(),
    }
}

/// A notice as the follower publishes it.
pub fn timed(at_ms: u64, notice: Notice) -> Arc<TimedNotice> {
    Arc::new(TimedNotice {
        at: Duration::from_millis(at_ms),
        unix_ms: 1_800_000_000_000 + at_ms as i64,
        notice,
        board: Arc::new(empty_board(at_ms)),
    })
}

/// A real ingest server on loopback (in `dir`), for the telemetry tests.
pub async fn ingest_server(dir: &Path) -> ingest::Running {
    let config = ingest::Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.to_owned(),
        wal: ingest::WalConfig { commit_interval_ms: 1, ..ingest::WalConfig::default() },
        ..ingest::Config::default()
    };
    ingest::Server::new(config).start().await.expect("start the ingest server")
}

/// Streams the load generator's realistic frames of `session` to the ingest server at `addr`,
/// `per_second` of them a second from seq 0 (`None`: as fast as the server takes them), `count`
/// in all; returns the last ack's next_seq once the server has acked them all.
pub async fn stream_frames(addr: SocketAddr, session: [u8; 16], per_second: Option<u32>, count: u64) -> u64 {
    stream_frames_with(addr, per_second, count, move |seq| loadgen::frames::realistic(session, seq)).await
}

/// [`stream_frames`] with the frames `make` gives for each seq.
pub async fn stream_frames_with(
    addr: SocketAddr,
    per_second: Option<u32>,
    count: u64,
    make: impl Fn(u64) -> proto::telemetry::v1::TelemetryFrame + Send + Sync + 'static,
) -> u64 {
    let channel = loadgen::client::connect(&addr.to_string()).await.expect("connect to ingest");
    let every = per_second.map(|n| Duration::from_secs_f64(1.0 / f64::from(n)));
    let make = Arc::new(make);
    let frames = futures_util::stream::unfold(0u64, move |seq| {
        let make = Arc::clone(&make);
        async move {
            if seq >= count {
                return None;
            }
            if let Some(every) = every {
                tokio::time::sleep(every).await;
            }
            let frame = make(seq);
            Some((bytes::Bytes::from(prost::Message::encode_to_vec(&frame)), seq + 1))
        }
    });
    let mut acks = loadgen::client::stream_frames(channel, frames).await.expect("a StreamFrames call");
    let mut last = 0;
    while let Some(ack) = acks.message().await.expect("acks, not an error") {
        last = ack.next_seq;
    }
    last
}
