//! One JetStream message: several consecutive frames of one session.
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
//! `compression = "none"`). A payload that does not shrink travels plain. Frames of one car
//! repeat much of each other, so a message of a thousand frames shrinks to about a third: every
//! replica then stores, replicates and serves that much less (docs/jetstream.md, "Figures").

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};

use crate::session::SessionId;
use crate::sinks::{SinkError, WalFrame};

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
/// more than the compression costs the ingest node).
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
pub(crate) fn frame_len(f: &WalFrame) -> usize {
    encoded_len_varint(f.seq) + encoded_len_varint(f.bytes.len() as u64) + f.bytes.len()
}

/// The payload of `frames` (one session's, in seq order).
pub(crate) fn encode(frames: &[WalFrame]) -> Bytes {
    let mut buf = BytesMut::with_capacity(frames.iter().map(frame_len).sum());
    for f in frames {
        encode_varint(f.seq, &mut buf);
        encode_varint(f.bytes.len() as u64, &mut buf);
        buf.put_slice(&f.bytes);
    }
    buf.freeze()
}

/// `payload` compressed, when that makes it smaller: the bytes to publish and the
/// [`HDR_ENCODING`] to send with them (`None`: plain).
pub(crate) fn compress(payload: Bytes) -> (Bytes, Option<&'static str>) {
    match zstd::bulk::compress(&payload, ZSTD_LEVEL) {
        Ok(z) if z.len() < payload.len() => (Bytes::from(z), Some(ENCODING_ZSTD)),
        _ => (payload, None),
    }
}

/// The plain payload of a message whose [`HDR_ENCODING`] is `encoding` (`None`: no header).
pub fn plain(payload: &Bytes, encoding: Option<&str>, what: &str) -> Result<Bytes, SinkError> {
    match encoding {
        None => Ok(payload.clone()),
        Some(ENCODING_ZSTD) => zstd::bulk::decompress(payload, MAX_PLAIN_BYTES)
            .map(Bytes::from)
            .map_err(|e| SinkError::other(format!("JetStream message {what}: zstd payload: {e}"))),
        Some(other) => {
            Err(SinkError::other(format!("JetStream message {what}: unknown {HDR_ENCODING} {other:?}")))
        }
    }
}

/// The frames of a message: its payload decoded as its headers say ([`plain`], then
/// [`decode`]).
pub fn decode_message(
    payload: &Bytes,
    headers: Option<&async_nats::HeaderMap>,
    what: &str,
) -> Result<Vec<MessageFrame>, SinkError> {
    let encoding = headers.and_then(|h| h.get(HDR_ENCODING)).map(|v| v.as_str());
    decode(&plain(payload, encoding, what)?, what)
}

/// The frames of a plain payload; `what` names the message in errors (subject and stream seq).
pub fn decode(payload: &Bytes, what: &str) -> Result<Vec<MessageFrame>, SinkError> {
    let mut rest = payload.clone();
    let mut out = Vec::new();
    while rest.has_remaining() {
        let at = payload.len() - rest.len();
        let bad = |why: String| SinkError::other(format!("JetStream message {what}: byte {at}: {why}"));
        let seq = decode_varint(&mut rest).map_err(|e| bad(format!("seq: {e}")))?;
        let len = decode_varint(&mut rest).map_err(|e| bad(format!("length: {e}")))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= rest.len())
            .ok_or_else(|| bad(format!("frame of {len} bytes, {} left in the message", rest.len())))?;
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
    use crate::wal::WalPosition;

    #[test]
    fn payloads_round_trip_and_damage_is_an_error() {
        let s = SessionId([3; 16]);
        let frames: Vec<WalFrame> = [5u64, 6, 300]
            .iter()
            .map(|&seq| WalFrame {
                position: WalPosition::default(),
                session_id: s,
                seq,
                bytes: Bytes::from(vec![seq as u8; seq as usize]),
            })
            .collect();
        let p = encode(&frames);
        assert_eq!(p.len(), frames.iter().map(frame_len).sum::<usize>());
        let back = decode(&p, "t").unwrap();
        assert_eq!(back.iter().map(|f| f.seq).collect::<Vec<_>>(), [5, 6, 300]);
        assert_eq!(back[2].bytes, frames[2].bytes);
        let cut = p.slice(..p.len() - 1);
        let e = decode(&cut, "x").unwrap_err().to_string();
        assert!(e.contains("frame of 300 bytes"), "{e}");
        assert_eq!(parse_session(&s.to_string()), Some(s));
        assert_eq!(parse_session("not-a-uuid"), None);
    }

    #[test]
    fn compressed_payloads_round_trip_and_damage_is_an_error_not_a_panic() {
        let s = SessionId([4; 16]);
        // Frames that repeat, as a car's do: the payload shrinks.
        let frames: Vec<WalFrame> = (0..200u64)
            .map(|seq| WalFrame {
                position: WalPosition::default(),
                session_id: s,
                seq,
                bytes: Bytes::from(format!("frame {seq} speed 123.4 rpm 7000 gear 4").into_bytes()),
            })
            .collect();
        let p = encode(&frames);
        let (z, enc) = compress(p.clone());
        assert_eq!(enc, Some(ENCODING_ZSTD));
        assert!(z.len() * 3 < p.len(), "{} of {}", z.len(), p.len());
        let mut h = async_nats::HeaderMap::new();
        h.insert(HDR_ENCODING, ENCODING_ZSTD);
        let back = decode_message(&z, Some(&h), "t").unwrap();
        assert_eq!(back.len(), 200);
        assert_eq!(back[199].bytes, frames[199].bytes);
        // No header: the plain payload, as published before compression existed.
        assert_eq!(decode_message(&p, None, "t").unwrap().len(), 200);
        // A payload that does not shrink travels plain.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let noise = Bytes::from(noise);
        assert_eq!(compress(noise.clone()), (noise, None));
        // Damage: each byte flipped in turn, and cut short; never a panic, an error naming it.
        for i in (0..z.len()).step_by(7) {
            let mut bad = z.to_vec();
            bad[i] ^= 0x5a;
            let _ = decode_message(&Bytes::from(bad), Some(&h), "t");
        }
        let e = decode_message(&z.slice(..z.len() / 2), Some(&h), "cut").unwrap_err().to_string();
        assert!(e.contains("JetStream message cut: zstd payload"), "{e}");
        h.insert(HDR_ENCODING, "br");
        let e = decode_message(&z, Some(&h), "x").unwrap_err().to_string();
        assert!(e.contains("unknown Pitwall-Encoding"), "{e}");
    }
}
