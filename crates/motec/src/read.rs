//! A reader of `.ld` files, kept independent of the writer: its own offsets, its own decoding,
//! so the round-trip tests check the writer against a second reading of the layout.
//!
//! It reads the whole file into memory (it serves tests, checks and the fuzzer; a log of an
//! hour at 333 Hz and 60 channels is about 300 MB, so it is not meant for those). Every read is
//! bounds-checked; bad input is an error naming the structure and offset, never a panic.
//!
//! ## The layout, as the public readers reverse-engineered it
//!
//! There is no published specification. These offsets agree between the Python `ldparser`
//! project, the Rust `motec-i2` crate and the writers that produce files i2 opens.
//! All numbers are little-endian; text is NUL-padded 8-bit.
//!
//! Header (1762 bytes at offset 0):
//!
//! | offset | size | field |
//! |---|---|---|
//! | `0x000` | u32 | marker, `0x40` (**fixed**; readers reject anything else) |
//! | `0x008` | u32 | first channel descriptor |
//! | `0x00C` | u32 | first channel's data |
//! | `0x024` | u32 | event block |
//! | `0x042` | u32 | `1_000_000` (**fixed**) |
//! | `0x046` | u32 | device serial |
//! | `0x04A` | 8 | device type, e.g. `ADL` |
//! | `0x052` | u16 | device version, e.g. 420 |
//! | `0x054` | u16 | `0x0080` (**fixed**) |
//! | `0x056` | u32 | number of channels |
//! | `0x05E` | 16 | date `dd/mm/yyyy` |
//! | `0x07E` | 16 | time `HH:MM:SS` |
//! | `0x09E` | 64 | driver |
//! | `0x0DE` | 64 | vehicle id |
//! | `0x15E` | 64 | venue |
//! | `0x5DE` | u32 | "pro logging" word: 0 in what we write (see below) |
//! | `0x5E4` | 64 | session |
//! | `0x624` | 64 | short comment |
//!
//! Every other byte of the header is 0 in what we write. What the two fixed words mean is not
//! known; they are constants, not options, because i2 is stricter than the open-source readers:
//! a user of the Python `ldparser` project reported (its issue 15) that i2 showed the header of
//! a file written by it but would not open the data. We write the values of a real MoTeC ADL
//! logger's file (the sample file the `motec-i2` crate tests against), which the
//! `sim-to-motec` project, made to feed i2, also writes: `1_000_000` at `0x042` and
//! `0x0080` at `0x054` (the `ldparser` writer, modelled on Assetto Corsa Competizione's logs,
//! writes `1` at `0x040` and `0xADB0` at `0x054` instead). The `motec-i2` crate's reader
//! insists on the ADL values, which is one more reason to write them.
//!
//! The "pro logging" word is non-zero in files from loggers with MoTeC's paid Pro Logging
//! option, and is reported to unlock i2 Pro's features. That is MoTeC's licence to grant, not
//! ours: we write 0, as `sim-to-motec` does, which makes the file a standard log.
//!
//! Event block (at the header's pointer): name 64, session 64, comment 1024, u16 venue pointer.
//! Venue block: name 64, 1034 bytes unknown, u16 vehicle pointer. Vehicle block: id 64, 128
//! unknown, u32 weight, type 32, comment 32.
//!
//! Channel descriptor (124 bytes, a doubly linked list; a next pointer of 0 ends it):
//!
//! | offset | size | field |
//! |---|---|---|
//! | `0x00` | u32 | previous descriptor (0 for the first) |
//! | `0x04` | u32 | next descriptor (0 for the last) |
//! | `0x08` | u32 | data pointer |
//! | `0x0C` | u32 | sample count |
//! | `0x10` | u16 | channel id (writers number them from `0x2EE1`) |
//! | `0x12` | u16 | type: 0, 3, 5 integer; 7 float |
//! | `0x14` | u16 | sample size, 2 or 4 |
//! | `0x16` | u16 | sample rate, Hz |
//! | `0x18` | i16 | shift |
//! | `0x1A` | i16 | multiplier |
//! | `0x1C` | i16 | scale |
//! | `0x1E` | i16 | decimal places |
//! | `0x20` | 32 | name |
//! | `0x40` | 8 | short name |
//! | `0x48` | 12 | unit |
//!
//! A sample's physical value is `(raw / scale × 10^−decimal places + shift) × multiplier`.

use std::path::Path;

use crate::error::MotecError;

const MARKER: u32 = 0x40;
const HEADER_SIZE: u64 = 0x6E2;
const DESC_SIZE: u64 = 124;
const EVENT_SIZE: u64 = 1154;
const VENUE_SIZE: u64 = 1100;
const VEHICLE_SIZE: u64 = 260;

/// The header and the event, venue and vehicle blocks, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Offset of the first channel descriptor (0: none).
    pub first_descriptor: u32,
    /// Offset of the first channel's data.
    pub first_data: u32,
    /// Offset of the event block (0: none).
    pub event_at: u32,
    /// Device serial.
    pub device_serial: u32,
    /// Device type.
    pub device_type: String,
    /// Device version.
    pub device_version: u16,
    /// Channel count the header states.
    pub channel_count: u32,
    /// Date text, `dd/mm/yyyy`.
    pub date: String,
    /// Time text, `HH:MM:SS`.
    pub time: String,
    /// Driver.
    pub driver: String,
    /// Vehicle id.
    pub vehicle_id: String,
    /// Venue.
    pub venue: String,
    /// Session (header copy).
    pub session: String,
    /// Short comment.
    pub short_comment: String,
    /// The "pro logging" word at `0x5DE`.
    pub pro_logging: u32,
    /// Words at `0x040`, `0x042` and `0x054` (the writer fixes the last two).
    pub fixed_words: (u16, u32, u16),
    /// Event block, if the header points to one.
    pub event: Option<Event>,
}

/// The event block and what hangs from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// Session.
    pub session: String,
    /// Long comment.
    pub comment: String,
    /// Venue name from the venue block, if it points to one.
    pub venue: Option<String>,
    /// Vehicle block, if the venue points to one.
    pub vehicle: Option<Vehicle>,
}

/// The vehicle block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vehicle {
    /// Vehicle id.
    pub id: String,
    /// Weight, kg.
    pub weight: u32,
    /// Type.
    pub kind: String,
    /// Comment.
    pub comment: String,
}

/// Stored samples of one channel, as they are in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 16-bit floats, widened.
    F16(Vec<f32>),
    /// 32-bit floats.
    F32(Vec<f32>),
}

impl Raw {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Raw::I16(v) => v.len(),
            Raw::I32(v) => v.len(),
            Raw::F16(v) | Raw::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One channel: its descriptor and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Offset of its descriptor.
    pub descriptor_at: u64,
    /// Offset of its data.
    pub data_at: u64,
    /// Channel id word.
    pub id: u16,
    /// Type code (0, 3, 5, 7).
    pub type_code: u16,
    /// Name.
    pub name: String,
    /// Short name.
    pub short_name: String,
    /// Unit.
    pub unit: String,
    /// Sample rate, Hz.
    pub rate_hz: u16,
    /// Shift.
    pub shift: i16,
    /// Multiplier.
    pub multiplier: i16,
    /// Scale.
    pub scale: i16,
    /// Decimal places.
    pub decimal_places: i16,
    /// Samples as stored.
    pub raw: Raw,
}

impl Channel {
    /// The physical values: `(raw / scale × 10^−decimal places + shift) × multiplier`.
    pub fn values(&self) -> Vec<f64> {
        // Dividing by 10^places (exact for places ≤ 22) rather than multiplying by 10^−places
        // (inexact) gives the correctly rounded value: 9999 at 2 places reads 99.99.
        let divisor = f64::from(self.scale) * 10f64.powi(i32::from(self.decimal_places));
        let (shift, mul) = (f64::from(self.shift), f64::from(self.multiplier));
        let convert = |raw: f64| (raw / divisor + shift) * mul;
        match &self.raw {
            Raw::I16(v) => v.iter().map(|&x| convert(f64::from(x))).collect(),
            Raw::I32(v) => v.iter().map(|&x| convert(f64::from(x))).collect(),
            Raw::F16(v) | Raw::F32(v) => v.iter().map(|&x| convert(f64::from(x))).collect(),
        }
    }
}

/// A whole `.ld` file.
#[derive(Debug, Clone, PartialEq)]
pub struct LdFile {
    /// Header and blocks.
    pub header: Header,
    /// Channels, in list order.
    pub channels: Vec<Channel>,
}

impl LdFile {
    /// The channel named `name`, if any.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// Reads the file at `path`.
pub fn read_file(path: &Path) -> Result<LdFile, MotecError> {
    let bytes = std::fs::read(path).map_err(MotecError::io("reading the .ld file"))?;
    parse(&bytes)
}

/// Parses an `.ld` file held in memory.
pub fn parse(bytes: &[u8]) -> Result<LdFile, MotecError> {
    let file = Bytes(bytes);
    let h = file.block("header", 0, HEADER_SIZE)?;
    let marker = u32_at(h, 0x000);
    if marker != MARKER {
        return Err(MotecError::BadMarker { found: marker });
    }
    let mut header = Header {
        first_descriptor: u32_at(h, 0x008),
        first_data: u32_at(h, 0x00C),
        event_at: u32_at(h, 0x024),
        device_serial: u32_at(h, 0x046),
        device_type: text_at(h, 0x04A, 8),
        device_version: u16_at(h, 0x052),
        channel_count: u32_at(h, 0x056),
        date: text_at(h, 0x05E, 16),
        time: text_at(h, 0x07E, 16),
        driver: text_at(h, 0x09E, 64),
        vehicle_id: text_at(h, 0x0DE, 64),
        venue: text_at(h, 0x15E, 64),
        pro_logging: u32_at(h, 0x5DE),
        session: text_at(h, 0x5E4, 64),
        short_comment: text_at(h, 0x624, 64),
        fixed_words: (u16_at(h, 0x040), u32_at(h, 0x042), u16_at(h, 0x054)),
        event: None,
    };
    if header.event_at != 0 {
        header.event = Some(read_event(file, u64::from(header.event_at))?);
    }

    let mut channels = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut at = u64::from(header.first_descriptor);
    // Sample bytes claimed so far. Channels never share data, so they cannot claim more than
    // the file holds; checking it bounds the memory a hostile file can make us allocate.
    let mut claimed = 0u64;
    while at != 0 {
        let index = channels.len();
        if !seen.insert(at) {
            let from = channels.last().map_or(0, |c: &Channel| c.descriptor_at);
            return Err(MotecError::ChannelLoop { index: index.saturating_sub(1), offset: from, target: at });
        }
        let (channel, next) = read_channel(file, index, at)?;
        claimed += channel.raw.len() as u64 * u64::from(channel_size(&channel.raw));
        if claimed > bytes.len() as u64 {
            return Err(MotecError::Truncated {
                what: format!("channel {index} ({:?}): the channels' samples together", channel.name),
                offset: channel.data_at,
                need: claimed,
                len: bytes.len() as u64,
            });
        }
        channels.push(channel);
        at = next;
    }
    Ok(LdFile { header, channels })
}

fn read_event(file: Bytes<'_>, at: u64) -> Result<Event, MotecError> {
    let e = file.block("event block", at, EVENT_SIZE)?;
    let mut event = Event {
        name: text_at(e, 0, 64),
        session: text_at(e, 64, 64),
        comment: text_at(e, 128, 1024),
        venue: None,
        vehicle: None,
    };
    let venue_at = u64::from(u16_at(e, 1152));
    if venue_at != 0 {
        let v = file.block("venue block", venue_at, VENUE_SIZE)?;
        event.venue = Some(text_at(v, 0, 64));
        let vehicle_at = u64::from(u16_at(v, 1098));
        if vehicle_at != 0 {
            let w = file.block("vehicle block", vehicle_at, VEHICLE_SIZE)?;
            event.vehicle = Some(Vehicle {
                id: text_at(w, 0, 64),
                weight: u32_at(w, 192),
                kind: text_at(w, 196, 32),
                comment: text_at(w, 228, 32),
            });
        }
    }
    Ok(event)
}

fn read_channel(file: Bytes<'_>, index: usize, at: u64) -> Result<(Channel, u64), MotecError> {
    let d = file.block(&format!("channel descriptor {index}"), at, DESC_SIZE)?;
    let next = u64::from(u32_at(d, 0x04));
    let data_at = u64::from(u32_at(d, 0x08));
    let count = u64::from(u32_at(d, 0x0C));
    let type_code = u16_at(d, 0x12);
    let size = u16_at(d, 0x14);
    let name = text_at(d, 0x20, 32);
    let scale = u16_at(d, 0x1C) as i16;
    if scale == 0 {
        return Err(MotecError::BadScaling { name, offset: at, problem: "its scale is 0".into() });
    }
    let what = format!("data of channel {index} ({name:?})");
    let raw = match (type_code, size) {
        (0 | 3 | 5, 2) => Raw::I16(
            file.samples(&what, data_at, count, 2)?.map(|b| i16::from_le_bytes([b[0], b[1]])).collect(),
        ),
        (0 | 3 | 5, 4) => Raw::I32(
            file.samples(&what, data_at, count, 4)?
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        (7, 2) => Raw::F16(
            file.samples(&what, data_at, count, 2)?
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        ),
        (7, 4) => Raw::F32(
            file.samples(&what, data_at, count, 4)?
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        _ => return Err(MotecError::UnknownDataType { name, offset: at, code: type_code, size }),
    };
    let channel = Channel {
        descriptor_at: at,
        data_at,
        id: u16_at(d, 0x10),
        type_code,
        short_name: text_at(d, 0x40, 8),
        unit: text_at(d, 0x48, 12),
        rate_hz: u16_at(d, 0x16),
        shift: u16_at(d, 0x18) as i16,
        multiplier: u16_at(d, 0x1A) as i16,
        scale,
        decimal_places: u16_at(d, 0x1E) as i16,
        name,
        raw,
    };
    Ok((channel, next))
}

/// The file, with bounds-checked access to its blocks.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn block(self, what: &str, at: u64, size: u64) -> Result<&'a [u8], MotecError> {
        let len = self.0.len() as u64;
        let end = at.checked_add(size).filter(|&end| end <= len);
        match end {
            Some(end) => Ok(&self.0[at as usize..end as usize]),
            None => Err(MotecError::Truncated { what: what.to_owned(), offset: at, need: size, len }),
        }
    }

    fn samples(
        self,
        what: &str,
        at: u64,
        count: u64,
        size: u64,
    ) -> Result<std::slice::ChunksExact<'a, u8>, MotecError> {
        // count < 2^32 and size ≤ 4: the product cannot overflow a u64.
        let bytes = if count == 0 { &[][..] } else { self.block(what, at, count * size)? };
        Ok(bytes.chunks_exact(size as usize))
    }
}

fn channel_size(raw: &Raw) -> u16 {
    match raw {
        Raw::I16(_) | Raw::F16(_) => 2,
        Raw::I32(_) | Raw::F32(_) => 4,
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Text up to the first NUL, each byte a Latin-1 character (see [`crate::fit`]).
fn text_at(b: &[u8], at: usize, len: usize) -> String {
    let field = &b[at..at + len];
    let end = field.iter().position(|&c| c == 0).unwrap_or(len);
    field[..end].iter().map(|&c| char::from(c)).collect()
}

/// IEEE 754 half precision to single.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1F);
    let frac = f32::from(h & 0x3FF);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_decode() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
    }

    #[test]
    fn an_empty_input_names_the_header() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "truncated .ld: header at offset 0x0 needs 1762 bytes, but the file has 0"
        );
    }
}
