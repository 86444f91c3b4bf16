//! The simulated game streamed to a real server: exactly once, through outages and restarts,
//! over TLS with a token.

use std::time::Duration;

use bridge::{Bridge, ConnectionState};
use testkit::sim::fast_server;
use testkit::wait::eventually;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_game_reaches_the_server_every_seq_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let server = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let summary = run(sim_config(&record, Some(server.local_addr()), 20.0, 1.5)).await;
    server.shutdown().await.unwrap();

    let s = &summary.status;
    assert!(s.frames > 3_000, "{s:?}");
    assert_eq!(s.backlog_frames, 0, "everything acked before the bridge stopped");
    assert_eq!(s.frames_acked, s.frames);
    assert_eq!(s.sessions, 1);
    assert_eq!(s.stuck_sessions, 0);
    let rec = recorded(&record);
    assert_eq!(rec.len(), 1, "one session");
    assert_eq!(rec[0].1, (0..s.frames).collect::<Vec<_>>(), "seq from 0 without gaps");
    let first = record::RecordReader::open(&record).unwrap().next().unwrap().unwrap();
    let meta = first.session.expect("the first frame carries the session's metadata");
    assert_eq!(meta.track, "pitwall_ring");
    assert!(meta.source.contains("(sim)"), "{}", meta.source);
    assert_server_has_recording_exactly_once(&data, &record);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_away_longer_than_the_window_gets_everything_from_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let addr = free_addr();
    let mut config = sim_config(&record, Some(addr), 20.0, 2.0);
    config.window_frames = 200;
    let running = Bridge::start(config).unwrap();

    // Nobody listens: the bridge records, retries, and keeps only a bounded window in memory.
    let mut max_window = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        max_window = max_window.max(running.status().window_frames);
    }
    let before = running.status();
    assert!(before.frames > 2_000, "{before:?}");
    assert_eq!(before.frames_acked, 0);
    assert_ne!(before.connection, ConnectionState::Connected);
    assert!(before.disconnects >= 1, "{before:?}");
    // The cap, plus at most one member's frames not yet in the file (256 KiB of frames).
    assert!(max_window <= 200 + 400, "window grew to {max_window}");

    let server = server(&data, addr).await;
    let summary = tokio::task::spawn_blocking(move || running.wait().unwrap()).await.unwrap();
    server.shutdown().await.unwrap();
    let s = &summary.status;
    assert_eq!(s.backlog_frames, 0, "{s:?}");
    assert!(s.frames_from_recording > 1_000, "the outage was sent from the recording: {s:?}");
    assert_server_has_recording_exactly_once(&data, &record);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_stream_loses_nothing_and_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let first = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let addr = first.local_addr();
    let running = Bridge::start(sim_config(&record, Some(addr), 10.0, 3.0)).unwrap();
    assert!(eventually(10, || running.status().frames_acked > 1_000).await, "{:?}", running.status());
    first.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = server(&data, addr).await;
    let summary = tokio::task::spawn_blocking(move || running.wait().unwrap()).await.unwrap();
    second.shutdown().await.unwrap();
    let s = &summary.status;
    assert!(s.disconnects >= 1, "{s:?}");
    assert_eq!(s.backlog_frames, 0, "{s:?}");
    assert_server_has_recording_exactly_once(&data, &record);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_bearer_token_gets_through_and_a_wrong_token_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca = dir.path().join("cert.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let config = ingest::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.clone(),
        token: Some("s3cret".into()),
        tls: Some(ingest::TlsConfig { cert: ca.clone(), key: dir.path().join("key.pem") }),
        wal: ingest::WalConfig { commit_interval_ms: 1, ..ingest::WalConfig::default() },
        ..ingest::Config::default()
    };
    let server = ingest::Server::new(config).start().await.unwrap();
    let url = format!("https://localhost:{}", server.local_addr().port());

    let record = dir.path().join("good.pb.gz");
    let mut config = sim_config(&record, None, 10.0, 0.5);
    let mut good = fast_server(&url);
    good.token = Some("s3cret".into());
    good.ca_cert = Some(ca.clone());
    config.server = Some(good);
    let summary = run(config).await;
    assert_eq!(summary.status.backlog_frames, 0, "{:?}", summary.status);
    assert!(summary.status.frames_acked > 500);

    let bad_record = dir.path().join("bad.pb.gz");
    let mut config = sim_config(&bad_record, None, 10.0, 0.3);
    let mut bad = fast_server(&url);
    bad.token = Some("wrong".into());
    bad.ca_cert = Some(ca);
    config.server = Some(bad);
    config.ack_grace = Duration::from_millis(500);
    let refused = run(config).await;
    assert_eq!(refused.status.frames_acked, 0);
    assert_eq!(
        refused.status.backlog_frames, refused.status.frames,
        "nothing acked, all kept in the recording"
    );
    assert!(refused.status.disconnects >= 1);

    server.shutdown().await.unwrap();
    assert_server_has_recording_exactly_once(&data, &record);
}
