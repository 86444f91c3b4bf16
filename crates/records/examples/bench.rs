//! Figures for the records database: inserting a million laps (200 drivers, 10 cars, 5 tracks,
//! as a replay of captures would write them) and the leaderboard queries over them.
//!
//! `cargo run --release -p pitwall-records --example bench [-- LAPS]` prints the figures; the
//! database goes to a temporary folder.

use std::time::{Duration, Instant};

use records::{
    EntryInput, GameIdentity, LapInput, LinkOutcome, Query, Ranking, SessionInput, SessionType, Store,
    TelemetryLapInput,
};

const TRACKS: usize = 5;
const CARS: usize = 10;
const DRIVERS: usize = 200;
const ENTRIES_PER_SESSION: usize = 24;
const LAPS_PER_ENTRY: usize = 20;
const T0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

/// A small deterministic generator (SplitMix64): the same database on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn track(t: usize) -> String {
    format!("track_{t}")
}

fn car(c: usize) -> String {
    format!("car_{c}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let dir = std::env::temp_dir().join(format!("pitwall-records-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("records.sqlite");
    let mut store = Store::open(&path)?;
    let mut rng = Rng(7);

    let start = Instant::now();
    let mut laps = 0;
    let mut session_n = 0i64;
    while laps < total {
        let t = session_n as usize % TRACKS;
        let kind = [SessionType::Practice, SessionType::Qualify, SessionType::Race][rng.below(3)];
        let started = T0 + session_n * DAY / 10;
        let session = store.begin_session(&SessionInput {
            server: "bench".into(),
            track: track(t),
            layout: String::new(),
            session_type: kind,
            name: kind.to_string(),
            started_at_ms: started,
            laps_limit: None,
            time_limit_s: Some(3600),
        })?;
        for slot in 0..ENTRIES_PER_SESSION {
            let d = rng.below(DRIVERS);
            let c = rng.below(CARS);
            let entry = store.add_entry(
                session,
                &EntryInput {
                    guid: format!("7656119{d:010}"),
                    name: format!("Driver {d}"),
                    team: String::new(),
                    car_id: slot as u8,
                    car_model: car(c),
                    skin: String::new(),
                },
            )?;
            let base = 90_000 + t as u32 * 5000 + c as u32 * 700 + d as u32 * 20;
            for n in 0..LAPS_PER_ENTRY {
                let time = base + rng.below(4000) as u32;
                let s1 = time / 3 + rng.below(300) as u32;
                let s2 = time / 3 - rng.below(300) as u32;
                store.add_lap(
                    entry,
                    &LapInput {
                        lap: n as u32 + 1,
                        time_ms: time,
                        sectors: vec![s1, s2, time - s1 - s2],
                        cuts: u32::from(rng.below(10) == 0),
                        grip: Some(0.98),
                        top_speed_kmh: Some(240.0),
                        tyre: None,
                        finished_at_ms: started + (n as i64 + 1) * 90_000,
                    },
                )?;
                laps += 1;
            }
        }
        store.end_session(session, started + 3_600_000)?;
        session_n += 1;
    }
    store.flush()?;
    let insert = start.elapsed();
    let size = std::fs::metadata(&path)?.len();
    println!(
        "insert: {laps} laps in {session_n} sessions, {:.1} s ({:.0} laps/s), file {:.0} MiB",
        insert.as_secs_f64(),
        laps as f64 / insert.as_secs_f64(),
        size as f64 / f64::from(1 << 20)
    );

    let one = || Query { cars: vec![car(3)], ..Query::new(&track(2), "") };
    let since = T0 + session_n * DAY / 20;
    let queries: Vec<(&str, Query)> = vec![
        ("default: one track + one car, best per driver", one()),
        ("… every lap, first 100", Query { ranking: Ranking::EveryLap, limit: Some(100), ..one() }),
        ("… every lap, all", Query { ranking: Ranking::EveryLap, ..one() }),
        ("… invalid laps too", Query { include_invalid: true, ..one() }),
        ("… race only", Query { session_type: Some(SessionType::Race), ..one() }),
        ("… second half of the dates", Query { since_ms: Some(since), ..one() }),
        ("one track, three cars", Query { cars: vec![car(1), car(3), car(5)], ..Query::new(&track(2), "") }),
        ("one track, every car", Query::new(&track(2), "")),
    ];
    for (name, q) in &queries {
        let (rows, times) = time(|| store.leaderboard(q).map(|r| r.len()))?;
        println!("{name}: {rows} rows, {}", figures(&times));
    }
    let guid = format!("7656119{:010}", 42);
    let (rows, times) = time(|| store.personal_bests(&guid).map(|r| r.len()))?;
    println!("personal_bests: {rows} rows, {}", figures(&times));
    let (_, times) = time(|| {
        store.theoretical_best(&guid, &track(2), "", &car(3)).map(|t| t.map_or(0, |t| t.laps as usize))
    })?;
    println!("theoretical_best: {}", figures(&times));

    // The join: telemetry laps of 100 stored laps (times 1 ms off, the car PC's clock 2 s
    // ahead), each stored and linked in its own commit, as the laps sink does per flush.
    let sample = store.leaderboard(&Query { ranking: Ranking::EveryLap, limit: Some(100), ..one() })?;
    let mut times = Vec::new();
    let mut linked = 0;
    for (i, row) in sample.iter().enumerate() {
        let mut session_id = [0u8; 16];
        session_id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let lap = TelemetryLapInput {
            session_id,
            lap: 1,
            game: GameIdentity {
                car_model: row.car.clone(),
                player_name: row.name.clone(),
                ..Default::default()
            },
            time_ms: row.time_ms + 1,
            invalid: Vec::new(),
            finished_at_ms: row.finished_at_ms + 2_000,
            first_seq: 0,
            last_seq: 0,
            frames: 0,
            missed_steps: 0,
            sectors_ms: Vec::new(),
        };
        let start = Instant::now();
        linked += usize::from(store.add_telemetry_lap(&lap)? == LinkOutcome::Linked);
        store.flush()?;
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "join, a telemetry lap stored and linked: {linked} of {} linked, {}",
        times.len(),
        figures(&times)
    );

    drop(store);

    // Live: every lap committed at once (one fsync each), as a feed that flushes per event.
    let mut live = Store::open(&dir.join("live.sqlite"))?;
    live.set_batch_size(1);
    let session = live.begin_session(&SessionInput {
        server: "bench".into(),
        track: track(0),
        layout: String::new(),
        session_type: SessionType::Race,
        name: "Race".into(),
        started_at_ms: T0,
        laps_limit: None,
        time_limit_s: None,
    })?;
    let entry = live.add_entry(
        session,
        &EntryInput {
            guid: "76561190000000000".into(),
            name: "Driver 0".into(),
            team: String::new(),
            car_id: 0,
            car_model: car(0),
            skin: String::new(),
        },
    )?;
    let n = 500;
    let start = Instant::now();
    for i in 0..n {
        let lap = LapInput {
            lap: i + 1,
            time_ms: 90_000,
            sectors: vec![30_000; 3],
            cuts: 0,
            grip: None,
            top_speed_kmh: None,
            tyre: None,
            finished_at_ms: T0 + i64::from(i) * 90_000,
        };
        live.add_lap(entry, &lap)?;
    }
    let each = start.elapsed() / n;
    println!("live, one commit per lap: {:.2} ms per lap", each.as_secs_f64() * 1000.0);
    drop(live);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Runs `f` once to warm the cache, then 20 times.
fn time(
    mut f: impl FnMut() -> Result<usize, records::RecordsError>,
) -> Result<(usize, Vec<Duration>), records::RecordsError> {
    let rows = f()?;
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((rows, times))
}

fn figures(sorted: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("median {:.1} ms, max {:.1} ms", ms(sorted[sorted.len() / 2]), ms(sorted[sorted.len() - 1]))
}
