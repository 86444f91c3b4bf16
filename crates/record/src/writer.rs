//! Writing recordings: frames are compressed into the open gzip member, whose compressed bytes
//! go to the file as they accumulate (every [`WRITE_CHUNK`]) and in full when the member is
//! finished (by age, by size, or on request). The file thus always holds complete members
//! followed by at most one member in progress: a process killed at any moment leaves that
//! member torn, which readers report and [`RecordWriter::open_append`] repairs: the torn
//! member's complete frames (what a salvaging reader, Python's `gzip` among them, reads up to
//! the cut) are written again as a complete member and the torn bytes are cut.
//!
//! The open member's bytes also stay in memory until it is finished, so that a failed write
//! (a full disk) loses nothing: the file is cut back to its last complete member and the member
//! is written again, whole, on the next attempt.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;

use crate::MAX_FRAME_LEN;
use crate::error::{Damage, RecordError};
use crate::index::{MemberIndex, MemberTally};
use crate::reader;
use crate::wire;

/// Default of [`RecordOptions::member_max_age`]: the bridge's loss window on a crash.
pub const DEFAULT_MEMBER_MAX_AGE: Duration = Duration::from_secs(1);
/// Default of [`RecordOptions::member_max_bytes`].
pub const DEFAULT_MEMBER_MAX_BYTES: usize = 256 << 10;
/// The open member's compressed bytes are written to the file once this many have accumulated:
/// often enough that a crash leaves most of a long member readable to a salvaging reader, rarely
/// enough (every few seconds at the bridge's rate) to cost nothing.
pub const WRITE_CHUNK: usize = 16 << 10;
/// Frames are gathered uncompressed and deflated this many bytes at a time (and at the end of a
/// member). One frame at a time, the compressor's tables (over 200 KB) went cold between the
/// bridge's 3 ms steps and deflating cost six times what it costs in one run (measured: 40
/// against 250 MB/s; 32 KB chunks 150): it was a third of the bridge's sampling CPU. At the
/// bridge's rate (about 250 KB a second) a member is deflated in two runs (about 1.1 ms for
/// 235 KB here, measured in the bridge). Chunks still leave the open member partly in the file
/// (every [`WRITE_CHUNK`] of output) for a salvaging reader; a member is unreadable to an
/// ordinary reader until it is finished anyway.
pub const DEFLATE_CHUNK: usize = 128 << 10;

/// Default of [`RecordOptions::level`]. Measured with zlib-rs on realistic frames (860 bytes
/// encoded; `cargo bench -p pitwall-record`): level 1 writes about 150 000 frames/s, levels 2
/// and 3 about 80 000, level 6 55 000; the files are 63%, 55%, 54.5% and 54% of the frames'
/// size, and level 1 files also read about 15% faster. Level 1 costs the bridge half the CPU
/// of level 2 for files 14% larger, and reads back fastest when the bridge catches up after
/// an outage.
pub const DEFAULT_LEVEL: u32 = 1;

/// How a [`RecordWriter`] cuts members and compresses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// A member is finished once its first frame is this old, as told by the clock
    /// ([`RecordWriter::with_clock`]) or [`RecordWriter::tick`]. Bounds the frames a crash can
    /// lose.
    pub member_max_age: Duration,
    /// A member is finished before a frame would take its inflated size (frames and their
    /// length prefixes) past this. A single larger frame gets a member of its own.
    pub member_max_bytes: usize,
    /// Deflate level, 0 (stored) to 9.
    pub level: u32,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            member_max_age: DEFAULT_MEMBER_MAX_AGE,
            member_max_bytes: DEFAULT_MEMBER_MAX_BYTES,
            level: DEFAULT_LEVEL,
        }
    }
}

/// What [`RecordWriter::open_append`] found in a damaged recording, and what it did.
///
/// Only a torn tail is cut: the member a writer was writing when it stopped, which ends the
/// file early. Its complete frames are written again first, in a new member. Any other damage
/// (bytes that are wrong, whether good members follow them or not) is left in place: readers
/// skip it ([`crate::ReadOptions::resync`]) and new members go after the end of the file, so
/// nothing that may still hold data is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Every damaged stretch found, in file order (a torn tail last).
    pub damages: Vec<Damage>,
    /// Bytes of a torn tail cut off (0 when there was none).
    pub cut_bytes: u64,
    /// Complete frames the torn tail held, written again in a new member before the cut.
    pub rewritten_frames: u64,
    /// Damaged bytes left in the file, which readers skip.
    pub kept_bytes: u64,
}

impl fmt::Display for Repair {
    /// One line for a log or a terminal: each damaged stretch and what was done about it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.damages.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match d.resumed_at {
                Some(at) => write!(
                    f,
                    "damaged at byte {} ({}): kept in place and skipped, reading on at byte {at}",
                    d.offset, d.kind
                )?,
                None if d.kind.is_truncation() => write!(
                    f,
                    "torn tail at byte {} ({}): {} bytes cut, its {} complete frames written again",
                    d.offset, d.kind, self.cut_bytes, self.rewritten_frames
                )?,
                None => write!(
                    f,
                    "damaged from byte {} to the end ({}): kept in place, new frames go after it",
                    d.offset, d.kind
                )?,
            }
        }
        Ok(())
    }
}

impl Repair {
    /// The torn tail that was cut, if any.
    pub fn torn_tail(&self) -> Option<&Damage> {
        self.damages.last().filter(|d| d.resumed_at.is_none() && d.kind.is_truncation())
    }
}

/// A monotonic clock, in nanoseconds from any origin.
type Clock = Box<dyn FnMut() -> u64 + Send>;

/// The member being filled.
struct OpenMember {
    tally: MemberTally,
    crc: Crc,
    /// Clock reading when the member got its first frame (`None` until a time is known).
    started_ns: Option<u64>,
}

/// A finished member that is not (completely) in the file yet.
struct Sealed {
    bytes: Vec<u8>,
    /// Bytes of it already in the file, past the last complete member.
    written: usize,
    tally: MemberTally,
}

/// Writes a recording: appends frames, finishes members, keeps the member index.
///
/// Dropping the writer finishes the open member (errors ignored); [`RecordWriter::close`]
/// does it and reports errors.
pub struct RecordWriter {
    path: PathBuf,
    file: File,
    options: RecordOptions,
    compress: Compress,
    /// The open member's compressed bytes, header first.
    out: Vec<u8>,
    /// The open member's records not yet deflated (less than [`DEFLATE_CHUNK`]).
    raw: Vec<u8>,
    /// Bytes of `out` already in the file, past the last complete member.
    written: usize,
    /// Whether the open member's bytes may go to the file before it is finished (not after a
    /// failed write, nor while an older member waits to be written).
    stream: bool,
    member: Option<OpenMember>,
    /// A member whose write failed, kept to be written before anything else.
    unwritten: Option<Sealed>,
    /// A failed write may have left part of a member in the file: cut it before writing again.
    torn: bool,
    scratch: Vec<u8>,
    /// File offset just past the last complete member.
    end: u64,
    index: MemberIndex,
    now_ns: Option<u64>,
    clock: Option<Clock>,
}

impl fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordWriter")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("end", &self.end)
            .field("members", &self.index.len())
            .field("pending_frames", &self.pending_frames())
            .field("has_clock", &self.clock.is_some())
            .finish_non_exhaustive()
    }
}

impl RecordWriter {
    /// Creates a recording at `path`, replacing any file there.
    pub fn create(path: impl AsRef<Path>, options: RecordOptions) -> Result<Self, RecordError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| RecordError::io(path, "create", 0, e))?;
        sync_parent(path)?;
        Ok(Self::new(path, file, options, MemberIndex::new(), 0))
    }

    /// Opens the recording at `path` (created if missing) to append to it, as a process
    /// restarting on its own spool does. The file is scanned first (reading on past damage)
    /// and the index of every good member rebuilt, those after damage included. A torn tail
    /// (a member cut short by a crash, or zeros a power loss left) is repaired: its complete
    /// frames are written again as a new member and the torn bytes cut. Any other damage is
    /// kept in place and skipped by readers; new members go after the file's end. What was
    /// found and done is the returned [`Repair`].
    ///
    /// A crash between the cut and the new member's fsync loses the torn tail's frames: the
    /// same frames a crash a moment earlier would have lost.
    pub fn open_append(
        path: impl AsRef<Path>,
        options: RecordOptions,
    ) -> Result<(Self, Option<Repair>), RecordError> {
        let path = path.as_ref();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| RecordError::io(path, "open", 0, e))?;
        let scan = reader::scan_file(&file, path)?;
        if scan.file_len == 0 {
            // Possibly just created: make its directory entry durable.
            sync_parent(path)?;
        }
        let mut end = scan.file_len;
        let mut rewrite = Vec::new();
        let mut kept_bytes = 0;
        for d in &scan.damages {
            match d.resumed_at {
                Some(at) => kept_bytes += at.saturating_sub(d.offset),
                None if d.kind.is_truncation() => {
                    rewrite = salvage(&file, path, d.offset, scan.file_len)?;
                    end = d.offset;
                }
                None => kept_bytes += scan.file_len - d.offset,
            }
        }
        let cut_bytes = scan.file_len - end;
        if cut_bytes > 0 {
            file.set_len(end).map_err(|e| RecordError::io(path, "truncate", end, e))?;
            file.sync_all().map_err(|e| RecordError::io(path, "fsync", end, e))?;
        }
        file.seek(SeekFrom::Start(end)).map_err(|e| RecordError::io(path, "seek", end, e))?;
        let mut writer = Self::new(path, file, options, scan.index, end);
        for frame in &rewrite {
            writer.append_encoded(frame)?;
        }
        if !rewrite.is_empty() {
            writer.sync()?;
        }
        let repair = (!scan.damages.is_empty()).then_some(Repair {
            damages: scan.damages,
            cut_bytes,
            rewritten_frames: rewrite.len() as u64,
            kept_bytes,
        });
        Ok((writer, repair))
    }

    fn new(path: &Path, file: File, options: RecordOptions, index: MemberIndex, end: u64) -> Self {
        let level = Compression::new(options.level.min(9));
        RecordWriter {
            path: path.to_owned(),
            file,
            compress: Compress::new(level, false),
            options,
            out: Vec::new(),
            raw: Vec::new(),
            written: 0,
            stream: true,
            member: None,
            unwritten: None,
            torn: false,
            scratch: Vec::new(),
            end,
            index,
            now_ns: None,
            clock: None,
        }
    }

    /// Gives the writer a monotonic clock (nanoseconds, any origin), read on every append to
    /// finish members by age. Without one, call [`RecordWriter::tick`].
    pub fn with_clock(mut self, clock: impl FnMut() -> u64 + Send + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Appends a frame.
    pub fn append(&mut self, frame: &TelemetryFrame) -> Result<(), RecordError> {
        let mut scratch = mem::take(&mut self.scratch);
        scratch.clear();
        let result = match frame.encode(&mut scratch) {
            Ok(()) => self.append_record(&scratch, &frame.session_id, frame.seq),
            // A Vec grows as needed, so prost does not fail here; reported rather than assumed.
            Err(e) => Err(self.invalid(e.to_string())),
        };
        self.scratch = scratch;
        result
    }

    /// Appends a frame already encoded (without a length prefix), e.g. the bytes just sent over
    /// gRPC, to avoid encoding it twice. Only the top level is checked (well-formed fields,
    /// `session_id` and `seq` of the right types), not that nested messages decode.
    pub fn append_encoded(&mut self, frame: &[u8]) -> Result<(), RecordError> {
        let id = wire::frame_id(frame).map_err(|reason| self.invalid(reason))?;
        self.append_record(frame, &frame[id.session_id], id.seq)
    }

    /// Appends a frame already encoded whose identity the caller knows, because it encoded the
    /// frame itself: unlike [`append_encoded`](Self::append_encoded) the bytes are not walked to
    /// find and check it (that walk was a twentieth of the bridge's sampling CPU). A wrong
    /// identity does not damage the file, but the member index would describe the frame wrongly.
    pub fn append_encoded_as(
        &mut self,
        frame: &[u8],
        session_id: &[u8],
        seq: u64,
    ) -> Result<(), RecordError> {
        self.append_record(frame, session_id, seq)
    }

    fn invalid(&self, reason: String) -> RecordError {
        RecordError::InvalidFrame { path: self.path.clone(), offset: self.end, reason }
    }

    /// Appends one frame: `Ok` means it is in the open member; `Err` means it is not (a refused
    /// frame, or a member that could not be finished to make room: nothing else changed but the
    /// clock).
    fn append_record(&mut self, frame: &[u8], session_id: &[u8], seq: u64) -> Result<(), RecordError> {
        if frame.len() > MAX_FRAME_LEN {
            return Err(RecordError::FrameTooLarge {
                path: self.path.clone(),
                offset: self.end,
                len: frame.len(),
                max: MAX_FRAME_LEN,
            });
        }
        if let Some(clock) = self.clock.as_mut() {
            let now = clock();
            self.tick(now)?;
        }
        let (prefix, prefix_len) = wire::varint_array(frame.len() as u64);
        let record_len = prefix_len + frame.len();
        if let Some(member) = &self.member {
            let raw_len = member.tally.raw_len as usize;
            if member.tally.frames > 0 && raw_len + record_len > self.options.member_max_bytes {
                self.finish_member()?;
            }
        }
        if self.member.is_none() {
            self.out.clear();
            self.out.extend_from_slice(&gzip_header(self.options.level));
            self.raw.clear();
            self.written = 0;
            self.stream = true;
            self.compress.reset();
        }
        let now = self.now_ns;
        let member = self.member.get_or_insert_with(|| OpenMember {
            tally: MemberTally::default(),
            crc: Crc::new(),
            started_ns: now,
        });
        member.crc.update(&prefix[..prefix_len]);
        member.crc.update(frame);
        member.tally.add(session_id, seq, record_len as u64);
        self.raw.extend_from_slice(&prefix[..prefix_len]);
        self.raw.extend_from_slice(frame);
        if self.raw.len() < DEFLATE_CHUNK {
            return Ok(());
        }
        let deflated = deflate(&mut self.compress, &mut self.out, &self.raw, false);
        self.raw.clear();
        if let Err(e) = deflated {
            // The compressor's state is unknown: the open member is lost. zlib only fails like
            // this on misuse, which the loop in `deflate` does not do.
            self.member = None;
            self.torn = self.written > 0;
            let _ = self.cut_torn();
            return Err(RecordError::io(&self.path, "compress", self.end, e));
        }
        if self.stream && self.unwritten.is_none() && self.out.len() - self.written >= WRITE_CHUNK {
            // Not reported here: the bytes are still in memory, and finish_member writes them
            // (and reports a failure) whole.
            if self.write_open().is_err() {
                self.stream = false;
            }
        }
        Ok(())
    }

    /// Writes the open member's bytes not yet in the file.
    fn write_open(&mut self) -> Result<(), RecordError> {
        self.cut_torn()?;
        let offset = self.end + self.written as u64;
        match self.file.write_all(&self.out[self.written..]) {
            Ok(()) => {
                self.written = self.out.len();
                Ok(())
            }
            Err(e) => {
                self.torn = true;
                let _ = self.cut_torn();
                Err(RecordError::io(&self.path, "write member", offset, e))
            }
        }
    }

    /// Tells the writer the time (monotonic, nanoseconds, same origin every call): finishes the
    /// open member if its first frame is [`RecordOptions::member_max_age`] old, and retries a
    /// member whose write failed. Returns whether a member was written. Call it periodically
    /// (e.g. every sampling tick) when frames may stop coming, so that the last ones still
    /// reach the file.
    pub fn tick(&mut self, now_ns: u64) -> Result<bool, RecordError> {
        self.now_ns = Some(self.now_ns.map_or(now_ns, |t| t.max(now_ns)));
        let now = self.now_ns.unwrap_or(now_ns);
        let retried = self.unwritten.is_some();
        self.write_unwritten()?;
        let max_age = u64::try_from(self.options.member_max_age.as_nanos()).unwrap_or(u64::MAX);
        let Some(member) = &mut self.member else {
            return Ok(retried);
        };
        match member.started_ns {
            None => {
                member.started_ns = Some(now);
                Ok(retried)
            }
            Some(start) if now.saturating_sub(start) >= max_age => {
                self.finish_member()?;
                Ok(true)
            }
            Some(_) => Ok(retried),
        }
    }

    /// Finishes the open member and writes it to the file: when this returns, its frames are in
    /// the OS (they survive the process being killed, not a power loss; see
    /// [`RecordWriter::sync`]). Nothing happens without an open member.
    pub fn finish_member(&mut self) -> Result<(), RecordError> {
        self.write_unwritten()?;
        let Some(member) = self.member.take() else {
            return Ok(());
        };
        let deflated = deflate(&mut self.compress, &mut self.out, &self.raw, true);
        self.raw.clear();
        if let Err(e) = deflated {
            // As in append_record: not expected, and the member cannot be finished.
            self.torn = self.written > 0;
            let _ = self.cut_torn();
            return Err(RecordError::io(&self.path, "compress", self.end, e));
        }
        self.out.extend_from_slice(&member.crc.sum().to_le_bytes());
        // ISIZE is the inflated size mod 2^32 (RFC 1952).
        self.out.extend_from_slice(&(member.tally.raw_len as u32).to_le_bytes());
        let written = mem::take(&mut self.written);
        self.unwritten = Some(Sealed { bytes: mem::take(&mut self.out), written, tally: member.tally });
        self.write_unwritten()
    }

    /// Writes the member whose write is pending (after a failure), if any.
    fn write_unwritten(&mut self) -> Result<(), RecordError> {
        let Some(mut sealed) = self.unwritten.take() else {
            return Ok(());
        };
        if self.torn {
            // Whatever was in the file of this member is cut off with the torn part.
            sealed.written = 0;
        }
        let offset = self.end + sealed.written as u64;
        let written = self.cut_torn().and_then(|()| {
            self.file
                .write_all(&sealed.bytes[sealed.written..])
                .map_err(|e| RecordError::io(&self.path, "write member", offset, e))
        });
        match written {
            Ok(()) => {
                let len = sealed.bytes.len() as u64;
                self.index.push(sealed.tally.finish(self.end, len));
                self.end += len;
                if self.member.is_none() {
                    // Reuse the allocation for the next member.
                    self.out = sealed.bytes;
                }
                Ok(())
            }
            Err(e) => {
                // Part of the member may be in the file: cut it before the next write, so the
                // file goes on ending with a complete member. The member is kept for a retry.
                self.torn = true;
                let _ = self.cut_torn();
                sealed.written = 0;
                self.unwritten = Some(sealed);
                Err(e)
            }
        }
    }

    /// Cuts what a failed write left past the last complete member; the open member, if any,
    /// is then written again from its start.
    fn cut_torn(&mut self) -> Result<(), RecordError> {
        if self.torn {
            let end = self.end;
            self.written = 0;
            self.file.set_len(end).map_err(|e| RecordError::io(&self.path, "truncate", end, e))?;
            self.file.seek(SeekFrom::Start(end)).map_err(|e| RecordError::io(&self.path, "seek", end, e))?;
            self.torn = false;
        }
        Ok(())
    }

    /// Finishes the open member and fsyncs the file: when this returns, every frame appended so
    /// far survives a power loss.
    pub fn sync(&mut self) -> Result<(), RecordError> {
        self.finish_member()?;
        self.file.sync_data().map_err(|e| RecordError::io(&self.path, "fsync", self.end, e))
    }

    /// Finishes the open member, fsyncs, and returns the index of the whole recording.
    pub fn close(mut self) -> Result<MemberIndex, RecordError> {
        self.sync()?;
        Ok(mem::take(&mut self.index))
    }

    /// The recording's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options in use.
    pub fn options(&self) -> &RecordOptions {
        &self.options
    }

    /// The index of the members in the file (not the open one).
    pub fn index(&self) -> &MemberIndex {
        &self.index
    }

    /// File offset just past the last complete member: how far readers can read now.
    pub fn end_offset(&self) -> u64 {
        self.end
    }

    /// Frames appended but not yet in the file (the open member, and a member whose write
    /// failed).
    pub fn pending_frames(&self) -> u64 {
        self.member.as_ref().map_or(0, |m| m.tally.frames)
            + self.unwritten.as_ref().map_or(0, |s| s.tally.frames)
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        // Like BufWriter: a best effort, errors are lost. close() reports them.
        let _ = self.finish_member();
    }
}

/// A gzip member header (RFC 1952): deflate, no flags, no mtime (so equal frames make equal
/// files), XFL telling the level's speed class, OS unknown.
fn gzip_header(level: u32) -> [u8; 10] {
    let xfl = match level {
        0 | 1 => 4,
        9 => 2,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]
}

/// Compresses all of `input` into `out` (growing it); with `finish`, ends the deflate stream.
fn deflate(compress: &mut Compress, out: &mut Vec<u8>, mut input: &[u8], finish: bool) -> io::Result<()> {
    let flush = if finish { FlushCompress::Finish } else { FlushCompress::None };
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.len().max(64 << 10));
        }
        let before = compress.total_in();
        let status = compress.compress_vec(input, out, flush).map_err(io::Error::other)?;
        input = &input[(compress.total_in() - before) as usize..];
        let done = if finish { status == Status::StreamEnd } else { input.is_empty() };
        if done {
            return Ok(());
        }
    }
}

/// Makes a newly created file's directory entry durable (a no-op where directories cannot be
/// opened, as on Windows).
fn sync_parent(path: &Path) -> Result<(), RecordError> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| RecordError::io(path, "fsync directory", 0, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Copies `file[from..len]` to a new `<path>.damaged-<from>` (or `…-<from>.<n>` when taken).
/// The complete frames of the torn member at `from` that decode (what a salvaging reader gets
/// from it).
fn salvage(file: &File, path: &Path, from: u64, len: u64) -> Result<Vec<prost::bytes::Bytes>, RecordError> {
    let mut src = file;
    src.seek(SeekFrom::Start(from)).map_err(|e| RecordError::io(path, "seek", from, e))?;
    let options = reader::ReadOptions { start: from, end: Some(len), salvage: true, ..Default::default() };
    let mut reader = reader::RecordReader::from_reader(src, path, options);
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_raw() {
        match frame {
            Ok(bytes) if TelemetryFrame::decode(&bytes[..]).is_ok() => frames.push(bytes),
            Ok(_) => {}
            Err(e) if e.is_damage() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_deflate_and_no_mtime() {
        assert_eq!(gzip_header(1), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff]);
        assert_eq!(gzip_header(6)[8], 0);
        assert_eq!(gzip_header(9)[8], 2);
    }

    /// A disk that is full: the write fails, the error names the file and the offset, and the
    /// frames stay pending instead of being lost.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_is_reported_and_keeps_the_frames() {
        let path = Path::new("/dev/full");
        let mut writer = RecordWriter::create(path, RecordOptions::default()).unwrap();
        let frame = TelemetryFrame { session_id: vec![1; 16].into(), seq: 0, ..Default::default() };
        writer.append(&frame).unwrap();
        let err = writer.finish_member().unwrap_err();
        assert!(matches!(&err, RecordError::Io { op: "write member", offset: 0, .. }), "{err}");
        assert!(err.to_string().starts_with("/dev/full: write member at byte 0"), "{err}");
        assert_eq!(writer.pending_frames(), 1);
        assert!(writer.index().is_empty());
        // Still refused on retry (a device cannot be cut back), still pending.
        assert!(writer.sync().is_err());
        assert_eq!(writer.pending_frames(), 1);
    }
}
