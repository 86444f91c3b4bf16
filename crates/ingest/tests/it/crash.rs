//! The server as a child process, killed with SIGKILL mid-stream and restarted: nothing acked
//! is lost, nothing is stored twice. Also SIGTERM's graceful exit.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testkit::wait::eventually;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    stdout: BufReader<std::process::ChildStdout>,
}

fn spawn_server(data: &Path) -> ServerProcess {
    let mut child = Command::new(test_server_exe())
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

/// Flips one bit in the stored frame `seq` of `session` (bit rot in an acked record); returns
/// the segment file and the byte's offset in it.
fn flip_bit_in_frame(data_dir: &Path, session: [u8; 16], seq: u64) -> (std::path::PathBuf, u64) {
    let wal = data_dir.join("wal");
    let stored = ingest::Wal::read_all(&wal).unwrap();
    let f = stored.iter().find(|f| f.session_id.0 == session && f.seq == seq).unwrap();
    let path = ingest::wal::segment_path(&wal, f.position.segment);
    let at = f.end().offset - 10;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at as usize] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    (path, at)
}

/// The seqs of `session` in `0..n` that the WAL under `data_dir` does not hold.
fn missing(data_dir: &Path, session: [u8; 16], n: u64) -> Vec<u64> {
    let counts = wal_counts(data_dir);
    let id = ingest::SessionId(session);
    for ((s, seq), count) in &counts {
        assert_eq!(*count, 1, "session {s} seq {seq} stored {count} times");
        assert!(*s != id || *seq < n, "session {s} seq {seq} beyond {n}");
    }
    (0..n).filter(|seq| !counts.contains_key(&(id, *seq))).collect()
}

#[tokio::test]
async fn damage_in_the_middle_of_the_last_segment_keeps_the_acked_frames_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(52);
    let running = start(config(dir.path())).await;
    let out = send(&mut client(running.local_addr()).await, frames(s, 0..1_000)).await;
    assert_eq!(out.acked(s), 1_000);
    running.shutdown().await.unwrap();

    // Bit rot in an acked record of the last segment: not a torn tail, whatever follows it.
    let wal = dir.path().join("wal");
    let last = *ingest::wal::list_segments(&wal).unwrap().last().unwrap();
    let (path, flipped) = flip_bit_in_frame(dir.path(), s, 500);
    assert_eq!(path, ingest::wal::segment_path(&wal, last));
    let len = std::fs::metadata(&path).unwrap().len();

    let running = start(config(dir.path())).await;
    let report = running.replay_report().clone();
    assert_eq!(report.torn_tail, None, "intact records follow the damage: nothing to cut");
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    let d = &report.damaged[0];
    assert_eq!(d.path, path);
    assert!(d.offset <= flipped && flipped < d.offset + d.skipped_bytes, "{d:?} vs byte {flipped}");
    assert!(d.skipped_bytes < 1_000, "one record skipped, not the rest of the segment: {d:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "nothing is cut off");
    let metrics = running.metrics();
    assert!(metrics.contains("\npitwall_ingest_wal_damaged_regions_total 1\n"), "{metrics}");
    let skipped = format!("\npitwall_ingest_wal_damaged_bytes_total {}\n", d.skipped_bytes);
    assert!(metrics.contains(&skipped), "{metrics}");

    // The frames after the damage were acked and are kept: the session resumes at 1000.
    let mut c = client(running.local_addr()).await;
    assert_eq!(resume(&mut c, &[s]).await, vec![1_000]);
    let out = send(&mut c, frames(s, 1_000..1_100)).await;
    assert_eq!(out.acked(s), 1_100);
    running.shutdown().await.unwrap();
    let lost = missing(dir.path(), s, 1_100);
    assert_eq!(lost, vec![500], "only the frame in the damaged record is lost");

    // Restarting again finds the same damage and changes nothing; a sink reading the log from
    // the start reads past the damage.
    let mut cfg = config(dir.path());
    cfg.sinks.push(ingest::sinks::SinkConfig::new(
        "null",
        ingest::sinks::SinkKind::Null(ingest::sinks::null::NullConfig::default()),
    ));
    let running = start(cfg).await;
    assert_eq!(running.replay_report().damaged, report.damaged);
    assert_eq!(running.replay_report().torn_tail, None);
    assert!(eventually(20, || running.stats().sink_frames == 1_099).await, "{:?}", running.stats());
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn damage_in_an_older_segment_is_skipped_and_reported_and_the_frames_after_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(56);
    let running = start(config(dir.path())).await;
    send(&mut client(running.local_addr()).await, frames(s, 0..100)).await;
    running.shutdown().await.unwrap();
    // Restart once more so the segment with the frames is no longer the last one.
    start(config(dir.path())).await.shutdown().await.unwrap();

    let wal = dir.path().join("wal");
    let segments = ingest::wal::list_segments(&wal).unwrap();
    let (path, _) = flip_bit_in_frame(dir.path(), s, 50);
    assert_ne!(path, ingest::wal::segment_path(&wal, *segments.last().unwrap()));
    let len = std::fs::metadata(&path).unwrap().len();
    let running = start(config(dir.path())).await;
    let report = running.replay_report().clone();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert_eq!(report.torn_tail, None);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    assert_eq!(resume(&mut client(running.local_addr()).await, &[s]).await, vec![100]);
    running.shutdown().await.unwrap();
    assert_eq!(missing(dir.path(), s, 100), vec![50]);
}

#[tokio::test]
async fn a_hole_in_the_group_a_crash_interrupted_is_cut_with_everything_after_it() {
    // A crash during a group commit can persist the group's later pages but not an earlier one
    // (a hole of zeros): the records after the hole were never acked, and keeping them would
    // make Resume skip the frames in the hole. No commit record follows them, so replay cuts.
    let dir = tempfile::tempdir().unwrap();
    let s = session(57);
    let running = start(config(dir.path())).await;
    let out = send(&mut client(running.local_addr()).await, frames(s, 0..1_000)).await;
    assert_eq!(out.acked(s), 1_000);
    running.shutdown().await.unwrap();

    let wal = dir.path().join("wal");
    let last = *ingest::wal::list_segments(&wal).unwrap().last().unwrap();
    let path = ingest::wal::segment_path(&wal, last);
    let len = std::fs::metadata(&path).unwrap().len();
    let mut tail = bytes::BytesMut::new();
    tail.extend_from_slice(&[0; 4096]);
    for seq in 1_010..1_020 {
        let raw = prost::Message::encode_to_vec(&frame(s, seq));
        ingest::wal::format::put_frame_record(&mut tail, &ingest::SessionId(s), seq, &raw);
    }
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, &tail).unwrap();
    drop(f);

    let running = start(config(dir.path())).await;
    let report = running.replay_report().clone();
    let torn = report.torn_tail.clone().expect("the interrupted group is a torn tail");
    assert_eq!((torn.offset, torn.dropped_bytes), (len, tail.len() as u64));
    assert!(report.damaged.is_empty(), "{report:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    let mut c = client(running.local_addr()).await;
    assert_eq!(resume(&mut c, &[s]).await, vec![1_000]);
    assert_eq!(send(&mut c, frames(s, 1_000..1_100)).await.acked(s), 1_100);
    running.shutdown().await.unwrap();
    assert!(missing(dir.path(), s, 1_100).is_empty());
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
