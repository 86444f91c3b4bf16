//! The `.ld` writer: channels declared up front, samples pushed as they come, memory constant.
//!
//! ## Why a spill file
//!
//! An `.ld` file stores each channel's samples contiguously (one data pointer and one count per
//! channel), while a converter produces them interleaved in time: a sample of every channel per
//! step. So each channel collects its samples in a small buffer ([`LdWriter::with_chunk_bytes`],
//! 16 KiB by default); a full buffer is appended to a spill file (an anonymous temporary file
//! beside the output for [`LdWriter::create`]) and its place noted. [`LdWriter::finish`] then
//! writes the header, the event, venue and vehicle blocks and the channel descriptors (whose
//! pointers and counts are only known now), and copies each channel's chunks into place.
//! Memory is `channels × chunk` plus one small entry per spilled chunk, whatever the length of
//! the log; the disk holds the samples twice until `finish` returns.
//!
//! ## Layout written
//!
//! | offset | size | block |
//! |---|---|---|
//! | `0x0000` | 1762 | header (see [`crate::read`] for its fields) |
//! | `0x06E2` | 1154 | event: name, session, comment, venue pointer |
//! | `0x0B64` | 1100 | venue: name, vehicle pointer |
//! | `0x0FB0` | 260 | vehicle: id, weight, type, comment |
//! | `0x10B4` | 124 × n | channel descriptors, a doubly linked list in declaration order |
//! | after | | each channel's samples, in declaration order |
//!
//! The offsets are this module's own constants; the reader ([`crate::read`]) has its own, so
//! that a mistake in one shows up as a failed round trip instead of cancelling out.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::datetime::LdDateTime;
use crate::error::MotecError;
use crate::text::{self, Fit};

const HEADER_LEN: usize = 0x6E2;
const EVENT_LEN: usize = 1154;
const VENUE_LEN: usize = 1100;
const VEHICLE_LEN: usize = 260;
const DESCRIPTOR_LEN: usize = 124;

const EVENT_AT: usize = HEADER_LEN;
const VENUE_AT: usize = EVENT_AT + EVENT_LEN;
const VEHICLE_AT: usize = VENUE_AT + VENUE_LEN;
const DESCRIPTORS_AT: usize = VEHICLE_AT + VEHICLE_LEN;

/// Largest file the 32-bit pointers can address.
const MAX_FILE: u64 = u32::MAX as u64;

/// Default size of each channel's in-memory buffer before it is spilled.
pub const DEFAULT_CHUNK_BYTES: usize = 16 * 1024;

/// How a channel's samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleType {
    /// 16-bit signed integer, scaled (see [`Scaling`]). Type code 3, as MoTeC's own loggers
    /// write 16-bit channels.
    I16,
    /// 32-bit signed integer, scaled. Type code 5.
    I32,
    /// 32-bit IEEE float. Type code 7.
    F32,
}

impl SampleType {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            SampleType::I16 => 2,
            SampleType::I32 | SampleType::F32 => 4,
        }
    }

    fn code(self) -> u16 {
        match self {
            SampleType::I16 => 3,
            SampleType::I32 => 5,
            SampleType::F32 => 7,
        }
    }
}

/// The descriptor's conversion from stored to physical values, as i2 applies it:
/// `physical = (raw / scale × 10^−decimal_places + shift) × multiplier`.
///
/// The writer inverts it: `raw = round((physical / multiplier − shift) × scale × 10^decimal_places)`,
/// saturated to the integer type (floats are not rounded). For integer channels,
/// `decimal_places` is the resolution: 2 stores hundredths, and i2 shows 2 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scaling {
    /// Added after scaling (physical units ÷ multiplier).
    pub shift: i16,
    /// Multiplier; not 0.
    pub multiplier: i16,
    /// Divisor; not 0.
    pub scale: i16,
    /// Decimal places, 0–9 (the raw value is divided by 10^decimal_places).
    pub decimal_places: i16,
}

impl Scaling {
    /// Raw value is the physical value.
    pub const IDENTITY: Scaling = Scaling { shift: 0, multiplier: 1, scale: 1, decimal_places: 0 };

    /// Raw value is the physical value × 10^`places`.
    pub fn decimals(places: i16) -> Scaling {
        Scaling { decimal_places: places, ..Scaling::IDENTITY }
    }

    fn to_raw(self, physical: f64) -> f64 {
        (physical / f64::from(self.multiplier) - f64::from(self.shift))
            * f64::from(self.scale)
            * 10f64.powi(i32::from(self.decimal_places))
    }
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling::IDENTITY
    }
}

/// One channel of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSpec {
    /// Name, e.g. "Ground Speed" (31 bytes stored, see [`crate::fit`]).
    pub name: String,
    /// Short name, e.g. "Speed" (7 bytes stored).
    pub short_name: String,
    /// Unit, e.g. "km/h" (11 bytes stored).
    pub unit: String,
    /// Sample rate, Hz; not 0.
    pub rate_hz: u16,
    /// Storage type.
    pub sample_type: SampleType,
    /// Stored-to-physical conversion.
    pub scaling: Scaling,
}

impl ChannelSpec {
    /// A channel stored as `f32`, values as given.
    pub fn f32(name: &str, short_name: &str, unit: &str, rate_hz: u16) -> ChannelSpec {
        ChannelSpec {
            name: name.to_owned(),
            short_name: short_name.to_owned(),
            unit: unit.to_owned(),
            rate_hz,
            sample_type: SampleType::F32,
            scaling: Scaling::IDENTITY,
        }
    }

    /// A channel stored as `i16` with `decimal_places` of resolution.
    pub fn i16(name: &str, short_name: &str, unit: &str, rate_hz: u16, decimal_places: i16) -> ChannelSpec {
        ChannelSpec {
            sample_type: SampleType::I16,
            scaling: Scaling::decimals(decimal_places),
            ..ChannelSpec::f32(name, short_name, unit, rate_hz)
        }
    }

    /// A channel stored as `i32` with `decimal_places` of resolution.
    pub fn i32(name: &str, short_name: &str, unit: &str, rate_hz: u16, decimal_places: i16) -> ChannelSpec {
        ChannelSpec {
            sample_type: SampleType::I32,
            scaling: Scaling::decimals(decimal_places),
            ..ChannelSpec::f32(name, short_name, unit, rate_hz)
        }
    }

    fn check(&self, index: usize) -> Result<(), MotecError> {
        let bad = |problem: &str| MotecError::BadChannel {
            index,
            name: self.name.clone(),
            problem: problem.to_owned(),
        };
        if self.rate_hz == 0 {
            return Err(bad("the sample rate is 0 Hz"));
        }
        if self.scaling.scale == 0 || self.scaling.multiplier == 0 {
            return Err(bad("scale and multiplier must not be 0"));
        }
        if !(0..=9).contains(&self.scaling.decimal_places) {
            return Err(bad("decimal places must be 0 to 9"));
        }
        Ok(())
    }
}

/// The device that "recorded" the log. i2 shows it in the log's details; the defaults are those
/// of the real MoTeC ADL logger file the public readers test against (see [`crate::read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Serial number.
    pub serial: u32,
    /// Type, up to 7 bytes, e.g. "ADL".
    pub kind: String,
    /// Firmware version, e.g. 420 for 4.20.
    pub version: u16,
}

impl Default for Device {
    fn default() -> Device {
        Device { serial: 12007, kind: "ADL".to_owned(), version: 420 }
    }
}

/// What the header and the event, venue and vehicle blocks say about the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LdHeader {
    /// Driver (63 bytes).
    pub driver: String,
    /// Vehicle id, e.g. the car model (63 bytes).
    pub vehicle_id: String,
    /// Venue, e.g. the track (63 bytes).
    pub venue: String,
    /// Event name (63 bytes).
    pub event: String,
    /// Session, e.g. "Practice" (63 bytes).
    pub session: String,
    /// Short comment (63 bytes).
    pub short_comment: String,
    /// Event's long comment (1023 bytes).
    pub event_comment: String,
    /// Vehicle type, e.g. "GT3" (31 bytes).
    pub vehicle_type: String,
    /// Vehicle comment (31 bytes).
    pub vehicle_comment: String,
    /// Vehicle weight, kg (0 when unknown).
    pub vehicle_weight: u32,
    /// When the log starts.
    pub date_time: LdDateTime,
    /// The recording device.
    pub device: Device,
}

/// What [`LdWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdSummary {
    /// Size of the `.ld` file, bytes.
    pub bytes: u64,
    /// Samples written per channel, in declaration order.
    pub samples: Vec<u64>,
    /// Samples that did not fit their integer type and were saturated, or were NaN and were
    /// stored as 0 (integer channels only).
    pub clipped: u64,
    /// Text fields that were cut or had characters replaced (see [`crate::fit`]), named like
    /// "driver" or "channel 3 name".
    pub altered_text: Vec<String>,
}

struct Channel {
    spec: ChannelSpec,
    buf: Vec<u8>,
    /// Spilled chunks: offset in the spill file and length.
    chunks: Vec<(u64, usize)>,
    count: u64,
}

/// Writes an `.ld` file: see the module docs for how memory stays constant.
///
/// ```
/// use motec::{ChannelSpec, LdHeader, LdWriter};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("run.ld");
/// let header = LdHeader { driver: "Jürgen".into(), venue: "Nürburgring".into(), ..Default::default() };
/// let channels = vec![
///     ChannelSpec::i32("Ground Speed", "Speed", "km/h", 100, 2),
///     ChannelSpec::i16("Gear", "Gear", "", 100, 0),
/// ];
/// let mut writer = LdWriter::create(&path, header, channels)?;
/// for step in 0..500 {
///     writer.push_row(&[120.0 + f64::from(step) * 0.01, 3.0])?;
/// }
/// let summary = writer.finish()?;
/// assert_eq!(summary.samples, [500, 500]);
///
/// let log = motec::read::read_file(&path)?;
/// assert_eq!(log.header.driver, "Jürgen");
/// assert_eq!(log.channels[0].values()[499], 124.99);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LdWriter<W: Write, S: Read + Write + Seek = File> {
    out: W,
    spill: S,
    spill_len: u64,
    header: LdHeader,
    channels: Vec<Channel>,
    chunk_bytes: usize,
    data_bytes: u64,
    clipped: u64,
}

impl<W: Write, S: Read + Write + Seek> std::fmt::Debug for LdWriter<W, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdWriter")
            .field("channels", &self.channels.len())
            .field("data_bytes", &self.data_bytes)
            .field("spill_len", &self.spill_len)
            .finish_non_exhaustive()
    }
}

impl LdWriter<BufWriter<File>, File> {
    /// Creates `path` and an anonymous spill file in the same directory.
    pub fn create(
        path: &Path,
        header: LdHeader,
        channels: Vec<ChannelSpec>,
    ) -> Result<LdWriter<BufWriter<File>, File>, MotecError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let spill = tempfile::tempfile_in(&dir).map_err(MotecError::io("creating the spill file"))?;
        let out = File::create(path).map_err(MotecError::io("creating the .ld file"))?;
        LdWriter::new(BufWriter::new(out), spill, header, channels)
    }
}

impl<W: Write, S: Read + Write + Seek> LdWriter<W, S> {
    /// A writer to `out`, spilling to `spill` (which must be empty). Nothing is written to `out`
    /// before [`finish`](Self::finish), so `out` needs no `Seek`.
    pub fn new(
        out: W,
        spill: S,
        header: LdHeader,
        channels: Vec<ChannelSpec>,
    ) -> Result<LdWriter<W, S>, MotecError> {
        for (index, spec) in channels.iter().enumerate() {
            spec.check(index)?;
        }
        Ok(LdWriter {
            out,
            spill,
            spill_len: 0,
            header,
            channels: channels
                .into_iter()
                .map(|spec| Channel { spec, buf: Vec::new(), chunks: Vec::new(), count: 0 })
                .collect(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            data_bytes: 0,
            clipped: 0,
        })
    }

    /// Sets the size of each channel's buffer (at least 64 bytes); smaller spills more often.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(64);
        self
    }

    /// The header, to change it before [`finish`](Self::finish) (it is only written then): a
    /// streaming converter may learn the driver or the date from its first input.
    pub fn header_mut(&mut self) -> &mut LdHeader {
        &mut self.header
    }

    /// Channels of the log.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Samples pushed so far to channel `index` (0 for an unknown index).
    pub fn sample_count(&self, index: usize) -> u64 {
        self.channels.get(index).map_or(0, |c| c.count)
    }

    /// Appends one physical value to channel `index`.
    pub fn push(&mut self, index: usize, value: f64) -> Result<(), MotecError> {
        let count = self.channels.len();
        let channel = self.channels.get_mut(index).ok_or(MotecError::NoSuchChannel { index, count })?;
        let size = channel.spec.sample_type.size() as u64;
        if channel.count >= u64::from(u32::MAX) {
            return Err(MotecError::TooLarge {
                what: format!("channel {:?} holds {} samples", channel.spec.name, channel.count),
                limit: u64::from(u32::MAX),
            });
        }
        self.data_bytes += size;
        let fixed = (DESCRIPTORS_AT + DESCRIPTOR_LEN * count) as u64;
        if fixed + self.data_bytes > MAX_FILE {
            return Err(MotecError::TooLarge {
                what: format!("{} bytes of samples", self.data_bytes),
                limit: MAX_FILE,
            });
        }
        let raw = channel.spec.scaling.to_raw(value);
        match channel.spec.sample_type {
            SampleType::F32 => channel.buf.extend_from_slice(&(raw as f32).to_le_bytes()),
            SampleType::I16 => {
                let (v, clipped) = saturate(raw, f64::from(i16::MIN), f64::from(i16::MAX));
                self.clipped += u64::from(clipped);
                channel.buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            SampleType::I32 => {
                let (v, clipped) = saturate(raw, f64::from(i32::MIN), f64::from(i32::MAX));
                self.clipped += u64::from(clipped);
                channel.buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
        }
        channel.count += 1;
        if channel.buf.len() >= self.chunk_bytes {
            self.spill_len = spill_chunk(&mut self.spill, self.spill_len, channel)?;
        }
        Ok(())
    }

    /// Appends values to channel `index`.
    pub fn push_slice(&mut self, index: usize, values: &[f64]) -> Result<(), MotecError> {
        values.iter().try_for_each(|&v| self.push(index, v))
    }

    /// Appends one value to every channel, in declaration order (a row of columns at one
    /// instant, for logs whose channels share a rate).
    pub fn push_row(&mut self, values: &[f64]) -> Result<(), MotecError> {
        if values.len() != self.channels.len() {
            return Err(MotecError::RowLength { got: values.len(), expected: self.channels.len() });
        }
        values.iter().enumerate().try_for_each(|(i, &v)| self.push(i, v))
    }

    /// Writes the file and returns what it holds. The output is flushed; the spill file is
    /// dropped (an anonymous temporary file disappears then).
    pub fn finish(mut self) -> Result<LdSummary, MotecError> {
        let mut altered = Vec::new();
        let n = self.channels.len();
        let data_at = DESCRIPTORS_AT + DESCRIPTOR_LEN * n;

        let mut head = vec![0u8; DESCRIPTORS_AT];
        self.fill_blocks(&mut head, n, data_at, &mut altered);
        self.out.write_all(&head).map_err(MotecError::io("writing the .ld header"))?;

        let mut offset = data_at as u64;
        let mut descriptors = vec![0u8; DESCRIPTOR_LEN * n];
        for (i, channel) in self.channels.iter().enumerate() {
            let d = &mut descriptors[i * DESCRIPTOR_LEN..(i + 1) * DESCRIPTOR_LEN];
            let at = |k: usize| (DESCRIPTORS_AT + k * DESCRIPTOR_LEN) as u32;
            put_u32(d, 0x00, if i == 0 { 0 } else { at(i - 1) });
            put_u32(d, 0x04, if i + 1 == n { 0 } else { at(i + 1) });
            put_u32(d, 0x08, if channel.count == 0 { 0 } else { offset as u32 });
            put_u32(d, 0x0C, channel.count as u32);
            // A running channel id; the ldparser project's writer numbers channels from
            // 0x2EE1, and i2 opens its files.
            put_u16(d, 0x10, 0x2EE1u16.wrapping_add(i as u16));
            let spec = &channel.spec;
            put_u16(d, 0x12, spec.sample_type.code());
            put_u16(d, 0x14, spec.sample_type.size() as u16);
            put_u16(d, 0x16, spec.rate_hz);
            put_u16(d, 0x18, spec.scaling.shift as u16);
            put_u16(d, 0x1A, spec.scaling.multiplier as u16);
            put_u16(d, 0x1C, spec.scaling.scale as u16);
            put_u16(d, 0x1E, spec.scaling.decimal_places as u16);
            put_text(d, 0x20, 32, &spec.name, &format!("channel {i} name"), &mut altered);
            put_text(d, 0x40, 8, &spec.short_name, &format!("channel {i} short name"), &mut altered);
            put_text(d, 0x48, 12, &spec.unit, &format!("channel {i} unit"), &mut altered);
            offset += channel.count * spec.sample_type.size() as u64;
        }
        self.out.write_all(&descriptors).map_err(MotecError::io("writing the channel descriptors"))?;

        let mut copy = vec![0u8; self.chunk_bytes];
        for channel in &self.channels {
            for &(at, len) in &channel.chunks {
                copy.resize(len, 0);
                self.spill.seek(SeekFrom::Start(at)).map_err(MotecError::io("reading the spill file"))?;
                self.spill.read_exact(&mut copy).map_err(MotecError::io("reading the spill file"))?;
                self.out.write_all(&copy).map_err(MotecError::io("writing channel samples"))?;
            }
            self.out.write_all(&channel.buf).map_err(MotecError::io("writing channel samples"))?;
        }
        self.out.flush().map_err(MotecError::io("flushing the .ld file"))?;
        Ok(LdSummary {
            bytes: offset,
            samples: self.channels.iter().map(|c| c.count).collect(),
            clipped: self.clipped,
            altered_text: altered,
        })
    }

    /// Header, event, venue and vehicle blocks into `b` (zeroed, `DESCRIPTORS_AT` long).
    fn fill_blocks(&self, b: &mut [u8], n: usize, data_at: usize, altered: &mut Vec<String>) {
        let h = &self.header;
        // Header. The constants are the ones the reader's module docs explain.
        put_u32(b, 0x000, 0x40);
        put_u32(b, 0x008, if n == 0 { 0 } else { DESCRIPTORS_AT as u32 });
        put_u32(b, 0x00C, if n == 0 { 0 } else { data_at as u32 });
        put_u32(b, 0x024, EVENT_AT as u32);
        put_u32(b, 0x042, 1_000_000);
        put_u32(b, 0x046, h.device.serial);
        put_text(b, 0x04A, 8, &h.device.kind, "device type", altered);
        put_u16(b, 0x052, h.device.version);
        put_u16(b, 0x054, 0x0080);
        put_u32(b, 0x056, n as u32);
        put_text(b, 0x05E, 16, &h.date_time.date_text(), "date", altered);
        put_text(b, 0x07E, 16, &h.date_time.time_text(), "time", altered);
        put_text(b, 0x09E, 64, &h.driver, "driver", altered);
        put_text(b, 0x0DE, 64, &h.vehicle_id, "vehicle id", altered);
        put_text(b, 0x15E, 64, &h.venue, "venue", altered);
        put_text(b, 0x5E4, 64, &h.session, "session", altered);
        put_text(b, 0x624, 64, &h.short_comment, "short comment", altered);

        // Event block; its venue pointer (and the venue's vehicle pointer) are 16-bit.
        put_text(b, EVENT_AT, 64, &h.event, "event", altered);
        put_text(b, EVENT_AT + 64, 64, &h.session, "session", altered);
        put_text(b, EVENT_AT + 128, 1024, &h.event_comment, "event comment", altered);
        put_u16(b, EVENT_AT + 1152, VENUE_AT as u16);

        put_text(b, VENUE_AT, 64, &h.venue, "venue", altered);
        put_u16(b, VENUE_AT + 1098, VEHICLE_AT as u16);

        put_text(b, VEHICLE_AT, 64, &h.vehicle_id, "vehicle id", altered);
        put_u32(b, VEHICLE_AT + 192, h.vehicle_weight);
        put_text(b, VEHICLE_AT + 196, 32, &h.vehicle_type, "vehicle type", altered);
        put_text(b, VEHICLE_AT + 228, 32, &h.vehicle_comment, "vehicle comment", altered);
    }
}

fn spill_chunk<S: Write + Seek>(
    spill: &mut S,
    spill_len: u64,
    channel: &mut Channel,
) -> Result<u64, MotecError> {
    spill.seek(SeekFrom::Start(spill_len)).map_err(MotecError::io("writing the spill file"))?;
    spill.write_all(&channel.buf).map_err(MotecError::io("writing the spill file"))?;
    channel.chunks.push((spill_len, channel.buf.len()));
    let len = spill_len + channel.buf.len() as u64;
    channel.buf.clear();
    Ok(len)
}

/// `raw` rounded and saturated to `[lo, hi]`; NaN becomes 0. The flag says it was changed.
fn saturate(raw: f64, lo: f64, hi: f64) -> (f64, bool) {
    if raw.is_nan() {
        return (0.0, true);
    }
    let r = raw.round();
    if r < lo {
        (lo, true)
    } else if r > hi {
        (hi, true)
    } else {
        (r, false)
    }
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_text(b: &mut [u8], at: usize, len: usize, text: &str, field: &str, altered: &mut Vec<String>) {
    let (bytes, fit): (Vec<u8>, Fit) = text::encode(text, len);
    b[at..at + bytes.len()].copy_from_slice(&bytes);
    if fit.altered() && !altered.iter().any(|f| f == field) {
        altered.push(field.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_offsets_chain_up() {
        assert_eq!(DESCRIPTORS_AT, 0x10B4);
        assert_eq!(VENUE_AT, 0x0B64);
        assert_eq!(VEHICLE_AT, 0x0FB0);
        // The 16-bit pointers of the event and venue blocks can hold them.
        assert!(VEHICLE_AT < usize::from(u16::MAX));
    }

    #[test]
    fn saturation_rounds_and_clips() {
        assert_eq!(saturate(1.5, -10.0, 10.0), (2.0, false));
        assert_eq!(saturate(-11.0, -10.0, 10.0), (-10.0, true));
        assert_eq!(saturate(f64::INFINITY, -10.0, 10.0), (10.0, true));
        assert_eq!(saturate(f64::NAN, -10.0, 10.0), (0.0, true));
    }

    #[test]
    fn scaling_inverts_the_readers_formula() {
        let s = Scaling { shift: 10, multiplier: 2, scale: 4, decimal_places: 1 };
        let raw = s.to_raw(36.0);
        // (raw / scale × 10^-dec + shift) × mul
        assert_eq!((raw / 4.0 / 10.0 + 10.0) * 2.0, 36.0);
    }
}
