//! Recordings as the spool across runs, and replayed to a server.

use std::time::Duration;

use bridge::{Bridge, BridgeConfig, SourceConfig, Speed};
use testkit::sim::fast_server;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bridge_sends_what_its_previous_run_left_unacked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    // First run: no server (as if it were unreachable the whole time).
    let offline = run(sim_config(&record, None, 10.0, 0.5)).await;
    assert!(offline.status.frames > 500);
    assert_eq!(offline.status.frames_acked, 0);

    // Second run, same recording, with a server: both sessions arrive, once each.
    let server = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let online = run(sim_config(&record, Some(server.local_addr()), 10.0, 0.5)).await;
    server.shutdown().await.unwrap();
    assert_eq!(online.status.backlog_frames, 0, "{:?}", online.status);
    let rec = recorded(&record);
    assert_eq!(rec.len(), 2, "the second run appended a new session");
    assert_ne!(rec[0].0, rec[1].0);
    assert_eq!(rec[0].1.len() as u64, offline.status.frames);
    assert_server_has_recording_exactly_once(&data, &record);
}

fn replay(from: &std::path::Path, to: &std::path::Path, addr: std::net::SocketAddr) -> BridgeConfig {
    let mut config = BridgeConfig::new(SourceConfig::Replay { path: from.to_owned(), speed: Speed::Max });
    config.record = to.to_owned();
    config.server = Some(fast_server(&format!("http://{addr}")));
    config.ack_grace = Duration::from_secs(20);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_recording_keeps_its_ids_and_the_server_stores_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let original = dir.path().join("original.pb.gz");
    let offline = run(sim_config(&original, None, 20.0, 0.5)).await;

    let server = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let first = run(replay(&original, &dir.path().join("replay1.pb.gz"), server.local_addr())).await;
    assert_eq!(first.status.frames, offline.status.frames);
    assert_eq!(first.status.backlog_frames, 0, "{:?}", first.status);
    assert_eq!(recorded(&dir.path().join("replay1.pb.gz")), recorded(&original), "same ids, same order");
    assert_server_has_recording_exactly_once(&data, &original);

    // Again: the server has it all; Resume says so and nothing is sent.
    let again = run(replay(&original, &dir.path().join("replay2.pb.gz"), server.local_addr())).await;
    assert_eq!(again.status.backlog_frames, 0);
    server.shutdown().await.unwrap();
    assert_server_has_recording_exactly_once(&data, &original);
}

#[test]
fn replay_refuses_to_overwrite_the_file_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    record::RecordWriter::create(&path, record::RecordOptions::default()).unwrap().close().unwrap();
    let mut config = BridgeConfig::new(SourceConfig::Replay { path: path.clone(), speed: Speed::Max });
    config.record = dir.path().join(".").join("rec.pb.gz");
    config.server = None;
    let err = Bridge::start(config).unwrap_err().to_string();
    assert!(err.contains("--record") && err.contains("rec.pb.gz"), "{err}");
}

#[test]
fn a_missing_shared_memory_directory_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BridgeConfig::new(SourceConfig::Shm { dir: Some(dir.path().join("nope")) });
    config.record = dir.path().join("rec.pb.gz");
    config.server = None;
    let err = Bridge::start(config).unwrap_err().to_string();
    assert!(err.contains("acpmf_physics") && err.contains("nope"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_memory_source_samples_the_pages_a_game_writes() {
    let dir = tempfile::tempdir().unwrap();
    let shm_dir = dir.path().join("shm");
    std::fs::create_dir_all(&shm_dir).unwrap();
    // The game simulator writing page files at real time, as a Proton bridge fills /dev/shm.
    let game = sim::game::GameSim::new(sim::game::GameConfig::default()).unwrap();
    let writer = sim::game::GameWriter::create(&shm_dir).unwrap();
    let mut runner =
        sim::game::GameRunner::new(game, writer, shm::MonotonicClock::new(), sim::game::RunConfig::default())
            .unwrap();
    runner.tick().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let game_stop = stop.clone();
    let game_thread = std::thread::spawn(move || {
        runner.run(&game_stop, Some(Duration::from_secs(3)), Duration::from_secs(10), |_, _| {}).unwrap();
    });

    let mut config = BridgeConfig::new(SourceConfig::Shm { dir: Some(shm_dir) });
    config.record = dir.path().join("rec.pb.gz");
    config.server = None;
    config.duration = Some(Duration::from_millis(1500));
    let summary = run(config).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    game_thread.join().unwrap();

    let s = &summary.status;
    // 1.5 s at 333 Hz is 500 steps. On a loaded machine the game itself falls behind (and
    // skips writes) and the bridge can oversleep, so the rate is the bench's business; here
    // every step must be accounted for, sampled or counted missed.
    assert!(s.frames > 100 && s.frames + s.missed_steps <= 520, "{s:?}");
    // Every frame took a poll; the pacer's rate is the bench's business, but polls are counted.
    assert!(s.polls >= s.frames, "{s:?}");
    let rec = recorded(&dir.path().join("rec.pb.gz"));
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].1, (0..s.frames).collect::<Vec<_>>());
    let frames: Vec<_> =
        record::RecordReader::open(dir.path().join("rec.pb.gz")).unwrap().map(|f| f.unwrap()).collect();
    assert!(frames[0].session.as_ref().is_some_and(|m| m.source.contains("(shm)")));
    let ids: Vec<i32> = frames.iter().map(|f| f.physics_packet_id).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "each physics step once, in order");
    let missed: u64 = frames.iter().map(|f| u64::from(f.missed_steps)).sum();
    assert_eq!(missed, s.missed_steps);
    assert_eq!(
        (ids[ids.len() - 1] - ids[0]) as u64 + 1,
        frames.len() as u64 + missed - u64::from(frames[0].missed_steps),
        "frames plus missed steps account for every packetId"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_the_server_refuses_stops_its_session_and_not_the_others() {
    use proto::telemetry::v1::TelemetryFrame;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let original = dir.path().join("crafted.pb.gz");
    let (a, b, c) = ([0x0a; 16], [0x0b; 16], [0x0c; 16]);
    let mut w = record::RecordWriter::create(&original, record::RecordOptions::default()).unwrap();
    for (session, bad) in [(a, None), (b, Some(50)), (c, None)] {
        for seq in 0..100u64 {
            let throttle = if Some(seq) == bad { f32::NAN } else { 0.5 };
            let frame = TelemetryFrame {
                session_id: bytes::Bytes::copy_from_slice(&session),
                seq,
                throttle,
                mono_time_ns: seq as i64 * 3_000_000,
                ..Default::default()
            };
            w.append(&frame).unwrap();
        }
    }
    w.close().unwrap();

    let server = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let summary = run(replay(&original, &dir.path().join("replayed.pb.gz"), server.local_addr())).await;
    server.shutdown().await.unwrap();
    let s = &summary.status;
    assert_eq!(s.stuck_sessions, 1, "{s:?}");
    assert_eq!(s.backlog_frames, 0, "the other sessions went through: {s:?}");
    let stored = wal(&data);
    assert_eq!(stored[&a].len(), 100);
    assert_eq!(
        stored[&b].keys().copied().collect::<Vec<_>>(),
        (0..50).collect::<Vec<_>>(),
        "up to the refused frame"
    );
    assert_eq!(stored[&c].len(), 100, "the session after the refused one is not held up");
}
