//! End-to-end tests of the recording format on real files: round trips through many members,
//! appending after a close and after a crash, a writer killed with SIGKILL, torn and corrupt
//! tails, the index and seeking.
#![allow(clippy::unwrap_used)]

mod append;
mod corrupt;
mod crash;
mod index;
mod realistic;
mod roundtrip;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use record::{MemberIndex, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter};

/// Nanoseconds between physics steps at 333 Hz.
pub const STEP_NS: u64 = 3_003_003;

/// A clock the test moves by hand, shared with the writer.
#[derive(Debug, Clone, Default)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::Relaxed);
    }

    pub fn reader(&self) -> impl FnMut() -> u64 + Send + 'static {
        let now = self.0.clone();
        move || now.load(Ordering::Relaxed)
    }
}

/// Writes `frames` of session `n` from `seqs`, ticking the writer with the frames' sampling
/// times, and closes it.
pub fn write_session(path: &Path, options: RecordOptions, n: u8, seqs: std::ops::Range<u64>) -> MemberIndex {
    let mut writer = RecordWriter::create(path, options).unwrap();
    for seq in seqs {
        writer.tick(seq * STEP_NS).unwrap();
        writer.append(&realistic::frame(n, seq)).unwrap();
    }
    writer.close().unwrap()
}

/// Every frame of a recording, and the error that ended it, if any.
pub fn read_all(path: &Path) -> (Vec<TelemetryFrame>, Option<RecordError>) {
    read_with(path, ReadOptions::default())
}

pub fn read_with(path: &Path, options: ReadOptions) -> (Vec<TelemetryFrame>, Option<RecordError>) {
    let mut frames = Vec::new();
    for frame in RecordReader::open_with(path, options).unwrap() {
        match frame {
            Ok(f) => frames.push(f),
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, None)
}

/// Every frame of a recording as encoded bytes, and the error that ended it, if any.
pub fn read_raw(path: &Path, options: ReadOptions) -> (Vec<prost::bytes::Bytes>, Option<RecordError>) {
    let mut reader = RecordReader::open_with(path, options).unwrap();
    let mut frames = Vec::new();
    for frame in reader.raw_frames() {
        match frame {
            Ok(f) => frames.push(f),
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, None)
}

/// The encodings of session `n`'s frames `seqs`, computed once for loops that compare many
/// reads (prost in a debug build is what such loops would spend their time on).
pub fn encodings(n: u8, seqs: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    seqs.map(|seq| realistic::frame(n, seq).encode_to_vec()).collect()
}

/// Asserts that `frames` are exactly session `n`'s frames `first..first + len`.
pub fn assert_frames(frames: &[TelemetryFrame], n: u8, first: u64) {
    for (i, frame) in frames.iter().enumerate() {
        let seq = first + i as u64;
        // By encoding: sample frames hold no NaN, but comparing bytes is the stronger check.
        assert_eq!(
            frame.encode_to_vec(),
            realistic::frame(n, seq).encode_to_vec(),
            "frame {seq} of session {n}"
        );
    }
}
