//! Reading recordings: a streaming reader over gzip members that yields frames (decoded, or as
//! their encoded bytes) and stops at the first damage with a report naming its file offset.
//!
//! The gzip framing is parsed here rather than by `flate2::read::MultiGzDecoder` because the
//! reader must know where each member starts and ends in the file (for the index, for seeking,
//! and to name the offset of a damaged member), and must tell a torn tail from corrupt bytes.
//! Inflating is flate2's raw deflate ([`flate2::Decompress`]).
//!
//! A member is inflated whole into a buffer and its CRC-32 checked before any of its frames is
//! yielded, so a reader never hands out frames from a member that turns out damaged. Members
//! larger than [`ReadOptions::max_member_buffer`] (a recording written as one endless gzip
//! stream, as the original C++ bridge did) are streamed instead, to keep memory constant.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::mem;
use std::path::{Path, PathBuf};

use flate2::{Crc, Decompress, FlushDecompress, Status};
use prost::bytes::Bytes;
use proto::telemetry::v1::TelemetryFrame;

use crate::MAX_FRAME_LEN;
use crate::error::{Damage, DamageKind, RecordError};
use crate::index::{MemberIndex, MemberInfo, MemberTally};
use crate::wire::{self, Varint};

/// Default of [`ReadOptions::max_member_buffer`]: far above the writer's members (256 KiB of
/// frames by default), small enough to be no concern for memory.
pub const DEFAULT_MAX_MEMBER_BUFFER: usize = 8 << 20;

/// Compressed bytes read from the file at a time.
const INPUT_CHUNK: usize = 64 << 10;
/// Inflated bytes made room for at a time.
const INFLATE_CHUNK: usize = 64 << 10;

/// gzip header flags (RFC 1952 §2.3.1).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// How a [`RecordReader`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// File offset to start at; must be a member's first byte (from the index). With
    /// [`RecordReader::from_reader`] it is the offset of the reader's first byte, so that
    /// reported offsets are file offsets.
    pub start: u64,
    /// File offset to stop at, as if the file ended there: e.g. the writer's
    /// [`crate::RecordWriter::end_offset`], so that a member being written at the same time is
    /// not mistaken for a torn tail. `None` reads to the end of the file.
    pub end: Option<u64>,
    /// Also yield the complete frames of a damaged member that precede the damage, as Python's
    /// `gzip` module does, before reporting it. Off by default: frames come only from members
    /// whose CRC-32 checked.
    pub salvage: bool,
    /// Largest member inflated whole (and checked) before its frames are yielded. A larger one
    /// is streamed: its frames are yielded as they inflate and its CRC-32 is checked at its end.
    pub max_member_buffer: usize,
    /// Build the [`MemberIndex`] of the members read ([`RecordReader::index`]). Costs a walk
    /// over each frame's top-level fields.
    pub build_index: bool,
    /// Read on after damage: skip the damaged bytes, find the next member that checks out,
    /// and go on from there. Each damaged stretch is still reported, once, as an `Err` (with
    /// [`Damage::resumed_at`] saying where reading went on) before the frames that follow it;
    /// a frame that does not decode in a good member is reported and skipped alone. Off by
    /// default: reading stops at the first damage.
    pub resync: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            start: 0,
            end: None,
            salvage: false,
            max_member_buffer: DEFAULT_MAX_MEMBER_BUFFER,
            build_index: false,
            resync: false,
        }
    }
}

/// Buffered input that knows its file offset and stops at a limit.
struct Input<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    pos: u64,
    /// File offset at which the input ends, whatever the file holds beyond.
    limit: u64,
    /// With [`ReadOptions::resync`]: the bytes consumed since the current member's first byte,
    /// so that a search for the next member can start just after that byte even when the
    /// inflater ran past the member's true end. `None` when off, or once it grew past its cap
    /// (the search then starts where the damage was seen).
    tap: Option<Vec<u8>>,
    tap_cap: usize,
}

impl<R: Read> Input<R> {
    fn new(inner: R, pos: u64, limit: u64) -> Self {
        Input { inner, buf: vec![0; INPUT_CHUNK], start: 0, end: 0, pos, limit, tap: None, tap_cap: 0 }
    }

    /// The buffered bytes, reading more when there are none; empty at the end of the input.
    fn fill(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() < INPUT_CHUNK {
                self.buf.resize(INPUT_CHUNK, 0);
            }
            let room = self.limit.saturating_sub(self.pos).min(self.buf.len() as u64) as usize;
            if room > 0 {
                self.end = read_some(&mut self.inner, &mut self.buf[..room])?;
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// At least `n` buffered bytes unless the input ends first (then all that is left).
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < n.max(INPUT_CHUNK) {
                self.buf.resize(n.max(INPUT_CHUNK), 0);
            }
            while self.end < n {
                let room = self
                    .limit
                    .saturating_sub(self.pos + self.end as u64)
                    .min((self.buf.len() - self.end) as u64) as usize;
                if room == 0 {
                    break;
                }
                let got = read_some(&mut self.inner, &mut self.buf[self.end..self.end + room])?;
                if got == 0 {
                    break;
                }
                self.end += got;
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        if let Some(tap) = &mut self.tap {
            if tap.len() + n <= self.tap_cap {
                tap.extend_from_slice(&self.buf[self.start..self.start + n]);
            } else {
                self.tap = None;
            }
        }
        self.start += n;
        self.pos += n as u64;
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        let byte = self.fill()?.first().copied();
        if byte.is_some() {
            self.consume(1);
        }
        Ok(byte)
    }

    /// Starts keeping the consumed bytes (a member starts here), up to `cap` of them.
    fn start_tap(&mut self, cap: usize) {
        let mut tap = self.tap.take().unwrap_or_default();
        tap.clear();
        self.tap = Some(tap);
        self.tap_cap = cap;
    }

    /// Goes back to file offset `to`, which must lie within the bytes consumed since the tap
    /// started at `tap_start`; `false` (and no move) when those bytes were not kept.
    fn rewind(&mut self, tap_start: u64, to: u64) -> bool {
        let Some(tap) = self.tap.take() else { return false };
        let Some(skip) = to.checked_sub(tap_start).map(|s| s as usize).filter(|&s| s <= tap.len()) else {
            return false;
        };
        let mut buf = Vec::with_capacity(tap.len() - skip + (self.end - self.start) + INPUT_CHUNK);
        buf.extend_from_slice(&tap[skip..]);
        buf.extend_from_slice(&self.buf[self.start..self.end]);
        self.pos = to;
        self.start = 0;
        self.end = buf.len();
        self.buf = buf;
        true
    }
}

fn read_some(inner: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match inner.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Why reading stopped, before it becomes a [`RecordError`].
enum Stop {
    Io(&'static str, io::Error),
    Damage(DamageKind),
    /// Report the damage that resynchronising has just got past (or that ran to the end).
    Report,
}

impl From<DamageKind> for Stop {
    fn from(kind: DamageKind) -> Self {
        Stop::Damage(kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between members: the next byte starts one, or the file ends cleanly.
    Boundary,
    /// Inflating a member's data.
    Inflating,
    /// The member checked out; its frames are being yielded.
    Verified,
    /// The member is damaged; its complete frames are being yielded before the report.
    Salvaging,
    /// After damage, with [`ReadOptions::resync`]: looking for the next member's header.
    Resync,
    /// Finished, cleanly or with damage.
    Done,
}

/// What the front of a member's inflated bytes holds.
enum Parsed {
    /// A frame: its bytes are `buf[start..end]`, and the next record starts at `end`.
    Frame { start: usize, end: usize },
    /// Nothing (an empty buffer).
    Empty,
    /// The beginning of a record whose rest is not (yet) there.
    Short { len: Option<u64>, available: u64 },
    /// An invalid record.
    Bad(DamageKind),
}

fn parse_record(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::Empty;
    }
    match wire::get_varint(buf) {
        Varint::Value(len, n) => {
            if len > MAX_FRAME_LEN as u64 {
                return Parsed::Bad(DamageKind::FrameTooLarge { len });
            }
            let available = (buf.len() - n) as u64;
            if len > available {
                Parsed::Short { len: Some(len), available }
            } else {
                Parsed::Frame { start: n, end: n + len as usize }
            }
        }
        Varint::Incomplete => Parsed::Short { len: None, available: buf.len() as u64 },
        Varint::Overflow => Parsed::Bad(DamageKind::BadFrameLength),
    }
}

/// A streaming reader of a recording.
///
/// Iterating yields decoded frames; [`RecordReader::next_raw`] and
/// [`RecordReader::raw_frames`] yield their encoded bytes without decoding them. After the
/// last good frame of a damaged recording comes one `Err` ([`RecordError::Truncated`] or
/// [`RecordError::Corrupt`]), then `None`; [`RecordReader::damage`] keeps the details. Memory
/// stays constant: one member's inflated bytes (bounded by
/// [`ReadOptions::max_member_buffer`]) and 64 KiB of input.
///
/// A recording that a [`crate::RecordWriter`] is still writing ends with the member in
/// progress, which reads as a torn tail: bound such reads with [`ReadOptions::end`] set to the
/// writer's [`crate::RecordWriter::end_offset`].
pub struct RecordReader<R = File> {
    path: PathBuf,
    input: Input<R>,
    options: ReadOptions,
    inflater: Decompress,
    crc: Crc,
    /// Inflated bytes of the current member (mod 2^32 is what the trailer stores).
    inflated: u64,
    phase: Phase,
    member_offset: u64,
    member_end: u64,
    /// The current member's inflated bytes while inflating (and while salvaging).
    out: Vec<u8>,
    /// The current member's inflated bytes once checked: frames are zero-copy slices of it.
    frozen: Bytes,
    /// Where the next record starts, in `out` or `frozen`.
    cursor: usize,
    /// The current member is too large to check before yielding.
    streaming: bool,
    tally: MemberTally,
    member_frames: u64,
    frames_before: u64,
    frames_read: u64,
    members_read: u64,
    complete_end: u64,
    /// Capacity for the next member's buffer: the largest member so far.
    size_hint: usize,
    pending: Option<DamageKind>,
    /// The member being read was found by resynchronising and has not checked out yet: its
    /// damage means only that it was not a member after all.
    trial: bool,
    /// Damage met while resynchronising, reported once reading goes on (or ends).
    unreported: Option<Damage>,
    damages: Vec<Damage>,
    index: MemberIndex,
}

impl<R> fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordReader")
            .field("path", &self.path)
            .field("phase", &self.phase)
            .field("position", &self.input.pos)
            .field("member_offset", &self.member_offset)
            .field("frames_read", &self.frames_read)
            .field("members_read", &self.members_read)
            .field("damages", &self.damages)
            .finish_non_exhaustive()
    }
}

impl RecordReader<File> {
    /// Opens a recording to read from its start.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RecordError> {
        Self::open_with(path, ReadOptions::default())
    }

    /// Opens a recording to read from the member starting at file offset `offset` (a
    /// [`MemberInfo::offset`] from the index), e.g. to re-read frames not yet acknowledged.
    pub fn open_at(path: impl AsRef<Path>, offset: u64) -> Result<Self, RecordError> {
        Self::open_with(path, ReadOptions { start: offset, ..ReadOptions::default() })
    }

    /// Opens a recording to read from `member` on.
    pub fn open_member(path: impl AsRef<Path>, member: &MemberInfo) -> Result<Self, RecordError> {
        Self::open_at(path, member.offset)
    }

    /// Opens a recording with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Self, RecordError> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| RecordError::io(path, "open", 0, e))?;
        if options.start > 0 {
            file.seek(SeekFrom::Start(options.start))
                .map_err(|e| RecordError::io(path, "seek", options.start, e))?;
        }
        Ok(Self::from_reader(file, path, options))
    }
}

impl<R: Read> RecordReader<R> {
    /// Reads a recording from any byte source (a file, a slice, a socket). `name` is used in
    /// errors in place of a path; `options.start` is the file offset of the first byte `reader`
    /// gives (it is not skipped).
    pub fn from_reader(reader: R, name: impl Into<PathBuf>, options: ReadOptions) -> Self {
        let limit = options.end.unwrap_or(u64::MAX);
        RecordReader {
            path: name.into(),
            input: Input::new(reader, options.start, limit),
            inflater: Decompress::new(false),
            crc: Crc::new(),
            inflated: 0,
            phase: Phase::Boundary,
            member_offset: options.start,
            member_end: options.start,
            out: Vec::new(),
            frozen: Bytes::new(),
            cursor: 0,
            streaming: false,
            tally: MemberTally::default(),
            member_frames: 0,
            frames_before: 0,
            frames_read: 0,
            members_read: 0,
            complete_end: options.start,
            size_hint: 0,
            pending: None,
            trial: false,
            unreported: None,
            damages: Vec::new(),
            index: MemberIndex::new(),
            options,
        }
    }

    /// The next frame's encoded bytes (without its length prefix), not decoded: the fast path
    /// for copying, forwarding or counting frames. A frame whose bytes do not decode is not
    /// noticed here. The bytes share their member's buffer (no copy): holding on to a few
    /// frames for long keeps their members' buffers alive, so copy those.
    pub fn next_raw(&mut self) -> Option<Result<Bytes, RecordError>> {
        match self.advance() {
            Ok(Some(frame)) => {
                self.frames_read += 1;
                Some(Ok(frame))
            }
            Ok(None) => None,
            Err(stop) => Some(Err(self.fail(stop))),
        }
    }

    /// The next frame, decoded. A frame that does not decode is damage like any other: it ends
    /// the iteration with [`RecordError::Corrupt`].
    pub fn next_frame(&mut self) -> Option<Result<TelemetryFrame, RecordError>> {
        let bytes = match self.next_raw()? {
            Ok(bytes) => bytes,
            Err(e) => return Some(Err(e)),
        };
        let mut frame = TelemetryFrame::default();
        match proto::decode_frame_into(&mut frame, bytes) {
            Ok(()) => Some(Ok(frame)),
            Err(e) => {
                // The frame was counted as read when its bytes were taken; it was not.
                self.frames_read -= 1;
                self.member_frames -= 1;
                let kind = DamageKind::BadFrame(e.to_string());
                if self.options.resync {
                    // The member checked out, so its framing is sound: only this frame is
                    // skipped, and its neighbours are read.
                    let damage = Damage {
                        offset: self.member_offset,
                        detected_at: self.member_offset,
                        kind,
                        frames_before: self.frames_before,
                        frames_salvaged: 0,
                        resumed_at: Some(self.member_offset),
                    };
                    let error = damage.to_error(&self.path);
                    self.damages.push(damage);
                    return Some(Err(error));
                }
                Some(Err(self.fail(Stop::Damage(kind))))
            }
        }
    }

    /// An iterator over the frames' encoded bytes (see [`RecordReader::next_raw`]).
    pub fn raw_frames(&mut self) -> RawFrames<'_, R> {
        RawFrames { reader: self }
    }

    /// The first damage reported: without [`ReadOptions::resync`], the damage that ended
    /// reading.
    pub fn damage(&self) -> Option<&Damage> {
        self.damages.first()
    }

    /// Every damage reported so far, in file order.
    pub fn damages(&self) -> &[Damage] {
        &self.damages
    }

    /// Frames yielded so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Complete members read so far (all their frames yielded).
    pub fn members_read(&self) -> u64 {
        self.members_read
    }

    /// File offset just past the last complete member read: with the whole file read, the
    /// length of its good part.
    pub fn complete_end(&self) -> u64 {
        self.complete_end
    }

    /// The index of the complete members read so far (empty unless
    /// [`ReadOptions::build_index`] is set).
    pub fn index(&self) -> &MemberIndex {
        &self.index
    }

    /// Takes the index built so far.
    pub fn take_index(&mut self) -> MemberIndex {
        mem::take(&mut self.index)
    }

    /// The file (or name) being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns a stop into the error to report, and remembers the damage.
    fn fail(&mut self, stop: Stop) -> RecordError {
        let damage = match stop {
            Stop::Io(op, e) => {
                self.phase = Phase::Done;
                return RecordError::io(&self.path, op, self.input.pos, e);
            }
            Stop::Damage(kind) => {
                self.phase = Phase::Done;
                self.damage_here(kind)
            }
            // Reading goes on (or has ended) where resynchronising left it.
            Stop::Report => match self.unreported.take() {
                Some(damage) => damage,
                None => {
                    self.phase = Phase::Done;
                    self.damage_here(DamageKind::BadHeader("internal: no damage to report"))
                }
            },
        };
        let error = damage.to_error(&self.path);
        self.damages.push(damage);
        error
    }

    /// The damage of the member being read, seen at the input's position.
    fn damage_here(&self, kind: DamageKind) -> Damage {
        Damage {
            offset: self.member_offset,
            detected_at: self.input.pos,
            kind,
            frames_before: self.frames_before,
            frames_salvaged: self.member_frames,
            resumed_at: None,
        }
    }

    fn advance(&mut self) -> Result<Option<Bytes>, Stop> {
        loop {
            match self.advance_member() {
                Err(Stop::Damage(kind)) if self.options.resync => self.begin_resync(kind),
                other => return other,
            }
        }
    }

    /// Damage met with [`ReadOptions::resync`]: note it (unless it only shows that a trial
    /// member was not one), and search for the next member from just after the damaged
    /// member's first byte: the inflater may have read past its true end into the next one.
    fn begin_resync(&mut self, kind: DamageKind) {
        if !self.trial {
            self.unreported = Some(self.damage_here(kind));
        }
        self.trial = false;
        self.streaming = false;
        self.out = Vec::new();
        self.frozen = Bytes::new();
        self.cursor = 0;
        self.member_frames = 0;
        self.input.rewind(self.member_offset, self.member_offset + 1);
        self.phase = Phase::Resync;
    }

    /// Moves the input to the next byte that may start a gzip member (`1f 8b 08`); `false` at
    /// the end of the input.
    fn find_candidate(&mut self) -> Result<bool, Stop> {
        let io = |e| Stop::Io("read", e);
        loop {
            let buf = self.input.fill().map_err(io)?;
            if buf.is_empty() {
                return Ok(false);
            }
            let Some(i) = buf.iter().position(|&b| b == 0x1f) else {
                let n = buf.len();
                self.input.consume(n);
                continue;
            };
            self.input.consume(i);
            match self.input.peek(3).map_err(io)? {
                [0x1f, 0x8b, 8, ..] => return Ok(true),
                [_, _, _, ..] => self.input.consume(1),
                // Fewer than 3 bytes left: no member can start here.
                short => {
                    let n = short.len();
                    self.input.consume(n);
                }
            }
        }
    }

    fn advance_member(&mut self) -> Result<Option<Bytes>, Stop> {
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Resync => {
                    if self.find_candidate()? {
                        self.trial = true;
                        self.phase = Phase::Boundary;
                    } else {
                        // Nothing readable follows the damage.
                        self.phase = Phase::Done;
                        return Err(Stop::Report);
                    }
                }
                Phase::Boundary => {
                    if !self.start_member()? {
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                    self.phase = Phase::Inflating;
                }
                Phase::Inflating => {
                    if self.streaming {
                        if let Some(frame) = self.take_unchecked()? {
                            return Ok(Some(frame));
                        }
                    }
                    match self.inflate_member() {
                        Ok(true) => {
                            // Inflated completely and checked: freeze the bytes so that frames
                            // are cheap slices of them.
                            self.frozen = Bytes::from(mem::take(&mut self.out));
                            self.phase = Phase::Verified;
                            if self.trial {
                                // A member after the damage checked out: report the damage,
                                // then go on reading from here.
                                self.trial = false;
                                if let Some(d) = &mut self.unreported {
                                    d.resumed_at = Some(self.member_offset);
                                }
                                return Err(Stop::Report);
                            }
                        }
                        Ok(false) => {
                            if !self.streaming
                                && self.out.len() - self.cursor > self.options.max_member_buffer
                            {
                                if self.trial {
                                    // A member found by resynchronising is yielded only once
                                    // checked, so it must fit the buffer.
                                    return Err(DamageKind::BadDeflate(
                                        "a member found after damage is too large to check".into(),
                                    )
                                    .into());
                                }
                                self.streaming = true;
                            }
                        }
                        Err(Stop::Damage(kind)) if self.options.salvage && !self.trial => {
                            self.pending = Some(kind);
                            self.phase = Phase::Salvaging;
                        }
                        Err(stop) => return Err(stop),
                    }
                }
                Phase::Verified => {
                    if let Some(frame) = self.take_checked()? {
                        return Ok(Some(frame));
                    }
                    self.end_member();
                    self.phase = Phase::Boundary;
                }
                Phase::Salvaging => {
                    if let Some(frame) = self.take_salvaged() {
                        return Ok(Some(frame));
                    }
                    // Salvaging reads no input, so the input's position is still where the
                    // damage was met.
                    return match self.pending.take() {
                        Some(kind) => Err(Stop::Damage(kind)),
                        None => Ok(None),
                    };
                }
            }
        }
    }

    /// Parses a member header. `Ok(false)` at a clean end of the input.
    fn start_member(&mut self) -> Result<bool, Stop> {
        let offset = self.input.pos;
        self.member_offset = offset;
        if self.options.resync {
            self.input.start_tap(self.options.max_member_buffer);
        }
        let io = |e| Stop::Io("read", e);
        let Some(id1) = self.input.byte().map_err(io)? else {
            return Ok(false);
        };
        if id1 == 0 {
            // Zeros to the end are a torn tail (a size extended without its data); zeros
            // followed by something else are not.
            let mut zeros = 0u64;
            loop {
                let buf = self.input.fill().map_err(io)?;
                if buf.is_empty() {
                    return Err(DamageKind::ZeroPadding.into());
                }
                if let Some(i) = buf.iter().position(|&b| b != 0) {
                    let second = if zeros == 0 && i == 0 { buf[0] } else { 0 };
                    self.input.consume(i);
                    return Err(DamageKind::NotGzip { magic: [0, second] }.into());
                }
                zeros += buf.len() as u64;
                let n = buf.len();
                self.input.consume(n);
            }
        }
        let id2 = match self.input.byte().map_err(io)? {
            Some(b) => b,
            None if id1 == 0x1f => return Err(DamageKind::TruncatedHeader.into()),
            None => return Err(DamageKind::NotGzip { magic: [id1, 0] }.into()),
        };
        if [id1, id2] != [0x1f, 0x8b] {
            return Err(DamageKind::NotGzip { magic: [id1, id2] }.into());
        }
        // The header's own CRC (FHCRC) covers every header byte before it.
        let mut header = Crc::new();
        header.update(&[id1, id2]);
        let mut next = |input: &mut Input<R>| -> Result<u8, Stop> {
            let b = input.byte().map_err(io)?.ok_or(Stop::Damage(DamageKind::TruncatedHeader))?;
            header.update(&[b]);
            Ok(b)
        };
        if next(&mut self.input)? != 8 {
            return Err(DamageKind::BadHeader("compression method is not deflate").into());
        }
        let flags = next(&mut self.input)?;
        if flags & FRESERVED != 0 {
            return Err(DamageKind::BadHeader("reserved flag bits are set").into());
        }
        // MTIME (4), XFL, OS.
        for _ in 0..6 {
            next(&mut self.input)?;
        }
        if flags & FEXTRA != 0 {
            let xlen = u16::from_le_bytes([next(&mut self.input)?, next(&mut self.input)?]);
            for _ in 0..xlen {
                next(&mut self.input)?;
            }
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                while next(&mut self.input)? != 0 {}
            }
        }
        if flags & FHCRC != 0 {
            let expected = header.sum() as u16;
            let stored = u16::from_le_bytes([
                self.input.byte().map_err(io)?.ok_or(DamageKind::TruncatedHeader)?,
                self.input.byte().map_err(io)?.ok_or(DamageKind::TruncatedHeader)?,
            ]);
            if stored != expected {
                return Err(DamageKind::BadHeader("header CRC mismatch").into());
            }
        }
        self.inflater.reset(false);
        self.crc.reset();
        self.inflated = 0;
        self.out = Vec::with_capacity(self.size_hint.min(self.options.max_member_buffer) + 1024);
        self.frozen = Bytes::new();
        self.cursor = 0;
        self.streaming = false;
        self.tally = MemberTally::default();
        self.member_frames = 0;
        Ok(true)
    }

    /// Inflates the next chunk of the member; at the end of its data, reads and checks the
    /// trailer. `Ok(true)` when the member is complete and good.
    fn inflate_member(&mut self) -> Result<bool, Stop> {
        if self.streaming && self.cursor > 0 {
            // The frames before the cursor were yielded: drop them to keep memory bounded.
            self.out.drain(..self.cursor);
            self.cursor = 0;
        }
        if self.out.capacity() - self.out.len() < INFLATE_CHUNK / 2 {
            self.out.reserve(INFLATE_CHUNK);
        }
        let input = self.input.fill().map_err(|e| Stop::Io("read", e))?;
        let eof = input.is_empty();
        let (in_before, out_before) = (self.inflater.total_in(), self.out.len());
        let flush = if eof { FlushDecompress::Finish } else { FlushDecompress::None };
        let result = self.inflater.decompress_vec(input, &mut self.out, flush);
        let consumed = (self.inflater.total_in() - in_before) as usize;
        self.input.consume(consumed);
        let produced = &self.out[out_before..];
        self.crc.update(produced);
        self.inflated += produced.len() as u64;
        let progress = consumed > 0 || !produced.is_empty();
        match result {
            Ok(Status::StreamEnd) => {
                self.read_trailer()?;
                Ok(true)
            }
            Ok(_) if progress => Ok(false),
            Ok(_) if eof => Err(DamageKind::TruncatedData.into()),
            // Input and room for output, yet no progress: zlib does not do this, but a loop
            // must not rely on it.
            Ok(_) => Err(DamageKind::BadDeflate("the inflater made no progress".into()).into()),
            Err(e) => Err(DamageKind::BadDeflate(e.to_string()).into()),
        }
    }

    fn read_trailer(&mut self) -> Result<(), Stop> {
        let mut trailer = [0u8; 8];
        for b in &mut trailer {
            *b = self.input.byte().map_err(|e| Stop::Io("read", e))?.ok_or(DamageKind::TruncatedTrailer)?;
        }
        let stored_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let stored_len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if stored_crc != self.crc.sum() {
            return Err(DamageKind::CrcMismatch { stored: stored_crc, computed: self.crc.sum() }.into());
        }
        if stored_len != self.inflated as u32 {
            return Err(
                DamageKind::SizeMismatch { stored: stored_len, computed: self.inflated as u32 }.into()
            );
        }
        self.member_end = self.input.pos;
        Ok(())
    }

    /// Counts a frame taken from the member (and indexes it).
    fn count(&mut self, frame: &[u8], record_len: usize) -> Result<(), Stop> {
        if self.options.build_index {
            let id = wire::frame_id(frame).map_err(DamageKind::BadFrame)?;
            self.tally.add(&frame[id.session_id], id.seq, record_len as u64);
        }
        self.member_frames += 1;
        Ok(())
    }

    /// The next frame of a checked member, or `None` at its end.
    fn take_checked(&mut self) -> Result<Option<Bytes>, Stop> {
        let rest = &self.frozen[self.cursor..];
        match parse_record(rest) {
            Parsed::Empty => Ok(None),
            Parsed::Frame { start, end } => {
                let frame = self.frozen.slice(self.cursor + start..self.cursor + end);
                self.cursor += end;
                self.count(&frame, end)?;
                Ok(Some(frame))
            }
            Parsed::Short { len: Some(len), available } => {
                Err(DamageKind::FrameOverrun { len, available }.into())
            }
            Parsed::Short { len: None, .. } => Err(DamageKind::BadFrameLength.into()),
            Parsed::Bad(kind) => Err(kind.into()),
        }
    }

    /// The next complete frame of a member being streamed, or `None` until more is inflated.
    fn take_unchecked(&mut self) -> Result<Option<Bytes>, Stop> {
        match parse_record(&self.out[self.cursor..]) {
            Parsed::Frame { start, end } => {
                let frame = Bytes::copy_from_slice(&self.out[self.cursor + start..self.cursor + end]);
                self.cursor += end;
                self.count(&frame, end)?;
                Ok(Some(frame))
            }
            Parsed::Empty | Parsed::Short { .. } => Ok(None),
            Parsed::Bad(kind) => Err(kind.into()),
        }
    }

    /// The next complete frame inflated from a damaged member before the damage.
    fn take_salvaged(&mut self) -> Option<Bytes> {
        match parse_record(&self.out[self.cursor..]) {
            Parsed::Frame { start, end } => {
                let frame = Bytes::copy_from_slice(&self.out[self.cursor + start..self.cursor + end]);
                self.cursor += end;
                // Salvaged frames are not indexed: the member is not complete.
                self.member_frames += 1;
                Some(frame)
            }
            _ => None,
        }
    }

    fn end_member(&mut self) {
        self.frames_before += self.member_frames;
        self.member_frames = 0;
        self.members_read += 1;
        self.complete_end = self.member_end;
        self.size_hint = self.size_hint.max(self.frozen.len());
        self.frozen = Bytes::new();
        let tally = mem::take(&mut self.tally);
        if self.options.build_index {
            self.index.push(tally.finish(self.member_offset, self.member_end - self.member_offset));
        }
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<TelemetryFrame, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame()
    }
}

/// Iterator over a recording's frames as encoded bytes; see [`RecordReader::raw_frames`].
#[derive(Debug)]
pub struct RawFrames<'a, R> {
    reader: &'a mut RecordReader<R>,
}

impl<R: Read> Iterator for RawFrames<'_, R> {
    type Item = Result<Bytes, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next_raw()
    }
}

/// What a full pass over a recording found; see [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The complete members, in file order: those after damage too.
    pub index: MemberIndex,
    /// The damaged stretches, in file order. Each one's `frames_salvaged` counts the complete
    /// frames of the damaged member that precede the damage (what Python's `gzip` would still
    /// give); its `resumed_at` is the next good member, `None` for damage that runs to the end
    /// (see [`Scan::tail_damage`]).
    pub damages: Vec<Damage>,
    /// The file's length.
    pub file_len: u64,
}

impl Scan {
    /// Damage after which nothing readable follows (a torn tail, or garbage to the end).
    pub fn tail_damage(&self) -> Option<&Damage> {
        self.damages.last().filter(|d| d.resumed_at.is_none())
    }

    /// File offset where the readable part ends: the start of the damage that runs to the
    /// end, else the file's end.
    pub fn good_end(&self) -> u64 {
        self.tail_damage().map_or(self.file_len, |d| d.offset)
    }
}

/// Reads a whole recording to rebuild its member index and find every damaged stretch (reading
/// on after each, see [`ReadOptions::resync`]). Damage is part of the result; only an I/O error
/// is an `Err`.
pub fn scan(path: impl AsRef<Path>) -> Result<Scan, RecordError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| RecordError::io(path, "open", 0, e))?;
    scan_file(&file, path)
}

/// [`scan`] of an open file, from its start (the file's position is moved).
pub(crate) fn scan_file(mut file: &File, path: &Path) -> Result<Scan, RecordError> {
    let file_len = file.metadata().map_err(|e| RecordError::io(path, "stat", 0, e))?.len();
    file.seek(SeekFrom::Start(0)).map_err(|e| RecordError::io(path, "seek", 0, e))?;
    let options = ReadOptions { salvage: true, build_index: true, resync: true, ..ReadOptions::default() };
    let mut reader = RecordReader::from_reader(file, path, options);
    while let Some(frame) = reader.next_raw() {
        match frame {
            Ok(_) => {}
            Err(e) if e.is_damage() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Scan { index: reader.take_index(), damages: mem::take(&mut reader.damages), file_len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    /// A gzip member of `content` with the given header flags and extra header bytes.
    fn member(flags: u8, extra: &[u8], header_crc: Option<u16>, content: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 0xff];
        out.extend_from_slice(extra);
        if flags & FHCRC != 0 {
            let mut crc = Crc::new();
            crc.update(&out);
            out.extend_from_slice(&header_crc.unwrap_or(crc.sum() as u16).to_le_bytes());
        }
        let mut deflated = Vec::with_capacity(content.len() + 64);
        Compress::new(Compression::fast(), false)
            .compress_vec(content, &mut deflated, FlushCompress::Finish)
            .unwrap();
        out.extend_from_slice(&deflated);
        let mut crc = Crc::new();
        crc.update(content);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out
    }

    fn read(file: &[u8]) -> (Vec<Bytes>, Option<Damage>) {
        let mut reader = RecordReader::from_reader(file, "<test>", ReadOptions::default());
        let frames = reader.raw_frames().take_while(Result::is_ok).map(Result::unwrap).collect();
        (frames, reader.damage().cloned())
    }

    #[test]
    fn parse_record_cases() {
        assert!(matches!(parse_record(&[]), Parsed::Empty));
        assert!(matches!(parse_record(&[2, 8, 1, 9]), Parsed::Frame { start: 1, end: 3 }));
        assert!(matches!(parse_record(&[0]), Parsed::Frame { start: 1, end: 1 }));
        assert!(matches!(parse_record(&[3, 8]), Parsed::Short { len: Some(3), available: 1 }));
        assert!(matches!(parse_record(&[0x80, 0x80]), Parsed::Short { len: None, available: 2 }));
        assert!(matches!(parse_record(&[0xff; 10]), Parsed::Bad(DamageKind::BadFrameLength)));
        assert!(matches!(
            parse_record(&[0x81, 0x80, 0x80, 0x08]),
            Parsed::Bad(DamageKind::FrameTooLarge { len: 0x0100_0001 })
        ));
    }

    #[test]
    fn optional_header_fields_are_skipped_and_the_header_crc_checked() {
        let content = [2, 8, 1, 0];
        let extra = [3, 0, b'a', b'b', b'c', b'n', b'a', b'm', b'e', 0, b'c', 0];
        let good = member(FEXTRA | FNAME | FCOMMENT | FHCRC, &extra, None, &content);
        let (frames, damage) = read(&good);
        assert_eq!((frames.len(), damage), (2, None));
        assert_eq!(&frames[0][..], &[8, 1]);

        let bad = member(FHCRC, &[], Some(0x1234), &content);
        let (frames, damage) = read(&[&good[..], &bad[..]].concat());
        assert_eq!(frames.len(), 2);
        let damage = damage.unwrap();
        assert_eq!(damage.kind, DamageKind::BadHeader("header CRC mismatch"));
        assert_eq!(damage.offset, good.len() as u64);
    }

    #[test]
    fn offsets_count_from_the_start_option() {
        let file = member(0, &[], None, &[1, 7]);
        let mut torn = file.clone();
        torn.truncate(file.len() - 3);
        let options = ReadOptions { start: 1000, ..ReadOptions::default() };
        let mut reader = RecordReader::from_reader(&torn[..], "<test>", options);
        let err = reader.next_raw().unwrap().unwrap_err();
        assert!(matches!(
            err,
            RecordError::Truncated { offset: 1000, kind: DamageKind::TruncatedTrailer, .. }
        ));
        assert_eq!(reader.damage().unwrap().detected_at, 1000 + torn.len() as u64);
    }

    #[test]
    fn the_end_option_stops_reading_cleanly_at_a_member_boundary() {
        let one = member(0, &[], None, &[1, 7]);
        let file = [&one[..], &one[..], b"garbage"].concat();
        let options = ReadOptions { end: Some(2 * one.len() as u64), ..ReadOptions::default() };
        let mut reader = RecordReader::from_reader(&file[..], "<test>", options);
        assert_eq!(reader.raw_frames().filter(Result::is_ok).count(), 2);
        assert!(reader.damage().is_none());
        assert_eq!(reader.complete_end(), 2 * one.len() as u64);
    }
}
