//! The live tap: frames come out in order once durable, and a viewer that never reads slows
//! nothing down.

use std::time::Duration;

use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use tokio::sync::broadcast::error::TryRecvError;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_frames_reach_a_subscriber_in_order() {
    const FRAMES: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut rx = running.live_tap().subscribe();
    let s = session(1);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < FRAMES as usize {
            match rx.recv().await {
                Ok(f) => seen.push(f),
                Err(e) => panic!("the reader lost frames: {e}"),
            }
        }
        seen
    });
    let mut c = client(running.local_addr()).await;
    let out = send(&mut c, frames(s, 0..FRAMES)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), FRAMES);
    let seen = tokio::time::timeout(Duration::from_secs(10), reader).await.unwrap().unwrap();
    for (seq, f) in (0..FRAMES).zip(&seen) {
        assert_eq!((f.session, f.seq), (s, seq), "in order, every frame once");
        if seq % 500 == 0 {
            // The bytes are the frame as sent.
            assert_eq!(TelemetryFrame::decode(f.raw.clone()).unwrap(), frame(s, seq));
        }
    }
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_neither_slows_nor_stops_the_stream() {
    const FRAMES: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let tap = running.live_tap();
    let mut idle = tap.subscribe();
    let s = session(2);
    let mut c = client(running.local_addr()).await;
    let out = tokio::time::timeout(Duration::from_secs(60), send(&mut c, frames(s, 0..FRAMES)))
        .await
        .expect("the stream finishes although its viewer never reads");
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), FRAMES, "every frame acked");
    // The idle subscriber skipped all but the last ring's worth.
    let skipped = FRAMES - ingest::live::CAPACITY as u64;
    assert_eq!(idle.try_recv().unwrap_err(), TryRecvError::Lagged(skipped));
    assert_eq!(idle.recv().await.unwrap().seq, skipped);
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.frames_stored, FRAMES, "every frame stored");
    assert_exactly_once(&wal_counts(dir.path()), s, FRAMES);
    // What is left in the ring is the rest of the last ring's worth, in order.
    let rest: Vec<u64> = std::iter::from_fn(|| idle.try_recv().ok()).map(|f| f.seq).collect();
    assert_eq!(rest, (skipped + 1..FRAMES).collect::<Vec<_>>());
}
