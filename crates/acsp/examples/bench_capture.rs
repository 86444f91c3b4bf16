//! Writes a raw ACSP capture (datagrams concatenated, as `tcpdump` + `tshark -e data` leave them)
//! of a full 24-car server: the ten seconds of traffic of the decode bench, repeated until the
//! file holds at least MEGABYTES (default 4) of datagrams. `scripts/bench` decodes it with
//! `pitwall acsp decode` and with acudpclient, so that both read the very same bytes.
//!
//! Usage: `cargo run --release -p pitwall-acsp --example bench_capture -- OUT [MEGABYTES]`

use std::io::Write as _;
use std::process::ExitCode;

#[path = "../benches/mix.rs"]
mod mix;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), size) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench_capture OUT [MEGABYTES]");
        return ExitCode::from(2);
    };
    let megabytes: f64 = match size.map(|s| s.parse::<f64>()) {
        None => 4.0,
        Some(Ok(m)) if m > 0.0 && m <= 4096.0 => m,
        Some(_) => {
            eprintln!("bench_capture: MEGABYTES must be a number above 0 and at most 4096");
            return ExitCode::from(2);
        }
    };
    let mut once = Vec::new();
    let events = mix::ten_seconds();
    for event in &events {
        if let Err(e) = acsp::encode_event(event, &mut once) {
            eprintln!("bench_capture: cannot encode {}: {e}", event.name());
            return ExitCode::FAILURE;
        }
    }
    let target = (megabytes * 1e6) as usize;
    let copies = target.div_ceil(once.len());
    let mut data = Vec::with_capacity(copies * once.len());
    for _ in 0..copies {
        data.extend_from_slice(&once);
    }
    if let Err(e) = std::fs::File::create(out).and_then(|mut f| f.write_all(&data)) {
        eprintln!("bench_capture: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{out}: {} bytes, {} events ({copies} × {} events of ten seconds)",
        data.len(),
        copies * events.len(),
        events.len()
    );
    ExitCode::SUCCESS
}
