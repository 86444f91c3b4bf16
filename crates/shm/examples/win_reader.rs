//! Windows only: reads the game's named mappings with `MappingSource`.
//!
//! - `win_reader snapshot`: one consistent copy of the three pages, printed decoded as JSON
//!   (the shape of `pitwall shm dump --json`).
//! - `win_reader poll [--seconds S]`: a `Poller` over the mappings for S seconds (default 1.5),
//!   checking every step it yields against what `win_writer` publishes for that `packetId`
//!   (`testkit::pages`), and printing the counts as one line of JSON. A page that is a mix of
//!   two consecutive published pages is counted apart (`torn_accepted`): the packet-id guard
//!   is a heuristic (docs/shm.md, "Torn reads") and lets some torn copies through.
//!
//! Run under Wine next to `win_writer` by scripts/interop/shm_windows.sh.

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("win_reader: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
fn run() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use shm::{MappingSource, MonotonicClock, Poller, Snapshot};
    use testkit::pages;

    // The physics page `win_writer` published with `packetId` `id`: none before its step 0.
    let published_physics = |id: i32| (id >= pages::PHYSICS_ID0).then(|| pages::physics(id));

    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["snapshot"] => {
            let snapshot = Snapshot::capture(&mut MappingSource::open()?)?;
            writeln!(out, "{}", serde_json::to_string(&snapshot.decode())?)?;
        }
        ["poll", rest @ ..] => {
            let seconds: f64 = match rest {
                [] => 1.5,
                ["--seconds", s] => s.parse()?,
                _ => return Err("usage: win_reader poll [--seconds S]".into()),
            };
            let clock = MonotonicClock::new();
            let mut poller = Poller::new(MappingSource::open()?, clock);
            let (mut first, mut last) = (None::<i32>, None::<i32>);
            let (mut increasing, mut physics_ok, mut graphics_ok) = (true, 0u64, 0u64);
            // Pages that differ from the one published for their id: either a mix of two
            // consecutive published pages (a torn copy the packet-id guard let through, which
            // docs/shm.md says it can), or anything else (a real disagreement).
            let (mut torn_accepted, mut mismatches) = (0u64, 0u64);
            let mut classify = |got: &[u8], published: &dyn Fn(i32) -> Option<Vec<u8>>, id: i32| {
                let near: Vec<Vec<u8>> = [id - 1, id, id + 1].into_iter().filter_map(published).collect();
                let mixed = near.len() > 1 && (0..got.len()).all(|i| near.iter().any(|p| p[i] == got[i]));
                if mixed { torn_accepted += 1 } else { mismatches += 1 }
            };
            let physics_bytes = |id: i32| published_physics(id).map(|p| p.as_bytes().to_vec());
            let graphics_bytes = |id: i32| Some(pages::graphics(id).as_bytes().to_vec());
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            while Instant::now() < deadline {
                if let Some(sample) = poller.poll()? {
                    let id = sample.physics.packet_id;
                    first.get_or_insert(id);
                    increasing &= last.is_none_or(|last| id > last);
                    last = Some(id);
                    // The exact page the writer published for this id, field for field.
                    if published_physics(id).as_ref() == Some(&sample.physics) {
                        physics_ok += 1;
                    } else {
                        classify(sample.physics.as_bytes(), &physics_bytes, id);
                    }
                    let graphics_id = sample.graphics.packet_id;
                    if pages::graphics(graphics_id) == sample.graphics {
                        graphics_ok += 1;
                    } else {
                        classify(sample.graphics.as_bytes(), &graphics_bytes, graphics_id);
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let stats = poller.stats();
            let static_ok = poller.static_page() == Some(&pages::static_page());
            let report = serde_json::json!({
                "polls": stats.polls,
                "samples": stats.samples,
                "missed_steps": stats.missed_steps,
                "duplicates": stats.duplicates,
                "retries": stats.retries,
                "torn_reads": stats.torn_reads,
                "sessions": stats.sessions,
                "first_packet_id": first,
                "last_packet_id": last,
                "strictly_increasing": increasing,
                "physics_matching": physics_ok,
                "graphics_matching": graphics_ok,
                "torn_accepted": torn_accepted,
                "mismatches": mismatches,
                "static_matching": static_ok,
                "rate_hz": poller.rate_hz(),
            });
            writeln!(out, "{report}")?;
        }
        _ => return Err("usage: win_reader snapshot | win_reader poll [--seconds S]".into()),
    }
    Ok(())
}

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!("win_reader: Windows only (build for x86_64-pc-windows-gnu and run it under Wine)");
    std::process::ExitCode::from(2)
}
