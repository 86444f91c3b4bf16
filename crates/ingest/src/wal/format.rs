//! The WAL's bytes on disk. Pure functions: no I/O here, so the format is testable on its own.
//!
//! ```text
//! segment  = header record*
//! header   = magic "PWWAL\0v1" (8 bytes) · segment index (u64 LE)            16 bytes
//! record   = body length (u32 LE) · CRC-32 of body (u32 LE) · body
//! body     = kind (u8) · payload
//!   kind 1, frame:    session id (16 bytes) · seq (u64 LE) · TelemetryFrame protobuf bytes
//!   kind 2, sessions: count (u32 LE) · count × (session id (16 bytes) · next_seq (u64 LE))
//!   kind 3, commit:   nothing (the body is the kind byte alone)
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
//!
//! **Damage.** Every group commit ends with a commit record, so the log says which records a
//! completed fsync covered. Reading ([`scan_segment`]) tells a torn tail from damage by what
//! follows a bad record: it searches forward ([`resync`]) for the next record that passes every
//! check. When one follows, the bad bytes are *damage* (bit rot in records that were acked, or
//! in the middle of any segment): they are skipped and reported, and everything intact after
//! them is kept. When nothing valid follows, or — in the last segment — no commit record follows
//! the bad bytes (a crash interrupted that group's write, so nothing from there on was acked),
//! they are a *torn tail*, which replay may cut. Intact records covered by a commit are never
//! cut.

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
/// Record kind of a commit record: the group before it was completely written when the fsync
/// that acked it ran.
pub const KIND_COMMIT: u8 = 3;
/// Length of a commit record, header included.
pub const COMMIT_RECORD_LEN: usize = RECORD_HEADER_LEN + 1;
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

/// A commit record: ends every group commit.
pub fn commit_record() -> [u8; COMMIT_RECORD_LEN] {
    let mut r = [0; COMMIT_RECORD_LEN];
    r[..4].copy_from_slice(&1u32.to_le_bytes());
    r[4..8].copy_from_slice(&crc32fast::hash(&[KIND_COMMIT]).to_le_bytes());
    r[8] = KIND_COMMIT;
    r
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
    // A body that passes its CRC but is malformed cannot be bit rot; it is still not a record
    // anything can use, so it counts as damage rather than stopping replay.
    if let Err(reason) = parse_body(body) {
        return Parsed::Corrupt(reason);
    }
    Parsed::Record { total }
}

/// Whether a record this version writes starts at `buf[0]`, checked strictly (a whole record,
/// a known kind, a well-formed body, the CRC); its total length if so. Cheap checks come first:
/// this runs at every byte offset of a damaged stretch.
pub fn valid_record_at(buf: &[u8]) -> Option<usize> {
    let header = buf.get(..RECORD_HEADER_LEN)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if len == 0 || len > MAX_BODY_LEN {
        return None;
    }
    let total = RECORD_HEADER_LEN + len as usize;
    let body = buf.get(RECORD_HEADER_LEN..total)?;
    let plausible = match body[0] {
        KIND_FRAME => body.len() >= FRAME_PREFIX_LEN,
        KIND_COMMIT => body.len() == 1,
        KIND_SESSIONS => {
            body.len() >= 5
                && (u32::from_le_bytes([body[1], body[2], body[3], body[4]]) as usize).checked_mul(24)
                    == Some(body.len() - 5)
        }
        _ => false,
    };
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    (plausible && crc32fast::hash(body) == crc).then_some(total)
}

/// Where intact records resume after a bad record at the start of `buf`: the first offset
/// (at least 1) at which [`valid_record_at`] finds a record, if any.
pub fn resync(buf: &[u8]) -> Option<usize> {
    (1..buf.len()).find(|&i| valid_record_at(&buf[i..]).is_some())
}

/// One step of reading a segment: what the bytes at the start of `buf` are. `eof`: `buf` holds
/// everything up to the end of the file (or of what may be read); without it, a record that
/// does not check out asks for more bytes first, since whether intact records follow it decides
/// what it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A record that passed its checks, `total` bytes long.
    Record {
        /// Bytes of the whole record, header included.
        total: usize,
    },
    /// The end, at a record boundary.
    End,
    /// More bytes are needed to decide.
    NeedMore,
    /// Damaged bytes with an intact record after them: skip `skip` bytes.
    Damaged {
        /// Bytes to skip to the next intact record.
        skip: usize,
        /// What was wrong with the first bad record.
        reason: String,
    },
    /// Bad bytes with nothing valid after them, to the end.
    Torn {
        /// What was wrong with the first bad record.
        reason: String,
    },
}

/// Looks at the bytes at the start of `buf`; see [`Step`].
pub fn step(buf: &[u8], eof: bool) -> Step {
    let reason = match parse_record(buf) {
        Parsed::Record { total } => return Step::Record { total },
        _ if !eof => return Step::NeedMore,
        Parsed::Incomplete if buf.is_empty() => return Step::End,
        Parsed::Incomplete => format!("the data ends {} bytes into a record", buf.len()),
        Parsed::Corrupt(reason) => reason,
    };
    match resync(buf) {
        Some(skip) => Step::Damaged { skip, reason },
        None => Step::Torn { reason },
    }
}

/// A stretch of bad bytes in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Offset of its first byte in the segment.
    pub offset: u64,
    /// Its length, bytes.
    pub len: u64,
    /// What was wrong with the first bad record in it.
    pub reason: String,
}

/// A segment's bytes sorted into what replay does with them. `records`, `damaged` and
/// `torn_tail` cover the bytes after the header exactly once each, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// The segment index its header names.
    pub index: u64,
    /// Records that passed their checks: offset and total length, ascending.
    pub records: Vec<(u64, usize)>,
    /// Damage with intact records after it: skipped, and kept in the file.
    pub damaged: Vec<Damage>,
    /// Bytes from the first bad record that no intact record (or, in the last segment, no
    /// commit) follows, to the end: never acked, so replay cuts them.
    pub torn_tail: Option<Damage>,
}

/// Reads a whole segment file, header first, and sorts its bytes into records, damage and a
/// torn tail (see the module docs). `last`: this is the newest segment, the only one a crash
/// can have left half-written; in an older segment, bad bytes are always damage, never cut.
/// Fails only when the header is missing or wrong. Pure: replay applies the result.
pub fn scan_segment(data: &[u8], last: bool) -> Result<SegmentScan, String> {
    let index = parse_segment_header(data)?;
    let mut scan = SegmentScan { index, records: Vec::new(), damaged: Vec::new(), torn_tail: None };
    // How many damaged stretches the last commit record covers.
    let mut committed = 0;
    let mut pos = SEGMENT_HEADER_LEN as usize;
    loop {
        let rest = &data[pos..];
        match step(rest, true) {
            Step::Record { total } => {
                scan.records.push((pos as u64, total));
                if rest.get(RECORD_HEADER_LEN) == Some(&KIND_COMMIT) {
                    committed = scan.damaged.len();
                }
                pos += total;
            }
            Step::Damaged { skip, reason } => {
                scan.damaged.push(Damage { offset: pos as u64, len: skip as u64, reason });
                pos += skip;
            }
            Step::Torn { reason } => {
                scan.torn_tail = Some(Damage { offset: pos as u64, len: rest.len() as u64, reason });
                break;
            }
            // With `eof`, `step` never asks for more.
            Step::End | Step::NeedMore => break,
        }
    }
    if !last {
        // Segments before the last were complete and fsync'd before the next one started.
        scan.damaged.extend(scan.torn_tail.take());
    } else if let Some(first) = scan.damaged.get(committed).cloned() {
        // Damage after the last commit record: the group the crash interrupted. Nothing from
        // its first bad byte on was acked; the records after a hole in it must go too, or the
        // frames in the hole would be skipped by Resume.
        scan.records.retain(|&(offset, _)| offset < first.offset);
        scan.damaged.truncate(committed);
        let len = data.len() as u64 - first.offset;
        scan.torn_tail = Some(Damage {
            offset: first.offset,
            len,
            reason: format!("{}; no commit record follows it", first.reason),
        });
    }
    Ok(scan)
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
    /// A commit record.
    Commit,
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
        Some(&KIND_COMMIT) if body.len() == 1 => Ok(Body::Commit),
        Some(&KIND_COMMIT) => Err(format!("commit record of {} bytes, must be 1", body.len())),
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

    /// A segment: header, sessions snapshot, then frames `0..n` of one session with a commit
    /// record after each frame in `commits_after`. Returns the bytes and each frame's range.
    fn segment(n: u64, commits_after: &[u64]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
        let id = SessionId([3; 16]);
        let mut data = segment_header(4).to_vec();
        put_sessions_record(&mut data, [(&id, 0u64)].into_iter());
        let mut ranges = Vec::new();
        for seq in 0..n {
            let mut buf = BytesMut::new();
            put_frame_record(&mut buf, &id, seq, &[seq as u8; 40]);
            ranges.push(data.len()..data.len() + buf.len());
            data.extend_from_slice(&buf);
            if commits_after.contains(&seq) {
                data.extend_from_slice(&commit_record());
            }
        }
        (data, ranges)
    }

    /// Records, damage and torn tail cover the bytes after the header once each, in order.
    fn assert_covers(scan: &SegmentScan, len: usize) {
        let mut parts: Vec<(u64, u64)> = scan.records.iter().map(|&(o, t)| (o, t as u64)).collect();
        parts.extend(scan.damaged.iter().chain(&scan.torn_tail).map(|d| (d.offset, d.len)));
        parts.sort_unstable();
        let mut at = SEGMENT_HEADER_LEN;
        for (offset, len) in parts {
            assert_eq!(offset, at, "{scan:?}");
            at += len;
        }
        assert_eq!(at, len as u64, "{scan:?}");
    }

    fn frame_offsets(scan: &SegmentScan, data: &[u8]) -> Vec<u64> {
        scan.records
            .iter()
            .filter(|&&(o, _)| data[o as usize + RECORD_HEADER_LEN] == KIND_FRAME)
            .map(|&(o, _)| o)
            .collect()
    }

    #[test]
    fn a_clean_segment_is_all_records() {
        let (data, ranges) = segment(10, &[4, 9]);
        let scan = scan_segment(&data, true).unwrap();
        assert_eq!(scan.index, 4);
        assert_eq!(scan.records.len(), 1 + 10 + 2);
        assert!(scan.damaged.is_empty() && scan.torn_tail.is_none());
        let starts: Vec<u64> = ranges.iter().map(|r| r.start as u64).collect();
        assert_eq!(frame_offsets(&scan, &data), starts);
        assert_covers(&scan, data.len());
    }

    #[test]
    fn damage_that_a_commit_follows_is_skipped_not_cut() {
        let (clean, ranges) = segment(10, &[4, 9]);
        // A flipped bit in frame 2's payload, then in its length, then in frame 7 (between the
        // two commits): each time exactly that record is skipped, in the last segment or not.
        for (frame, at) in [(2, ranges[2].end - 3), (2, ranges[2].start + 1), (7, ranges[7].start + 30)] {
            let mut data = clean.clone();
            data[at] ^= 0x08;
            for last in [true, false] {
                let scan = scan_segment(&data, last).unwrap();
                assert_eq!(scan.torn_tail, None, "byte {at}, last {last}");
                let r = &ranges[frame];
                assert_eq!(scan.damaged.len(), 1, "{scan:?}");
                assert_eq!((scan.damaged[0].offset, scan.damaged[0].len), (r.start as u64, r.len() as u64));
                let kept: Vec<u64> = ranges
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != frame)
                    .map(|(_, r)| r.start as u64)
                    .collect();
                assert_eq!(frame_offsets(&scan, &data), kept);
                assert_covers(&scan, data.len());
            }
        }
    }

    #[test]
    fn bad_bytes_that_nothing_valid_or_no_commit_follows_are_a_torn_tail() {
        let (clean, ranges) = segment(10, &[4, 9]);
        // Half a record after the last commit.
        let mut data = clean.clone();
        data.extend_from_slice(&clean[ranges[3].clone()][..20]);
        let scan = scan_segment(&data, true).unwrap();
        let torn = scan.torn_tail.clone().unwrap();
        assert_eq!((torn.offset, torn.len), (clean.len() as u64, 20));
        assert!(scan.damaged.is_empty());
        assert_covers(&scan, data.len());
        // In an older segment the same bytes are damage, and kept.
        let scan = scan_segment(&data, false).unwrap();
        assert_eq!(scan.torn_tail, None);
        assert_eq!(scan.damaged.len(), 1);

        // A hole after the last commit with whole records after it (a group write the crash
        // interrupted): cut from the hole, records after it included.
        let (clean, ranges) = segment(10, &[4]);
        let mut data = clean.clone();
        data[ranges[6].clone()].fill(0);
        let scan = scan_segment(&data, true).unwrap();
        let torn = scan.torn_tail.clone().unwrap();
        assert_eq!(torn.offset, ranges[6].start as u64);
        assert_eq!(torn.len, (data.len() - ranges[6].start) as u64);
        assert!(torn.reason.contains("no commit record follows"), "{}", torn.reason);
        let kept: Vec<u64> = ranges[..6].iter().map(|r| r.start as u64).collect();
        assert_eq!(frame_offsets(&scan, &data), kept);
        assert_covers(&scan, data.len());
        let scan = scan_segment(&data, false).unwrap();
        assert_eq!(scan.damaged.len(), 1);
        assert_eq!(frame_offsets(&scan, &data).len(), 9);

        // Replaying what is left after the cut finds nothing more to cut.
        let cut = &data[..ranges[6].start];
        let again = scan_segment(cut, true).unwrap();
        assert_eq!(again.torn_tail, None);
        assert_eq!(frame_offsets(&again, cut), kept);
    }

    #[test]
    fn valid_record_at_is_strict() {
        let mut buf = BytesMut::new();
        put_frame_record(&mut buf, &SessionId([1; 16]), 7, b"x");
        assert_eq!(valid_record_at(&buf), Some(buf.len()));
        assert_eq!(valid_record_at(&buf[..buf.len() - 1]), None);
        assert_eq!(valid_record_at(&commit_record()), Some(COMMIT_RECORD_LEN));
        assert_eq!(parse_body(&commit_record()[RECORD_HEADER_LEN..]), Ok(Body::Commit));
        // A CRC-valid record of an unknown kind is read in order, but never resynchronised to.
        let mut unknown = vec![2, 0, 0, 0];
        unknown.extend_from_slice(&crc32fast::hash(&[9, 9]).to_le_bytes());
        unknown.extend_from_slice(&[9, 9]);
        assert_eq!(parse_record(&unknown), Parsed::Record { total: 10 });
        assert_eq!(valid_record_at(&unknown), None);
        // A CRC-valid frame record too short for its prefix is damage.
        let mut short = vec![3, 0, 0, 0];
        short.extend_from_slice(&crc32fast::hash(&[KIND_FRAME, 0, 0]).to_le_bytes());
        short.extend_from_slice(&[KIND_FRAME, 0, 0]);
        assert!(matches!(parse_record(&short), Parsed::Corrupt(_)));
        assert_eq!(valid_record_at(&short), None);
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
