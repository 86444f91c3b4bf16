//! Throughput of the frame table, in frames/s on one core, for realistic frames (every field the
//! game fills set, values moving like a car lapping; the record crate's sample, ~650 bytes
//! encoded).
//!
//! `cargo bench -p pitwall-table` measures, in one criterion group so the figures compare:
//! - `prost_decode` — the baseline: decoding the same frames from protobuf, which the ingest
//!   sink must do anyway;
//! - `build` — appending the decoded frames to a [`FrameBuilder`] and finishing batches;
//! - `build_write_zstd` — building and writing a whole Parquet file (zstd, footer) to memory;
//! - `decode_build_write_zstd` — the ingest sink's whole CPU path from WAL bytes;
//! - `read` — the way back: record batches of 4096 rows (as `pitwall convert` reads Parquet)
//!   into new frames with a [`FrameReader`].
//!
//! It also prints the file size per frame and, after criterion, one line per stage with its
//! speed as a ratio to prost decoding, measured in the same run.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use table::{
    FrameBuilder, FrameFileWriter, FrameReader, FrameSchema, Variant, WriteOptions, writer_properties,
};

/// One minute of one car at 333 Hz.
const FRAMES: u64 = 20_000;

fn decode(encoded: &[Vec<u8>], out: &mut Vec<TelemetryFrame>) {
    out.clear();
    out.extend(encoded.iter().map(|b| TelemetryFrame::decode(b.as_slice()).unwrap()));
}

fn build(frames: &[TelemetryFrame], builder: &mut FrameBuilder) -> usize {
    let mut rows = 0;
    for chunk in frames.chunks(8192) {
        builder.append(chunk).unwrap();
        rows += builder.finish().unwrap().num_rows();
    }
    rows
}

/// The frames as batches of 4096 rows, the batch size `pitwall convert` reads Parquet in.
fn batches(frames: &[TelemetryFrame]) -> Vec<RecordBatch> {
    let mut builder = FrameBuilder::new(Variant::Frames);
    frames
        .chunks(4096)
        .map(|chunk| {
            builder.append(chunk).unwrap();
            builder.finish().unwrap()
        })
        .collect()
}

/// Every batch into new frames, a vector per batch as the converter makes them.
fn read(batches: &[RecordBatch], reader: &FrameReader) -> usize {
    let mut rows = 0;
    for batch in batches {
        let mut frames = Vec::with_capacity(batch.num_rows());
        reader.read(batch, &mut frames).unwrap();
        rows += black_box(frames).len();
    }
    rows
}

fn write(frames: &[TelemetryFrame], out: &mut Vec<u8>) -> usize {
    write_on(frames, out, 1)
}

fn write_on(frames: &[TelemetryFrame], out: &mut Vec<u8>, threads: usize) -> usize {
    out.clear();
    let options = WriteOptions { threads, ..WriteOptions::default() };
    let mut w = FrameFileWriter::new(out, Variant::Frames, &options).unwrap();
    for chunk in frames.chunks(4096) {
        w.append(chunk).unwrap();
    }
    w.finish().unwrap().file_metadata().num_rows() as usize
}

fn bench(c: &mut Criterion) {
    let frames: Vec<TelemetryFrame> =
        (0..FRAMES).map(|i| loadgen::frames::realistic(loadgen::frames::session_id(1), i)).collect();
    let encoded: Vec<Vec<u8>> = frames.iter().map(|f| f.encode_to_vec()).collect();
    let raw: usize = encoded.iter().map(Vec::len).sum();
    let mut file = Vec::new();
    write(&frames, &mut file);
    println!(
        "{FRAMES} frames, {:.0} bytes each encoded; Parquet (zstd 1): {:.0} bytes per frame, {:.1}% of protobuf",
        raw as f64 / FRAMES as f64,
        file.len() as f64 / FRAMES as f64,
        100.0 * file.len() as f64 / raw as f64
    );

    if std::env::var_os("TABLE_BENCH_QUICK").is_some() {
        quick(&frames, &encoded);
        return;
    }
    let mut g = c.benchmark_group("table");
    g.throughput(Throughput::Elements(FRAMES)).sample_size(10).measurement_time(Duration::from_secs(5));
    let mut decoded = Vec::with_capacity(FRAMES as usize);
    g.bench_function("prost_decode", |b| {
        b.iter(|| {
            decode(&encoded, &mut decoded);
            black_box(decoded.len())
        })
    });
    let mut builder = FrameBuilder::new(Variant::Frames);
    g.bench_function("build", |b| b.iter(|| black_box(build(&frames, &mut builder))));
    let mut out = Vec::new();
    g.bench_function("build_write_zstd", |b| b.iter(|| black_box(write(&frames, &mut out))));
    g.bench_function("decode_build_write_zstd", |b| {
        b.iter(|| {
            decode(&encoded, &mut decoded);
            black_box(write(&decoded, &mut out))
        })
    });
    let batches = batches(&frames);
    let reader = FrameReader::new(batches[0].schema().as_ref()).unwrap();
    g.bench_function("read", |b| b.iter(|| black_box(read(&batches, &reader))));
    g.finish();

    quick(&frames, &encoded);
}

/// The stages timed directly, as frames/s and as a ratio to decoding, and the writer
/// properties' choices each against ours. `TABLE_BENCH_QUICK=1` runs only this.
fn quick(frames: &[TelemetryFrame], encoded: &[Vec<u8>]) {
    let mut decoded = Vec::with_capacity(frames.len());
    let mut builder = FrameBuilder::new(Variant::Frames);
    let mut out = Vec::new();
    // The machine is shared: rates are per second of this process's CPU time (user + system,
    // all threads), which other processes' load hardly changes; wall-clock rates are printed
    // too. With several encoding threads only the wall-clock rate says what they gain.
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let cpu0 = cpu_seconds();
        let mut runs = 0u32;
        while start.elapsed() < Duration::from_secs(2) || cpu_seconds() - cpu0 < 1.0 {
            f();
            runs += 1;
        }
        let cpu = (cpu_seconds() - cpu0).max(1e-3);
        let wall = start.elapsed().as_secs_f64();
        let done = FRAMES as f64 * f64::from(runs);
        println!("  ({:.2} M frames/s wall clock)", done / wall / 1e6);
        done / cpu
    };
    let batches = batches(frames);
    let reader = FrameReader::new(batches[0].schema().as_ref()).unwrap();
    let base = time(&mut || decode(encoded, &mut decoded));
    let stages: [(&str, f64); 5] = [
        (
            "build",
            time(&mut || {
                black_box(build(frames, &mut builder));
            }),
        ),
        (
            "build_write_zstd",
            time(&mut || {
                black_box(write(frames, &mut out));
            }),
        ),
        (
            "build_write_zstd, 2 encoding threads",
            time(&mut || {
                black_box(write_on(frames, &mut out, 2));
            }),
        ),
        (
            "decode_build_write_zstd",
            time(&mut || {
                decode(encoded, &mut decoded);
                black_box(write(&decoded, &mut out));
            }),
        ),
        (
            "read",
            time(&mut || {
                black_box(read(&batches, &reader));
            }),
        ),
    ];
    println!("prost_decode (baseline): {:.2} M frames/s per CPU second", base / 1e6);
    for (name, rate) in stages {
        println!("{name}: {:.2} M frames/s per CPU second, {:.2}x prost decoding", rate / 1e6, rate / base);
    }

    // The writer properties' choices, each against ours: speed and size.
    let schema = FrameSchema::new(Variant::Frames);
    let ours = writer_properties(&schema, &WriteOptions::default()).unwrap();
    let mut batches = Vec::new();
    for chunk in frames.chunks(8192) {
        builder.append(chunk).unwrap();
        batches.push(builder.finish().unwrap());
    }
    let floats: Vec<String> = schema
        .columns()
        .iter()
        .filter(|c| c.data_type == DataType::Float32)
        .map(|c| c.name.clone())
        .collect();
    let mut plain = ours.clone().into_builder();
    for c in &floats {
        plain = plain.set_column_encoding(ColumnPath::from(c.as_str()), Encoding::PLAIN);
    }
    let floor = {
        let mut b = plain.clone().set_compression(Compression::UNCOMPRESSED);
        b = b.set_statistics_enabled(EnabledStatistics::None);
        b.build()
    };
    let variants: [(&str, WriterProperties); 12] = [
        ("lz4_raw", ours.clone().into_builder().set_compression(Compression::LZ4_RAW).build()),
        (
            "lz4_raw, no statistics",
            ours.clone()
                .into_builder()
                .set_compression(Compression::LZ4_RAW)
                .set_statistics_enabled(EnabledStatistics::None)
                .build(),
        ),
        ("floor: uncompressed, no statistics, plain floats", floor),
        ("write batch size 8192", ours.clone().into_builder().set_write_batch_size(8192).build()),
        (
            "parquet 2.0 pages",
            ours.clone().into_builder().set_writer_version(WriterVersion::PARQUET_2_0).build(),
        ),
        ("data pages 8 MiB", ours.clone().into_builder().set_data_page_size_limit(8 << 20).build()),
        (
            "zstd 3",
            ours.clone()
                .into_builder()
                .set_compression(Compression::ZSTD(parquet::basic::ZstdLevel::try_new(3).unwrap()))
                .build(),
        ),
        ("ours (zstd 1, chunk statistics, dictionaries for strings, byte-stream-split floats)", ours.clone()),
        ("uncompressed", ours.clone().into_builder().set_compression(Compression::UNCOMPRESSED).build()),
        (
            "no statistics",
            ours.clone().into_builder().set_statistics_enabled(EnabledStatistics::None).build(),
        ),
        ("dictionaries for every column", ours.clone().into_builder().set_dictionary_enabled(true).build()),
        ("plain floats", plain.build()),
    ];
    for (name, props) in variants {
        let mut size = 0;
        let write_all = |out: &mut Vec<u8>| -> Result<usize, parquet::errors::ParquetError> {
            out.clear();
            let mut w = ArrowWriter::try_new(&mut *out, Arc::clone(schema.arrow()), Some(props.clone()))?;
            for b in &batches {
                w.write(b)?;
            }
            w.close()?;
            Ok(out.len())
        };
        // A codec whose parquet feature is not enabled fails here: say so, do not time it.
        if let Err(e) = write_all(&mut out) {
            println!("write only, {name}: not available ({e})");
            continue;
        }
        let rate = time(&mut || size = write_all(&mut out).unwrap());
        println!(
            "write only, {name}: {:.2} M frames/s per CPU second, {:.0} bytes per frame",
            rate / 1e6,
            size as f64 / FRAMES as f64
        );
    }
}

/// CPU time of this process so far (utime + stime of `/proc/self/stat`, 10 ms ticks), or 0
/// where there is no `/proc`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

criterion_group!(benches, bench);
criterion_main!(benches);
