//! The JetStream sink against a real `nats-server -js` on loopback (testkit starts Debian's
//! package; the tests fail, never skip, when it is missing): conformance, a server whose acks
//! follow the stream, two writers cutting one session differently, and JetStream stopped and
//! started again under a live stream.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use ingest::SessionId;
use ingest::sinks::conformance::{self, Keys};
use ingest::sinks::jetstream::{
    Connection, JetStreamConfig, JetStreamSink, MessageCompression, StoredMessage, message,
};
use ingest::sinks::{Sink, SinkConfig, SinkKind, WalFrame, WalPosition};
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use testkit::nats::NatsServer;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

fn js_config(nats: &NatsServer) -> JetStreamConfig {
    JetStreamConfig { timeout_ms: 1_000, ..JetStreamConfig::new(vec![nats.url()]) }
}

async fn read_stream(config: &JetStreamConfig) -> Vec<StoredMessage> {
    Connection::new(config.clone()).read_all().await.unwrap()
}

fn keys(messages: &[StoredMessage]) -> Keys {
    messages.iter().flat_map(|m| m.frames.iter().map(move |f| (m.session, f.seq))).collect()
}

/// Asserts that each session's frames in the stream are exactly `0..n`, once each, in order.
fn assert_in_order_once(messages: &[StoredMessage], expected: &[(SessionId, u64)]) {
    let mut per: HashMap<SessionId, Vec<u64>> = HashMap::new();
    for m in messages {
        let seqs = per.entry(m.session).or_default();
        for f in &m.frames {
            seqs.push(f.seq);
        }
    }
    assert_eq!(per.len(), expected.len(), "sessions in the stream");
    for (s, n) in expected {
        let got = per.get(s).cloned().unwrap_or_default();
        let want: Vec<u64> = (0..*n).collect();
        if got != want {
            let dup = got.windows(2).find(|w| w[1] <= w[0]);
            panic!(
                "session {s}: {} frames, expected 0..{n}; first out-of-order or repeated pair: {dup:?}",
                got.len()
            );
        }
    }
}

#[tokio::test]
async fn the_jetstream_sink_passes_conformance() {
    let nats = NatsServer::start();
    let config = js_config(&nats);
    let report = conformance::run(
        || {
            let c = config.clone();
            async move { Ok(JetStreamSink::new(&c, None)) }
        },
        || {
            let c = config.clone();
            async move { Ok(Some(keys(&Connection::new(c).read_all().await?))) }
        },
    )
    .await
    .unwrap();
    assert!(report.read_back);
    assert!(report.frames_written > 700, "{report:?}");
}

fn wal_frame(session: SessionId, seq: u64) -> WalFrame {
    let bytes = frame(session.0, seq).encode_to_vec();
    WalFrame {
        position: WalPosition { segment: 1, offset: 64 + seq * 1000 },
        session_id: session,
        seq,
        bytes: bytes.into(),
    }
}

/// Two writers (two ingest nodes) send overlapping ranges of one session, cut into different
/// batches and messages, interleaved: the stream holds each frame once, in seq order. One
/// compresses its messages and the other does not (a node not yet upgraded, or set so): the
/// stream's readers take both.
#[tokio::test]
async fn two_writers_cutting_a_session_differently_store_each_frame_once_in_order() {
    let nats = NatsServer::start();
    let s = SessionId(session(41));
    let a_config = JetStreamConfig { frames_per_message: 64, ..js_config(&nats) };
    assert_eq!(a_config.compression, MessageCompression::Zstd, "the default");
    let b_config =
        JetStreamConfig { frames_per_message: 25, compression: MessageCompression::None, ..js_config(&nats) };
    let mut a = JetStreamSink::new(&a_config, None);
    let mut b = JetStreamSink::new(&b_config, None);
    let frames: Vec<WalFrame> = (0..900).map(|seq| wal_frame(s, seq)).collect();
    // A: 0..300 in batches of 100; B: 150..520 in batches of 37; A again from 300 (its batches
    // never saw B's); B from 520; A resends 0..900 whole, as after a restart from its checkpoint.
    for c in frames[..300].chunks(100) {
        a.write(c).await.unwrap();
    }
    for c in frames[150..520].chunks(37) {
        b.write(c).await.unwrap();
    }
    for c in frames[300..700].chunks(90) {
        a.write(c).await.unwrap();
    }
    for c in frames[520..900].chunks(111) {
        b.write(c).await.unwrap();
    }
    a.write(&frames).await.unwrap();
    let stored = read_stream(&a_config).await;
    assert_in_order_once(&stored, &[(s, 900)]);
    let (ca, cb) = (a.counts(), b.counts());
    assert_eq!(ca.frames + cb.frames, 900, "{ca:?} {cb:?}");
    assert!(ca.conflicts + cb.conflicts >= 2, "each writer found the subject moved: {ca:?} {cb:?}");
    // The payload is the bridge's bytes, untouched.
    let first = &stored[0].frames[0];
    assert_eq!(first.bytes, frames[0].bytes);
    for m in &stored {
        for f in &m.frames {
            assert_eq!(f.bytes, frames[f.seq as usize].bytes, "frame {}", f.seq);
        }
    }
    // A's messages went compressed, B's plain: each kind is in the stream.
    let (_, stream) = Connection::new(a_config.clone()).get().await.unwrap();
    let mut encodings = std::collections::BTreeSet::new();
    for m in &stored {
        let raw = stream.get_raw_message(m.stream_seq).await.unwrap();
        encodings.insert(raw.headers.get(message::HDR_ENCODING).map(|v| v.as_str().to_owned()));
    }
    assert_eq!(encodings, [None, Some("zstd-columns".to_owned())].into(), "{encodings:?}");
}

fn server_config(dir: &std::path::Path, nats: &NatsServer) -> ingest::Config {
    let mut c = config(dir);
    let mut sink = SinkConfig::new("jetstream", SinkKind::JetStream(js_config(nats)));
    sink.flush_interval_ms = 100;
    c.sinks = vec![sink];
    c
}

/// Frames from a client, through a server whose acks follow JetStream, into the stream: acked
/// only once there, each exactly once, bytes as sent; `Resume` answers from the stream.
#[tokio::test]
async fn a_server_with_a_jetstream_sink_acks_what_the_stream_holds() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running = start(server_config(dir.path(), &nats)).await;
    let mut c = client(running.local_addr()).await;
    let (s1, s2) = (session(1), session(2));
    let mut all = frames(s1, 0..1500);
    all.extend(frames(s2, 0..700));
    let out = send(&mut c, all.clone()).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!((out.acked(s1), out.acked(s2)), (1500, 700));
    let stored = read_stream(&js_config(&nats)).await;
    assert_in_order_once(&stored, &[(SessionId(s1), 1500), (SessionId(s2), 700)]);
    let sent: HashMap<(SessionId, u64), Bytes> = all
        .iter()
        .map(|f| ((SessionId::from_slice(&f.session_id).unwrap(), f.seq), f.encode_to_vec().into()))
        .collect();
    for m in &stored {
        for f in &m.frames {
            assert_eq!(sent[&(m.session, f.seq)], f.bytes, "session {} seq {}", m.session, f.seq);
        }
    }
    assert_eq!(resume(&mut c, &[s1, s2, session(3)]).await, [1500, 700, 0]);
    running.shutdown().await.unwrap();

    // Another node, with an empty WAL, that the bridge of s1 moves to: Resume says where the
    // stream ends, and the frames from there are stored after the others, once.
    let dir2 = tempfile::tempdir().unwrap();
    let node2 = start(server_config(dir2.path(), &nats)).await;
    let mut c2 = client(node2.local_addr()).await;
    assert_eq!(resume(&mut c2, &[s1]).await, [1500]);
    let out = send(&mut c2, frames(s1, 1400..2000)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s1), 2000);
    let stored = read_stream(&js_config(&nats)).await;
    assert_in_order_once(&stored, &[(SessionId(s1), 2000), (SessionId(s2), 700)]);
    node2.shutdown().await.unwrap();
}

/// JetStream stopped under a live stream: the server keeps taking frames into its WAL but acks
/// none, says so in its metrics; JetStream started again (same store), everything arrives,
/// once, and the acks catch up.
#[tokio::test]
async fn jetstream_down_stops_the_acks_and_everything_arrives_once_it_is_back() {
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = server_config(dir.path(), &nats);
    config.metrics = Some("127.0.0.1:0".parse().unwrap());
    let running = start(config).await;
    let mut c = client(running.local_addr()).await;
    let s = session(7);

    let (tx, rx) = mpsc::channel::<TelemetryFrame>(4096);
    let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let mut acked = 0u64;
    for f in frames(s, 0..500) {
        tx.send(f).await.unwrap();
    }
    assert_eq!(read_acks_until(&mut acks, &mut acked, 500, Duration::from_secs(10)).await, 500);

    nats.kill();
    for f in frames(s, 500..1500) {
        tx.send(f).await.unwrap();
    }
    // Nothing more is acked while JetStream is down, however long we wait…
    assert_eq!(
        read_acks_until(&mut acks, &mut acked, 501, Duration::from_secs(3)).await,
        500,
        "acked with JetStream down"
    );
    // …but the WAL has every frame, and the failures show in the metrics.
    assert!(
        testkit::wait::eventually(10, || wal_counts(dir.path()).len() == 1500).await,
        "the WAL holds every frame"
    );
    let failures = running.stats().sink_write_failures;
    assert!(failures > 0, "sink write failures counted: {failures}");
    let metrics = running.metrics();
    assert!(metrics.contains("pitwall_ingest_sink_write_failures_total"), "{metrics}");

    nats.restart();
    assert_eq!(
        read_acks_until(&mut acks, &mut acked, 1500, Duration::from_secs(30)).await,
        1500,
        "acks after JetStream came back"
    );
    drop(tx);
    let stored = read_stream(&js_config(&nats)).await;
    assert_in_order_once(&stored, &[(SessionId(s), 1500)]);
    running.shutdown().await.unwrap();
}

/// Reads acks until `acked` reaches `target` or `within` passes; returns the last ack.
async fn read_acks_until(
    acks: &mut tonic::Streaming<proto::telemetry::v1::Ack>,
    acked: &mut u64,
    target: u64,
    within: Duration,
) -> u64 {
    let deadline = tokio::time::Instant::now() + within;
    while *acked < target {
        match tokio::time::timeout_at(deadline, acks.message()).await {
            Ok(Ok(Some(ack))) => *acked = ack.next_seq,
            Ok(other) => panic!("the stream ended: {other:?}"),
            Err(_) => break,
        }
    }
    *acked
}

/// Serve → JetStream → two sink workers sharing the partitions → one Parquet dataset: every
/// frame exactly once, even though one worker is killed mid-batch (its task dropped without a
/// flush, its part file left half-written, its connection left pulling like a worker that
/// vanished behind a partition) and started again.
#[tokio::test]
async fn two_sink_workers_write_every_frame_once_into_one_dataset_across_a_crash() {
    use ingest::sinks::jetstream::worker::{self, WorkerConfig};
    use ingest::sinks::parquet::{ParquetConfig, ParquetSink, Scope};
    use std::sync::Arc;

    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running = start(server_config(dir.path(), &nats)).await;
    let root = dir.path().join("dataset");
    let worker = |k: u8| -> (Worker, tokio_util::sync::CancellationToken) {
        let mut c = WorkerConfig::new(js_config(&nats));
        c.share = (k, 2);
        c.flush_interval = Duration::from_millis(200);
        // Messages the killed worker had pulled come back after this.
        c.ack_wait = Duration::from_secs(2);
        let owner = c.clone();
        let scope: Scope = Arc::new(move |s| owner.owns(s));
        let pq = ParquetConfig { max_file_rows: 700, row_group_rows: 128, ..ParquetConfig::default() };
        let sink = ParquetSink::open_scoped(&root, &pq, Some(scope)).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        (Worker::start(worker::run(c, sink, stop.clone())), stop)
    };
    let sessions: Vec<[u8; 16]> = (1..=6).map(session).collect();
    let mut c = client(running.local_addr()).await;
    let send_range = |range: std::ops::Range<u64>| {
        let mut all = Vec::new();
        for s in &sessions {
            all.extend(frames(*s, range.clone()));
        }
        all
    };

    let (a, a_stop) = worker(0);
    let (b, b_stop) = worker(1);
    let out = send(&mut c, send_range(0..1500)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    // Worker A dies while it has rows written and not flushed (or just after a flush): its
    // runtime goes, with every task and socket of it, as in a SIGKILL.
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill();
    drop(a_stop);
    let out = send(&mut c, send_range(1500..3000)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    let (a, a_stop) = worker(0);

    let total = 6 * 3000;
    let done = testkit::wait::eventually(60, || crate::parquet_sink::read_keys(&root).len() >= total).await;
    a_stop.cancel();
    b_stop.cancel();
    let (ra, rb) = (a.join().await.unwrap(), b.join().await.unwrap());
    let keys = crate::parquet_sink::read_keys(&root);
    let missing: Vec<String> = sessions
        .iter()
        .map(|s| {
            let n = keys.iter().filter(|k| k.0 == SessionId(*s)).count();
            format!("{}: {n} rows", SessionId(*s))
        })
        .collect();
    assert!(done, "{} of {total} rows in the dataset ({missing:?}); workers: {ra:?} {rb:?}", keys.len());
    let mut counts: HashMap<(SessionId, u64), usize> = HashMap::new();
    for k in &keys {
        *counts.entry(*k).or_default() += 1;
    }
    for s in &sessions {
        for seq in 0..3000 {
            let n = counts.get(&(SessionId(*s), seq)).copied().unwrap_or(0);
            assert_eq!(n, 1, "session {} seq {seq} stored {n} times", SessionId(*s));
        }
    }
    assert_eq!(keys.len(), total);
    assert!(ra.messages > 0 && rb.messages > 0, "both workers did their share: {ra:?} {rb:?}");
    // The catalogue lists every session with its frames.
    let listed = ingest::sinks::parquet::list_sessions(&root).unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.iter().all(|s| s.frames == 3000 && s.car == "ks_ferrari_sf15t"), "{listed:?}");
    running.shutdown().await.unwrap();
}

/// A sink worker on a runtime of its own (its own thread), so that a test can kill it the way
/// SIGKILL would: every task and socket of it gone at once, nothing flushed.
struct Worker {
    runtime: Option<tokio::runtime::Runtime>,
    handle:
        tokio::task::JoinHandle<Result<ingest::sinks::jetstream::worker::WorkerReport, ingest::SinkError>>,
}

impl Worker {
    fn start(
        run: impl Future<Output = Result<ingest::sinks::jetstream::worker::WorkerReport, ingest::SinkError>>
        + Send
        + 'static,
    ) -> Worker {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let handle = runtime.spawn(run);
        Worker { runtime: Some(runtime), handle }
    }

    fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    async fn join(mut self) -> Result<ingest::sinks::jetstream::worker::WorkerReport, ingest::SinkError> {
        let r = (&mut self.handle).await.unwrap();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        r
    }
}

/// A three-node JetStream cluster, an R3 stream: the node leading the stream SIGKILLed
/// mid-stream, the sink carries on through the others (a new leader is elected), and every
/// frame it was told is stored is in the stream, once, in order.
#[tokio::test]
async fn an_r3_stream_loses_nothing_acknowledged_when_a_node_dies() {
    let mut cluster = testkit::nats::NatsCluster::start();
    let servers: Vec<String> = cluster.nodes.iter().map(|n| n.url()).collect();
    let config = JetStreamConfig {
        replicas: 3,
        timeout_ms: 2_000,
        frames_per_message: 50,
        ..JetStreamConfig::new(servers)
    };
    let mut sink = JetStreamSink::new(&config, None);
    let sessions: Vec<SessionId> = (0..3).map(|n| SessionId(session(60 + n))).collect();
    let batch = |from: u64| -> Vec<WalFrame> {
        sessions.iter().flat_map(|s| (from..from + 100).map(move |seq| wal_frame(*s, seq))).collect()
    };
    // The cluster may still be electing the stream's leader: the first write retries as the
    // pipeline would.
    let mut acked = 0u64;
    let mut killed = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked < 2000 {
        if acked == 1000 && killed.is_none() {
            let (_, mut stream) = Connection::new(config.clone()).get().await.unwrap();
            let info = stream.info().await.unwrap();
            let leader =
                info.cluster.as_ref().and_then(|c| c.leader.clone()).expect("the stream has a leader");
            let i = cluster.nodes.iter().position(|n| n.name() == leader).expect("the leader is a node");
            cluster.nodes[i].kill();
            killed = Some(i);
        }
        match sink.write(&batch(acked)).await {
            Ok(()) => acked += 100,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "the R3 stream did not take writes: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let killed = killed.unwrap();
    let survivor = cluster.nodes.iter().position(|n| n.is_running()).unwrap();
    let survivor = JetStreamConfig { servers: vec![cluster.nodes[survivor].url()], ..config.clone() };
    let stored = read_stream(&survivor).await;
    let expected: Vec<(SessionId, u64)> = sessions.iter().map(|s| (*s, 2000)).collect();
    assert_in_order_once(&stored, &expected);
    // The dead node comes back with its store and catches up; the stream stays whole.
    cluster.nodes[killed].restart();
}

/// An ingest node as a process (the test server example) with a JetStream sink, SIGKILLed by
/// the test.
struct NodeProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl NodeProcess {
    fn spawn(data: &std::path::Path, nats: &NatsServer) -> NodeProcess {
        use std::io::BufRead as _;
        std::fs::create_dir_all(data).unwrap();
        let config = data.join("node.toml");
        let toml = format!(
            "[[sinks]]\nname = \"jetstream\"\ntype = \"jetstream\"\nservers = [\"{}\"]\nflush_interval_ms = 100\ntimeout_ms = 1000\n",
            nats.url()
        );
        std::fs::write(&config, toml).unwrap();
        let mut child = std::process::Command::new(test_server_exe())
            .arg("--data")
            .arg(data)
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}"));
        NodeProcess { child, addr: addr.parse().unwrap(), _stdout: stdout }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a bridge does, on the protocol: `Resume`, send from there in chunks, and when its node
/// goes away, go to the next one and resume there. Returns once `total` frames are acked.
async fn bridge(s: [u8; 16], total: u64, nodes: Vec<std::net::SocketAddr>, first: usize) {
    let mut at = first;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "bridge {}: not done in time", SessionId(s));
        let addr = nodes[at % nodes.len()];
        let attempt = async {
            let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .ok()?
                .connect()
                .await
                .ok()?;
            let mut c = TelemetryClient::new(channel);
            let req = proto::telemetry::v1::ResumeRequest { session_ids: vec![Bytes::copy_from_slice(&s)] };
            let from = c.resume(req).await.ok()?.into_inner().sessions.first()?.next_seq;
            if from >= total {
                return Some(true);
            }
            let out = send(&mut c, frames(s, from..(from + 700).min(total))).await;
            Some(out.status.is_none() && out.acked(s) >= total)
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Some(true)) => return,
            Ok(Some(false)) => {}
            // The node is gone (or hung): the load balancer sends the bridge elsewhere.
            Ok(None) | Err(_) => {
                at += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

type TelemetryClient =
    proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient<tonic::transport::Channel>;

/// The deployment in small: two ingest nodes (processes) behind "a load balancer" (the bridges
/// pick one and move on when it dies), three bridges spread over both, JetStream, two sink
/// workers sharing one Parquet dataset. One ingest node is SIGKILLed mid-stream (its bridges
/// resume on the other from what the stream holds) and one worker too (started again): every
/// frame ends in Parquet exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_two_workers_one_of_each_killed_every_frame_once_in_parquet() {
    use ingest::sinks::jetstream::worker::{self, WorkerConfig};
    use ingest::sinks::parquet::{ParquetConfig, ParquetSink, Scope};
    use std::sync::Arc;
    const TOTAL: u64 = 6_000;

    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut node_a = NodeProcess::spawn(&dir.path().join("node-a"), &nats);
    let node_b = NodeProcess::spawn(&dir.path().join("node-b"), &nats);
    let root = dir.path().join("dataset");
    let worker = |k: u8| -> (Worker, tokio_util::sync::CancellationToken) {
        let mut c = WorkerConfig::new(js_config(&nats));
        c.share = (k, 2);
        c.flush_interval = Duration::from_millis(300);
        c.ack_wait = Duration::from_secs(3);
        let owner = c.clone();
        let scope: Scope = Arc::new(move |s| owner.owns(s));
        let sink = ParquetSink::open_scoped(&root, &ParquetConfig::default(), Some(scope)).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        (Worker::start(worker::run(c, sink, stop.clone())), stop)
    };
    let (wa, wa_stop) = worker(0);
    let (wb, wb_stop) = worker(1);

    // Sessions 1, 2, 3: partitions 1, 2, 3, so both workers have work.
    let nodes = vec![node_a.addr, node_b.addr];
    let bridges: Vec<_> =
        (1..=3u32).map(|n| tokio::spawn(bridge(session(n), TOTAL, nodes.clone(), n as usize % 2))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node_a.kill();
    wa.kill();
    drop(wa_stop);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (wa, wa_stop) = worker(0);
    for b in bridges {
        b.await.unwrap();
    }
    let total = 3 * TOTAL as usize;
    let done = testkit::wait::eventually(60, || crate::parquet_sink::read_keys(&root).len() >= total).await;
    wa_stop.cancel();
    wb_stop.cancel();
    let (ra, rb) = (wa.join().await.unwrap(), wb.join().await.unwrap());
    let keys = crate::parquet_sink::read_keys(&root);
    let mut counts: HashMap<(SessionId, u64), usize> = HashMap::new();
    for k in &keys {
        *counts.entry(*k).or_default() += 1;
    }
    assert!(done, "{} of {total} rows in the dataset; workers {ra:?} {rb:?}", keys.len());
    for n in 1..=3 {
        let s = SessionId(session(n));
        for seq in 0..TOTAL {
            let c = counts.get(&(s, seq)).copied().unwrap_or(0);
            assert_eq!(c, 1, "session {s} seq {seq} stored {c} times");
        }
    }
    assert_eq!(keys.len(), total);
    // The stream itself holds each frame once, in order, whichever node sent it.
    let stored = read_stream(&js_config(&nats)).await;
    let expected: Vec<(SessionId, u64)> = (1..=3).map(|n| (SessionId(session(n)), TOTAL)).collect();
    assert_in_order_once(&stored, &expected);
    drop(node_b);
}

/// `pitwall sink --to recording`: the same stream into one recording per session, every frame
/// once.
#[tokio::test]
async fn a_sink_worker_writes_recordings_too() {
    use ingest::sinks::jetstream::worker::{self, WorkerConfig};
    use ingest::sinks::recording::{RecordingConfig, RecordingSink};

    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let running = start(server_config(dir.path(), &nats)).await;
    let mut c = client(running.local_addr()).await;
    let (s1, s2) = (session(21), session(22));
    let mut all = frames(s1, 0..900);
    all.extend(frames(s2, 0..400));
    let out = send(&mut c, all).await;
    assert!(out.status.is_none(), "{:?}", out.status);

    let root = dir.path().join("recordings");
    let mut config = WorkerConfig::new(js_config(&nats));
    config.name = "pitwall-recording".into();
    config.flush_interval = Duration::from_millis(100);
    let sink = RecordingSink::open(&root, &RecordingConfig::default()).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let w = tokio::spawn(worker::run(config, sink, stop.clone()));
    let done = testkit::wait::eventually(30, || crate::recording_sink::read_keys(&root).len() >= 1300).await;
    stop.cancel();
    let report = w.await.unwrap().unwrap();
    assert!(done, "{report:?}");
    let keys = crate::recording_sink::read_keys(&root);
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((keys.len(), sorted.len()), (1300, 1300), "each frame once");
    running.shutdown().await.unwrap();
}

/// Live views from any node: a car streams to node A, another to node B; node B's live tap, fed
/// from the stream (as `pitwall serve --sink nats://… --http` does), sees both cars' frames, each
/// once, in seq order, and the first frame of the car that was streaming before the reader
/// started (read back from the stream for the viewers that come later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_live_tap_fed_from_the_stream_sees_the_cars_of_every_node() {
    use ingest::live::LiveTap;
    use ingest::sinks::jetstream::live;

    let nats = NatsServer::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node_a = start(server_config(dir_a.path(), &nats)).await;
    let node_b = start(server_config(dir_b.path(), &nats)).await;
    let (s1, s2) = (session(71), session(72));
    let mut ca = client(node_a.local_addr()).await;
    let mut cb = client(node_b.local_addr()).await;
    // Car 1 was streaming before node B's reader started.
    assert!(send(&mut ca, frames(s1, 0..300)).await.status.is_none());

    let tap = LiveTap::new();
    let mut rx = tap.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let reader = tokio::spawn(live::feed(js_config(&nats), tap.clone(), stop.clone()));
    // The reader delivers what is stored from its start on: wait for its consumer.
    let (_, mut stream) = Connection::new(js_config(&nats)).get().await.unwrap();
    let mut subscribed = false;
    for _ in 0..200 {
        if stream.info().await.unwrap().state.consumer_count >= 1 {
            subscribed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(subscribed, "the live reader's consumer");

    let (a, b) = tokio::join!(send(&mut ca, frames(s1, 300..1300)), send(&mut cb, frames(s2, 0..1000)));
    assert!(a.status.is_none() && b.status.is_none());
    let mut seen: HashMap<[u8; 16], Vec<u64>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.values().map(Vec::len).sum::<usize>() < 2000 {
        let f = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "live frames seen: {:?}",
                    seen.iter().map(|(s, v)| (s[0], v.len())).collect::<Vec<_>>()
                )
            })
            .unwrap();
        seen.entry(f.session).or_default().push(f.seq);
    }
    assert_eq!(
        seen[&s1],
        (300..1300).collect::<Vec<_>>(),
        "car 1, streaming to node A: from the reader's start"
    );
    assert_eq!(seen[&s2], (0..1000).collect::<Vec<_>>(), "car 2, streaming to node B");
    let firsts: Vec<([u8; 16], u64)> = tap.first_frames().iter().map(|f| (f.session, f.seq)).collect();
    assert!(firsts.contains(&(s1, 0)) && firsts.contains(&(s2, 0)), "{firsts:?}");
    let want = frame(s1, 0).encode_to_vec();
    assert_eq!(tap.first_frames().iter().find(|f| f.session == s1).unwrap().raw, want, "the bridge's bytes");
    // Nothing more: no frame twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err(), "no frame twice");
    stop.cancel();
    let report = reader.await.unwrap();
    assert_eq!(report.frames, 2000, "{report:?}");
    assert_eq!(report.firsts_fetched, 1, "{report:?}");
    node_a.shutdown().await.unwrap();
    node_b.shutdown().await.unwrap();
}

/// The timing join behind JetStream: a simulated car's stream goes to node A, then (its bridge
/// moved) to node B; a laps worker (`pitwall sink --to laps DB`, or the one `pitwall serve` runs
/// beside its records database) stores every lap the simulator completed, once, though it is
/// killed mid-stream (its runtime dropped with its sockets) and started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_laps_from_the_stream_land_in_the_records_database_once_across_a_killed_worker() {
    use ingest::sinks::jetstream::worker::{self, WorkerConfig};
    use ingest::sinks::laps::{LapsConfig, LapsSink};
    use testkit::sim::{Run, oval};

    let nats = NatsServer::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node_a = start(server_config(dir_a.path(), &nats)).await;
    let node_b = start(server_config(dir_b.path(), &nats)).await;
    let (all, sim_laps) = Run::new(oval(9), Duration::from_secs(150)).frames();
    assert!(sim_laps.len() >= 3, "{sim_laps:?}");
    let sid: [u8; 16] = all[0].session_id.as_ref().try_into().unwrap();
    let half = all.len() / 2;
    let out = send(&mut client(node_a.local_addr()).await, all[..half].to_vec()).await;
    assert_eq!(out.acked(sid), half as u64, "{:?}", out.status);

    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("records.sqlite");
    let laps_worker = || {
        let mut c = WorkerConfig::new(js_config(&nats));
        c.name = "laps-test".into();
        c.flush_interval = Duration::from_millis(100);
        c.ack_wait = Duration::from_secs(3);
        let sink = LapsSink::open(&db, &LapsConfig::default()).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        (Worker::start(worker::run(c, sink, stop.clone())), stop)
    };
    let stored = || records::Store::open(&db).unwrap().telemetry_laps(&sid).unwrap();
    let (w, _stop) = laps_worker();
    assert!(testkit::wait::eventually(30, || !stored().is_empty()).await, "a first lap from the stream");
    w.kill();

    // The bridge moved to node B: it resumes where the stream ends.
    let mut cb = client(node_b.local_addr()).await;
    let from = resume(&mut cb, &[sid]).await[0];
    assert_eq!(from, half as u64);
    let out = send(&mut cb, all[half..].to_vec()).await;
    assert_eq!(out.acked(sid), all.len() as u64);
    let (w, stop) = laps_worker();
    let done = testkit::wait::eventually(60, || stored().len() >= sim_laps.len()).await;
    stop.cancel();
    let report = w.join().await.unwrap();
    let laps = stored();
    assert!(done, "{} of {} laps; {report:?}", laps.len(), sim_laps.len());
    let numbers: Vec<_> = laps.iter().map(|l| l.lap).collect();
    let want: Vec<_> = sim_laps.iter().map(|l| l.lap).collect();
    assert_eq!(numbers, want, "every lap once, in order");
    for (t, s) in laps.iter().zip(&sim_laps) {
        assert_eq!(i64::from(t.time_ms), i64::from(s.time_ms), "lap {}: the game's time", s.lap);
    }
    node_a.shutdown().await.unwrap();
    node_b.shutdown().await.unwrap();
}
