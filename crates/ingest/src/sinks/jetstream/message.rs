//! One JetStream message: several consecutive frames of one session.
//!
//! Payload: for each frame, `varint(seq)`, `varint(len)`, then the `TelemetryFrame` bytes exactly
//! as the bridge sent them (the recording's length-delimited form with the seq in front, so a
//! reader can skip frames without decoding them). Headers say what the message holds without
//! reading it: [`HDR_SESSION`], [`HDR_FIRST_SEQ`], [`HDR_LAST_SEQ`], [`HDR_FRAMES`]. The last seq
//! is what another ingest node reads back (the last message of a session's subject) to learn
//! where the stream's copy of the session ends.

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

/// The frames of a payload; `what` names the message in errors (subject and stream seq).
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
}
