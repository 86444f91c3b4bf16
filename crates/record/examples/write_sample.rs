//! Writes a sample recording and a JSON summary of it, for the Python interoperability check
//! (scripts/interop/record_python.sh): 3200 realistic frames across two sessions, each
//! session's first frame carrying its SessionMetadata, in members of at most 1 s or 256 KiB.
//!
//! Usage: write_sample OUT_DIR
//!
//! Writes OUT_DIR/sample.pb.gz, OUT_DIR/sample-truncated.pb.gz (cut in the middle of the last
//! member, as a killed writer leaves it) and prints to stdout a JSON summary:
//! - `frames`: per frame, its session and seq, CRC-32 of its encoding and a dozen field values
//!   (floats widened exactly from f32);
//! - `members`: the member index (offset, length, frames);
//! - `cuts`: for files cut at several offsets (prefixes of sample.pb.gz), what this crate's
//!   reader makes of them: complete frames, damage offset, frames a salvaging reader gets.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::ExitCode;

use loadgen::frames::{realistic, session_id};
use prost::Message as _;
use proto::hex;
use proto::telemetry::v1::TelemetryFrame;
use record::{ReadOptions, RecordOptions, RecordReader, RecordWriter};
use serde_json::{Value, json};

const STEP_NS: u64 = 3_003_003;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

fn describe(frame: &TelemetryFrame) -> Value {
    let encoded = frame.encode_to_vec();
    let pressure = frame.tyre_pressure_psi.unwrap_or_default();
    let position = frame.position_m.unwrap_or_default();
    json!({
        "session_id": hex(&frame.session_id),
        "seq": frame.seq,
        "crc32": crc32(&encoded),
        "len": encoded.len(),
        "wall_time_ns": frame.wall_time_ns,
        "physics_packet_id": frame.physics_packet_id,
        "speed_kmh": f64::from(frame.speed_kmh),
        "rpm": frame.rpm,
        "gear": frame.gear,
        "throttle": f64::from(frame.throttle),
        "tyre_pressure_psi_fl": f64::from(pressure.fl),
        "tyre_pressure_psi_rr": f64::from(pressure.rr),
        "position_m_x": f64::from(position.x),
        "tyre_contact_points": frame.tyre_contact_point_m.len(),
        "tyre_compound": frame.tyre_compound,
        "car_model": frame.session.as_ref().map(|s| s.car_model.clone()),
        "max_rpm": frame.session.as_ref().map(|s| s.max_rpm),
    })
}

/// What the reader makes of the first `cut` bytes of `full`.
fn read_cut(dir: &Path, full: &[u8], cut: u64) -> Value {
    let path = dir.join("cut.pb.gz");
    std::fs::write(&path, &full[..cut as usize]).unwrap();
    let mut reader = RecordReader::open(&path).unwrap();
    let complete = reader.raw_frames().filter(Result::is_ok).count();
    let damage = reader.damage().cloned();
    let mut salvaging =
        RecordReader::open_with(&path, ReadOptions { salvage: true, ..ReadOptions::default() }).unwrap();
    let salvaged = salvaging.raw_frames().filter(Result::is_ok).count();
    std::fs::remove_file(&path).unwrap();
    json!({
        "at": cut,
        "complete_frames": complete,
        "damage_offset": damage.as_ref().map(|d| d.offset),
        "damage": damage.as_ref().map(|d| d.kind.to_string()),
        "salvaged_frames": salvaged,
    })
}

fn main() -> ExitCode {
    let Some(out_dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: write_sample OUT_DIR");
        return ExitCode::from(2);
    };
    let dir = Path::new(&out_dir);
    let path = dir.join("sample.pb.gz");

    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    let mut frames = Vec::new();
    let mut now = 0;
    for (n, count) in [(1, 1800u64), (2, 1400)] {
        for seq in 0..count {
            let frame = realistic(session_id(n), seq);
            now += STEP_NS;
            writer.tick(now).unwrap();
            writer.append(&frame).unwrap();
            frames.push(frame);
        }
    }
    let index = writer.close().unwrap();

    // Cut points: inside the last member (its header, data, trailer), at a member boundary,
    // and inside an earlier member.
    let full = std::fs::read(&path).unwrap();
    let members = index.members();
    let last = members.last().unwrap();
    let mut cuts: Vec<u64> = (1..16).map(|i| last.offset + last.len * i / 16).collect();
    cuts.extend([last.offset + 5, last.end() - 8, last.end() - 4, last.end() - 1, last.offset]);
    let middle = &members[members.len() / 2];
    cuts.extend([middle.offset + middle.len / 2, middle.offset + 1]);
    let cuts: Vec<Value> = cuts.into_iter().map(|cut| read_cut(dir, &full, cut)).collect();

    let truncated = last.offset + last.len / 2;
    std::fs::write(dir.join("sample-truncated.pb.gz"), &full[..truncated as usize]).unwrap();

    let summary = json!({
        "file": "sample.pb.gz",
        "file_len": full.len(),
        "frame_count": frames.len(),
        "frames": frames.iter().map(describe).collect::<Vec<_>>(),
        "members": members
            .iter()
            .map(|m| json!({"offset": m.offset, "len": m.len, "frames": m.frames}))
            .collect::<Vec<_>>(),
        "truncated": {"file": "sample-truncated.pb.gz", "at": truncated, "read": read_cut(dir, &full, truncated)},
        "cuts": cuts,
    });
    println!("{summary}");
    ExitCode::SUCCESS
}
