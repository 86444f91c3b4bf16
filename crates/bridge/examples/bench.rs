//! The bridge's cost at the game's real rate: CPU (% of one core) and memory, against the game
//! simulator measured alone in the same run.
//!
//! ```sh
//! cargo run --release -p pitwall-bridge --example bench -- [SECONDS]    # default 30
//! ```
//!
//! Phase 1 runs the game simulator alone, writing its pages at 333 Hz real time into page
//! files (in `/dev/shm` when the host has it, as a Proton bridge does): the baseline. Phase 2
//! adds the bridge reading them (the `shm` source: polling, torn-read guard, frames, recording)
//! and streaming to an ingest server in this process. CPU is read per thread from
//! `/proc/self/task/*/stat`, so the bridge's threads (`bridge-sampler`, `bridge-net`) are
//! counted apart from the game's and the server's. Memory: the process's resident size before
//! and after the bridge started (the difference is the bridge's), and its peak. Linux only.
//! Targets: under 2 % of one core and under 30 MB.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::{Bridge, BridgeConfig, ServerConfig, SourceConfig};

/// CPU time (user + system) per thread name, ns: the first field of
/// `/proc/self/task/*/schedstat`, the scheduler's own account (exact, where `stat`'s
/// utime/stime come in 10 ms ticks).
fn thread_cpu_ns() -> Result<HashMap<String, u64>, Box<dyn Error>> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?.path();
        let (Ok(comm), Ok(stat)) =
            (std::fs::read_to_string(task.join("comm")), std::fs::read_to_string(task.join("schedstat")))
        else {
            continue; // The thread ended meanwhile.
        };
        let ns = stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        *out.entry(comm.trim().to_owned()).or_insert(0) += ns;
    }
    Ok(out)
}

/// `VmRSS` and `VmHWM` of this process, kB.
fn memory_kb() -> Result<(u64, u64), Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

fn cpu_percent(before: &HashMap<String, u64>, after: &HashMap<String, u64>, prefix: &str, secs: f64) -> f64 {
    let sum = |m: &HashMap<String, u64>| {
        m.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum::<u64>()
    };
    (sum(after).saturating_sub(sum(before))) as f64 / 1e9 / secs * 100.0
}

fn main() -> Result<(), Box<dyn Error>> {
    let secs: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let dir = tempfile::tempdir()?;
    // The page files where a Proton bridge puts them: tmpfs, when the host has it.
    let shm_parent = match tempfile::tempdir_in("/dev/shm") {
        Ok(d) => d,
        Err(_) => tempfile::tempdir()?,
    };
    let shm_dir = shm_parent.path().to_owned();

    // The server, on its own runtime whose threads are named apart from the bridge's.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ingest")
        .enable_all()
        .build()?;
    let server = rt.block_on(
        ingest::Server::new(ingest::Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().join("data"),
            ..ingest::Config::default()
        })
        .start(),
    )?;
    let url = format!("http://{}", server.local_addr());

    // The game, at real time, on a thread named `game`.
    let game = sim::game::GameSim::new(sim::game::GameConfig::default())?;
    let writer = sim::game::GameWriter::create(&shm_dir)?;
    let mut runner = sim::game::GameRunner::new(
        game,
        writer,
        shm::MonotonicClock::new(),
        sim::game::RunConfig::default(),
    )?;
    runner.tick()?;
    let stop = Arc::new(AtomicBool::new(false));
    let game_stop = stop.clone();
    let game = std::thread::Builder::new().name("game".into()).spawn(move || {
        runner
            .run(&game_stop, None, Duration::from_secs(3600), |_, _| {})
            .map(|()| runner.stats().steps_unwritten)
    })?;

    println!("phase 1: the game simulator alone for {secs} s, and a thread that only wakes every 3 ms");
    // The floor of any sampler that sees every 333 Hz step without spinning: a thread that does
    // nothing but sleep 3 ms at a time. Its cost is the host's, not ours (in a VM each wake-up
    // can cost tens of µs of CPU, where bare metal takes a few).
    let floor_stop = Arc::new(AtomicBool::new(false));
    let floor = {
        let stop = floor_stop.clone();
        std::thread::Builder::new().name("floor".into()).spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(3));
            }
        })?
    };
    let t0 = thread_cpu_ns()?;
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let t1 = thread_cpu_ns()?;
    floor_stop.store(true, Ordering::Relaxed);
    floor.join().map_err(|_| "the floor thread panicked")?;
    let baseline_secs = start.elapsed().as_secs_f64();
    let game_alone = cpu_percent(&t0, &t1, "game", baseline_secs);
    let wake_floor = cpu_percent(&t0, &t1, "floor", baseline_secs);
    let (rss_before, _) = memory_kb()?;

    println!("phase 2: the game and the bridge (shm source, recording, gRPC) for {secs} s");
    let mut config = BridgeConfig::new(SourceConfig::Shm { dir: Some(shm_dir) });
    config.record = dir.path().join("telemetry_record.pb.gz");
    config.server = Some(ServerConfig::new(url));
    let running = Bridge::start(config)?;
    // Let it connect and settle before measuring.
    std::thread::sleep(Duration::from_secs(1));
    let t2 = thread_cpu_ns()?;
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let t3 = thread_cpu_ns()?;
    let measured = start.elapsed().as_secs_f64();
    let (rss_after, hwm) = memory_kb()?;
    let status = running.status();
    running.stop();
    let summary = running.wait()?;
    stop.store(true, Ordering::Relaxed);
    let unwritten = game.join().map_err(|_| "the game thread panicked")??;
    rt.block_on(server.shutdown())?;

    let bridge_cpu = cpu_percent(&t2, &t3, "bridge-", measured);
    let sampler_cpu = cpu_percent(&t2, &t3, "bridge-sampler", measured);
    let net_cpu = cpu_percent(&t2, &t3, "bridge-net", measured);
    let game_with = cpu_percent(&t2, &t3, "game", measured);
    println!();
    println!(
        "frames            {} ({:.1} Hz), {} missed steps (the game skipped {} writes over both phases: a busy host)",
        status.frames, status.rate_hz, status.missed_steps, unwritten
    );
    println!(
        "polls             {} ({:.3} per frame: the sampler's wake-ups)",
        status.polls,
        status.polls as f64 / status.frames.max(1) as f64
    );
    println!(
        "acked             {} (backlog at stop: {})",
        summary.status.frames_acked, summary.status.backlog_frames
    );
    println!("recording         {} bytes", summary.status.record_bytes);
    println!("baseline (game)   {game_alone:.2} % of one core alone, {game_with:.2} % with the bridge");
    println!(
        "bridge CPU        {bridge_cpu:.2} % of one core ({:.2}x the game's own)   target < 2 %",
        bridge_cpu / game_alone.max(0.01)
    );
    println!("  of which         sampler {sampler_cpu:.2} %, network {net_cpu:.2} %");
    println!(
        "wake-up floor     {wake_floor:.2} % of one core for a thread that only wakes at 333 Hz on this host; the bridge above it: {:.2} % ({:.2}x the floor)",
        bridge_cpu - wake_floor,
        bridge_cpu / wake_floor.max(0.01)
    );
    println!(
        "bridge memory     +{:.1} MB resident (process {:.1} MB before, {:.1} MB after, peak {:.1} MB)   target < 30 MB",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    Ok(())
}
