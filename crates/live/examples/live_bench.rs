//! Figures of live timing, printed (a bench, not a test):
//!
//! 1. **Engine + records, live**: what following a server costs. The dedicated-server
//!    simulator's state machine plays a weekend of 24 cars with a car update every 10 ms; its
//!    events are fed through the timing engine and the recorder (SQLite on disk), as
//!    `pitwall serve --acsp-server` does, and the CPU time this takes is divided by the
//!    simulated time it covers: the share of one core a live server of that size costs.
//!    Baseline in the same run: decoding the same events from their datagrams alone.
//! 2. **Replay**: the same events as a raw capture through `live::replay` (what
//!    `pitwall timing --replay` runs), events per second, with and without car updates.
//!
//! `cargo run --release -p pitwall-live --example live_bench [-- SIM_MINUTES]` (default 20).

use std::time::{Duration, Instant};

use acsp::Event;
use live::recorder::{Recorder, RecorderConfig};
use live::replay::{ReplayConfig, replay};
use sim::server::{ServerConfig, ServerState, SessionConfig};
use timing::{TimingConfig, TimingEngine};

/// CPU time of this process (user + system), from /proc/self/stat.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name and state.
    let clock_ticks = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock_ticks)
}

fn main() {
    let minutes: u16 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let config = ServerConfig {
        cars: 24,
        seed: 3,
        sessions: vec![
            SessionConfig::practice(minutes / 2),
            SessionConfig::race(minutes.div_ceil(4).max(2), 20),
        ],
        realtime_interval_ms: Some(10),
        churn: true,
        ..ServerConfig::default()
    };
    let mut server = ServerState::new(&config).expect("a valid simulator config");
    let mut events: Vec<(Duration, Event)> =
        server.start().into_iter().map(|e| (Duration::ZERO, e)).collect();
    let sim_span = Duration::from_secs(u64::from(minutes) * 60);
    let step = Duration::from_millis(10);
    while server.now() < sim_span {
        let at = server.now();
        events.extend(server.advance(step).into_iter().map(|e| (at, e)));
    }
    let mut datagrams: Vec<Vec<u8>> = Vec::with_capacity(events.len());
    for (_, e) in &events {
        let mut d = Vec::new();
        acsp::encode_event(e, &mut d).expect("simulator events encode");
        datagrams.push(d);
    }
    let updates = events.iter().filter(|(_, e)| matches!(e, Event::CarUpdate(_))).count();
    let laps = events.iter().filter(|(_, e)| matches!(e, Event::LapCompleted(_))).count();
    println!(
        "live timing bench: {} events ({} car updates, {} laps) over {:.0} simulated s, 24 cars, 10 ms interval",
        events.len(),
        updates,
        laps,
        sim_span.as_secs_f64()
    );

    // Baseline: decoding alone.
    let (c0, w0) = (cpu(), Instant::now());
    let mut decoded = 0usize;
    for d in &datagrams {
        decoded += usize::from(acsp::decode(d).is_ok());
    }
    let (decode_cpu, decode_wall) = (cpu() - c0, w0.elapsed());
    assert_eq!(decoded, events.len());

    // Engine + recorder, as a live follower runs them (decoding included).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = records::Store::open(&dir.path().join("records.sqlite")).expect("a records database");
    let mut recorder =
        Recorder::new(store, RecorderConfig { import_results: false, ..RecorderConfig::default() });
    let mut engine = TimingEngine::with_config(TimingConfig::default());
    let t0 = 1_800_000_000_000i64;
    let (c0, w0) = (cpu(), Instant::now());
    for ((at, _), d) in events.iter().zip(&datagrams) {
        let event = acsp::decode(d).expect("decodes");
        let notices = engine.handle(*at, &event);
        let unix = t0 + i64::try_from(at.as_millis()).unwrap_or(0);
        recorder.record(&engine, &event, &notices, unix).expect("recorded");
        let _ = engine.tick(*at);
    }
    recorder.flush().expect("flushed");
    let (live_cpu, live_wall) = (cpu() - c0, w0.elapsed());
    let stats = recorder.stats();
    println!(
        "  decode only (baseline):  {:>7.3} CPU s, {:>7.3} wall s  = {:.3} % of a core",
        decode_cpu.as_secs_f64(),
        decode_wall.as_secs_f64(),
        100.0 * decode_cpu.as_secs_f64() / sim_span.as_secs_f64()
    );
    println!(
        "  engine + records:        {:>7.3} CPU s, {:>7.3} wall s  = {:.3} % of a core for a live server \
         (target < 2 %); {} laps stored; {:.1}× the decode alone",
        live_cpu.as_secs_f64(),
        live_wall.as_secs_f64(),
        100.0 * live_cpu.as_secs_f64() / sim_span.as_secs_f64(),
        stats.laps_stored,
        live_cpu.as_secs_f64() / decode_cpu.as_secs_f64().max(1e-3)
    );

    // Replay: a raw capture of the same events, then one without car updates.
    for (name, keep_updates) in [("replay, every event", true), ("replay, no car updates", false)] {
        let mut raw = Vec::new();
        for ((_, e), d) in events.iter().zip(&datagrams) {
            if keep_updates || !matches!(e, Event::CarUpdate(_)) {
                raw.extend_from_slice(d);
            }
        }
        let path = dir.path().join(format!("capture-{keep_updates}.bin"));
        std::fs::write(&path, &raw).expect("capture written");
        let store =
            records::Store::open(&dir.path().join(format!("replay-{keep_updates}.sqlite"))).expect("db");
        let mut recorder =
            Recorder::new(store, RecorderConfig { import_results: false, ..RecorderConfig::default() });
        let config = ReplayConfig { timing: TimingConfig::default(), port: None, raw_start_unix_ms: t0 };
        let (c0, w0) = (cpu(), Instant::now());
        let report = replay(&path, Some(&mut recorder), &config).expect("replayed");
        let (c, w) = (cpu() - c0, w0.elapsed());
        println!(
            "  {name:<24} {} events ({:.1} MB) in {:.3} wall s, {:.3} CPU s: {:.0} events/s, {:.0} events per CPU s; \
             {} laps stored",
            report.events,
            raw.len() as f64 / 1e6,
            w.as_secs_f64(),
            c.as_secs_f64(),
            report.events as f64 / w.as_secs_f64(),
            report.events as f64 / c.as_secs_f64().max(1e-3),
            report.laps_stored
        );
    }
}
