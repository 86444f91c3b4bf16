//! The payload of a JetStream message (the JetStream sink's wire form), pure: no NATS, no
//! server. Its own module so that the fuzz target builds it alone (feature `message`).
//!
//! Payload: for each frame, `varint(seq)`, `varint(len)`, then the `TelemetryFrame` bytes exactly
//! as the bridge sent them (the recording's length-delimited form with the seq in front, so a
//! reader can skip frames without decoding them). Headers say what the message holds without
//! reading it: [`HDR_SESSION`], [`HDR_FIRST_SEQ`], [`HDR_LAST_SEQ`], [`HDR_FRAMES`]. The last seq
//! is what another ingest node reads back (the last message of a session's subject) to learn
//! where the stream's copy of the session ends.
//!
//! **Compression.** With `compression = "zstd"` (the default) the frames travel in columns and
//! compressed, and the message says so in [`HDR_ENCODING`] ([`ENCODING_ZSTD_COLUMNS`]): first
//! `varint(count)` and each frame's `varint(seq) varint(len)`, then the frames' bytes, each run
//! of consecutive frames of one length column by column (byte 0 of every frame of the run, then
//! byte 1, …), each byte stored as its difference (wrapping) from the same byte of the frame
//! before in the run; all of it one zstd frame. A car's consecutive frames have the same fields
//! at the same places with values that move little, so the columns are mostly small
//! differences: a message of 1024 frames shrinks about 7.6 times, where zstd on the plain
//! payload gets 2.2 (the order of the bytes is all that changes). Every replica then stores,
//! replicates and serves that much less (docs/jetstream.md, "Figures").
//!
//! A message without the header is the plain payload (`compression = "none"`, or a payload that
//! did not shrink); [`ENCODING_ZSTD`], the plain payload as one zstd frame, is read too.

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};

use crate::session::SessionId;

/// Header: the session id (UUID text).
pub const HDR_SESSION: &str = "Pitwall-Session";
/// Header: seq of the message's first frame.
pub const HDR_FIRST_SEQ: &str = "Pitwall-First-Seq";
/// Header: seq of the message's last frame.
pub const HDR_LAST_SEQ: &str = "Pitwall-Last-Seq";
/// Header: number of frames in the message.
pub const HDR_FRAMES: &str = "Pitwall-Frames";
/// Header: how the payload is encoded (`zstd`); absent, the payload is plain.
pub const HDR_ENCODING: &str = "Pitwall-Encoding";
/// The [`HDR_ENCODING`] of a plain payload compressed as one zstd frame (read, not written).
pub const ENCODING_ZSTD: &str = "zstd";
/// The [`HDR_ENCODING`] of frames in columns, compressed (what pitwall writes).
pub const ENCODING_ZSTD_COLUMNS: &str = "zstd-columns";
/// zstd's level for messages: its fastest positive level (the bytes a replica handles cost it
/// more than the compression costs the ingest node; measured in docs/jetstream.md).
const ZSTD_LEVEL: i32 = 1;
/// Largest plain payload a compressed message may expand to: the largest `max_message_bytes`
/// accepted, so that a hostile message cannot make a reader allocate more.
pub const MAX_PLAIN_BYTES: usize = 64 << 20;

/// A frame read back from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFrame {
    /// The frame's seq.
    pub seq: u64,
    /// The encoded `TelemetryFrame`.
    pub bytes: Bytes,
}

/// Bytes one frame takes in a payload.
pub fn frame_len(seq: u64, bytes: &[u8]) -> usize {
    encoded_len_varint(seq) + encoded_len_varint(bytes.len() as u64) + bytes.len()
}

/// The plain payload of `frames` (one session's, in seq order).
pub fn encode<'a>(frames: impl Iterator<Item = (u64, &'a [u8])> + Clone) -> Bytes {
    let mut buf = BytesMut::with_capacity(frames.clone().map(|(s, b)| frame_len(s, b)).sum());
    for (seq, bytes) in frames {
        encode_varint(seq, &mut buf);
        encode_varint(bytes.len() as u64, &mut buf);
        buf.put_slice(bytes);
    }
    buf.freeze()
}

/// The payload of `frames` (one session's, in seq order) and its [`HDR_ENCODING`] (`None`:
/// plain): with `compress`, in columns and compressed, unless that is no smaller than plain.
pub fn encode_message<'a>(
    frames: impl Iterator<Item = (u64, &'a [u8])> + Clone,
    compress: bool,
) -> (Bytes, Option<&'static str>) {
    if compress {
        let plain_len: usize = frames.clone().map(|(s, b)| frame_len(s, b)).sum();
        if let Ok(z) = zstd::bulk::compress(&columns(frames.clone()), ZSTD_LEVEL)
            && z.len() < plain_len
        {
            return (Bytes::from(z), Some(ENCODING_ZSTD_COLUMNS));
        }
    }
    (encode(frames), None)
}

/// The frames of a message whose [`HDR_ENCODING`] is `encoding` (`None`: no header).
pub fn read(payload: &Bytes, encoding: Option<&str>) -> Result<Vec<MessageFrame>, String> {
    match encoding {
        None => frames(payload),
        Some(ENCODING_ZSTD) => frames(&inflate(payload)?.into()),
        Some(ENCODING_ZSTD_COLUMNS) => from_columns(&inflate(payload)?),
        Some(other) => Err(format!("unknown {HDR_ENCODING} {other:?}")),
    }
}

fn inflate(payload: &[u8]) -> Result<Vec<u8>, String> {
    zstd::bulk::decompress(payload, MAX_PLAIN_BYTES).map_err(|e| format!("zstd payload: {e}"))
}

/// The frames in columns (before compression; see the module's documentation).
fn columns<'a>(frames: impl Iterator<Item = (u64, &'a [u8])>) -> Vec<u8> {
    let list: Vec<(u64, &[u8])> = frames.collect();
    let body: usize = list.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(body + 4 * list.len() + 8);
    encode_varint(list.len() as u64, &mut out);
    for (seq, bytes) in &list {
        encode_varint(*seq, &mut out);
        encode_varint(bytes.len() as u64, &mut out);
    }
    for run in list.chunk_by(|a, b| a.1.len() == b.1.len()) {
        for col in 0..run[0].1.len() {
            let mut before = 0u8;
            for (_, bytes) in run {
                out.push(bytes[col].wrapping_sub(before));
                before = bytes[col];
            }
        }
    }
    out
}

/// The frames of their columns ([`columns`]), checked: the lengths must add up to the bytes.
fn from_columns(buf: &[u8]) -> Result<Vec<MessageFrame>, String> {
    let mut rest = buf;
    let count = decode_varint(&mut rest).map_err(|e| format!("columns: frame count: {e}"))?;
    // Each frame takes at least two bytes of framing: a count beyond that is damage.
    let count = usize::try_from(count)
        .ok()
        .filter(|c| c.saturating_mul(2) <= rest.len())
        .ok_or_else(|| format!("columns: {count} frames in {} bytes", buf.len()))?;
    let mut heads = Vec::with_capacity(count);
    let mut total = 0usize;
    for i in 0..count {
        let seq = decode_varint(&mut rest).map_err(|e| format!("columns: frame {i}: seq: {e}"))?;
        let len = decode_varint(&mut rest).map_err(|e| format!("columns: frame {i}: length: {e}"))?;
        let len = usize::try_from(len).ok().filter(|l| *l <= rest.len()).ok_or_else(|| {
            format!("columns: frame {i} of {len} bytes, {} left in the message", rest.len())
        })?;
        total += len;
        heads.push((seq, len));
    }
    if total != rest.len() {
        return Err(format!("columns: the frames' lengths add up to {total} bytes, {} follow", rest.len()));
    }
    let mut plain = vec![0u8; total];
    let mut at = 0;
    let mut start = 0;
    for run in heads.chunk_by(|a, b| a.1 == b.1) {
        let len = run[0].1;
        for col in 0..len {
            let mut before = 0u8;
            for k in 0..run.len() {
                let v = rest[at].wrapping_add(before);
                plain[start + k * len + col] = v;
                before = v;
                at += 1;
            }
        }
        start += run.len() * len;
    }
    let plain = Bytes::from(plain);
    let mut off = 0;
    Ok(heads
        .into_iter()
        .map(|(seq, len)| {
            let bytes = plain.slice(off..off + len);
            off += len;
            MessageFrame { seq, bytes }
        })
        .collect())
}

/// The frames of a plain payload.
pub fn frames(payload: &Bytes) -> Result<Vec<MessageFrame>, String> {
    let mut rest = payload.clone();
    let mut out = Vec::new();
    while rest.has_remaining() {
        let at = payload.len() - rest.len();
        let seq = decode_varint(&mut rest).map_err(|e| format!("byte {at}: seq: {e}"))?;
        let len = decode_varint(&mut rest).map_err(|e| format!("byte {at}: length: {e}"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= rest.len())
            .ok_or_else(|| format!("byte {at}: frame of {len} bytes, {} left in the message", rest.len()))?;
        out.push(MessageFrame { seq, bytes: rest.split_to(len) });
    }
    Ok(out)
}

/// Parses a session id in UUID text form (the header and the subject's last token).
pub fn parse_session(text: &str) -> Option<SessionId> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() != 36 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(SessionId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_len(frames: &[(u64, &[u8])]) -> usize {
        frames.iter().map(|(s, b)| frame_len(*s, b)).sum()
    }

    #[test]
    fn plain_payloads_round_trip_and_damage_is_an_error() {
        let bodies: Vec<Vec<u8>> = [5usize, 6, 300].iter().map(|&n| vec![n as u8; n]).collect();
        let frames: Vec<(u64, &[u8])> =
            [5u64, 6, 300].iter().zip(&bodies).map(|(s, b)| (*s, &b[..])).collect();
        let p = encode(frames.iter().copied());
        assert_eq!(p.len(), plain_len(&frames));
        let back = read(&p, None).unwrap();
        assert_eq!(back.iter().map(|f| f.seq).collect::<Vec<_>>(), [5, 6, 300]);
        assert_eq!(&back[2].bytes[..], frames[2].1);
        let e = read(&p.slice(..p.len() - 1), None).unwrap_err();
        assert!(e.contains("frame of 300 bytes"), "{e}");
    }

    /// A car's frames: columns shrink them far more than zstd on the plain payload does, and
    /// they come back exactly, runs of different lengths included.
    #[test]
    fn a_cars_frames_in_columns_shrink_and_come_back_exactly() {
        let template = loadgen::frames::Template::new(loadgen::frames::session_id(3));
        let mut bodies: Vec<Bytes> = (0..1024u64).map(|s| template.frame(10_000 + s)).collect();
        // Runs of other lengths among them: a frame with metadata, short ones, an empty one.
        bodies[100] =
            loadgen::frames::Template::of(&loadgen::frames::realistic(loadgen::frames::session_id(3), 0))
                .frame(10_100);
        bodies[500] = Bytes::from_static(b"short");
        bodies[501] = Bytes::from_static(b"shorter");
        bodies[502] = Bytes::new();
        let frames: Vec<(u64, &[u8])> = (10_000u64..).zip(&bodies).map(|(s, b)| (s, &b[..])).collect();
        let (z, enc) = encode_message(frames.iter().copied(), true);
        assert_eq!(enc, Some(ENCODING_ZSTD_COLUMNS));
        let plain = plain_len(&frames);
        let zstd_plain = zstd::bulk::compress(&encode(frames.iter().copied()), ZSTD_LEVEL).unwrap().len();
        assert!(z.len() * 5 < plain, "{} of {plain}", z.len());
        assert!(z.len() * 2 < zstd_plain, "columns {} against plain zstd {zstd_plain}", z.len());
        let back = read(&z, enc).unwrap();
        assert_eq!(back.len(), frames.len());
        for (b, (seq, bytes)) in back.iter().zip(&frames) {
            assert_eq!((b.seq, &b.bytes[..]), (*seq, *bytes));
        }
        // The plain payload compressed whole (`zstd`) is read too.
        let old = Bytes::from(zstd::bulk::compress(&encode(frames.iter().copied()), 1).unwrap());
        assert_eq!(read(&old, Some(ENCODING_ZSTD)).unwrap(), back);
        // No frames at all.
        let (z, enc) = encode_message(std::iter::empty(), true);
        assert!(read(&z, enc).unwrap().is_empty());
    }

    #[test]
    fn frames_that_do_not_shrink_travel_plain() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let frames = [(1u64, &noise[..2048]), (2, &noise[2048..])];
        let (p, enc) = encode_message(frames.iter().copied(), true);
        assert_eq!(enc, None);
        assert_eq!(p, encode(frames.iter().copied()));
    }

    #[test]
    fn damaged_columns_are_an_error_never_a_panic() {
        let template = loadgen::frames::Template::new(loadgen::frames::session_id(4));
        let bodies: Vec<Bytes> = (0..64u64).map(|s| template.frame(s)).collect();
        let frames: Vec<(u64, &[u8])> = (0u64..).zip(&bodies).map(|(s, b)| (s, &b[..])).collect();
        let (z, enc) = encode_message(frames.iter().copied(), true);
        for i in 0..z.len() {
            let mut bad = z.to_vec();
            bad[i] ^= 0x5a;
            let _ = read(&Bytes::from(bad), enc);
        }
        let e = read(&z.slice(..z.len() - 3), enc).unwrap_err();
        assert!(e.starts_with("zstd payload"), "{e}");
        // Intact zstd around columns whose lengths do not add up.
        let mut cols = columns(frames.iter().copied());
        cols.push(0);
        let e = from_columns(&cols).unwrap_err();
        assert!(e.contains("add up to"), "{e}");
        let e = from_columns(&[0xff, 0xff, 0xff, 0x7f]).unwrap_err();
        assert!(e.contains("frames in 4 bytes"), "{e}");
        let e = read(&z, Some("br")).unwrap_err();
        assert_eq!(e, "unknown Pitwall-Encoding \"br\"");
    }
}
