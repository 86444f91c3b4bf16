//! Write and read throughput of recordings, in frames/s and MB/s of encoded frames, for
//! realistic frames (every field the game fills set: `loadgen::frames::realistic`).
//!
//! `cargo bench -p pitwall-record` prints criterion's figures, plus one line per compression
//! level with the file's size, to choose the default level. `cargo bench -p pitwall-record --
//! decode/` compares prost's decoder of a frame with `proto::decode_frame_into`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use loadgen::frames::{realistic, session_id};
use prost::Message as _;
use record::{RecordOptions, RecordReader, RecordWriter};

/// 30 seconds of driving at 333 Hz, across two sessions.
const FRAMES: u64 = 10_000;

fn frames() -> Vec<proto::telemetry::v1::TelemetryFrame> {
    (0..FRAMES)
        .map(|i| {
            if i < FRAMES / 2 {
                realistic(session_id(1), i)
            } else {
                realistic(session_id(2), i - FRAMES / 2)
            }
        })
        .collect()
}

fn write(path: &Path, level: u32, encoded: &[Vec<u8>]) {
    let mut writer = RecordWriter::create(path, RecordOptions { level, ..RecordOptions::default() }).unwrap();
    for frame in encoded {
        writer.append_encoded(frame).unwrap();
    }
    // Into the OS, not to the disk: an fsync would measure the disk.
    writer.finish_member().unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let frames = frames();
    let encoded: Vec<Vec<u8>> = frames.iter().map(|f| f.encode_to_vec()).collect();
    let raw_bytes: u64 = encoded.iter().map(|f| f.len() as u64).sum();
    println!(
        "{FRAMES} frames, {:.0} bytes each on average ({:.2} MB encoded)",
        raw_bytes as f64 / FRAMES as f64,
        raw_bytes as f64 / 1e6
    );
    for level in [0, 1, 2, 3, 6, 9] {
        let path = dir.path().join(format!("level{level}.pb.gz"));
        write(&path, level, &encoded);
        let len = std::fs::metadata(&path).unwrap().len();
        println!(
            "level {level}: {:.2} MB, {:.1}% of the frames' size, {:.0} bytes per frame",
            len as f64 / 1e6,
            100.0 * len as f64 / raw_bytes as f64,
            len as f64 / FRAMES as f64
        );
    }

    for (unit, throughput) in
        [("frames", Throughput::Elements(FRAMES)), ("bytes", Throughput::Bytes(raw_bytes))]
    {
        let mut group = c.benchmark_group(format!("record/{unit}"));
        group.throughput(throughput);
        group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        let path = dir.path().join("bench.pb.gz");
        for level in [1, 2, 3, 6] {
            group.bench_with_input(BenchmarkId::new("write_encoded", level), &level, |b, &level| {
                b.iter(|| write(&path, level, &encoded));
            });
        }
        group.bench_function("write_with_prost_encoding/1", |b| {
            b.iter(|| {
                let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
                for frame in &frames {
                    writer.append(frame).unwrap();
                }
                writer.finish_member().unwrap();
            });
        });
        for level in [1, 6] {
            let file = dir.path().join(format!("level{level}.pb.gz"));
            group.bench_with_input(BenchmarkId::new("read_raw", level), &file, |b, file| {
                b.iter(|| {
                    let mut reader = RecordReader::open(file).unwrap();
                    let n = reader.raw_frames().fold(0, |n, f| n + usize::from(!f.unwrap().is_empty()));
                    assert_eq!(n as u64, FRAMES);
                });
            });
            group.bench_with_input(BenchmarkId::new("read_decoded", level), &file, |b, file| {
                b.iter(|| {
                    let n = RecordReader::open(file)
                        .unwrap()
                        .fold(0, |n, f| n + usize::from(f.unwrap().seq < FRAMES));
                    assert_eq!(n as u64, FRAMES);
                });
            });
        }
        group.bench_function("scan_index/1", |b| {
            let file = dir.path().join("level1.pb.gz");
            b.iter(|| assert_eq!(record::scan(&file).unwrap().index.frames(), FRAMES));
        });
        group.finish();
    }
}

/// Decoding one frame: prost's generated decoder (`clear` + `merge`, as pitwall decoded every
/// frame before) against `proto::decode_frame_into`, into one reused frame.
fn decode(c: &mut Criterion) {
    let encoded: Vec<prost::bytes::Bytes> = frames().iter().map(|f| f.encode_to_vec().into()).collect();
    let mut group = c.benchmark_group("decode/frames");
    group.throughput(Throughput::Elements(encoded.len() as u64));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let mut frame = proto::telemetry::v1::TelemetryFrame::default();
    group.bench_function("prost", |b| {
        b.iter(|| {
            for bytes in &encoded {
                frame.clear();
                frame.merge(bytes.clone()).unwrap();
            }
        })
    });
    group.bench_function("decode_frame_into", |b| {
        b.iter(|| {
            for bytes in &encoded {
                proto::decode_frame_into(&mut frame, bytes.clone()).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench, decode);
criterion_main!(benches);
