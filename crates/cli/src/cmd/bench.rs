//! `pitwall bench ingest`: a load generator for the ingest server, and the same load against a
//! baseline server measured in the same run.
//!
//! K client streams send realistic frames for a fixed time; each keeps at most `--window`
//! frames unacknowledged, as a bridge does. The server under test runs as its own process, so
//! its CPU time and resident memory are read from `/proc/<pid>` apart from the clients'. The
//! clients send frames pre-encoded (a template with the `seq` field in front: protobuf accepts
//! fields in any order), the way a bridge sends the bytes it already encoded for its
//! recording, so the figures are dominated by the server.
//!
//! Servers are started by command line: `pitwall serve` (this binary) by default, and the
//! baseline by `--baseline-cmd` (e.g. the Python `grpc.aio` reference server in
//! `benches/reference_ingest_server.py`; `benches/ingest.sh` runs both). A server command must
//! print `listening on HOST:PORT` on stdout or stderr once it accepts connections.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bridge::client::RawCodec;
use bytes::{BufMut as _, Bytes, BytesMut};
use prost::Message as _;
use proto::telemetry::v1::{TelemetryFrame, Vec3, Wheels};

/// Arguments of `pitwall bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Streams simulated frames from K clients into the ingest server (and a baseline server).
    Ingest(IngestArgs),
}

/// Arguments of `pitwall bench ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Concurrent client streams (one session each).
    #[arg(long, default_value_t = 4)]
    streams: u32,
    /// How long the clients send, seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Most unacknowledged frames per stream (a bridge's in-flight window).
    #[arg(long, default_value_t = 65_536)]
    window: u64,
    /// Data directory for `pitwall serve` [default: a temporary directory, removed after].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// TOML config for `pitwall serve` (e.g. to choose its sinks).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Command line of a baseline server to measure with the same load (split on spaces).
    #[arg(long, value_name = "CMD")]
    baseline_cmd: Option<String>,
    /// How long the baseline's clients send, seconds [default: --seconds].
    #[arg(long)]
    baseline_seconds: Option<f64>,
    /// Skip pitwall's own server (measure only the baseline).
    #[arg(long)]
    no_pitwall: bool,
}

/// Runs `pitwall bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Ingest(a) => ingest(a),
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    if args.streams == 0 || args.window == 0 || args.seconds <= 0.0 {
        bail!("--streams, --window and --seconds must be above 0");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let mut results = Vec::new();
    if !args.no_pitwall {
        let temp;
        let data = match &args.data {
            Some(d) => d.clone(),
            None => {
                temp = tempfile::tempdir().context("cannot create a temporary data directory")?;
                temp.path().to_path_buf()
            }
        };
        let exe = std::env::current_exe().context("cannot find the pitwall executable")?;
        let mut cmd = Command::new(exe);
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(&data);
        if let Some(c) = &args.config {
            cmd.arg("--config").arg(c);
        }
        let server = Server::spawn("pitwall serve", cmd)?;
        let r = rt.block_on(measure(&server, &args, args.seconds))?;
        let r = server.stop(r)?;
        print_result(&r, args.streams);
        results.push(r);
    }
    if let Some(line) = &args.baseline_cmd {
        let mut parts = line.split_whitespace();
        let program = parts.next().context("--baseline-cmd is empty")?;
        let mut cmd = Command::new(program);
        cmd.args(parts);
        let server = Server::spawn("baseline", cmd)?;
        let seconds = args.baseline_seconds.unwrap_or(args.seconds);
        let r = rt.block_on(measure(&server, &args, seconds))?;
        let r = server.stop(r)?;
        print_result(&r, args.streams);
        results.push(r);
    }
    if let [ours, base] = results.as_slice() {
        println!(
            "ratio: pitwall serve acks {:.1}x the frames/s of the baseline with {} streams \
             (p99 ack latency {:.1} ms vs {:.1} ms)",
            ours.frames_per_s() / base.frames_per_s().max(f64::MIN_POSITIVE),
            args.streams,
            ours.p99_ms,
            base.p99_ms,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A server process under test.
struct Server {
    name: &'static str,
    child: Child,
    addr: String,
    cpu_at_start: Option<f64>,
}

impl Server {
    fn spawn(name: &'static str, mut cmd: Command) -> anyhow::Result<Server> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the {name} server ({cmd:?})"))?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for out in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let _ = tx.send(rest.trim().to_string());
                    } else {
                        tracing::info!(target: "bench", "{line}");
                    }
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the {name} server did not print `listening on ADDR` within 60 s");
            }
        };
        let pid = child.id();
        Ok(Server { name, child, addr, cpu_at_start: cpu_seconds(pid) })
    }

    fn stop(mut self, mut r: Measured) -> anyhow::Result<Measured> {
        let pid = self.child.id();
        r.server_cpu_s = match (cpu_seconds(pid), self.cpu_at_start) {
            (Some(end), Some(start)) => Some(end - start),
            _ => None,
        };
        r.server_peak_rss_mb = peak_rss_mb(pid);
        r.name = self.name;
        // SIGTERM for a graceful stop; the kill is only the fallback.
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(r)
    }
}

/// The figures of one server under the load.
#[derive(Debug, Default)]
struct Measured {
    name: &'static str,
    frames: u64,
    frame_len: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_cpu_s: Option<f64>,
    server_peak_rss_mb: Option<f64>,
    client_cpu_s: Option<f64>,
}

impl Measured {
    fn frames_per_s(&self) -> f64 {
        self.frames as f64 / self.secs.max(f64::MIN_POSITIVE)
    }
}

fn print_result(r: &Measured, streams: u32) {
    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1}{unit}"));
    println!(
        "{:<13} {streams} streams: {:>10.0} frames/s acked ({:.0} MB/s, {} frames of {} B in {:.2} s); \
         ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; server CPU {} of a core, peak RSS {}; \
         client CPU {} of a core",
        r.name,
        r.frames_per_s(),
        r.frames_per_s() * r.frame_len as f64 / 1e6,
        r.frames,
        r.frame_len,
        r.secs,
        r.p50_ms,
        r.p99_ms,
        r.max_ms,
        opt(r.server_cpu_s.map(|c| 100.0 * c / r.secs), " %"),
        opt(r.server_peak_rss_mb, " MB"),
        opt(r.client_cpu_s.map(|c| 100.0 * c / r.secs), " %"),
    );
}

/// Per stream: frames acked and latency samples (µs).
struct StreamOutcome {
    acked: u64,
    latencies_us: Vec<u32>,
}

async fn measure(server: &Server, args: &IngestArgs, seconds: f64) -> anyhow::Result<Measured> {
    let frame_len = frame(&template([0; 16]), 1_000_000).len();
    let client_cpu_start = cpu_seconds(std::process::id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for n in 0..args.streams {
        let addr = server.addr.clone();
        let window = args.window;
        tasks.push(tokio::spawn(async move { stream(addr, n, window, deadline).await }));
    }
    let mut frames = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let o = t.await.context("a client task failed")??;
        frames += o.acked;
        latencies.extend(o.latencies_us);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            let i = ((latencies.len() - 1) as f64 * p).round() as usize;
            f64::from(latencies[i]) / 1000.0
        }
    };
    Ok(Measured {
        name: "",
        frames,
        frame_len,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        server_cpu_s: None,
        server_peak_rss_mb: None,
        client_cpu_s: match (cpu_seconds(std::process::id()), client_cpu_start) {
            (Some(e), Some(s)) => Some(e - s),
            _ => None,
        },
    })
}

/// One client stream: sends frames until `deadline` with at most `window` unacked, then waits
/// for the final ack. Latency is measured per frame from its send to the ack covering it.
async fn stream(addr: String, n: u32, window: u64, deadline: Instant) -> anyhow::Result<StreamOutcome> {
    let mut session = [0x01u8; 16];
    session[12..].copy_from_slice(&n.to_be_bytes());
    let t = template(session);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.context("the server is not ready")?;

    let origin = Instant::now();
    // Send times (ns since origin) of the frames in flight; at most `window` are, so a ring of
    // `window` slots indexed by seq never overwrites one still waiting for its ack.
    let ring: Arc<Vec<AtomicU64>> = Arc::new((0..window).map(|_| AtomicU64::new(0)).collect());
    let (acked_tx, mut acked_rx) = tokio::sync::watch::channel(0u64);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let sent = Arc::new(AtomicU64::new(0));
    let producer = {
        let ring = ring.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut seq = 0u64;
            loop {
                if seq % 256 == 0 && Instant::now() >= deadline {
                    break;
                }
                while seq >= *acked_rx.borrow() + window {
                    if acked_rx.changed().await.is_err() {
                        return;
                    }
                }
                ring[(seq % window) as usize].store(origin.elapsed().as_nanos() as u64, Ordering::Relaxed);
                if tx.send(frame(&t, seq)).await.is_err() {
                    return;
                }
                seq += 1;
                sent.store(seq, Ordering::Relaxed);
            }
        })
    };
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(proto::STREAM_FRAMES_PATH);
    let input = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut acks = grpc
        .streaming(tonic::Request::new(input), path, RawCodec)
        .await
        .context("StreamFrames refused")?
        .into_inner();
    let mut acked = 0u64;
    let mut latencies_us = Vec::new();
    while let Some(ack) = acks.message().await.context("the ack stream failed")? {
        let now = origin.elapsed().as_nanos() as u64;
        for s in acked..ack.next_seq {
            // One sample in 16 is plenty and keeps the client cheap.
            if s % 16 == 0 {
                let at = ring[(s % window) as usize].load(Ordering::Relaxed);
                latencies_us.push((now.saturating_sub(at) / 1000).min(u64::from(u32::MAX)) as u32);
            }
        }
        acked = acked.max(ack.next_seq);
        let _ = acked_tx.send(acked);
    }
    producer.await.context("the producer task failed")?;
    let sent = sent.load(Ordering::Relaxed);
    if acked != sent {
        bail!("stream {n}: {sent} frames sent but {acked} acked when the server ended the stream");
    }
    Ok(StreamOutcome { acked, latencies_us })
}

/// CPU time (user + system) of a process so far, seconds, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces and is wrapped in parentheses).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock
    // ticks of USER_HZ, which Linux fixes at 100 for every user-space interface.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident memory of a process, MB, from `VmHWM` in `/proc/<pid>/status`.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A realistic frame without its `seq`: a car at speed mid-lap, every group of fields filled.
fn template(session: [u8; 16]) -> Bytes {
    let w = |b: f32| Some(Wheels { fl: b, fr: b + 0.1, rl: b + 0.2, rr: b + 0.3 });
    let v = |x: f32| Some(Vec3 { x, y: 0.5 * x, z: -x });
    let f = TelemetryFrame {
        session_id: session.to_vec().into(),
        wall_time_ns: 1_731_000_000_000_000_000,
        mono_time_ns: 5_000_000_000,
        physics_packet_id: 123_456,
        graphics_packet_id: 23_456,
        throttle: 0.8,
        brake: 0.1,
        steering: -0.2,
        gear: 4,
        rpm: 6_500,
        speed_kmh: 181.5,
        velocity: v(50.1),
        local_velocity: v(50.0),
        acc_g: v(0.9),
        local_angular_velocity: v(0.2),
        heading_rad: 1.2,
        pitch_rad: 0.01,
        roll_rad: 0.02,
        cg_height_m: 0.4,
        ride_height_front_m: 0.05,
        ride_height_rear_m: 0.06,
        position_m: v(312.0),
        wheel_slip: w(0.1),
        wheel_load_n: w(3_100.0),
        tyre_pressure_psi: w(27.3),
        wheel_angular_speed_rad_s: w(150.0),
        tyre_wear: w(98.0),
        tyre_dirt: w(0.1),
        tyre_core_temp_c: w(81.0),
        tyre_temp_inner_c: w(86.0),
        tyre_temp_middle_c: w(84.0),
        tyre_temp_outer_c: w(82.0),
        camber_rad: w(-0.04),
        suspension_travel_m: w(0.03),
        brake_temp_c: w(420.0),
        slip_ratio: w(0.03),
        slip_angle_rad: w(0.02),
        tyre_force_long_n: w(900.0),
        tyre_force_lat_n: w(2_100.0),
        self_aligning_torque_nm: w(25.0),
        suspension_damage: w(0.0),
        tyre_temp_c: w(83.0),
        tyre_contact_point_m: vec![Vec3 { x: 1.0, y: 0.0, z: 2.0 }; 4],
        fuel_l: 31.2,
        brake_bias: 0.56,
        car_damage: vec![0.0; 5],
        completed_laps: 3,
        position: 2,
        current_lap_ms: 61_234,
        last_lap_ms: 101_234,
        best_lap_ms: 100_987,
        normalized_position: 0.61,
        surface_grip: 0.98,
        tyre_compound: "Semislicks (SM)".into(),
        air_temp_c: 22.0,
        road_temp_c: 31.0,
        ..Default::default()
    };
    f.encode_to_vec().into()
}

fn frame(template: &[u8], seq: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(template.len() + 11);
    b.put_u8(0x10); // field 2 (seq), varint
    prost::encoding::encode_varint(seq, &mut b);
    b.put_slice(template);
    b.freeze()
}
