//! One JetStream message: several consecutive frames of one session, its payload as
//! [`crate::message`] (pure, fuzzed) describes it, here with the sink's types and errors.

use bytes::Bytes;

pub use crate::message::{
    ENCODING_ZSTD, HDR_ENCODING, HDR_FIRST_SEQ, HDR_FRAMES, HDR_LAST_SEQ, HDR_SESSION, MAX_PLAIN_BYTES,
    MessageFrame, parse_session,
};
use crate::sinks::{SinkError, WalFrame};

/// Bytes one frame takes in a payload.
pub(crate) fn frame_len(f: &WalFrame) -> usize {
    crate::message::frame_len(f.seq, &f.bytes)
}

/// The payload of `frames` (one session's, in seq order).
pub(crate) fn encode(frames: &[WalFrame]) -> Bytes {
    crate::message::encode(frames.iter().map(|f| (f.seq, &f.bytes[..])))
}

pub(crate) use crate::message::compress;

/// The plain payload of a message whose [`HDR_ENCODING`] is `encoding` (`None`: no header);
/// `what` names the message in errors (subject and stream seq).
pub fn plain(payload: &Bytes, encoding: Option<&str>, what: &str) -> Result<Bytes, SinkError> {
    crate::message::plain(payload, encoding)
        .map_err(|e| SinkError::other(format!("JetStream message {what}: {e}")))
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
    crate::message::frames(payload).map_err(|e| SinkError::other(format!("JetStream message {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionId;
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
