//! The log itself: positions, frames read back, replay at start-up, and the sinks' cursor (see
//! the module above).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::{Buf as _, Bytes, BytesMut};
use proto::telemetry::v1::TelemetryFrame;
use serde::{Deserialize, Serialize};

use crate::error::{SinkError, WalError};
use crate::session::SessionId;

use super::format::{self, Body, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, Step};

/// A place in the log: a segment and a byte offset in it. Positions order like the log does.
/// Offset 0 means "the start of the segment" (before its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct WalPosition {
    /// Segment index (the file name).
    pub segment: u64,
    /// Byte offset in the segment file.
    pub offset: u64,
}

impl std::fmt::Display for WalPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.segment, self.offset)
    }
}

/// One frame as stored in the log: its key, where it is, and the protobuf bytes the bridge sent.
/// This is what sinks receive. Decoding is left to the sinks that need it ([`WalFrame::decode`]):
/// a sink that stores the bytes as they are (a recording) or drops them (the null sink) should
/// not pay for it.
#[derive(Debug, Clone)]
pub struct WalFrame {
    /// Where the record starts.
    pub position: WalPosition,
    /// The frame's session.
    pub session_id: SessionId,
    /// The frame's seq.
    pub seq: u64,
    /// The encoded `TelemetryFrame`.
    pub bytes: Bytes,
}

impl WalFrame {
    /// The position right after this frame's record: a sink whose output holds this frame is
    /// durable up to here.
    pub fn end(&self) -> WalPosition {
        WalPosition {
            segment: self.position.segment,
            offset: self.position.offset + format::frame_record_len(self.bytes.len()) as u64,
        }
    }

    /// Decodes the frame.
    pub fn decode(&self) -> Result<TelemetryFrame, SinkError> {
        let mut frame = TelemetryFrame::default();
        self.decode_into(&mut frame)?;
        Ok(frame)
    }

    /// Decodes the frame into `frame`, whatever it held before: the same frame as
    /// [`WalFrame::decode`], but a sink that decodes frame after frame into one `TelemetryFrame`
    /// keeps the capacity of its vectors and strings (prost's `clear`), so a frame costs no
    /// allocation. On an error `frame` holds whatever decoded before it.
    pub fn decode_into(&self, frame: &mut TelemetryFrame) -> Result<(), SinkError> {
        proto::decode_frame_into(frame, self.bytes.clone()).map_err(|source| self.decode_error(source))
    }

    fn decode_error(&self, source: prost::DecodeError) -> SinkError {
        SinkError::Decode { session: self.session_id.to_string(), seq: self.seq, source }
    }
}

/// What replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Segments read.
    pub segments: usize,
    /// Frame records read.
    pub frames: u64,
    /// Frame records whose (session, seq) was already seen (the writer never writes these; a
    /// count above 0 means the files were tampered with).
    pub duplicates: u64,
    /// Frames whose seq jumped ahead of the session's next_seq (earlier segments removed by hand).
    pub gaps: u64,
    /// Sessions known after replay.
    pub sessions: usize,
    /// The torn tail cut off the last segment, if there was one.
    pub torn_tail: Option<TornTail>,
    /// Damaged stretches skipped (and kept on disk), in log order.
    pub damaged: Vec<WalDamage>,
}

/// A damaged stretch of a segment with intact records after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalDamage {
    /// The segment file.
    pub path: PathBuf,
    /// Where the damage starts.
    pub offset: u64,
    /// Bytes skipped.
    pub skipped_bytes: u64,
    /// What was wrong.
    pub reason: String,
}

/// A torn record at the end of the last segment, removed by replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Where the file was cut.
    pub offset: u64,
    /// Bytes removed.
    pub dropped_bytes: u64,
    /// What was wrong with the record.
    pub reason: String,
}

/// The log after replay, ready to start its writer.
#[derive(Debug)]
pub struct Wal {
    pub(super) dir: PathBuf,
    pub(super) segments: Vec<u64>,
    pub(super) sessions: HashMap<SessionId, u64>,
    report: ReplayReport,
}

/// File name of segment `index`: zero-padded so names sort like indices.
pub fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:020}.wal"))
}

/// Segment indices present in `dir`, ascending. Other files are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| WalError::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let index = name
            .strip_suffix(".wal")
            .filter(|stem| stem.len() == 20)
            .and_then(|stem| stem.parse::<u64>().ok());
        if let Some(index) = index {
            out.push(index);
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl Wal {
    /// Opens the log in `dir` (created if missing) and replays it: rebuilds each session's
    /// next_seq, skips and reports damage, and truncates a torn tail of the last segment. Reads
    /// one segment at a time, whole. Blocking file I/O: call it from a blocking context.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Wal, WalError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| WalError::io("create", &dir, e))?;
        let mut segments = list_segments(&dir)?;
        let mut sessions: HashMap<SessionId, u64> = HashMap::new();
        let mut report = ReplayReport::default();
        let last = segments.last().copied();
        let mut remove_last = false;
        for &index in &segments {
            let is_last = Some(index) == last;
            let path = segment_path(&dir, index);
            let data = fs::read(&path).map_err(|e| WalError::io("read", &path, e))?;
            let scan = match scan(&path, index, &data, is_last) {
                Ok(scan) => scan,
                // A crash right after creating the newest segment can leave its header torn;
                // nothing in it was ever acked.
                Err(WalError::BadHeader { reason, .. })
                    if is_last && (data.len() as u64) < SEGMENT_HEADER_LEN =>
                {
                    report.torn_tail = Some(TornTail {
                        path: path.clone(),
                        offset: 0,
                        dropped_bytes: data.len() as u64,
                        reason: format!("segment header torn: {reason}"),
                    });
                    remove_last = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            report.segments += 1;
            for d in scan.damaged {
                tracing::error!(
                    segment = %path.display(),
                    offset = d.offset,
                    skipped_bytes = d.len,
                    reason = %d.reason,
                    "WAL damaged: bytes skipped, the intact records after them kept (frames in the damaged bytes are lost)"
                );
                report.damaged.push(WalDamage {
                    path: path.clone(),
                    offset: d.offset,
                    skipped_bytes: d.len,
                    reason: d.reason,
                });
            }
            for (offset, total) in scan.records {
                let body = &data[offset as usize + RECORD_HEADER_LEN..offset as usize + total];
                match format::parse_body(body) {
                    Ok(Body::Frame { session, seq }) => {
                        report.frames += 1;
                        let next = sessions.entry(session).or_insert(0);
                        if seq == *next {
                            *next += 1;
                        } else if seq < *next {
                            report.duplicates += 1;
                        } else {
                            report.gaps += 1;
                            tracing::warn!(%session, seq, expected = *next, segment = index, offset, "gap in the WAL");
                            *next = seq + 1;
                        }
                    }
                    Ok(Body::Sessions(list)) => {
                        for (session, next) in list {
                            let e = sessions.entry(session).or_insert(0);
                            *e = (*e).max(next);
                        }
                    }
                    Ok(Body::Commit) => {}
                    Ok(Body::Unknown(kind)) => {
                        tracing::warn!(kind, segment = index, offset, "unknown WAL record kind skipped");
                    }
                    // The scan has checked every body already.
                    Err(reason) => return Err(WalError::Corrupt { path, offset, reason }),
                }
            }
            if let Some(torn) = scan.torn_tail {
                truncate(&path, torn.offset)?;
                report.torn_tail = Some(TornTail {
                    path: path.clone(),
                    offset: torn.offset,
                    dropped_bytes: torn.len,
                    reason: torn.reason,
                });
            }
        }
        if remove_last {
            if let Some(index) = segments.pop() {
                let path = segment_path(&dir, index);
                fs::remove_file(&path).map_err(|e| WalError::io("remove", &path, e))?;
                sync_dir(&dir)?;
            }
        }
        sessions.retain(|_, next| *next > 0);
        report.sessions = sessions.len();
        Ok(Wal { dir, segments, sessions, report })
    }

    /// Every frame in the log in `dir`, in log order, without changing anything: what replay
    /// would keep (damage is skipped, a torn tail of the last segment left out, not cut). For
    /// tests and tools; the server streams the log instead of loading it.
    pub fn read_all(dir: impl AsRef<Path>) -> Result<Vec<WalFrame>, WalError> {
        let dir = dir.as_ref();
        let segments = list_segments(dir)?;
        let mut out = Vec::new();
        for (i, &index) in segments.iter().enumerate() {
            let path = segment_path(dir, index);
            let data = Bytes::from(fs::read(&path).map_err(|e| WalError::io("read", &path, e))?);
            let is_last = i + 1 == segments.len();
            let scan = match scan(&path, index, &data, is_last) {
                Ok(scan) => scan,
                Err(WalError::BadHeader { .. }) if is_last && (data.len() as u64) < SEGMENT_HEADER_LEN => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            for (offset, total) in scan.records {
                let body = data.slice(offset as usize + RECORD_HEADER_LEN..offset as usize + total);
                if let Ok(Body::Frame { session, seq }) = format::parse_body(&body) {
                    out.push(WalFrame {
                        position: WalPosition { segment: index, offset },
                        session_id: session,
                        seq,
                        bytes: body.slice(format::FRAME_PREFIX_LEN..),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Each session's next_seq after replay (sessions with nothing durable are left out).
    pub fn sessions(&self) -> &HashMap<SessionId, u64> {
        &self.sessions
    }

    /// What replay found.
    pub fn report(&self) -> &ReplayReport {
        &self.report
    }

    /// Segment indices present after replay, ascending.
    pub fn segments(&self) -> &[u64] {
        &self.segments
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// [`format::scan_segment`] of segment `index`, read from `path`, with errors naming the file.
fn scan(path: &Path, index: u64, data: &[u8], is_last: bool) -> Result<format::SegmentScan, WalError> {
    let scan = format::scan_segment(data, is_last)
        .map_err(|reason| WalError::BadHeader { path: path.to_owned(), reason })?;
    if scan.index != index {
        return Err(WalError::BadHeader {
            path: path.to_owned(),
            reason: format!("header names segment {}, file name says {index}", scan.index),
        });
    }
    Ok(scan)
}

fn truncate(path: &Path, len: u64) -> Result<(), WalError> {
    let f = OpenOptions::new().write(true).open(path).map_err(|e| WalError::io("open", path, e))?;
    f.set_len(len).map_err(|e| WalError::io("truncate", path, e))?;
    f.sync_all().map_err(|e| WalError::io("fsync", path, e))
}

/// Makes a directory's entries (new or removed files) durable. Only Unix needs (and allows) this:
/// Windows cannot open a directory as a file, and NTFS journals its metadata.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    if cfg!(unix) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| WalError::io("fsync directory", dir, e))
    } else {
        Ok(())
    }
}

/// What [`SegmentReader::next`] found.
#[derive(Debug)]
pub(crate) enum Next {
    /// A record that passed its checks; `body` excludes the length and CRC.
    Record { offset: u64, body: Bytes },
    /// The limit or the end of the file, at a record boundary.
    End,
    /// Damaged bytes, skipped: intact records follow them.
    Damaged { offset: u64, len: u64, reason: String },
    /// Bad bytes that nothing valid follows up to the limit or the end of the file.
    Bad { offset: u64, reason: String },
}

/// Reads one segment's records sequentially, in chunks. Records are handed out as slices of the
/// chunk (no copy per record).
#[derive(Debug)]
pub(crate) struct SegmentReader {
    path: PathBuf,
    file: File,
    buf: BytesMut,
    /// File offset of `buf[0]`.
    buf_offset: u64,
}

const READ_CHUNK: usize = 1 << 20;

impl SegmentReader {
    /// Opens segment `index` and checks its header; reading starts at `offset` (or right after
    /// the header when `offset` is inside it).
    pub(crate) fn open(path: &Path, index: u64, offset: u64) -> Result<Self, WalError> {
        let mut file = File::open(path).map_err(|e| WalError::io("open", path, e))?;
        let mut header = Vec::with_capacity(SEGMENT_HEADER_LEN as usize);
        (&mut file)
            .take(SEGMENT_HEADER_LEN)
            .read_to_end(&mut header)
            .map_err(|e| WalError::io("read", path, e))?;
        let found = format::parse_segment_header(&header)
            .map_err(|reason| WalError::BadHeader { path: path.to_owned(), reason })?;
        if found != index {
            return Err(WalError::BadHeader {
                path: path.to_owned(),
                reason: format!("header names segment {found}, file name says {index}"),
            });
        }
        let start = offset.max(SEGMENT_HEADER_LEN);
        if start > SEGMENT_HEADER_LEN {
            use std::io::Seek as _;
            file.seek(std::io::SeekFrom::Start(start)).map_err(|e| WalError::io("seek", path, e))?;
        }
        Ok(SegmentReader { path: path.to_owned(), file, buf: BytesMut::new(), buf_offset: start })
    }

    /// The next record that ends at or before `limit` (a file offset). Bad bytes are sorted
    /// out as [`format::step`] does (so as replay did): the rest of the file up to `limit` is
    /// read first, to see whether intact records follow them.
    pub(crate) fn next(&mut self, limit: u64) -> Result<Next, WalError> {
        let mut file_end = false;
        loop {
            let end = self.buf_offset + self.buf.len() as u64;
            match format::step(&self.buf, file_end || end >= limit) {
                Step::Record { total } => {
                    let offset = self.buf_offset;
                    if offset + total as u64 > limit {
                        return Ok(Next::End);
                    }
                    let record = self.buf.split_to(total).freeze();
                    self.buf_offset += total as u64;
                    return Ok(Next::Record { offset, body: record.slice(RECORD_HEADER_LEN..) });
                }
                Step::End => return Ok(Next::End),
                Step::Damaged { skip, reason } => {
                    let offset = self.buf_offset;
                    self.buf.advance(skip);
                    self.buf_offset += skip as u64;
                    return Ok(Next::Damaged { offset, len: skip as u64, reason });
                }
                Step::Torn { reason } => return Ok(Next::Bad { offset: self.buf_offset, reason }),
                Step::NeedMore => {
                    let want = READ_CHUNK.min((limit - end).min(usize::MAX as u64) as usize);
                    let start = self.buf.len();
                    self.buf.resize(start + want, 0);
                    let n = loop {
                        match self.file.read(&mut self.buf[start..]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(WalError::io("read", &self.path, e)),
                        }
                    };
                    self.buf.truncate(start + n);
                    file_end = n == 0;
                }
            }
        }
    }
}

/// Reads frames across segments from a position up to a committed end. Used by the sink
/// pipeline, live and after a restart.
#[derive(Debug)]
pub(crate) struct WalCursor {
    dir: PathBuf,
    pos: WalPosition,
    reader: Option<SegmentReader>,
}

impl WalCursor {
    pub(crate) fn new(dir: &Path, pos: WalPosition) -> Self {
        WalCursor { dir: dir.to_owned(), pos, reader: None }
    }

    /// Up to `max` frames between the cursor and `end`. Empty when caught up. Damage is skipped
    /// (replay has reported it); bad bytes to the end of a segment before `end`'s are damage too
    /// (replay cut the only torn tail there was); in `end`'s segment, the live one, they fail
    /// the read.
    pub(crate) fn read(&mut self, end: WalPosition, max: usize) -> Result<Vec<WalFrame>, WalError> {
        let mut out = Vec::new();
        while out.len() < max && self.pos < end {
            let segment = self.pos.segment;
            if self.reader.is_none() {
                let path = segment_path(&self.dir, segment);
                if !path.exists() && segment < end.segment {
                    // Only a removed-by-hand segment can be missing; carry on with the next.
                    tracing::warn!(path = %path.display(), "WAL segment missing, skipped");
                    self.pos = WalPosition { segment: segment + 1, offset: 0 };
                    continue;
                }
                self.reader = Some(SegmentReader::open(&path, segment, self.pos.offset)?);
                self.pos.offset = self.pos.offset.max(SEGMENT_HEADER_LEN);
            }
            let Some(reader) = self.reader.as_mut() else { continue };
            let limit = if segment == end.segment { end.offset } else { u64::MAX };
            match reader.next(limit)? {
                Next::Record { offset, body } => {
                    self.pos.offset = offset + (RECORD_HEADER_LEN + body.len()) as u64;
                    match format::parse_body(&body) {
                        Ok(Body::Frame { session, seq }) => out.push(WalFrame {
                            position: WalPosition { segment, offset },
                            session_id: session,
                            seq,
                            bytes: body.slice(format::FRAME_PREFIX_LEN..),
                        }),
                        Ok(Body::Sessions(_) | Body::Commit | Body::Unknown(_)) => {}
                        Err(reason) => {
                            return Err(WalError::Corrupt { path: reader.path.clone(), offset, reason });
                        }
                    }
                }
                Next::End if segment < end.segment => {
                    self.reader = None;
                    self.pos = WalPosition { segment: segment + 1, offset: 0 };
                }
                Next::Damaged { offset, len, reason } => {
                    tracing::warn!(segment = %reader.path.display(), offset, skipped_bytes = len, %reason, "damaged WAL bytes skipped");
                    self.pos.offset = offset + len;
                }
                Next::End => break,
                Next::Bad { offset, reason } if segment < end.segment => {
                    tracing::warn!(segment = %reader.path.display(), offset, %reason, "damaged WAL bytes to the end of the segment skipped");
                    self.reader = None;
                    self.pos = WalPosition { segment: segment + 1, offset: 0 };
                }
                Next::Bad { offset, reason } => {
                    return Err(WalError::Corrupt { path: reader.path.clone(), offset, reason });
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn position(&self) -> WalPosition {
        self.pos
    }
}
