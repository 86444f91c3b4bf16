//! One JetStream message: several consecutive frames of one session, its payload as
//! [`crate::message`] (pure, fuzzed) describes it, here with the sink's types and errors.

use bytes::Bytes;

pub use crate::message::{
    ENCODING_ZSTD, ENCODING_ZSTD_COLUMNS, HDR_ENCODING, HDR_FIRST_SEQ, HDR_FRAMES, HDR_LAST_SEQ, HDR_SESSION,
    MAX_PLAIN_BYTES, MessageFrame, parse_session,
};
use crate::sinks::{SinkError, WalFrame};

/// Bytes one frame takes in a payload.
pub(crate) fn frame_len(f: &WalFrame) -> usize {
    crate::message::frame_len(f.seq, &f.bytes)
}

/// The payload of `frames` (one session's, in seq order) and its [`HDR_ENCODING`] (`None`:
/// plain): with `compress`, in columns and compressed, unless that is no smaller.
pub(crate) fn encode(frames: &[WalFrame], compress: bool) -> (Bytes, Option<&'static str>) {
    crate::message::encode_message(frames.iter().map(|f| (f.seq, &f.bytes[..])), compress)
}

/// The frames of a message, its payload read as its headers say; `what` names the message in
/// errors (subject and stream seq).
pub fn decode_message(
    payload: &Bytes,
    headers: Option<&async_nats::HeaderMap>,
    what: &str,
) -> Result<Vec<MessageFrame>, SinkError> {
    let encoding = headers.and_then(|h| h.get(HDR_ENCODING)).map(|v| v.as_str());
    crate::message::read(payload, encoding)
        .map_err(|e| SinkError::other(format!("JetStream message {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionId;
    use crate::wal::WalPosition;

    /// The sink's side: frames to a payload and its header, back through the message headers.
    #[test]
    fn messages_round_trip_through_their_headers_and_damage_is_an_error() {
        let s = SessionId([4; 16]);
        let frames: Vec<WalFrame> = (0..200u64)
            .map(|seq| WalFrame {
                position: WalPosition::default(),
                session_id: s,
                seq,
                bytes: Bytes::from(format!("frame {seq:04} speed 123.4 rpm 7000 gear 4").into_bytes()),
            })
            .collect();
        let (z, enc) = encode(&frames, true);
        assert_eq!(enc, Some(ENCODING_ZSTD_COLUMNS));
        let plain_len = frames.iter().map(frame_len).sum::<usize>();
        assert!(z.len() * 5 < plain_len, "{} of {plain_len}", z.len());
        let mut h = async_nats::HeaderMap::new();
        h.insert(HDR_ENCODING, ENCODING_ZSTD_COLUMNS);
        let back = decode_message(&z, Some(&h), "t").unwrap();
        assert_eq!(back.len(), 200);
        assert!(back.iter().zip(&frames).all(|(b, f)| b.seq == f.seq && b.bytes == f.bytes));
        // Not compressed: plain, no header.
        let (p, enc) = encode(&frames, false);
        assert_eq!((p.len(), enc), (plain_len, None));
        assert_eq!(decode_message(&p, None, "t").unwrap(), back);
        // Damage names the message.
        let e = decode_message(&z.slice(..z.len() / 2), Some(&h), "cut #7").unwrap_err().to_string();
        assert!(e.starts_with("JetStream message cut #7: zstd payload"), "{e}");
        h.insert(HDR_ENCODING, "br");
        let e = decode_message(&z, Some(&h), "x").unwrap_err().to_string();
        assert!(e.contains("unknown Pitwall-Encoding \"br\""), "{e}");
        assert_eq!(parse_session(&s.to_string()), Some(s));
        assert_eq!(parse_session("not-a-uuid"), None);
    }
}
