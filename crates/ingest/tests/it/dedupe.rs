//! (session, seq) identity: resends are dropped, Resume tells where to restart, gaps are refused.

use crate::common::*;

#[tokio::test]
async fn resends_after_a_reconnect_are_dropped_and_resume_knows_the_point() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let (a, unknown) = (session(10), session(11));

    let out = send(&mut c, frames(a, 0..500)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(a), 500);
    assert_eq!(resume(&mut c, &[a, unknown]).await, vec![500, 0], "unknown sessions start at 0");

    // A bridge that lost the last acks resends an overlap: the overlap is dropped silently and
    // the stream carries on.
    let out = send(&mut c, frames(a, 250..700)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(a), 700);
    // Everything again, on a fresh connection: all duplicates, still acked.
    let mut c2 = client(running.local_addr()).await;
    let out = send(&mut c2, frames(a, 0..700)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(a), 700);
    assert_eq!(resume(&mut c2, &[a]).await, vec![700]);

    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.duplicates, 250 + 700);
    assert_eq!(stats.frames_stored, 700);
    assert_exactly_once(&wal_counts(dir.path()), a, 700);
}

#[tokio::test]
async fn a_gap_is_refused_with_failed_precondition_naming_the_expected_seq() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let a = session(20);
    let mut fs = frames(a, 0..100);
    fs.extend(frames(a, 150..160));
    let out = send(&mut c, fs).await;
    let status = out.status.clone().expect("the stream must fail");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("expected seq 100"), "{}", status.message());
    assert!(status.message().contains("got seq 150"), "{}", status.message());
    assert_eq!(out.acked(a), 100, "the frames before the gap are acked before the error");
    assert_eq!(resume(&mut c, &[a]).await, vec![100]);

    // A new session that does not start at 0 is a gap too.
    let b = session(21);
    let out = send(&mut c, frames(b, 5..10)).await;
    let status = out.status.clone().expect("the stream must fail");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("expected seq 0"), "{}", status.message());

    running.shutdown().await.unwrap();
    let counts = wal_counts(dir.path());
    assert_exactly_once(&counts, a, 100);
    assert_exactly_once(&counts, b, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_streams_racing_on_one_session_store_each_frame_once() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let addr = running.local_addr();
    let a = session(30);
    let t1 = tokio::spawn(async move { send(&mut client(addr).await, frames(a, 0..5_000)).await });
    let t2 = tokio::spawn(async move { send(&mut client(addr).await, frames(a, 0..5_000)).await });
    for out in [t1.await.unwrap(), t2.await.unwrap()] {
        assert!(out.status.is_none(), "{:?}", out.status);
        assert_eq!(out.acked(a), 5_000);
    }
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.frames_stored, 5_000);
    assert_eq!(stats.duplicates, 5_000);
    assert_exactly_once(&wal_counts(dir.path()), a, 5_000);
}
