//! The WAL's bytes on disk. Pure functions: no I/O here, so the format is testable on its own.
//!
//! ```text
//! segment  = header record*
//! header   = magic "PWWAL\0v1" (8 bytes) · segment index (u64 LE)            16 bytes
//! record   = body length (u32 LE) · CRC-32 of body (u32 LE) · body
//! body     = kind (u8) · payload
//!   kind 1, frame:    session id (16 bytes) · seq (u64 LE) · TelemetryFrame protobuf bytes
//!   kind 2, sessions: count (u32 LE) · count × (session id (16 bytes) · next_seq (u64 LE))
//! ```
//!
//! The frame record repeats the frame's `session_id` and `seq` in front of the protobuf so replay
//! and the sink pipeline can dedupe and position without decoding ~100 fields per frame; the
//! 25 bytes are ~4 % of a full frame. The protobuf is the exact bytes the bridge sent, which is
//! also what a recording stores (recordings length-delimit them with a varint instead).
//!
//! Every segment starts (after its header) with a sessions record: each known session's next_seq
//! at that point. Older segments are deleted once every sink has materialised them; the snapshot
//! keeps the sessions' durable points alive across that deletion, so a bridge reconnecting weeks
//! later is told "I have up to 1234" rather than "never heard of it".

use bytes::{BufMut, BytesMut};

use crate::session::SessionId;

/// First 8 bytes of every segment.
pub const MAGIC: [u8; 8] = *b"PWWAL\0v1";
/// Length of a segment header: magic and segment index.
pub const SEGMENT_HEADER_LEN: u64 = 16;
/// Length of a record's header: body length and CRC.
pub const RECORD_HEADER_LEN: usize = 8;
/// Record kind of a frame.
pub const KIND_FRAME: u8 = 1;
/// Record kind of a sessions snapshot.
pub const KIND_SESSIONS: u8 = 2;
/// Bytes of a frame record's body before the protobuf: kind, session id, seq.
pub const FRAME_PREFIX_LEN: usize = 1 + SessionId::LEN + 8;
/// Largest body accepted when reading. gRPC caps a frame at 4 MiB; snapshots hold 24 bytes per
/// session, so this allows millions of sessions. A larger length means a damaged header.
pub const MAX_BODY_LEN: u32 = 256 << 20;

/// The header of segment `index`.
pub fn segment_header(index: u64) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0; SEGMENT_HEADER_LEN as usize];
    h[..8].copy_from_slice(&MAGIC);
    h[8..].copy_from_slice(&index.to_le_bytes());
    h
}

/// Checks a segment header; returns the segment index it names.
pub fn parse_segment_header(h: &[u8]) -> Result<u64, String> {
    if h.len() < SEGMENT_HEADER_LEN as usize {
        return Err(format!("{} bytes, need {SEGMENT_HEADER_LEN}", h.len()));
    }
    if h[..8] != MAGIC {
        return Err(format!("magic {:?}, expected {:?}", &h[..8], MAGIC));
    }
    let mut idx = [0; 8];
    idx.copy_from_slice(&h[8..16]);
    Ok(u64::from_le_bytes(idx))
}

/// Total bytes of a frame record holding `frame_len` protobuf bytes.
pub fn frame_record_len(frame_len: usize) -> usize {
    RECORD_HEADER_LEN + FRAME_PREFIX_LEN + frame_len
}

/// Appends one frame record to `buf`.
pub fn put_frame_record(buf: &mut BytesMut, session: &SessionId, seq: u64, frame: &[u8]) {
    let body_len = FRAME_PREFIX_LEN + frame.len();
    let mut prefix = [0u8; FRAME_PREFIX_LEN];
    prefix[0] = KIND_FRAME;
    prefix[1..17].copy_from_slice(&session.0);
    prefix[17..25].copy_from_slice(&seq.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&prefix);
    crc.update(frame);
    buf.reserve(RECORD_HEADER_LEN + body_len);
    buf.put_u32_le(body_len as u32);
    buf.put_u32_le(crc.finalize());
    buf.put_slice(&prefix);
    buf.put_slice(frame);
}

/// Appends one sessions record to `buf`.
pub fn put_sessions_record<'a>(
    buf: &mut Vec<u8>,
    sessions: impl ExactSizeIterator<Item = (&'a SessionId, u64)>,
) {
    let count = sessions.len();
    let mut body = Vec::with_capacity(5 + count * 24);
    body.push(KIND_SESSIONS);
    body.extend_from_slice(&(count as u32).to_le_bytes());
    for (id, next) in sessions {
        body.extend_from_slice(&id.0);
        body.extend_from_slice(&next.to_le_bytes());
    }
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    buf.extend_from_slice(&body);
}

/// What [`parse_record`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole record whose CRC matches: its body is `buf[RECORD_HEADER_LEN..total]`.
    Record {
        /// Bytes of the whole record, header included.
        total: usize,
    },
    /// The buffer ends inside the record: read more (or, at the end of the file, a torn tail).
    Incomplete,
    /// The record fails a check.
    Corrupt(String),
}

/// Looks at the record at the start of `buf`. Never indexes past what it checked.
pub fn parse_record(buf: &[u8]) -> Parsed {
    if buf.len() < RECORD_HEADER_LEN {
        return Parsed::Incomplete;
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len == 0 || len > MAX_BODY_LEN {
        return Parsed::Corrupt(format!("record length {len} outside 1..={MAX_BODY_LEN}"));
    }
    let total = RECORD_HEADER_LEN + len as usize;
    if buf.len() < total {
        return Parsed::Incomplete;
    }
    let body = &buf[RECORD_HEADER_LEN..total];
    let actual = crc32fast::hash(body);
    if actual != crc {
        return Parsed::Corrupt(format!("CRC {actual:08x}, header says {crc:08x}"));
    }
    Parsed::Record { total }
}

/// A record's body, interpreted.
#[derive(Debug, PartialEq, Eq)]
pub enum Body {
    /// A frame: its key. The protobuf is `body[FRAME_PREFIX_LEN..]`.
    Frame {
        /// The frame's session.
        session: SessionId,
        /// The frame's seq.
        seq: u64,
    },
    /// A sessions snapshot.
    Sessions(Vec<(SessionId, u64)>),
    /// A kind this version does not know (the byte).
    Unknown(u8),
}

/// Interprets a body that passed its CRC check.
pub fn parse_body(body: &[u8]) -> Result<Body, String> {
    match body.first() {
        Some(&KIND_FRAME) => {
            if body.len() < FRAME_PREFIX_LEN {
                return Err(format!(
                    "frame record of {} bytes, need at least {FRAME_PREFIX_LEN}",
                    body.len()
                ));
            }
            let mut id = [0; 16];
            id.copy_from_slice(&body[1..17]);
            let mut seq = [0; 8];
            seq.copy_from_slice(&body[17..25]);
            Ok(Body::Frame { session: SessionId(id), seq: u64::from_le_bytes(seq) })
        }
        Some(&KIND_SESSIONS) => {
            if body.len() < 5 {
                return Err(format!("sessions record of {} bytes, need at least 5", body.len()));
            }
            let count = u32::from_le_bytes([body[1], body[2], body[3], body[4]]) as usize;
            let entries = &body[5..];
            if entries.len() != count * 24 {
                return Err(format!(
                    "sessions record: {count} sessions need {} bytes, have {}",
                    count * 24,
                    entries.len()
                ));
            }
            let sessions = entries
                .chunks_exact(24)
                .map(|e| {
                    let mut id = [0; 16];
                    id.copy_from_slice(&e[..16]);
                    let mut next = [0; 8];
                    next.copy_from_slice(&e[16..]);
                    (SessionId(id), u64::from_le_bytes(next))
                })
                .collect();
            Ok(Body::Sessions(sessions))
        }
        Some(&k) => Ok(Body::Unknown(k)),
        None => Err("empty record".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_record_round_trip() {
        let id = SessionId([9; 16]);
        let mut buf = BytesMut::new();
        put_frame_record(&mut buf, &id, 42, b"proto");
        assert_eq!(buf.len(), frame_record_len(5));
        assert_eq!(parse_record(&buf), Parsed::Record { total: buf.len() });
        let body = &buf[RECORD_HEADER_LEN..];
        assert_eq!(parse_body(body), Ok(Body::Frame { session: id, seq: 42 }));
        assert_eq!(&body[FRAME_PREFIX_LEN..], b"proto");
        // Every strict prefix is incomplete, never corrupt or a record.
        for n in 0..buf.len() {
            assert_eq!(parse_record(&buf[..n]), Parsed::Incomplete, "prefix {n}");
        }
        // Any flipped bit in the body fails the CRC.
        for i in RECORD_HEADER_LEN..buf.len() {
            let mut bad = buf.to_vec();
            bad[i] ^= 0x10;
            assert!(matches!(parse_record(&bad), Parsed::Corrupt(_)), "byte {i}");
        }
    }

    #[test]
    fn sessions_record_round_trip() {
        let a = SessionId([1; 16]);
        let b = SessionId([2; 16]);
        let mut buf = Vec::new();
        put_sessions_record(&mut buf, [(&a, 5u64), (&b, 0)].into_iter());
        let Parsed::Record { total } = parse_record(&buf) else { panic!() };
        assert_eq!(total, buf.len());
        assert_eq!(parse_body(&buf[RECORD_HEADER_LEN..]), Ok(Body::Sessions(vec![(a, 5), (b, 0)])));
    }

    #[test]
    fn headers_and_damaged_lengths() {
        assert_eq!(parse_segment_header(&segment_header(7)), Ok(7));
        assert!(parse_segment_header(b"PWWAL\0v2aaaaaaaa").is_err());
        assert!(parse_segment_header(b"short").is_err());
        assert!(matches!(parse_record(&[0, 0, 0, 0, 0, 0, 0, 0]), Parsed::Corrupt(_)));
        assert!(matches!(parse_record(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), Parsed::Corrupt(_)));
        assert!(parse_body(&[KIND_FRAME, 1, 2]).is_err());
        assert!(parse_body(&[KIND_SESSIONS, 2, 0, 0, 0, 1]).is_err());
    }
}
