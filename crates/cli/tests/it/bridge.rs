//! `pitwall bridge` as a real process against `pitwall serve` as a real process: either one
//! killed with SIGKILL mid-stream and restarted, and still every frame stored exactly once.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::pitwall;

/// A loopback address nothing listens on yet.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// `pitwall serve` on `addr`, once it listens. Without sinks, so that its write-ahead log is
/// kept whole for the test to count every frame in it.
fn serve(addr: SocketAddr, data: &Path) -> Child {
    let config = data.with_extension("toml");
    std::fs::write(&config, "sinks = []\n").unwrap();
    let mut child = pitwall()
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(data)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).unwrap();
        said.push_str(&line);
        if line.contains("listening on") {
            break;
        }
        assert!(n > 0, "pitwall serve ended before listening: {said}");
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

/// Sends SIGTERM (no libc in the tests: the `kill` utility).
fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -TERM failed");
}

/// `pitwall bridge` with `--json` status lines every 0.1 s, arriving on a channel.
struct BridgeProcess {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    last: Option<serde_json::Value>,
}

fn bridge(args: &[&str], record: &Path) -> BridgeProcess {
    let mut child = pitwall()
        .args(["bridge", "--json", "--status-every", "0.1", "--record"])
        .arg(record)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    BridgeProcess { child, lines, last: None }
}

impl BridgeProcess {
    /// Waits up to `secs` for a status line satisfying `cond`; returns it.
    fn until(&mut self, secs: u64, cond: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    let hit = cond(&v);
                    self.last = Some(v.clone());
                    if hit {
                        return v;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no status line matched in {secs} s; last: {:?}", self.last);
    }

    /// Waits for the process to exit successfully; returns its last status line and stderr.
    fn finish(mut self) -> (serde_json::Value, String) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(status.success(), "pitwall bridge exited with {status}: {stderr}");
        while let Ok(v) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.last = Some(v);
        }
        (self.last.expect("status lines"), stderr)
    }
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Each session's seqs in the server's WAL, with their counts.
fn wal(data: &Path) -> HashMap<[u8; 16], BTreeMap<u64, usize>> {
    let mut out: HashMap<[u8; 16], BTreeMap<u64, usize>> = HashMap::new();
    for f in ingest::Wal::read_all(data.join("wal")).unwrap() {
        *out.entry(f.session_id.0).or_default().entry(f.seq).or_insert(0) += 1;
    }
    out
}

/// Each session's frame count in a recording (which must read back whole).
fn recorded(path: &Path) -> HashMap<[u8; 16], Vec<u64>> {
    let mut out: HashMap<[u8; 16], Vec<u64>> = HashMap::new();
    for f in record::RecordReader::open(path).unwrap() {
        let f = f.unwrap();
        out.entry(f.session_id.as_ref().try_into().unwrap()).or_default().push(f.seq);
    }
    out
}

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
    let b = bridge(&["--source", "sim", "--speed", "10", "--server", &url, "--duration", "1"], &record);
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
