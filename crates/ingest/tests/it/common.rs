//! Helpers: a server on loopback, a client, realistic frames, a stream driver, WAL counting.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use ingest::{Config, Running, SessionId, Wal, WalConfig};
use proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient;
use proto::telemetry::v1::{Ack, ResumeRequest, TelemetryFrame};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

pub type Client = TelemetryIngestClient<Channel>;

/// A config for tests: loopback, port 0, `dir`, 1 ms commit interval.
pub fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        wal: WalConfig { commit_interval_ms: 1, ..WalConfig::default() },
        shutdown_grace_ms: 5_000,
        ..Config::default()
    }
}

pub async fn start(config: Config) -> Running {
    ingest::Server::new(config).start().await.unwrap()
}

pub async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

pub async fn client(addr: std::net::SocketAddr) -> Client {
    TelemetryIngestClient::new(channel(addr).await)
}

/// Session id `n`: a UUIDv7-looking 16 bytes (the load generator's).
pub fn session(n: u32) -> [u8; 16] {
    loadgen::frames::session_id(n)
}

/// Frame `seq` of `session`: the load generator's realistic frame, every field set (a racing
/// car's step, ~900 bytes encoded), the session's metadata on seq 0.
pub fn frame(session: [u8; 16], seq: u64) -> TelemetryFrame {
    loadgen::frames::realistic(session, seq)
}

pub fn frames(session: [u8; 16], seqs: std::ops::Range<u64>) -> Vec<TelemetryFrame> {
    seqs.map(|s| frame(session, s)).collect()
}

/// How a stream went: the last ack per session, how many acks, and the final status (`None` =
/// the server ended it with OK).
#[derive(Debug, Default)]
pub struct Outcome {
    pub acks: HashMap<[u8; 16], u64>,
    pub ack_count: usize,
    pub status: Option<Status>,
}

impl Outcome {
    pub fn acked(&self, session: [u8; 16]) -> u64 {
        self.acks.get(&session).copied().unwrap_or(0)
    }

    fn record(&mut self, ack: Ack) {
        let id: [u8; 16] = ack.session_id.as_ref().try_into().expect("16-byte session in ack");
        let e = self.acks.entry(id).or_insert(0);
        assert!(ack.next_seq >= *e, "acks must not go backwards: {} after {}", ack.next_seq, *e);
        *e = ack.next_seq;
        self.ack_count += 1;
    }
}

/// Reads acks until the server ends the call.
pub async fn collect(mut acks: Streaming<Ack>) -> Outcome {
    let mut out = Outcome::default();
    loop {
        match acks.message().await {
            Ok(Some(ack)) => out.record(ack),
            Ok(None) => return out,
            Err(status) => {
                out.status = Some(status);
                return out;
            }
        }
    }
}

/// Sends `frames` on one stream, closes it, and reads acks until the server ends the call.
pub async fn send(client: &mut Client, frames: Vec<TelemetryFrame>) -> Outcome {
    let (tx, rx) = mpsc::channel(256);
    let feeder = tokio::spawn(async move {
        for f in frames {
            if tx.send(f).await.is_err() {
                break;
            }
        }
    });
    let out = match client.stream_frames(ReceiverStream::new(rx)).await {
        Ok(resp) => collect(resp.into_inner()).await,
        Err(status) => Outcome { status: Some(status), ..Outcome::default() },
    };
    feeder.abort();
    out
}

pub async fn resume(client: &mut Client, sessions: &[[u8; 16]]) -> Vec<u64> {
    let req = ResumeRequest { session_ids: sessions.iter().map(|s| Bytes::copy_from_slice(s)).collect() };
    let reply = client.resume(req).await.unwrap().into_inner();
    assert_eq!(reply.sessions.len(), sessions.len());
    for (asked, got) in sessions.iter().zip(&reply.sessions) {
        assert_eq!(asked.as_slice(), got.session_id.as_ref(), "Resume answers in the order asked");
    }
    reply.sessions.iter().map(|a| a.next_seq).collect()
}

/// How often each (session, seq) is in the WAL under `data_dir`.
pub fn wal_counts(data_dir: &Path) -> HashMap<(SessionId, u64), usize> {
    let mut counts = HashMap::new();
    for f in Wal::read_all(data_dir.join("wal")).unwrap() {
        *counts.entry((f.session_id, f.seq)).or_insert(0) += 1;
    }
    counts
}

/// Asserts the WAL holds seqs `0..n` of `session` exactly once each, and nothing else of it.
pub fn assert_exactly_once(counts: &HashMap<(SessionId, u64), usize>, session: [u8; 16], n: u64) {
    let id = SessionId(session);
    for seq in 0..n {
        assert_eq!(counts.get(&(id, seq)).copied().unwrap_or(0), 1, "session {id} seq {seq}");
    }
    let extra = counts.keys().filter(|(s, seq)| *s == id && *seq >= n).count();
    assert_eq!(extra, 0, "session {id} has frames at or beyond {n}");
}

/// Sends raw messages on a StreamFrames call and collects the acks.
pub async fn send_raw(channel: Channel, messages: Vec<Bytes>) -> Outcome {
    let (tx, rx) = mpsc::channel(64);
    let feeder = tokio::spawn(async move {
        for m in messages {
            if tx.send(m).await.is_err() {
                break;
            }
        }
    });
    let out = match loadgen::client::stream_frames(channel, ReceiverStream::new(rx)).await {
        Ok(acks) => collect(acks).await,
        Err(loadgen::Error::Refused(status)) => Outcome { status: Some(*status), ..Outcome::default() },
        Err(e) => panic!("the StreamFrames call did not reach the server: {e}"),
    };
    feeder.abort();
    out
}

/// The test server example (`examples/test_server.rs`), which `cargo test` builds beside the
/// test binaries: `target/<profile>/examples/`, one level up from this binary's `deps/`.
pub fn test_server_exe() -> std::path::PathBuf {
    let me = std::env::current_exe().expect("the test binary's path");
    let exe = me
        .parent()
        .and_then(Path::parent)
        .map(|profile| {
            profile
                .join("examples")
                .join(format!("pitwall-ingest-test-server{}", std::env::consts::EXE_SUFFIX))
        })
        .expect("the test binary lives in target/<profile>/deps");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test` builds it (a run limited with --test builds no examples); \
         build it with `cargo build -p pitwall-ingest --example pitwall-ingest-test-server`",
        exe.display()
    );
    exe
}
