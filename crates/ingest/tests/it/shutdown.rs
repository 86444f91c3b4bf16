//! Graceful shutdown: streams are drained and acked, the WAL committed, sinks flushed.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_acks_everything_it_stored_and_ends_streams_with_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let s = session(70);
    let (tx, rx) = mpsc::channel(256);
    let feeder = tokio::spawn(async move {
        for seq in 0.. {
            if tx.send(frame(s, seq)).await.is_err() {
                break;
            }
        }
    });
    let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
    // Let frames flow, then shut down while the client is still sending.
    let mut last = 0;
    while last < 2_000 {
        last = acks.message().await.unwrap().unwrap().next_seq;
    }
    let handle = running.shutdown_handle();
    let server = tokio::spawn(running.run_until(std::future::pending()));
    handle.shutdown();
    let out = collect(acks).await;
    let status = out.status.clone().expect("the stream ends with a status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("shutting down"), "{}", status.message());
    let stats = tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    feeder.abort();
    // Everything stored was acked before the stream ended: the last ack is the WAL's end.
    let stored = out.acked(s).max(last);
    assert!(stored >= 2_000);
    assert_eq!(stats.frames_stored, stored);
    assert_exactly_once(&wal_counts(dir.path()), s, stored);
}
