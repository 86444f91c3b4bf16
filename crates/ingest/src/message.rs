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
//! **Compression.** With `compression = "zstd"` (the default) the payload above is compressed
//! as one zstd frame and the message says so in [`HDR_ENCODING`] (`zstd`); a message without
//! that header is the plain payload (what pitwall published before, or with
//! `compression = "none"`). A payload that does not shrink travels plain. A car's consecutive
//! frames share much, so a message of a thousand frames shrinks to less than half: every replica
//! then stores, replicates and serves that much less (docs/jetstream.md, "Figures").

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
/// The [`HDR_ENCODING`] of a zstd-compressed payload.
pub const ENCODING_ZSTD: &str = "zstd";
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

/// `payload` compressed, when that makes it smaller: the bytes to publish and the
/// [`HDR_ENCODING`] to send with them (`None`: plain).
pub fn compress(payload: Bytes) -> (Bytes, Option<&'static str>) {
    match zstd::bulk::compress(&payload, ZSTD_LEVEL) {
        Ok(z) if z.len() < payload.len() => (Bytes::from(z), Some(ENCODING_ZSTD)),
        _ => (payload, None),
    }
}

/// The plain payload of a message whose [`HDR_ENCODING`] is `encoding` (`None`: no header).
pub fn plain(payload: &Bytes, encoding: Option<&str>) -> Result<Bytes, String> {
    match encoding {
        None => Ok(payload.clone()),
        Some(ENCODING_ZSTD) => zstd::bulk::decompress(payload, MAX_PLAIN_BYTES)
            .map(Bytes::from)
            .map_err(|e| format!("zstd payload: {e}")),
        Some(other) => Err(format!("unknown {HDR_ENCODING} {other:?}")),
    }
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
