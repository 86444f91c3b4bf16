//! Ingest over several nodes, as deployed, with nothing but real processes: a real
//! `nats-server -js`, two `pitwall serve --sink nats://…` ingest nodes behind a TCP load
//! balancer, two `pitwall sink --to parquet` workers sharing one dataset, three `pitwall bridge`
//! processes (three cars of the simulated game) streaming through the balancer. One ingest node
//! and one worker are SIGKILLed mid-stream; the bridges reconnect through the balancer to the
//! other node and resume from what the stream holds, the worker is started again: every frame
//! each bridge recorded is in the Parquet dataset exactly once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::pitwall;
use crate::procs::{BridgeProcess, bridge, free_addr, n, recorded, sigterm};

/// A `pitwall` process whose stderr goes to a file (read when a test fails, or to wait for a
/// line), SIGKILLed if the test ends before stopping it.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(args: &[&str], log: &Path) -> Proc {
        let err = std::fs::File::create(log).unwrap();
        let child = pitwall().args(args).stdout(Stdio::null()).stderr(err).spawn().unwrap();
        Proc { child, log: log.to_owned() }
    }

    pub fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `secs` until its stderr holds `text`.
    pub fn wait_for(&mut self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.said().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before saying {text:?}:\n{}",
                    self.log.display(),
                    self.said()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not say {text:?}:\n{}",
                self.log.display(),
                self.said()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a successful exit.
    pub fn stop(&mut self) {
        sigterm(&self.child);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}:\n{}", self.log.display(), self.said());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `pitwall serve --sink nats://…` listening on `addr`.
pub fn ingest_node(dir: &Path, name: &str, addr: SocketAddr, nats: &str, extra: &[&str]) -> Proc {
    let data = dir.join(name);
    let mut args = vec!["serve", "--listen"];
    let addr = addr.to_string();
    args.push(&addr);
    let data_s = data.to_string_lossy().into_owned();
    args.extend(["--data", &data_s, "--sink", nats]);
    args.extend(extra);
    let mut p = Proc::spawn(&args, &dir.join(format!("{name}.log")));
    p.wait_for("listening on", 60);
    p
}

/// `pitwall sink --to parquet DATASET --worker K/2`.
fn sink_worker(dir: &Path, k: u8, run: u32, nats: &str, dataset: &Path) -> Proc {
    let share = format!("{k}/2");
    let ds = dataset.to_string_lossy().into_owned();
    let args = ["sink", "--from", nats, "--to", "parquet", &ds, "--worker", &share, "--flush-ms", "500"];
    let mut p = Proc::spawn(&args, &dir.join(format!("worker{k}-{run}.log")));
    p.wait_for("pitwall sink:", 30);
    p
}

/// A session id as the dataset writes it (UUID text).
pub fn uuid_text(id: &[u8; 16]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Every `(session, seq)` of the finished part files of a dataset, with how many times it is
/// there: read through `pitwall convert DATASET out.csv` (its first columns are session_id and
/// seq). Empty while the dataset has no finished file.
pub fn dataset_keys(dataset: &Path, scratch: &Path) -> HashMap<(String, u64), usize> {
    let csv = scratch.join("dataset.csv");
    let mut out = HashMap::new();
    if !dataset.exists() {
        return out;
    }
    let run = pitwall().arg("convert").arg(dataset).arg(&csv).arg("--quiet").output().unwrap();
    if !run.status.success() {
        return out;
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    for line in text.lines().skip(1) {
        let mut cols = line.splitn(3, ',');
        let (Some(session), Some(seq)) = (cols.next(), cols.next()) else { panic!("CSV line {line:?}") };
        *out.entry((session.to_owned(), seq.parse().unwrap())).or_insert(0) += 1;
    }
    out
}

/// The session of a recording's first frame (the bridge may be writing it: a torn end is fine).
fn first_session(record: &Path) -> Option<[u8; 16]> {
    let frame = record::RecordReader::open(record).ok()?.next()?.ok()?;
    frame.session_id.as_ref().try_into().ok()
}

const CARS: u64 = 3;

#[test]
fn two_ingest_nodes_behind_a_balancer_and_two_sink_workers_one_of_each_sigkilled_every_frame_once_in_parquet()
{
    // Eight processes and a JetStream server: not beside a demo on two cores.
    let _heavy = crate::ONE_DEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let nats_server = testkit::nats::NatsServer::start();
    let nats = nats_server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, b) = (free_addr(), free_addr());
    let mut node_a = ingest_node(dir, "node-a", a, &nats, &[]);
    let mut node_b = ingest_node(dir, "node-b", b, &nats, &[]);
    let lb = testkit::balancer::Balancer::start(vec![a, b]);
    let dataset = dir.join("dataset");
    let mut workers = vec![sink_worker(dir, 1, 1, &nats, &dataset), sink_worker(dir, 2, 1, &nats, &dataset)];

    let url = format!("http://{}", lb.addr());
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
                "10",
                "--ack-grace",
                "60",
            ];
            let b = bridge(&args, &dir.join(format!("car{car}.pb.gz")));
            // One after the other, so that the balancer's round robin spreads them: A, B, A.
            std::thread::sleep(Duration::from_millis(300));
            b
        })
        .collect();
    assert_eq!(lb.per_backend().iter().filter(|n| **n > 0).count(), 2, "both nodes have bridges");
    for car in &mut cars {
        car.until(60, |v| n(v, "frames_acked") > 1_500);
    }

    // Mid-stream: one ingest node and one worker die without a word; the worker killed is one
    // with work, the one whose share has the first car's session.
    let deadline = Instant::now() + Duration::from_secs(20);
    let session = loop {
        match first_session(&cars[0].record) {
            Some(s) => break s,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => panic!("the first car's recording has no complete frame"),
        }
    };
    let busy = usize::from(session[15] % 16 % 2);
    node_a.sigkill();
    workers[busy].sigkill();
    let acked_at_kill: Vec<u64> =
        cars.iter_mut().map(|c| c.latest().map_or(0, |v| n(v, "frames_acked"))).collect();
    let on_b_before = lb.per_backend()[1];
    std::thread::sleep(Duration::from_millis(800));
    workers[busy] = sink_worker(dir, busy as u8 + 1, 2, &nats, &dataset);

    let mut expected: HashMap<(String, u64), usize> = HashMap::new();
    let mut disconnects = 0;
    for car in &mut cars {
        let (last, _) = car.finish();
        assert_eq!(n(&last, "backlog_frames"), 0, "{last}");
        assert_eq!(n(&last, "frames_acked"), n(&last, "frames"), "{last}");
        disconnects += n(&last, "disconnects");
        for (session, seqs) in recorded(&car.record) {
            assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "recorded seqs without gaps");
            for seq in seqs {
                expected.insert((uuid_text(&session), seq), 1);
            }
        }
    }
    assert!(disconnects >= 1, "the bridges on the killed node felt it");
    assert!(lb.per_backend()[1] > on_b_before, "they reconnected, through the balancer, to node B");
    let streamed = started.elapsed();

    // The workers catch up: every frame in finished part files.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut keys = dataset_keys(&dataset, dir);
    while keys.len() < expected.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
        keys = dataset_keys(&dataset, dir);
    }
    for w in &mut workers {
        w.stop();
    }
    node_b.stop();
    let keys = dataset_keys(&dataset, dir);
    let missing = expected.keys().filter(|k| !keys.contains_key(*k)).count();
    let twice = keys.values().filter(|c| **c > 1).count();
    let extra = keys.keys().filter(|k| !expected.contains_key(*k)).count();
    assert_eq!(
        (missing, twice, extra),
        (0, 0, 0),
        "{} frames recorded, {} in the dataset: (missing, twice, not recorded); worker logs:\n{}\n{}",
        expected.len(),
        keys.len(),
        workers[0].said(),
        workers[1].said()
    );
    println!(
        "{} frames of {CARS} cars (acked at the kills: {acked_at_kill:?}, {disconnects} disconnects, \
         worker {} killed) once in Parquet; streaming over after {:.1} s, all done in {:.1} s",
        expected.len(),
        busy + 1,
        streamed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// `GET target` on a dashboard, from a synchronous test.
fn http_get(addr: SocketAddr, target: &str) -> testkit::http::Response {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(testkit::http::get(addr, target))
}

/// Live views and the timing join from the stream: a car streams to ingest node A only; node
/// B's dashboard lists it live (with its driver and car, from the first frame), and node B's
/// records database gets its telemetry laps, the same as node A's: each node reads them from
/// JetStream, not from its own ingest. So does a records database of its own, through
/// `pitwall sink --to laps`.
#[test]
fn a_car_streaming_to_one_node_is_live_on_the_other_nodes_dashboard_and_its_laps_in_every_records_database() {
    let _heavy = crate::ONE_DEMO.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let nats_server = testkit::nats::NatsServer::start();
    let nats = nats_server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, b, http_a, http_b) = (free_addr(), free_addr(), free_addr(), free_addr());
    let mut node_a = ingest_node(dir, "node-a", a, &nats, &["--http", &http_a.to_string()]);
    let mut node_b = ingest_node(dir, "node-b", b, &nats, &["--http", &http_b.to_string()]);
    assert!(node_b.said().contains("timing join from JetStream"), "{}", node_b.said());

    let url = format!("http://{a}");
    let args = [
        "--source",
        "sim",
        "--track",
        "pitwall_oval",
        "--speed",
        "10",
        "--server",
        &url,
        "--duration",
        "15",
        "--ack-grace",
        "60",
    ];
    let mut car = bridge(&args, &dir.join("car.pb.gz"));
    car.until(60, |v| n(v, "frames_acked") > 1_000);
    // Node B never saw the car's bridge, yet lists it live, with what its first frame said.
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = loop {
        let sessions = http_get(http_b, "/api/telemetry").json();
        if let Some(s) = sessions.as_array().and_then(|a| a.first()).filter(|s| s["seq"].as_u64() > Some(0)) {
            break s.clone();
        }
        assert!(Instant::now() < deadline, "node B's dashboard lists no live car: {sessions}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!live["car_model"].as_str().unwrap().is_empty(), "the car, from the first frame: {live}");
    let (last, _) = car.finish();
    assert_eq!(n(&last, "frames_acked"), n(&last, "frames"), "{last}");
    let rec = recorded(&car.record);
    assert_eq!(rec.len(), 1, "one session");
    let session = *rec.keys().next().unwrap();
    assert_eq!(
        live["session"].as_str().unwrap(),
        session.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    assert!(http_get(http_a, "/api/telemetry").text().contains(live["session"].as_str().unwrap()));

    // Both records databases get the car's laps from the stream (flushed every second).
    let laps = |node: &str| {
        let db = dir.join(node).join("records.sqlite");
        records::Store::open(&db).unwrap().telemetry_laps(&session).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while (laps("node-a").len() < 2 || laps("node-b").len() < laps("node-a").len())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(300));
    }
    node_a.stop();
    node_b.stop();
    let (la, lb) = (laps("node-a"), laps("node-b"));
    assert!(lb.len() >= 2, "the out-lap and a flying lap on node B: {lb:#?}");
    let key = |l: &records::TelemetryLap| (l.lap, l.time_ms, l.first_seq, l.last_seq);
    assert_eq!(
        la.iter().map(key).collect::<Vec<_>>(),
        lb.iter().map(key).collect::<Vec<_>>(),
        "the same laps"
    );
    assert!(
        node_b.said().contains("stopped; 0 frames stored"),
        "node B ingested nothing itself: {}",
        node_b.said()
    );

    // A records database of its own (a league's), filled by `pitwall sink --to laps` from the
    // stream alone, every ingest node stopped.
    let league = dir.join("league").join("records.sqlite");
    let db = league.to_string_lossy().into_owned();
    let mut worker =
        Proc::spawn(&["sink", "--from", &nats, "--to", "laps", &db], &dir.join("laps-worker.log"));
    let league_laps = || {
        records::Store::open(&league).ok().and_then(|s| s.telemetry_laps(&session).ok()).unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while league_laps().len() < la.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    worker.stop();
    assert_eq!(
        league_laps().iter().map(key).collect::<Vec<_>>(),
        la.iter().map(key).collect::<Vec<_>>(),
        "{}",
        worker.said()
    );
}

#[test]
fn a_sink_worker_refuses_what_it_cannot_write_and_says_what_it_can() {
    let out = pitwall().args(["sink", "--from", "nats://127.0.0.1:1", "--to", "csv", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("parquet DIR") && err.contains("laps DB"), "{err}");
    let out = pitwall().args(["sink", "--from", "http://x:1", "--to", "laps", "x"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nats://HOST:PORT"));
}
