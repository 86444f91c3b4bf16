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

use acsp::{Chat, Event, LapCompleted};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "mix.rs"]
mod mix;
use mix::{car_update, leaderboard, session_info, ten_seconds};

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
