//! Many concurrent streams: every frame acked, every frame stored exactly once.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_are_acked_and_stored_exactly_once() {
    const STREAMS: u32 = 8;
    const FRAMES: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let addr = running.local_addr();
    let mut tasks = Vec::new();
    for n in 0..STREAMS {
        tasks.push(tokio::spawn(async move {
            let mut c = client(addr).await;
            let s = session(n);
            (s, send(&mut c, frames(s, 0..FRAMES)).await)
        }));
    }
    for t in tasks {
        let (s, out) = t.await.unwrap();
        assert!(out.status.is_none(), "stream ended with {:?}", out.status);
        assert_eq!(out.acked(s), FRAMES, "the last ack covers every frame");
        // Acks are coalesced per group commit, not one per frame.
        assert!(out.ack_count < FRAMES as usize / 4, "{} acks for {FRAMES} frames", out.ack_count);
    }
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.frames_stored, u64::from(STREAMS) * FRAMES);
    assert_eq!(stats.duplicates, 0);
    let counts = wal_counts(dir.path());
    assert_eq!(counts.len() as u64, u64::from(STREAMS) * FRAMES);
    for n in 0..STREAMS {
        assert_exactly_once(&counts, session(n), FRAMES);
    }
}

#[tokio::test]
async fn one_stream_may_carry_interleaved_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let (a, b, d) = (session(1), session(2), session(3));
    let mut all = Vec::new();
    for seq in 0..500 {
        all.push(frame(a, seq));
        all.push(frame(b, seq));
        if seq < 100 {
            all.push(frame(d, seq));
        }
    }
    let out = send(&mut c, all).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!((out.acked(a), out.acked(b), out.acked(d)), (500, 500, 100));
    assert_eq!(resume(&mut c, &[d, a, b]).await, vec![100, 500, 500]);
    running.shutdown().await.unwrap();
    let counts = wal_counts(dir.path());
    assert_exactly_once(&counts, a, 500);
    assert_exactly_once(&counts, b, 500);
    assert_exactly_once(&counts, d, 100);
}
