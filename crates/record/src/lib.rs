//! # pitwall-record: the recording format, crash-safe, usable as the bridge's spool
//!
//! A recording is a gzip file of varint-length-delimited `TelemetryFrame` messages, exactly
//! what the original bridge wrote, so that Python reads it with `gzip.open` and a varint loop.
//! It is written as a series of complete gzip **members** (by default one per second of frames
//! or per 256 KiB of them), each holding only whole frames. Python's `gzip` and every other
//! gzip reader read concatenated members as one stream, while a process killed at any moment
//! leaves a file that is good up to its last complete member.
//!
//! - [`RecordWriter`] appends frames ([`RecordWriter::append`], or already encoded bytes with
//!   [`RecordWriter::append_encoded`]), finishes members by age (an injected clock or
//!   [`RecordWriter::tick`]; the library never reads the time itself) and by size, and keeps a
//!   [`MemberIndex`]. [`RecordWriter::open_append`] continues a recording after a crash: it cuts
//!   a torn tail back to the last complete member and reports what it dropped ([`Repair`]).
//! - [`RecordReader`] streams frames back in constant memory, decoded or as raw bytes. On a torn
//!   or corrupt tail it yields every good frame, then one [`RecordError::Truncated`] or
//!   [`RecordError::Corrupt`] naming the damaged member's file offset ([`Damage`]). It can start
//!   at any member ([`RecordReader::open_at`]), which is how the bridge re-reads frames the
//!   server has not acknowledged: [`MemberIndex::resume_point`] says where.
//! - [`scan`] rebuilds the index of an existing file and finds its damage.
//!
//! Identity follows the design notes: each frame is `(session_id, seq)` ([`FrameId`]); the
//! index records, per member, the runs of seqs of each session ([`SessionSpan`]).
//!
//! ```
//! use record::{MemberIndex, RecordOptions, RecordReader, RecordWriter};
//! use proto::telemetry::v1::TelemetryFrame;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("telemetry_record.pb.gz");
//!
//! // Members of 50 ms, with the time told by the caller (here: 3 ms per frame).
//! let options = RecordOptions { member_max_age: std::time::Duration::from_millis(50), ..Default::default() };
//! let mut writer = RecordWriter::create(&path, options)?;
//! let session = prost::bytes::Bytes::from_static(&[7; 16]);
//! for seq in 0..100u64 {
//!     writer.tick(seq * 3_000_000)?;
//!     writer.append(&TelemetryFrame { session_id: session.clone(), seq, speed_kmh: 100.0, ..Default::default() })?;
//! }
//! let index: MemberIndex = writer.close()?;
//! assert_eq!(index.frames(), 100);
//! assert!(index.len() >= 6);
//!
//! // Everything back, in order.
//! let frames = RecordReader::open(&path)?.collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(frames.len(), 100);
//! assert_eq!(frames[99].seq, 99);
//!
//! // Re-read from the member holding seq 60 on, without reading what comes before it.
//! let member = index.find(&session, 60).expect("seq 60 was written");
//! let mut reader = RecordReader::open_member(&path, member)?;
//! let first = reader.next().expect("a frame")?;
//! assert!(first.seq <= 60 && first.seq == member.first().unwrap().seq);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod index;
mod reader;
mod wire;
mod writer;

pub use error::{Damage, DamageKind, RecordError};
pub use index::{FrameId, MemberIndex, MemberInfo, SessionSpan};
pub use reader::{DEFAULT_MAX_MEMBER_BUFFER, RawFrames, ReadOptions, RecordReader, Scan, scan};
pub use writer::{
    DEFAULT_LEVEL, DEFAULT_MEMBER_MAX_AGE, DEFAULT_MEMBER_MAX_BYTES, RecordOptions, RecordWriter, Repair,
    WRITE_CHUNK,
};

/// Largest encoded frame written or read: 16 MiB, over 20 000 times a real frame. A length
/// prefix above it is damage, so a corrupt prefix cannot make a reader allocate gigabytes.
pub const MAX_FRAME_LEN: usize = 16 << 20;
