//! Writes a recording of simulated sessions, as the bridge would record them: the game
//! simulator on the short oval, its pages turned into frames by the bridge's own mapping, in
//! gzip members of one second. The benchmark (`benches/convert.sh`) and the interop check
//! (`scripts/interop/convert_pyarrow.sh`) convert what it writes.
//!
//! Usage: sim_recording OUT SECONDS [--seed N] [--restart-at SECONDS]… [--drops RATE]
//!
//! Prints one JSON line to stdout: frames written, and the simulator's lap records (session,
//! lap, time and sectors in ms).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use testkit::sim::{Run, oval, with_drops};

fn usage() -> ! {
    eprintln!("usage: sim_recording OUT SECONDS [--seed N] [--restart-at SECONDS]... [--drops RATE]");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| usage()));
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
    let mut seed = 1u64;
    let mut restarts = Vec::new();
    let mut drops = 0.0f64;
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--seed" => seed = value.parse().unwrap_or_else(|_| usage()),
            "--restart-at" => {
                restarts.push(Duration::from_secs_f64(value.parse().unwrap_or_else(|_| usage())))
            }
            "--drops" => drops = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let config = if drops > 0.0 { with_drops(oval(seed), drops) } else { oval(seed) };
    let started = std::time::Instant::now();
    let recorded = Run::new(config, Duration::from_secs_f64(seconds)).restart_at(&restarts).record(&out);
    let laps: Vec<String> = recorded
        .laps
        .iter()
        .map(|l| {
            format!(
                "{{\"session\":{},\"lap\":{},\"time_ms\":{},\"sectors_ms\":{:?}}}",
                l.session, l.lap, l.time_ms, l.sectors_ms
            )
        })
        .collect();
    println!("{{\"frames\":{},\"laps\":[{}]}}", recorded.frames, laps.join(","));
    eprintln!(
        "sim_recording: {} frames ({:.0} s simulated) to {} in {:.1} s",
        recorded.frames,
        seconds,
        out.display(),
        started.elapsed().as_secs_f64()
    );
}
