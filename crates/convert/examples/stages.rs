//! Times each stage of converting a recording to Parquet, one after the other on one thread, so
//! that the pipeline's balance can be judged: inflate (+ CRC and framing), decoding (prost's and
//! `proto::decode_frame_into`, which convert uses), lap derivation, Arrow building, Parquet
//! encoding.
//!
//! Usage: stages RECORDING
#![allow(clippy::unwrap_used)]

/// CPU time of this thread, s (from /proc: the machine is shared, so wall time would count
/// other processes' turns on the cores).
struct Instant(f64);

impl Instant {
    fn now() -> Instant {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
        Instant(text.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9)
    }
    fn elapsed(&self) -> Elapsed {
        Elapsed(Instant::now().0 - self.0)
    }
}

struct Elapsed(f64);

impl Elapsed {
    fn as_secs_f64(&self) -> f64 {
        self.0
    }
}

use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use record::RecordReader;

fn main() {
    let path = std::env::args().nth(1).expect("usage: stages RECORDING");
    let size = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let mut reader = RecordReader::open(&path).unwrap();
    let mut n = 0u64;
    let mut bytes = 0u64;
    for raw in reader.raw_frames() {
        bytes += raw.unwrap().len() as u64;
        n += 1;
    }
    let inflate = t.elapsed().as_secs_f64();
    println!(
        "{n} frames, {:.0} B/frame encoded, {:.0} B/frame compressed",
        bytes as f64 / n as f64,
        size as f64 / n as f64
    );
    report("inflate+framing", n, inflate, inflate);

    // prost's generated decoder, for comparison, then the one convert uses.
    let t = Instant::now();
    let mut reader = RecordReader::open(&path).unwrap();
    let mut frame = TelemetryFrame::default();
    for raw in reader.raw_frames() {
        frame.clear();
        frame.merge(raw.unwrap()).unwrap();
        std::hint::black_box(&frame);
    }
    let total = t.elapsed().as_secs_f64();
    report("+ prost decode (reused frame)", n, total, total - inflate);

    let t = Instant::now();
    let mut reader = RecordReader::open(&path).unwrap();
    for raw in reader.raw_frames() {
        proto::decode_frame_into(&mut frame, raw.unwrap()).unwrap();
        std::hint::black_box(&frame);
    }
    let total = t.elapsed().as_secs_f64();
    report("+ decode_frame_into (reused)", n, total, total - inflate);
    let decoded = total;

    let frames: Vec<TelemetryFrame> =
        RecordReader::open(&path).unwrap().map(Result::unwrap).take(200_000).collect();
    let m = frames.len() as u64;

    let t = Instant::now();
    let mut tracker = analysis::LapTracker::new();
    let mut derived = Vec::with_capacity(frames.len());
    for f in &frames {
        let d = tracker.push(f);
        derived.push(table::Derived {
            lap: d.lap,
            lap_time_ms: d.lap_time_ms,
            lap_distance_m: d.lap_distance_m,
            session_time_s: d.session_time_s,
        });
    }
    report("laps (alone)", m, t.elapsed().as_secs_f64(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let mut builder = table::FrameBuilder::new(table::Variant::FramesWithDerived);
    for (c, d) in frames.chunks(8192).zip(derived.chunks(8192)) {
        builder.append_with_derived(c, d).unwrap();
        std::hint::black_box(builder.finish().unwrap());
    }
    let build = t.elapsed().as_secs_f64();
    report("arrow build (alone)", m, build, build);

    let t = Instant::now();
    let mut out = Vec::with_capacity(64 << 20);
    let mut w = table::FrameFileWriter::new(
        &mut out,
        table::Variant::FramesWithDerived,
        &table::WriteOptions::default(),
    )
    .unwrap();
    for (c, d) in frames.chunks(2048).zip(derived.chunks(2048)) {
        w.append_with_derived(c, d).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    let write = t.elapsed().as_secs_f64();
    report("build + parquet encode", m, write, write - build);
    println!("parquet: {:.1} B/row", out.len() as f64 / m as f64);
    println!(
        "per row: read side {:.2} us, write side {:.2} us",
        decoded / n as f64 * 1e6,
        write / m as f64 * 1e6
    );
}

fn report(what: &str, n: u64, total: f64, stage: f64) {
    println!(
        "{what:28} {:>10.0} rows/s cumulative, stage {:.3} us/row",
        n as f64 / total,
        stage / n as f64 * 1e6
    );
}
