//! Helpers: an ingest server on loopback, bridge configurations, WAL and recording counts. The
//! simulated game as the bridge's source and the polling of a condition are the test kit's.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;

use bridge::{BridgeConfig, Summary};
use record::RecordReader;

/// An ingest server on `listen` (port 0: any) storing into `data`.
pub async fn server(data: &Path, listen: SocketAddr) -> ingest::Running {
    let config = ingest::Config {
        listen,
        data_dir: data.to_owned(),
        wal: ingest::WalConfig { commit_interval_ms: 1, ..ingest::WalConfig::default() },
        shutdown_grace_ms: 5_000,
        ..ingest::Config::default()
    };
    ingest::Server::new(config).start().await.unwrap()
}

/// A loopback address with a port nothing listens on (yet).
pub fn free_addr() -> SocketAddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

/// The simulated game (seed 11) at `speed`, recording to `record`, streaming to `addr`, for
/// `secs`.
pub fn sim_config(record: &Path, addr: Option<SocketAddr>, speed: f64, secs: f64) -> BridgeConfig {
    testkit::sim::bridge_config(11, record, addr, speed, secs)
}

/// Runs a bridge to its end on a blocking thread.
pub async fn run(config: BridgeConfig) -> Summary {
    tokio::task::spawn_blocking(move || bridge::Bridge::start(config).unwrap().wait().unwrap()).await.unwrap()
}

/// Each session's seqs as stored in the server's WAL, with how often each is there.
pub fn wal(data: &Path) -> HashMap<[u8; 16], BTreeMap<u64, usize>> {
    let mut out: HashMap<[u8; 16], BTreeMap<u64, usize>> = HashMap::new();
    for f in ingest::Wal::read_all(data.join("wal")).unwrap() {
        *out.entry(f.session_id.0).or_default().entry(f.seq).or_insert(0) += 1;
    }
    out
}

/// Each session's seqs in a recording, in file order.
pub fn recorded(path: &Path) -> Vec<([u8; 16], Vec<u64>)> {
    let mut out: Vec<([u8; 16], Vec<u64>)> = Vec::new();
    for f in RecordReader::open(path).unwrap() {
        let f = f.unwrap();
        let id: [u8; 16] = f.session_id.as_ref().try_into().unwrap();
        match out.last_mut() {
            Some((s, seqs)) if *s == id => seqs.push(f.seq),
            _ => out.push((id, vec![f.seq])),
        }
    }
    out
}

/// Asserts that the server holds every frame of the recording exactly once and nothing else.
pub fn assert_server_has_recording_exactly_once(data: &Path, record: &Path) {
    let stored = wal(data);
    let rec = recorded(record);
    let mut expected: HashMap<[u8; 16], u64> = HashMap::new();
    for (s, seqs) in &rec {
        *expected.entry(*s).or_insert(0) += seqs.len() as u64;
    }
    assert_eq!(stored.len(), expected.len(), "sessions on the server vs in the recording");
    for (s, n) in expected {
        let got = stored.get(&s).unwrap_or_else(|| panic!("session {s:02x?} not on the server"));
        assert_eq!(got.len() as u64, n, "frames of session {s:02x?}");
        for (seq, count) in got {
            assert!(*seq < n, "seq {seq} beyond the {n} recorded");
            assert_eq!(*count, 1, "seq {seq} stored {count} times");
        }
    }
}
