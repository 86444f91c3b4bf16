//! Real processes for the end-to-end tests: `pitwall serve` and `pitwall bridge` started,
//! watched and stopped, and what they stored counted (the server's WAL, a bridge's recording).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::pitwall;

/// A loopback address nothing listens on yet.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// `pitwall serve` on `addr`, once it listens. Without sinks, so that its write-ahead log is
/// kept whole for the test to count every frame in it.
pub fn serve(addr: SocketAddr, data: &Path) -> Child {
    serve_with(addr, data, &[])
}

/// [`serve`] with more flags (`--token T`…).
pub fn serve_with(addr: SocketAddr, data: &Path, extra: &[&str]) -> Child {
    let config = data.with_extension("toml");
    std::fs::write(&config, "sinks = []\n").unwrap();
    let mut child = pitwall()
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(data)
        .arg("--config")
        .arg(&config)
        .args(extra)
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
pub fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -TERM failed");
}

/// `pitwall bridge` with `--json` status lines every 0.1 s, arriving on a channel.
pub struct BridgeProcess {
    pub child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    last: Option<serde_json::Value>,
    /// The recording it writes.
    pub record: PathBuf,
}

pub fn bridge(args: &[&str], record: &Path) -> BridgeProcess {
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
    BridgeProcess { child, lines, last: None, record: record.to_owned() }
}

impl BridgeProcess {
    /// Waits up to `secs` for a status line satisfying `cond`; returns it.
    pub fn until(&mut self, secs: u64, cond: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
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

    /// Takes the status lines printed so far; returns the latest.
    pub fn latest(&mut self) -> Option<&serde_json::Value> {
        while let Ok(v) = self.lines.try_recv() {
            self.last = Some(v);
        }
        self.last.as_ref()
    }

    /// Waits for the process to exit successfully; returns its last status line and stderr.
    pub fn finish(&mut self) -> (serde_json::Value, String) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(status.success(), "pitwall bridge exited with {status}: {stderr}");
        while let Ok(v) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.last = Some(v);
        }
        (self.last.clone().expect("status lines"), stderr)
    }
}

pub fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Each session's seqs in the server's WAL, with their counts.
pub fn wal(data: &Path) -> HashMap<[u8; 16], BTreeMap<u64, usize>> {
    let mut out: HashMap<[u8; 16], BTreeMap<u64, usize>> = HashMap::new();
    for f in ingest::Wal::read_all(data.join("wal")).unwrap() {
        *out.entry(f.session_id.0).or_default().entry(f.seq).or_insert(0) += 1;
    }
    out
}

/// Each session's seqs in a recording (which must read back whole).
pub fn recorded(path: &Path) -> HashMap<[u8; 16], Vec<u64>> {
    let mut out: HashMap<[u8; 16], Vec<u64>> = HashMap::new();
    for f in record::RecordReader::open(path).unwrap() {
        let f = f.unwrap();
        out.entry(f.session_id.as_ref().try_into().unwrap()).or_default().push(f.seq);
    }
    out
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

/// A server process, killed if the test fails before it stops it.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
