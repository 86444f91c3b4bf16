//! Errors of the recording crate, and the description of a damaged recording.
//!
//! Damage is data, not only an error: a reader that meets it yields one
//! [`RecordError::Truncated`] or [`RecordError::Corrupt`] after the good frames, keeps the
//! [`Damage`] for [`crate::RecordReader::damages`], and [`crate::scan`] returns every damaged
//! stretch inside its report, so that [`crate::RecordWriter::open_append`] can tell a torn tail
//! (cut, its frames written again) from damage that good members follow (kept, skipped).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What is wrong at a damaged spot of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamageKind {
    /// The file ends inside a gzip member header.
    TruncatedHeader,
    /// The file ends inside a member's compressed data: the classic torn tail of a writer killed
    /// while writing a member.
    TruncatedData,
    /// The file ends inside a member's 8-byte trailer (CRC-32 and size).
    TruncatedTrailer,
    /// Only zero bytes follow the last complete member, as a file system leaves a file whose
    /// size was extended but whose data never reached the disk (power loss).
    ZeroPadding,
    /// The bytes where a member should start are not a gzip header.
    NotGzip {
        /// The first two bytes found (0 where the file ended).
        magic: [u8; 2],
    },
    /// A gzip header this reader does not accept (compression method, reserved flags, header
    /// CRC).
    BadHeader(&'static str),
    /// The compressed data does not inflate.
    BadDeflate(String),
    /// The member's stored CRC-32 differs from the data's.
    CrcMismatch {
        /// CRC-32 in the trailer.
        stored: u32,
        /// CRC-32 of the inflated data.
        computed: u32,
    },
    /// The member's stored size (mod 2^32) differs from the inflated data's.
    SizeMismatch {
        /// Size in the trailer.
        stored: u32,
        /// Size of the inflated data, mod 2^32.
        computed: u32,
    },
    /// A frame's varint length prefix is cut off by the member's end, or is not a valid varint.
    BadFrameLength,
    /// A frame's length prefix is larger than [`crate::MAX_FRAME_LEN`].
    FrameTooLarge {
        /// The length in the prefix.
        len: u64,
    },
    /// A frame's length prefix points past the end of its member (frames are never split
    /// across members).
    FrameOverrun {
        /// The length in the prefix.
        len: u64,
        /// Bytes left in the member after the prefix.
        available: u64,
    },
    /// A frame's bytes do not decode as a `TelemetryFrame`.
    BadFrame(String),
}

impl DamageKind {
    /// Whether this is a torn tail (the file simply ends early), as opposed to bytes that are
    /// present but wrong.
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            DamageKind::TruncatedHeader
                | DamageKind::TruncatedData
                | DamageKind::TruncatedTrailer
                | DamageKind::ZeroPadding
        )
    }
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::TruncatedHeader => f.write_str("the file ends inside a gzip member header"),
            DamageKind::TruncatedData => f.write_str("the file ends inside a gzip member's data"),
            DamageKind::TruncatedTrailer => {
                f.write_str("the file ends inside a gzip member's CRC/size trailer")
            }
            DamageKind::ZeroPadding => f.write_str("only zero bytes follow (a torn tail)"),
            DamageKind::NotGzip { magic } => {
                write!(f, "not a gzip member (starts with {:02x} {:02x})", magic[0], magic[1])
            }
            DamageKind::BadHeader(what) => write!(f, "bad gzip header: {what}"),
            DamageKind::BadDeflate(what) => write!(f, "compressed data does not inflate: {what}"),
            DamageKind::CrcMismatch { stored, computed } => {
                write!(f, "CRC-32 mismatch: stored {stored:08x}, data has {computed:08x}")
            }
            DamageKind::SizeMismatch { stored, computed } => {
                write!(f, "size mismatch: stored {stored}, data has {computed}")
            }
            DamageKind::BadFrameLength => f.write_str("a frame's length prefix is cut off or invalid"),
            DamageKind::FrameTooLarge { len } => {
                write!(f, "a frame claims {len} bytes, over the {} limit", crate::MAX_FRAME_LEN)
            }
            DamageKind::FrameOverrun { len, available } => {
                write!(f, "a frame claims {len} bytes but its member has {available} left")
            }
            DamageKind::BadFrame(what) => write!(f, "a frame does not decode: {what}"),
        }
    }
}

/// Where and how a recording is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// File offset of the damaged member's first byte (the end of the last complete member).
    pub offset: u64,
    /// File offset at which the damage became visible (inside or at the end of the member).
    pub detected_at: u64,
    /// What is wrong.
    pub kind: DamageKind,
    /// Frames in the complete members read before the damaged one (from where reading started).
    pub frames_before: u64,
    /// Frames of the damaged member that were yielded anyway: only with
    /// [`crate::ReadOptions::salvage`], or for a member too large to check before yielding
    /// (see [`crate::ReadOptions::max_member_buffer`]).
    pub frames_salvaged: u64,
    /// With [`crate::ReadOptions::resync`]: file offset of the next good member, where reading
    /// went on; `None` when nothing readable follows (a torn tail, garbage to the end). For a
    /// frame that does not decode inside a good member, that member's offset: only the frame
    /// was skipped.
    pub resumed_at: Option<u64>,
}

impl Damage {
    /// The error a reader of `path` reports for this damage.
    pub fn to_error(&self, path: impl Into<PathBuf>) -> RecordError {
        let path = path.into();
        let Damage { offset, detected_at, kind, frames_before, resumed_at, .. } = self.clone();
        if kind.is_truncation() && resumed_at.is_none() {
            RecordError::Truncated { path, offset, detected_at, kind, frames_before }
        } else {
            RecordError::Corrupt { path, offset, detected_at, kind, frames_before, resumed_at }
        }
    }
}

/// Errors of reading and writing recordings.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// An I/O operation on the file failed.
    #[error("{path}: {op} at byte {offset}: {source}")]
    Io {
        /// The recording.
        path: PathBuf,
        /// What was being done, e.g. "write member".
        op: &'static str,
        /// File offset where it was done.
        offset: u64,
        /// The OS error.
        source: io::Error,
    },
    /// The recording ends early (a torn tail): everything before `offset` was read.
    #[error(
        "{path}: truncated at byte {offset}: {kind} (seen at byte {detected_at}); \
         {frames_before} frames before it are intact"
    )]
    Truncated {
        /// The recording.
        path: PathBuf,
        /// File offset of the incomplete member (the end of the last complete one).
        offset: u64,
        /// File offset where the end was met.
        detected_at: u64,
        /// Which part was cut.
        kind: DamageKind,
        /// Frames read from complete members before it.
        frames_before: u64,
    },
    /// The recording holds bytes that are wrong: everything before `offset` was read, and,
    /// when reading went on, everything from `resumed_at`.
    #[error(
        "{path}: corrupt member at byte {offset}: {kind} (seen at byte {detected_at}); \
         {frames_before} frames before it are intact{}", resumed(*.resumed_at)
    )]
    Corrupt {
        /// The recording.
        path: PathBuf,
        /// File offset of the damaged member.
        offset: u64,
        /// File offset where the damage was seen.
        detected_at: u64,
        /// What is wrong.
        kind: DamageKind,
        /// Frames read from complete members before it.
        frames_before: u64,
        /// Where reading went on after the damage ([`Damage::resumed_at`]).
        resumed_at: Option<u64>,
    },
    /// Bytes given to [`crate::RecordWriter::append_encoded`] are not an encoded frame.
    #[error("{path}: refusing to append at byte {offset}: not an encoded TelemetryFrame: {reason}")]
    InvalidFrame {
        /// The recording.
        path: PathBuf,
        /// End of the file's complete members when the frame was refused.
        offset: u64,
        /// What is wrong with the bytes.
        reason: String,
    },
    /// A frame is larger than [`crate::MAX_FRAME_LEN`], so no reader would accept it.
    #[error("{path}: refusing to append at byte {offset}: a {len}-byte frame is over the {max}-byte limit")]
    FrameTooLarge {
        /// The recording.
        path: PathBuf,
        /// End of the file's complete members when the frame was refused.
        offset: u64,
        /// The frame's encoded length.
        len: usize,
        /// [`crate::MAX_FRAME_LEN`].
        max: usize,
    },
}

impl RecordError {
    /// The file offset the error names: for damage, the damaged member's start.
    pub fn offset(&self) -> u64 {
        match self {
            RecordError::Io { offset, .. }
            | RecordError::Truncated { offset, .. }
            | RecordError::Corrupt { offset, .. }
            | RecordError::InvalidFrame { offset, .. }
            | RecordError::FrameTooLarge { offset, .. } => *offset,
        }
    }

    /// Whether the error reports a damaged recording (as opposed to I/O or a refused append).
    pub fn is_damage(&self) -> bool {
        matches!(self, RecordError::Truncated { .. } | RecordError::Corrupt { .. })
    }

    pub(crate) fn io(path: &std::path::Path, op: &'static str, offset: u64, source: io::Error) -> Self {
        RecordError::Io { path: path.to_owned(), op, offset, source }
    }
}

fn resumed(at: Option<u64>) -> String {
    match at {
        Some(at) => format!("; skipped, reading on at byte {at}"),
        None => String::new(),
    }
}
