//! `pitwall bridge` as a real process against `pitwall serve` as a real process: either one
//! killed with SIGKILL mid-stream and restarted, and still every frame stored exactly once.

use std::path::Path;

use crate::pitwall;
use crate::procs::{bridge, free_addr, n, recorded, serve, sigterm, wal};

fn assert_server_has_recording_exactly_once(data: &Path, record: &Path) {
    let stored = wal(data);
    let rec = recorded(record);
    assert_eq!(stored.len(), rec.len(), "sessions");
    for (session, seqs) in rec {
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "recorded seqs without gaps");
        let got = &stored[&session];
        assert_eq!(got.len(), seqs.len(), "frames of session {session:02x?} on the server");
        assert!(got.iter().all(|(seq, count)| *seq < seqs.len() as u64 && *count == 1), "exactly once");
    }
}

#[test]
fn a_server_killed_mid_stream_and_restarted_still_gets_every_frame_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let addr = free_addr();
    let mut server = serve(addr, &data);
    let url = format!("http://{addr}");
    let mut b = bridge(
        &["--source", "sim", "--speed", "10", "--server", &url, "--duration", "5", "--ack-grace", "30"],
        &record,
    );
    b.until(20, |v| n(v, "frames_acked") > 2_000);
    server.kill().unwrap();
    server.wait().unwrap();
    // The bridge notices, keeps recording, and its backlog grows.
    let down = b.until(20, |v| v["connection"] != "connected" && n(v, "backlog_frames") > 1_000);
    assert!(n(&down, "disconnects") >= 1, "{down}");
    let mut server = serve(addr, &data);
    let (last, stderr) = b.finish();
    assert_eq!(n(&last, "backlog_frames"), 0, "{last}");
    assert_eq!(n(&last, "window_frames"), 0, "memory drained: {last}");
    assert_eq!(n(&last, "frames_acked"), n(&last, "frames"), "{last}");
    assert!(stderr.contains("nothing left to send"), "{stderr}");
    sigterm(&server);
    assert!(server.wait().unwrap().success());
    assert_server_has_recording_exactly_once(&data, &record);
}

#[test]
fn a_bridge_killed_mid_stream_leaves_its_recording_readable_and_a_restart_sends_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let addr = free_addr();
    let url = format!("http://{addr}");
    // Nobody listens yet: everything stays unacked, in the recording.
    let mut b = bridge(&["--source", "sim", "--speed", "10", "--server", &url], &record);
    let seen = b.until(20, |v| n(v, "record_bytes") > 1_000_000);
    b.child.kill().unwrap();
    b.child.wait().unwrap();

    // The file reads back to its last complete member (then, maybe, a torn one).
    let mut frames = 0u64;
    let mut reader = record::RecordReader::open(&record).unwrap();
    for f in reader.by_ref() {
        match f {
            Ok(f) => {
                assert_eq!(f.seq, frames, "gap-free up to the damage");
                frames += 1;
            }
            Err(e) => {
                assert!(e.is_damage(), "{e}");
                break;
            }
        }
    }
    assert!(frames >= 1_000, "{frames} frames survived; the bridge had recorded {}", n(&seen, "frames"));

    // The server comes up; a restarted bridge appends a new session and sends both.
    let mut server = serve(addr, &data);
    let mut b = bridge(&["--source", "sim", "--speed", "10", "--server", &url, "--duration", "1"], &record);
    let (last, _) = b.finish();
    assert_eq!(n(&last, "backlog_frames"), 0, "{last}");
    let rec = recorded(&record);
    assert_eq!(rec.len(), 2, "the killed run's session and the new one");
    assert!(rec.values().any(|seqs| seqs.len() as u64 >= frames), "the killed run's frames are kept");
    sigterm(&server);
    assert!(server.wait().unwrap().success());
    assert_server_has_recording_exactly_once(&data, &record);
}

#[test]
fn sigterm_finishes_the_recording_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rec.pb.gz");
    let mut b = bridge(&["--source", "sim", "--no-server"], &record);
    b.until(20, |v| n(v, "frames") > 300);
    sigterm(&b.child);
    let (last, stderr) = b.finish();
    assert!(stderr.contains("stopping") && stderr.contains("no server"), "{stderr}");
    assert_eq!(last["connection"], "disabled");
    // Every frame is in a complete member: nothing torn, nothing lost.
    let rec = recorded(&record);
    assert_eq!(rec.len(), 1);
    assert_eq!(rec.values().next().unwrap().len() as u64, n(&last, "frames"));
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = pitwall().args(["bridge", "--source", "udp"]).current_dir(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shm, sim or replay:FILE"));
    let out = pitwall()
        .args(["bridge", "--source", "sim", "--server", "127.0.0.1:50051", "--duration", "1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http://"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pitwall()
        .args(["bridge", "--shm-dir"])
        .arg(dir.path().join("nothing-here"))
        .args(["--no-server", "--duration", "1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acpmf_physics") && err.contains("nothing-here"), "{err}");
}

/// Every frame a resynchronising reader gets from `path`, as (session, seq), and the damaged
/// stretches it reported.
fn read_on(path: &Path) -> (Vec<([u8; 16], u64)>, Vec<record::Damage>) {
    let options = record::ReadOptions { resync: true, ..Default::default() };
    let mut reader = record::RecordReader::open_with(path, options).unwrap();
    let frames = reader
        .by_ref()
        .filter_map(Result::ok)
        .map(|f| (f.session_id.as_ref().try_into().unwrap(), f.seq))
        .collect();
    (frames, reader.damages().to_vec())
}

/// The defect: one flipped byte in the 4th member, then `pitwall bridge --no-server --record
/// thatfile` cut the file at that member, deleting the intact members after it. Now every byte
/// is kept, the damage is reported, and the new frames go after the end.
#[test]
fn a_bridge_appending_to_a_recording_damaged_mid_file_keeps_everything_intact() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rec.pb.gz");
    let args = ["--source", "sim", "--no-server", "--speed", "20", "--duration", "1"];
    bridge(&args, &record).finish();
    let scan = record::scan(&record).unwrap();
    assert!(scan.damages.is_empty() && scan.index.len() >= 6, "{} members", scan.index.len());
    let fourth = scan.index.members()[3].clone();
    let mut bytes = std::fs::read(&record).unwrap();
    bytes[(fourth.offset + fourth.len / 2) as usize] ^= 0x40;
    std::fs::write(&record, &bytes).unwrap();
    let (before, damages) = read_on(&record);
    assert_eq!(damages.len(), 1);
    assert_eq!(before.len() as u64, scan.index.frames() - fourth.frames);

    let (_, stderr) = bridge(&args, &record).finish();
    assert!(stderr.contains(&format!("damaged at byte {}", fourth.offset)), "{stderr}");
    assert!(stderr.contains("kept in place"), "{stderr}");
    let after = std::fs::read(&record).unwrap();
    assert!(after.len() > bytes.len() && after[..bytes.len()] == bytes[..], "the old bytes are untouched");
    let (frames, damages) = read_on(&record);
    assert_eq!(damages.len(), 1, "{damages:?}");
    assert_eq!(&frames[..before.len()], &before[..], "every intact frame of the first run is still there");
    assert!(frames.len() > before.len() + 1000, "and the second run's after them");
}
