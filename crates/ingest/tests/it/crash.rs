//! The server as a child process, killed with SIGKILL mid-stream and restarted: nothing acked
//! is lost, nothing is stored twice. Also SIGTERM's graceful exit.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    stdout: BufReader<std::process::ChildStdout>,
}

fn spawn_server(data: &Path) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall-ingest-test-server"))
        .arg("--data")
        .arg(data)
        // No sinks: the WAL is kept whole, so the test can count every frame in it.
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}"));
    ServerProcess { addr: addr.parse().unwrap(), child, stdout }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_loses_nothing_acked_and_stores_nothing_twice() {
    const TOTAL: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let s = session(50);

    let mut server = spawn_server(dir.path());
    let mut c = client(server.addr).await;
    let (tx, rx) = mpsc::channel(512);
    let feeder = tokio::spawn(async move {
        for seq in 0..TOTAL {
            if tx.send(frame(s, seq)).await.is_err() {
                break;
            }
        }
        // Keep the stream open: the kill, not the end of input, ends this call.
        std::future::pending::<()>().await;
    });
    let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let mut acked = 0u64;
    let mut killed = false;
    loop {
        match acks.message().await {
            Ok(Some(ack)) => {
                assert!(ack.next_seq >= acked);
                acked = ack.next_seq;
                if !killed && acked >= 5_000 {
                    server.child.kill().unwrap();
                    killed = true;
                }
            }
            Ok(None) => panic!("the stream ended cleanly; it should break"),
            Err(_) => break,
        }
    }
    assert!(killed, "the server must be killed mid-stream");
    assert!(acked < TOTAL, "killed before everything was sent ({acked} acked)");
    feeder.abort();
    server.child.wait().unwrap();

    // Restart on the same data: every ack the client saw must still hold.
    let mut server = spawn_server(dir.path());
    let mut c = client(server.addr).await;
    let from = resume(&mut c, &[s]).await[0];
    eprintln!("acked {acked} of {TOTAL} when killed; the restarted server resumes at {from}");
    assert!(from >= acked, "acked {acked} before the kill, but the restarted server resumes at {from}");
    let out = send(&mut c, frames(s, from..TOTAL)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), TOTAL);

    // SIGTERM: graceful exit with status 0.
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "graceful exit on SIGTERM, got {exit:?}");
    let mut line = String::new();
    server.stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("stopped:"), "{line:?}");

    assert_exactly_once(&wal_counts(dir.path()), s, TOTAL);
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_reported_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(51);
    let running = start(config(dir.path())).await;
    let out = send(&mut client(running.local_addr()).await, frames(s, 0..1_000)).await;
    assert_eq!(out.acked(s), 1_000);
    running.shutdown().await.unwrap();

    // What a crash in the middle of a write leaves: half a record at the end of the last segment.
    let wal = dir.path().join("wal");
    let last = *ingest::wal::list_segments(&wal).unwrap().last().unwrap();
    let path = ingest::wal::segment_path(&wal, last);
    let len = std::fs::metadata(&path).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, &[200, 2, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]).unwrap();
    drop(f);

    let running = start(config(dir.path())).await;
    let torn = running.replay_report().torn_tail.clone().expect("torn tail reported");
    assert_eq!((torn.offset, torn.dropped_bytes), (len, 11));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "the tail is cut off");
    let mut c = client(running.local_addr()).await;
    assert_eq!(resume(&mut c, &[s]).await, vec![1_000]);
    let out = send(&mut c, frames(s, 1_000..1_100)).await;
    assert_eq!(out.acked(s), 1_100);
    running.shutdown().await.unwrap();
    assert_exactly_once(&wal_counts(dir.path()), s, 1_100);
}

#[tokio::test]
async fn damage_before_the_tail_stops_start_up_instead_of_dropping_acked_frames() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(52);
    let running = start(config(dir.path())).await;
    send(&mut client(running.local_addr()).await, frames(s, 0..100)).await;
    running.shutdown().await.unwrap();
    // Restart once more so the segment with the frames is no longer the last one.
    start(config(dir.path())).await.shutdown().await.unwrap();

    let wal = dir.path().join("wal");
    let first = ingest::wal::list_segments(&wal).unwrap()[0];
    let path = ingest::wal::segment_path(&wal, first);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let err = ingest::Server::new(config(dir.path())).start().await.unwrap_err();
    assert!(matches!(err, ingest::IngestError::Wal(ingest::WalError::Corrupt { .. })), "{err}");
    assert!(err.to_string().contains("corrupt at byte"), "{err}");
}

#[tokio::test]
async fn kill_during_heavy_writes_repeatedly() {
    // Several kill/restart rounds with two sessions: the durable point never goes back.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (session(53), session(54));
    let mut acked = [0u64; 2];
    for round in 0..3u64 {
        let mut server = spawn_server(dir.path());
        let mut c = client(server.addr).await;
        let from = resume(&mut c, &[a, b]).await;
        assert!(from[0] >= acked[0] && from[1] >= acked[1], "round {round}: {from:?} < {acked:?}");
        let end = (round + 1) * 8_000;
        let mut fs = Vec::new();
        for seq in 0..end {
            if seq >= from[0] {
                fs.push(frame(a, seq));
            }
            if seq >= from[1] {
                fs.push(frame(b, seq));
            }
        }
        let (tx, rx) = mpsc::channel(256);
        let feeder = tokio::spawn(async move {
            for f in fs {
                if tx.send(f).await.is_err() {
                    break;
                }
            }
            std::future::pending::<()>().await;
        });
        let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
        let kill_at = from[0] + 3_000;
        // Until the kill ends the stream (or, should everything be acked first, a quiet spell).
        while let Ok(Ok(Some(ack))) = tokio::time::timeout(Duration::from_secs(20), acks.message()).await {
            let i = usize::from(ack.session_id.as_ref() != a.as_slice());
            acked[i] = acked[i].max(ack.next_seq);
            if i == 0 && ack.next_seq >= kill_at {
                let _ = server.child.kill();
            }
        }
        feeder.abort();
        let _ = server.child.kill();
        server.child.wait().unwrap();
    }
    let server = spawn_server(dir.path());
    let mut c = client(server.addr).await;
    let from = resume(&mut c, &[a, b]).await;
    assert!(from[0] >= acked[0] && from[1] >= acked[1]);
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let counts = wal_counts(dir.path());
    assert_exactly_once(&counts, a, from[0]);
    assert_exactly_once(&counts, b, from[1]);
}
