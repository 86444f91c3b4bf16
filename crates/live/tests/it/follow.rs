//! The follower over real UDP against the dedicated-server simulator: the standings and gaps
//! at the end of every session equal the simulator's own final standings; the records hold
//! every lap once, also across a restart of the follower mid-session; chat commands are
//! answered to the asker only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use acsp::{Command, NO_TIME, SessionType};
use live::follow::{FollowConfig, FollowReport, Follower, TimedNotice};
use live::recorder::{Recorder, RecorderConfig};
use records::{Query, Ranking, Store};
use sim::server::{ServerConfig, ServerHandle, ServerSim, SessionConfig, SessionResult};
use timing::{Board, Gap, Notice};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::ipv4_udp;

const SPEED: f64 = 40.0;
const LOOPBACK: &str = "127.0.0.1:0";
/// Every follower of this file shares one scaled clock, as followers of one simulator would.
static ORIGIN: std::sync::OnceLock<(std::time::Instant, i64)> = std::sync::OnceLock::new();

fn server_config(sessions: Vec<SessionConfig>) -> ServerConfig {
    ServerConfig {
        cars: 6,
        entry_list: Some(7),
        seed: 11,
        speed: SPEED,
        bind: LOOPBACK.parse().unwrap(),
        plugin: LOOPBACK.parse().unwrap(),
        sessions,
        join_interval: Duration::from_secs(1),
        load_time: Duration::from_secs(2),
        churn: true,
        ..ServerConfig::default()
    }
}

/// A follower running on its own task, with its notices.
struct Running {
    addr: SocketAddr,
    notices: broadcast::Receiver<Arc<TimedNotice>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<FollowReport, live::follow::FollowError>>,
}

impl Running {
    async fn stop(self) -> FollowReport {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap()
    }

    /// The next notice, waiting at most a minute of real time.
    async fn next(&mut self) -> Arc<TimedNotice> {
        tokio::time::timeout(Duration::from_secs(60), self.notices.recv())
            .await
            .expect("a notice within a minute")
            .expect("the follower's feed is open and keeps up")
    }
}

async fn follow(listen: SocketAddr, server: SocketAddr, db: &Path) -> Running {
    follow_with(listen, server, db, false).await
}

async fn follow_with(listen: SocketAddr, server: SocketAddr, db: &Path, any_port: bool) -> Running {
    let mut config = FollowConfig::new(listen, server);
    config.any_port = any_port;
    config.clock_rate = SPEED;
    config.clock_origin = Some(*ORIGIN.get_or_init(|| (std::time::Instant::now(), 1_800_000_000_000)));
    config.timing.realtime_interval_ms = Some(200);
    config.chat.admins = vec![admin_guid()];
    let store = Store::open(db).unwrap();
    let recorder =
        Recorder::new(store, RecorderConfig { import_results: false, ..RecorderConfig::default() });
    let follower = Follower::bind(config, Some(recorder)).await.unwrap();
    let addr = follower.local_addr();
    let notices = follower.feed().notices;
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(follower.run_until(async move {
        let _ = rx.await;
    }));
    Running { addr, notices, stop, task }
}

/// A free loopback UDP port below the kernel's ephemeral range (32768 and up on Linux).
fn fixed_udp_port() -> SocketAddr {
    let start = 20_000 + u16::try_from(std::process::id() % 8_000).unwrap_or(0);
    (0..8_000u16)
        .map(|i| 20_000 + (start - 20_000 + i) % 8_000)
        .find_map(|port| {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            std::net::UdpSocket::bind(addr).ok().map(|_| addr)
        })
        .expect("a free port from 20000 to 27999")
}

async fn start(config: ServerConfig, db: &Path) -> (ServerHandle, Running) {
    let mut server = ServerSim::bind(config).await.unwrap();
    let follower = follow(LOOPBACK.parse().unwrap(), server.local_addr(), db).await;
    server.set_plugin_addr(follower.addr);
    (server.spawn(), follower)
}

/// The GUID the simulator gives the driver of car 0 (whose chat commands are an admin's).
fn admin_guid() -> String {
    let state = sim::server::ServerState::new(&server_config(vec![SessionConfig::practice(1)])).unwrap();
    let mut state = state;
    state.start();
    for e in state.advance(Duration::from_secs(30)) {
        if let acsp::Event::NewConnection(c) = e {
            if c.car_id == 0 {
                return c.driver_guid;
            }
        }
    }
    panic!("car 0 never joined");
}

/// Checks the board at a session's end against the simulator's final standings.
fn assert_standings(board: &Board, truth: &SessionResult) {
    let context = format!("{} ({:?})", truth.name, truth.session_type);
    if truth.session_type == SessionType::Race {
        // Finished cars first, then by laps; the server's own order is laps then total time.
        let mut expected: Vec<(u8, u16, u32, bool)> = truth
            .leaderboard
            .iter()
            .filter(|e| e.laps > 0)
            .map(|e| (e.car_id, e.laps, e.time, e.has_completed == Some(true)))
            .collect();
        expected.sort_by_key(|&(id, laps, total, done)| (!done, std::cmp::Reverse(laps), total, id));
        let got: Vec<(u8, u16, u32, bool)> = board
            .rows
            .iter()
            .filter(|r| r.laps > 0)
            .map(|r| (r.car_id, r.laps, r.total_ms.unwrap_or(0), r.finished))
            .collect();
        // Cars still running when the session ended are ordered by where they are on track,
        // which the server's leaderboard does not say: compare them as a set.
        let finished = expected.iter().filter(|e| e.3).count();
        assert_eq!(got[..finished], expected[..finished], "{context}: finishers in order");
        let mut rest_got = got[finished..].to_vec();
        let mut rest_expected = expected[finished..].to_vec();
        rest_got.sort();
        rest_expected.sort();
        assert_eq!(rest_got, rest_expected, "{context}: cars still running");
        assert!(finished > 0, "{context}: somebody finished");
        // Gaps of the finishers: laps down, or the difference of total times at the flag.
        let leader = &board.rows[0];
        for r in board.rows.iter().take(finished).skip(1) {
            let want = if r.laps < leader.laps {
                Gap::Laps { laps: leader.laps - r.laps }
            } else {
                Gap::Time { ms: r.total_ms.unwrap() - leader.total_ms.unwrap() }
            };
            assert_eq!(r.gap, Some(want), "{context}: gap of car {}", r.car_id);
        }
    } else {
        let expected: Vec<(u8, u32)> =
            truth.leaderboard.iter().filter(|e| e.time != NO_TIME).map(|e| (e.car_id, e.time)).collect();
        let got: Vec<(u8, u32)> =
            board.rows.iter().filter_map(|r| r.best_lap_ms.map(|b| (r.car_id, b))).collect();
        assert_eq!(got, expected, "{context}: best laps in order");
        let leader = expected.first().map(|e| e.1);
        for r in board.rows.iter().filter(|r| r.best_lap_ms.is_some()).skip(1) {
            assert_eq!(r.gap, Some(Gap::Time { ms: r.best_lap_ms.unwrap() - leader.unwrap() }), "{context}");
        }
    }
    // Who is connected at the end: the board says what the server says.
    let mut connected: Vec<u8> = board.rows.iter().filter(|r| r.connected).map(|r| r.car_id).collect();
    connected.sort();
    assert_eq!(connected, truth.connected, "{context}: connected cars");
}

fn stored_laps(db: &Path) -> usize {
    let store = Store::open(db).unwrap();
    let mut q = Query::new("ks_red_bull_ring", "layout_gp");
    q.ranking = Ranking::EveryLap;
    q.include_invalid = true;
    store.leaderboard(&q).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standings_and_gaps_equal_the_simulators_in_practice_qualifying_and_race() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let sessions = vec![SessionConfig::practice(3), SessionConfig::qualify(3), SessionConfig::race(3, 5)];
    let (server, mut follower) = start(server_config(sessions), &db).await;
    let monitor = server.monitor();
    let mut ended = 0;
    let mut laps_seen = 0;
    let mut left = 0;
    // Per lap seen: session type, car model, driver, valid.
    let mut seen: Vec<(SessionType, String, String, bool)> = Vec::new();
    let mut session_type = SessionType::Practice;
    while ended < 3 {
        let n = follower.next().await;
        match &n.notice {
            Notice::SessionStarted(s) => session_type = s.session_type,
            Notice::LapCompleted { car_id, driver, cuts, lap_ms: Some(_), .. } => {
                laps_seen += 1;
                let model = n.board.row(*car_id).map(|r| r.car_model.clone()).unwrap_or_default();
                seen.push((session_type, model, driver.clone(), *cuts == 0));
            }
            Notice::DriverLeft { .. } => left += 1,
            Notice::SessionEnded { .. } => {
                let truth = monitor.results();
                assert_standings(&n.board, &truth[ended]);
                ended += 1;
            }
            _ => {}
        }
    }
    let stats = server.shutdown().await.unwrap().stats;
    // The last datagrams on their way are in before the follower stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = follower.stop().await;
    assert!(left > 0, "the simulator's churn makes drivers leave");
    let udp = report.udp.unwrap();
    assert_eq!((udp.malformed, udp.queue_overflow, udp.kernel_drops), (0, 0, 0), "{udp:?}");
    assert_eq!(report.events, stats.events_sent, "every event arrived and was handled");
    // Every lap the server sent is stored once.
    let laps_sent = stats.sent("lap_completed") as usize;
    assert!(laps_seen > 0 && laps_seen <= laps_sent);
    assert_eq!(stored_laps(&db), laps_sent);
    assert_leaderboard_filters(&db, &seen);
}

/// The leaderboards of the store filled by following three sessions, with each filter, against
/// the laps the follower saw (`seen`: session type, car model, driver, valid) — those of the
/// three sessions only, the store may have laps of the next one.
fn assert_leaderboard_filters(db: &Path, seen: &[(SessionType, String, String, bool)]) {
    let store = Store::open(db).unwrap();
    let every = |f: &dyn Fn(&mut Query)| {
        let mut q = Query::new("ks_red_bull_ring", "layout_gp");
        q.ranking = Ranking::EveryLap;
        q.include_invalid = true;
        f(&mut q);
        store.leaderboard(&q).unwrap()
    };
    for (kind, records_kind) in [
        (SessionType::Practice, records::SessionType::Practice),
        (SessionType::Qualify, records::SessionType::Qualify),
        (SessionType::Race, records::SessionType::Race),
    ] {
        let want = seen.iter().filter(|l| l.0 == kind).count();
        let got = every(&|q| q.session_type = Some(records_kind)).len();
        assert!(got >= want && got <= want + 8, "{kind:?}: {got} stored, {want} seen");
        if kind != SessionType::Practice {
            assert_eq!(got, want, "{kind:?}");
        }
    }
    assert!(seen.iter().any(|l| l.0 == SessionType::Race), "the race had laps");
    let models: std::collections::BTreeSet<&str> = seen.iter().map(|l| l.1.as_str()).collect();
    for model in &models {
        let want = seen.iter().filter(|l| l.1 == *model).count();
        let rows = every(&|q| q.cars = vec![(*model).to_string()]);
        assert!(rows.iter().all(|r| r.car == *model));
        assert!(rows.len() >= want, "{model}: {} stored, {want} seen", rows.len());
    }
    // Valid laps only, and one best per driver and car.
    let all = every(&|_| {});
    let valid = every(&|q| q.include_invalid = false);
    assert_eq!(valid.len(), all.iter().filter(|r| r.valid).count());
    assert!(valid.len() < all.len(), "some laps had cuts");
    let best = store.leaderboard(&Query::new("ks_red_bull_ring", "layout_gp")).unwrap();
    let drivers: std::collections::BTreeSet<(String, String)> =
        valid.iter().map(|r| (r.guid.clone(), r.car.clone())).collect();
    assert_eq!(best.len(), drivers.len());
    assert!(best.windows(2).all(|w| w[0].time_ms <= w[1].time_ms), "fastest first");
    assert_eq!(best[0].gap_ms, 0);
    // Dates: nothing after the far future, everything before it.
    assert!(every(&|q| q.since_ms = Some(4_000_000_000_000)).is_empty());
    assert_eq!(every(&|q| q.until_ms = Some(4_000_000_000_000)).len(), all.len());
    let limited = every(&|q| q.limit = Some(3));
    assert_eq!(limited.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_restarted_mid_race_finds_the_session_and_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let mut config = server_config(vec![SessionConfig::race(4, 5)]);
    config.churn = false;
    // The follower comes back on the port it had, as a restarted process would from its config.
    // An ephemeral port freed by the first follower could be handed to another test's socket
    // before the second binds it: this one is from below the kernel's ephemeral range, which
    // the kernel never hands out by itself.
    let mut sim = ServerSim::bind(config).await.unwrap();
    let listen = fixed_udp_port();
    let mut first = follow(listen, sim.local_addr(), &db).await;
    sim.set_plugin_addr(first.addr);
    let server = sim.spawn();
    let monitor = server.monitor();
    let mut laps_heard = 0;
    while laps_heard < 8 {
        if matches!(first.next().await.notice, Notice::LapCompleted { .. }) {
            laps_heard += 1;
        }
    }
    let first_report = first.stop().await;
    assert!(first_report.recorder.is_some_and(|r| r.sessions_begun == 1));
    // The first follower's socket is closed when its client's receive task, aborted as it
    // stopped, is dropped by the runtime: soon, not at once on a busy machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(listen).is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{listen} still taken 10 s after the first follower stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut second = follow(listen, server.local_addr(), &db).await;
    let board = loop {
        let n = second.next().await;
        match &n.notice {
            Notice::LapCompleted { .. } => laps_heard += 1,
            Notice::SessionEnded { .. } => break Arc::clone(&n.board),
            _ => {}
        }
    };
    assert_standings(&board, &monitor.results()[0]);
    let stats = server.shutdown().await.unwrap().stats;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second_report = second.stop().await;
    let recorder = second_report.recorder.unwrap();
    // The race found again (the next one, which the server starts right after, is new).
    assert_eq!(recorder.sessions_resumed, 1, "{recorder:?}");
    // Laps completed while no follower listened are lost to live timing; the others are stored,
    // once each, in the one session.
    let laps_sent = stats.sent("lap_completed") as usize;
    assert!(laps_heard <= laps_sent);
    assert_eq!(stored_laps(&db), laps_heard);
    let store = Store::open(&db).unwrap();
    let mut q = Query::new("ks_red_bull_ring", "layout_gp");
    q.ranking = Ranking::EveryLap;
    q.include_invalid = true;
    let sessions: std::collections::BTreeSet<i64> =
        store.leaderboard(&q).unwrap().iter().map(|r| r.session.id()).collect();
    assert_eq!(sessions.len(), 1, "one race stored, not two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_commands_are_answered_to_the_asker_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let mut config = server_config(vec![SessionConfig::practice(5)]);
    config.churn = false;
    // Car 0 is the admin; car 2 is not. Both have laps by then.
    config.chat_script = vec![
        (Duration::from_secs(200), 2, "/best".into()),
        (Duration::from_secs(201), 3, "/gap".into()),
        (Duration::from_secs(202), 4, "/records".into()),
        (Duration::from_secs(203), 2, "/next".into()),
        (Duration::from_secs(204), 1, "nice lap".into()),
        (Duration::from_secs(205), 0, "/next".into()),
    ];
    let (server, mut follower) = start(config, &db).await;
    // The admin's /next ends the practice: the server starts the next session.
    loop {
        if matches!(follower.next().await.notice, Notice::SessionEnded { .. }) {
            break;
        }
    }
    let commands = server.monitor().commands();
    let report = follower.stop().await;
    server.shutdown().await.unwrap();
    let chats: Vec<(u8, String)> = commands
        .iter()
        .filter_map(|c| match &c.command {
            Command::SendChat { car_id, message } => Some((*car_id, message.clone())),
            _ => None,
        })
        .collect();
    let to = |car: u8| chats.iter().filter(|(c, _)| *c == car).map(|(_, m)| m.as_str()).collect::<Vec<_>>();
    assert!(to(2).iter().any(|m| m.starts_with("your best this session")), "{chats:?}");
    assert!(to(2).iter().any(|m| m.contains("admins only")), "{chats:?}");
    assert!(to(3).iter().any(|m| m.starts_with('P')), "{chats:?}");
    assert!(to(4).iter().any(|m| m.starts_with("records ") || m.starts_with("no records yet")), "{chats:?}");
    assert!(to(1).is_empty(), "plain chat gets no answer: {chats:?}");
    assert!(!chats.iter().any(|(c, _)| ![2, 3, 4].contains(c)), "answers only to the askers: {chats:?}");
    assert!(
        commands.iter().any(|c| c.command == Command::NextSession),
        "the admin's /next went to the server"
    );
    assert!(!commands.iter().any(|c| matches!(c.command, Command::BroadcastChat { .. })));
    assert_eq!(report.chat_answered, 5);
}

/// The records of a capture replayed equal those of the same events followed live: the events
/// pass a tap on their way to the follower that writes them, stamped, as a pcap capture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_capture_gives_the_records_the_live_follower_stored() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

    let dir = tempfile::tempdir().unwrap();
    let (live_db, replay_db) = (dir.path().join("live.sqlite"), dir.path().join("replay.sqlite"));
    let mut config = server_config(vec![SessionConfig::practice(2), SessionConfig::race(2, 5)]);
    config.churn = false;
    let mut server = ServerSim::bind(config).await.unwrap();
    let tap = tokio::net::UdpSocket::bind(LOOPBACK).await.unwrap();
    server.set_plugin_addr(tap.local_addr().unwrap());
    // Events reach the follower from the tap's port: accepted by IP.
    let mut follower = follow_with(LOOPBACK.parse().unwrap(), server.local_addr(), &live_db, true).await;
    let (sim_addr, to) = (server.local_addr(), follower.addr);
    let origin = *ORIGIN.get().unwrap();
    let (captured_tx, captured) = oneshot::channel::<Vec<(Duration, Vec<u8>)>>();
    let (stop_tap, mut tap_stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut packets = Vec::new();
        let mut buf = vec![0u8; 2048];
        loop {
            tokio::select! {
                _ = &mut tap_stopped => break,
                r = tap.recv_from(&mut buf) => {
                    let (n, from) = r.unwrap();
                    if from == sim_addr {
                        // Stamped on the followers' scaled clock, as the follower dates records.
                        let at = Duration::from_secs_f64(origin.0.elapsed().as_secs_f64() * SPEED);
                        packets.push((at, buf[..n].to_vec()));
                        tap.send_to(&buf[..n], to).await.unwrap();
                    }
                }
            }
        }
        let _ = captured_tx.send(packets);
    });
    let server = server.spawn();
    let mut ended = 0;
    while ended < 2 {
        if matches!(follower.next().await.notice, Notice::SessionEnded { .. }) {
            ended += 1;
        }
    }
    server.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop_tap.send(());
    let live = follower.stop().await.recorder.unwrap();
    let packets = captured.await.unwrap();

    let capture = dir.path().join("capture.pcap");
    let header = PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
    let mut w = PcapWriter::with_header(std::fs::File::create(&capture).unwrap(), header).unwrap();
    let t0 = Duration::from_millis(u64::try_from(origin.1).unwrap());
    for (at, payload) in &packets {
        let p = ipv4_udp(11000, 12000, payload);
        w.write_packet(&PcapPacket::new(t0 + *at, p.len() as u32, &p)).unwrap();
    }
    drop(w);

    let replay_config = live::replay::ReplayConfig {
        timing: timing::TimingConfig::default(),
        port: None,
        raw_start_unix_ms: 0,
    };
    let replay_into = |db: &Path| {
        let store = Store::open(db).unwrap();
        let mut recorder =
            Recorder::new(store, RecorderConfig { import_results: false, ..RecorderConfig::default() });
        live::replay::replay(&capture, Some(&mut recorder), &replay_config).unwrap()
    };
    let replayed = replay_into(&replay_db);
    assert_eq!(replayed.events as usize, packets.len());
    assert_eq!(replayed.undecodable, 0);
    let laps = |db: &Path| {
        let store = Store::open(db).unwrap();
        let mut q = Query::new("ks_red_bull_ring", "layout_gp");
        q.ranking = Ranking::EveryLap;
        q.include_invalid = true;
        let mut rows: Vec<(String, String, String, String, u32, u32)> = store
            .leaderboard(&q)
            .unwrap()
            .into_iter()
            .map(|r| (r.session_type, r.session_name, r.guid, r.car, r.time_ms, r.cuts))
            .collect();
        rows.sort();
        rows
    };
    let live_laps = laps(&live_db);
    assert_eq!(live_laps.len() as u64, live.laps_stored);
    assert!(live_laps.len() > 10, "{live_laps:?}");
    assert_eq!(laps(&replay_db), live_laps);
    // Replayed into the live database: every session is found again, nothing is stored twice.
    let again = replay_into(&live_db);
    assert_eq!(again.laps_stored, 0, "{:?}", again.recorder);
    assert_eq!(laps(&live_db), live_laps);
}
