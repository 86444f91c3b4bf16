//! Any bytes as an ingest WAL segment, sorted by the reader replay uses
//! (`ingest::wal::format::scan_segment`). Beyond "no panic", it checks the reader's promises:
//! - records, damaged stretches and the torn tail lie within the input, in order, and cover
//!   every byte after the header exactly once (length accounting);
//! - every record returned passes the record checks again on its own, and damage and the torn
//!   tail are never empty;
//! - in a segment before the last, nothing is ever cut;
//! - replaying the segment as replay leaves it (torn tail cut) finds the same records and
//!   damage, and nothing more to cut.
//!
//! The first byte picks how the rest is used: as the whole file, or (so that the fuzzer gets past
//! the magic and reaches records without having to find CRCs) as records built here from the
//! input's chunks, with some bytes flipped and the end cut where the input says.
#![no_main]

use ingest::SessionId;
use ingest::wal::format::{self, Parsed, SEGMENT_HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use prost::bytes::BytesMut;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let last = mode & 1 == 1;
    if mode & 2 == 0 {
        check(rest, last);
        return;
    }
    // Built: the header, then per chunk of the input a frame, a sessions record or a commit
    // record; then up to four bytes flipped and the file cut, as the input's first bytes say.
    let Some((ctl, body)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let mut file = BytesMut::from(&format::segment_header(7)[..]);
    let id = SessionId([ctl[0]; 16]);
    for (seq, chunk) in body.chunks(1 + usize::from(ctl[1] % 64)).enumerate() {
        match chunk[0] % 4 {
            0 => file.extend_from_slice(&format::commit_record()),
            1 => {
                let mut v = Vec::new();
                format::put_sessions_record(&mut v, [(&id, seq as u64)].into_iter());
                file.extend_from_slice(&v);
            }
            _ => format::put_frame_record(&mut file, &id, seq as u64, &chunk[1..]),
        }
    }
    let len = file.len();
    for &b in &ctl[2..6] {
        if b != 0 && len > 0 {
            let at = usize::from(b) * len / 256;
            file[at] ^= 1 << (b % 8);
        }
    }
    let keep = if ctl[6] & 1 == 1 { len - usize::from(ctl[7]) * len / 512 } else { len };
    check(&file[..keep], last);
});

fn check(file: &[u8], last: bool) {
    let Ok(scan) = format::scan_segment(file, last) else {
        assert!(format::parse_segment_header(file).is_err());
        return;
    };
    let len = file.len() as u64;

    let mut at = SEGMENT_HEADER_LEN;
    let mut parts: Vec<(u64, u64, bool)> = scan.records.iter().map(|&(o, t)| (o, t as u64, true)).collect();
    parts.extend(scan.damaged.iter().chain(&scan.torn_tail).map(|d| (d.offset, d.len, false)));
    parts.sort_unstable();
    for (offset, n, is_record) in parts {
        assert_eq!(offset, at, "parts must be contiguous: {scan:?}");
        assert!(n > 0, "empty part at {offset}: {scan:?}");
        if is_record {
            let record = &file[offset as usize..(offset + n) as usize];
            assert_eq!(format::parse_record(record), Parsed::Record { total: n as usize });
        }
        at += n;
    }
    assert_eq!(at, len, "every byte accounted for: {scan:?}");
    if let Some(torn) = &scan.torn_tail {
        assert!(last, "only the last segment is ever cut");
        assert_eq!(torn.offset + torn.len, len);
    }
    let mut previous = None;
    for &(offset, _) in &scan.records {
        assert!(previous < Some(offset), "offsets increase");
        previous = Some(offset);
    }

    // What replay leaves is stable: the same records and damage, nothing more to cut.
    let kept = scan.torn_tail.as_ref().map_or(file.len(), |t| t.offset as usize);
    let again = format::scan_segment(&file[..kept], last).expect("the header is still there");
    assert_eq!(again.records, scan.records);
    let spans = |s: &format::SegmentScan| s.damaged.iter().map(|d| (d.offset, d.len)).collect::<Vec<_>>();
    assert_eq!(spans(&again), spans(&scan));
    assert_eq!(again.torn_tail, None);
}
