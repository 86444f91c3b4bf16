//! Decode and encode throughput of the ACSP codec.
//!
//! The main input is ten seconds of a full 24-car server with CAR_UPDATE at 10 Hz: 2400 car
//! updates, and around them what such a server also sends in that time (laps with 24-entry
//! leaderboards, collisions, chat, a connection coming and going, a session info). It is measured
//! twice, once as bytes per second and once as events per second. The per-kind groups show where
//! the time goes.
//!
//! Run: `cargo bench -p pitwall-acsp --bench decode -- --warm-up-time 1 --measurement-time 3`

// Benchmarks set up fixed, known-good inputs; a failure there is a bug in the bench itself.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use acsp::{
    CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, ConnectionInfo, Event, LapCompleted,
    LeaderboardEntry, NO_TIME, SessionInfo, SessionType, StringWidth, Vec3,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CARS: u8 = 24;

fn car_update(car_id: u8, tick: u32) -> Event {
    let t = tick as f32 * 0.1;
    let c = f32::from(car_id);
    Event::CarUpdate(CarUpdate {
        car_id,
        position: Vec3::new(-120.0 + 70.0 * t - 8.0 * c, 2.125 + 0.01 * t, 35.5 + 0.25 * c),
        velocity: Vec3::new(70.0 + c, 0.1, 0.5 - 0.01 * c),
        gear: 2 + (tick % 6) as u8,
        engine_rpm: 9_000 + (tick % 40) as u16 * 50,
        normalized_spline_pos: (t * 0.0125 + c / 24.0) % 1.0,
    })
}

fn leaderboard() -> Vec<LeaderboardEntry> {
    (0..CARS)
        .map(|car_id| LeaderboardEntry {
            car_id,
            time: if car_id < 20 { 80_902 + 311 * u32::from(car_id) } else { NO_TIME },
            laps: if car_id < 20 { 12 } else { 0 },
            has_completed: Some(false),
        })
        .collect()
}

fn session_info() -> Event {
    Event::SessionInfo(SessionInfo {
        protocol_version: 4,
        session_index: 2,
        current_session_index: 2,
        session_count: 3,
        server_name: "ACRL Sunday Cup #3 | Red Bull Ring | 24 cars".into(),
        track: "ks_red_bull_ring".into(),
        track_config: "layout_gp".into(),
        name: "Race".into(),
        session_type: SessionType::Race,
        time: 0,
        laps: 25,
        wait_time: 40_000,
        ambient_temp: 24,
        road_temp: 30,
        weather_graphics: "3_clear".into(),
        weather_encoding: StringWidth::Narrow,
        elapsed_ms: 905_112,
    })
}

fn connection(car_id: u8) -> ConnectionInfo {
    ConnectionInfo {
        driver_name: "Jean-Éric Bernard".into(),
        driver_guid: "76561198000000001".into(),
        car_id,
        car_model: "rss_formula_hybrid_2021".into(),
        car_skin: "00_official".into(),
    }
}

/// Ten seconds of a 24-car server, in arrival order.
fn ten_seconds() -> Vec<Event> {
    let mut events = Vec::new();
    for tick in 0..100u32 {
        for car in 0..CARS {
            events.push(car_update(car, tick));
        }
        // A 24-car field at ~81 s a lap completes about three laps in ten seconds.
        if tick % 33 == 5 {
            let car_id = (tick % CARS as u32) as u8;
            events.push(Event::LapCompleted(LapCompleted {
                car_id,
                lap_time: 81_250 + tick,
                cuts: 0,
                leaderboard: leaderboard(),
                grip_level: 0.98,
            }));
        }
        match tick {
            10 => events.push(Event::CollisionWithCar(CollisionWithCar {
                car_id: 4,
                other_car_id: 5,
                impact_speed: 6.25,
                world_position: Vec3::new(210.5, 2.0, 36.75),
                relative_position: Vec3::new(0.0, 0.125, 2.25),
            })),
            20 => events.push(Event::Chat(Chat { car_id: 7, message: "sorry, my fault".into() })),
            40 => events.push(Event::CollisionWithEnv(CollisionWithEnv {
                car_id: 9,
                impact_speed: 14.75,
                world_position: Vec3::new(-310.75, 4.25, 123.5),
                relative_position: Vec3::new(-0.75, -0.5, 1.0),
            })),
            50 => events.push(session_info()),
            60 => events.push(Event::ConnectionClosed(connection(23))),
            70 => events.push(Event::NewConnection(connection(23))),
            80 => events.push(Event::Chat(Chat { car_id: 0, message: "gg è, box this lap".into() })),
            95 => events.push(Event::ClientLoaded(ClientLoaded { car_id: 23 })),
            _ => {}
        }
    }
    events
}

fn encode_all(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|e| {
            let mut out = Vec::new();
            acsp::encode_event(e, &mut out).unwrap();
            out
        })
        .collect()
}

/// Decodes every datagram; the results are looked at by reference, so that what is measured is
/// the decoder (and dropping its output), not moves of the 150-byte `Event` in the harness.
fn decode_all(datagrams: &[Vec<u8>]) {
    for d in datagrams {
        let result = acsp::decode(black_box(d));
        debug_assert!(result.is_ok());
        black_box(&result);
    }
}

fn bench_mix(c: &mut Criterion) {
    let events = ten_seconds();
    let datagrams = encode_all(&events);
    let bytes: usize = datagrams.iter().map(Vec::len).sum();
    let updates = events.iter().filter(|e| matches!(e, Event::CarUpdate(_))).count();
    println!(
        "mix: {} events in {bytes} bytes ({updates} car updates, {} others), {:.1} bytes per event",
        events.len(),
        events.len() - updates,
        bytes as f64 / events.len() as f64
    );

    let mut g = c.benchmark_group("decode_mix");
    g.throughput(Throughput::BytesDecimal(bytes as u64));
    // Baseline measured in the same run: copying each datagram out of its receive buffer, the
    // least any receive path does. Decoding is reported against it as a ratio.
    g.bench_function("baseline_copy_bytes", |b| {
        let mut buf = vec![0u8; 2048];
        b.iter(|| {
            for d in &datagrams {
                let d = black_box(d);
                buf[..d.len()].copy_from_slice(d);
                black_box(&buf);
            }
        })
    });
    g.bench_function("bytes", |b| b.iter(|| decode_all(&datagrams)));
    g.throughput(Throughput::Elements(datagrams.len() as u64));
    g.bench_function("events", |b| b.iter(|| decode_all(&datagrams)));
    // What the client uses: the same, with the warnings kept.
    g.throughput(Throughput::BytesDecimal(bytes as u64));
    g.bench_function("decode_datagram_bytes", |b| {
        b.iter(|| {
            for d in &datagrams {
                black_box(&acsp::decode_datagram(black_box(d)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("encode_mix");
    let mut out = Vec::with_capacity(bytes);
    g.throughput(Throughput::BytesDecimal(bytes as u64));
    g.bench_function("bytes", |b| {
        b.iter(|| {
            out.clear();
            for e in &events {
                acsp::encode_event(black_box(e), &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("events", |b| {
        b.iter(|| {
            out.clear();
            for e in &events {
                acsp::encode_event(black_box(e), &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

/// One kind at a time, to see which layouts cost what.
fn bench_kinds(c: &mut Criterion) {
    let kinds: [(&str, Event); 4] = [
        ("car_update", car_update(5, 42)),
        (
            "lap_completed_24",
            Event::LapCompleted(LapCompleted {
                car_id: 5,
                lap_time: 80_902,
                cuts: 0,
                leaderboard: leaderboard(),
                grip_level: 0.98,
            }),
        ),
        ("session_info", session_info()),
        ("chat", Event::Chat(Chat { car_id: 7, message: "sorry, my fault".into() })),
    ];
    let mut g = c.benchmark_group("decode_kind");
    for (name, event) in kinds {
        // A batch, so that the per-iteration overhead of the harness does not dominate.
        let datagrams = encode_all(&vec![event; 256]);
        let bytes: usize = datagrams.iter().map(Vec::len).sum();
        g.throughput(Throughput::BytesDecimal(bytes as u64));
        g.bench_function(name, |b| b.iter(|| decode_all(&datagrams)));
    }
    g.finish();
}

criterion_group!(benches, bench_mix, bench_kinds);
criterion_main!(benches);
