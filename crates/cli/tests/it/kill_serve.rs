//! `pitwall serve` SIGKILLed and restarted ten times, at seeded pseudo-random moments, while
//! three `pitwall bridge` processes (three cars of the simulated game) stream to it: at the end
//! every frame of every recording is in the server's write-ahead log exactly once.
//!
//! The helpers are this module's own copies of those in `bridge.rs`, so that the two tests can
//! change independently.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::pitwall;

const KILLS: usize = 10;
const CARS: u64 = 3;
/// Seed of the moments of the kills.
const SEED: u64 = 0x5eed_4b11;

/// A loopback address nothing listens on yet.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// `pitwall serve` on `addr`, once it listens; without sinks, so that its write-ahead log is
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

/// `pitwall bridge` with `--json` status lines every 0.1 s, arriving on a channel.
struct BridgeProcess {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    last: Option<serde_json::Value>,
    record: PathBuf,
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
    let stdout = child.stdout.take().unwrap();
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
    BridgeProcess { child, lines, last: None, record: record.to_owned() }
}

impl BridgeProcess {
    /// Takes the status lines printed so far; returns the latest.
    fn latest(&mut self) -> Option<&serde_json::Value> {
        while let Ok(v) = self.lines.try_recv() {
            self.last = Some(v);
        }
        self.last.as_ref()
    }

    /// Waits for the process to exit successfully; returns its last status line.
    fn finish(&mut self) -> serde_json::Value {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(status.success(), "pitwall bridge exited with {status}: {stderr}");
        while let Ok(v) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.last = Some(v);
        }
        self.last.clone().expect("status lines")
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        // A failed test must not leave bridges running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The server process, killed if the test fails before it stops it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// splitmix64: the moments of the kills, the same every run.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, range: std::ops::Range<u64>) -> Duration {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Duration::from_millis(range.start + z % (range.end - range.start))
    }
}

/// Each session's seqs in the server's WAL, with their counts.
fn wal(data: &Path) -> HashMap<[u8; 16], BTreeMap<u64, usize>> {
    let mut out: HashMap<[u8; 16], BTreeMap<u64, usize>> = HashMap::new();
    for f in ingest::Wal::read_all(data.join("wal")).unwrap() {
        *out.entry(f.session_id.0).or_default().entry(f.seq).or_insert(0) += 1;
    }
    out
}

/// Each session's seqs in a recording (which must read back whole).
fn recorded(path: &Path) -> HashMap<[u8; 16], Vec<u64>> {
    let mut out: HashMap<[u8; 16], Vec<u64>> = HashMap::new();
    for f in record::RecordReader::open(path).unwrap() {
        let f = f.unwrap();
        out.entry(f.session_id.as_ref().try_into().unwrap()).or_default().push(f.seq);
    }
    out
}

#[test]
fn a_server_sigkilled_ten_times_during_a_three_car_stream_stores_every_frame_exactly_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = free_addr();
    let mut server = Server(serve(addr, &data));
    let url = format!("http://{addr}");
    let mut cars: Vec<BridgeProcess> = (0..CARS)
        .map(|car| {
            let seed = (car + 1).to_string();
            let args = [
                "--source",
                "sim",
                "--seed",
                &seed,
                "--speed",
                "5",
                "--server",
                &url,
                "--duration",
                "12",
                "--ack-grace",
                "30",
            ];
            bridge(&args, &dir.path().join(format!("car{car}.pb.gz")))
        })
        .collect();

    let mut moments = Moments(SEED);
    let mut acked_at_kills = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(moments.next_ms(200..1_100));
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        let acked: u64 = cars.iter_mut().map(|c| c.latest().map_or(0, |v| n(v, "frames_acked"))).sum();
        acked_at_kills.push(acked);
        std::thread::sleep(moments.next_ms(0..400));
        server = Server(serve(addr, &data));
    }
    let kills_done = started.elapsed();
    assert!(
        acked_at_kills.windows(2).filter(|w| w[1] > w[0]).count() >= KILLS / 2,
        "the bridges got acks between most kills: {acked_at_kills:?}"
    );

    let mut frames = 0;
    for car in &mut cars {
        let last = car.finish();
        assert_eq!(n(&last, "backlog_frames"), 0, "{last}");
        assert_eq!(n(&last, "frames_acked"), n(&last, "frames"), "{last}");
        assert!(n(&last, "disconnects") >= KILLS as u64 / 2, "the kills were felt: {last}");
        frames += n(&last, "frames");
    }
    let ok = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -TERM failed");
    assert!(server.0.wait().unwrap().success());

    // Every frame of every recording on the server exactly once, and nothing else.
    let stored = wal(&data);
    let mut sessions = 0;
    for car in &cars {
        for (session, seqs) in recorded(&car.record) {
            sessions += 1;
            let count = seqs.len() as u64;
            assert_eq!(seqs, (0..count).collect::<Vec<_>>(), "recorded seqs without gaps");
            let got =
                stored.get(&session).unwrap_or_else(|| panic!("session {session:02x?} not on the server"));
            assert_eq!(got.len() as u64, count, "frames of session {session:02x?} on the server");
            assert!(got.iter().all(|(seq, n)| *seq < count && *n == 1), "exactly once");
        }
    }
    assert_eq!(stored.len(), sessions, "no session on the server that no recording has");
    assert_eq!(stored.values().map(|s| s.len() as u64).sum::<u64>(), frames);
    println!(
        "{frames} frames of {CARS} cars through {KILLS} SIGKILLs (acked at each: {acked_at_kills:?}); \
         kills over after {:.1} s, all done in {:.1} s",
        kills_done.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
