//! The Prometheus endpoint, scraped over a real HTTP/1.1 connection.

use std::io::{Read as _, Write as _};

use crate::common::*;

/// `GET /metrics` over a plain TCP socket; returns the body.
fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/plain; version=0.0.4"), "{text}");
    text.split_once("\r\n\r\n").unwrap().1.to_string()
}

fn value(body: &str, name: &str) -> f64 {
    let line = body
        .lines()
        .find(|l| l.split_once(' ').is_some_and(|(n, _)| n == name))
        .unwrap_or_else(|| panic!("{name} missing from:\n{body}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_stored_frames_streams_and_sink_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    let running = start(cfg).await;
    let maddr = running.metrics_addr().unwrap();

    let before = tokio::task::spawn_blocking(move || scrape(maddr)).await.unwrap();
    assert_eq!(value(&before, "pitwall_ingest_frames_stored_total"), 0.0);

    let mut c = client(running.local_addr()).await;
    let out = send(&mut c, frames(session(1), 0..700)).await;
    assert_eq!(out.acked(session(1)), 700);
    // A frame with an out-of-range value is rejected and counted.
    let mut bad = frame(session(2), 0);
    bad.throttle = 7.0;
    let out = send(&mut c, vec![bad]).await;
    assert!(out.status.is_some());

    let body = tokio::task::spawn_blocking(move || scrape(maddr)).await.unwrap();
    assert_eq!(value(&body, "pitwall_ingest_frames_stored_total"), 700.0);
    assert_eq!(value(&body, "pitwall_ingest_rejected_frames_total"), 1.0);
    assert_eq!(value(&body, "pitwall_ingest_streams_opened_total"), 2.0);
    assert!(value(&body, "pitwall_ingest_bytes_stored_total") > 700.0 * 100.0);
    assert!(value(&body, "pitwall_ingest_wal_bytes") >= value(&body, "pitwall_ingest_bytes_stored_total"));
    assert!(value(&body, "pitwall_ingest_wal_segments") >= 1.0);
    for name in ["pitwall_ingest_sink_flush_seconds_count", "pitwall_ingest_acks_total"] {
        assert!(value(&body, name) >= 0.0);
    }
    assert!(body.contains("# TYPE pitwall_ingest_streams_active gauge"), "{body}");
    assert_eq!(running.metrics(), running.metrics(), "rendering is deterministic between changes");
    running.shutdown().await.unwrap();
}
