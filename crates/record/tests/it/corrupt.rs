//! Bytes that are present but wrong: every damage is reported with the damaged member's offset,
//! after every frame before it, and never panics.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message as _;
use record::{DamageKind, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter, scan};

use crate::{assert_frames, read_all, read_with, realistic, write_session};

/// Three members of `per_member` frames.
fn members_of(dir: &std::path::Path, per_member: u64) -> (std::path::PathBuf, record::MemberIndex, Vec<u8>) {
    let path = dir.join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    for seq in 0..3 * per_member {
        writer.append(&realistic::frame(0, seq)).unwrap();
        if seq % per_member == per_member - 1 {
            writer.finish_member().unwrap();
        }
    }
    let index = writer.close().unwrap();
    assert_eq!(index.len(), 3);
    let bytes = std::fs::read(&path).unwrap();
    (path, index, bytes)
}

/// Every byte of a middle member's compressed data, flipped: a CRC or deflate error (or a frame
/// that no longer parses) at that member's offset, with the first member's frames kept.
#[test]
fn a_flipped_byte_anywhere_in_a_member_is_reported_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    // Small members, because every flip reads the file.
    let (path, index, bytes) = members_of(dir.path(), 4);
    let middle = index.members()[1].clone();
    let before = index.members()[0].frames as usize;
    let mut kinds = std::collections::HashSet::new();
    // Past the 10-byte header, whose MTIME, XFL and OS bytes gzip does not check.
    for at in middle.offset + 10..middle.end() {
        let mut corrupt = bytes.clone();
        corrupt[at as usize] ^= 0x20;
        std::fs::write(&path, &corrupt).unwrap();
        let (frames, error) = read_all(&path);
        if error.is_none() && at == middle.end() - 9 {
            // The deflate stream's last byte: the flipped bit is padding after the final block,
            // which no decoder reads. The data is intact.
            assert_eq!(frames.len(), 12);
            assert_frames(&frames, 0, 0);
            continue;
        }
        let Some(RecordError::Corrupt { offset, kind, frames_before, .. }) = error else {
            panic!("flip at {at}: {error:?}");
        };
        assert_eq!(offset, middle.offset, "flip at {at}");
        assert_eq!(frames_before, before as u64);
        assert_eq!(frames.len(), before, "flip at {at}: nothing of the damaged member is yielded");
        assert_frames(&frames, 0, 0);
        kinds.insert(std::mem::discriminant(&kind));
    }
    assert!(kinds.len() >= 2, "CRC and deflate errors both seen");
}

#[test]
fn crc_and_size_mismatches_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, bytes) = members_of(dir.path(), 25);
    let last = index.members()[2].clone();
    let trailer = (last.end() - 8) as usize;

    let mut corrupt = bytes.clone();
    corrupt[trailer] ^= 1;
    std::fs::write(&path, &corrupt).unwrap();
    let err = read_all(&path).1.unwrap();
    assert!(matches!(err, RecordError::Corrupt { kind: DamageKind::CrcMismatch { .. }, .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("rec.pb.gz") && message.contains(&format!("byte {}", last.offset)), "{message}");

    let mut corrupt = bytes.clone();
    corrupt[trailer + 4] ^= 1;
    std::fs::write(&path, &corrupt).unwrap();
    let err = read_all(&path).1.unwrap();
    assert!(matches!(err, RecordError::Corrupt { kind: DamageKind::SizeMismatch { .. }, .. }), "{err}");
}

#[test]
fn garbage_where_a_member_should_start() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, bytes) = members_of(dir.path(), 25);
    let end = index.end() as usize;
    for (tail, kind) in [
        (&b"PK\x03\x04"[..], DamageKind::NotGzip { magic: *b"PK" }),
        (&[0x1f, 0x8b, 7, 0][..], DamageKind::BadHeader("compression method is not deflate")),
        (&[0x1f, 0x8b, 8, 0x80][..], DamageKind::BadHeader("reserved flag bits are set")),
        (&[0, 0, 0, 7][..], DamageKind::NotGzip { magic: [0, 0] }),
        (&[0x1f][..], DamageKind::TruncatedHeader),
        (&[0x1f, 0x8b, 8, 0, 0, 0][..], DamageKind::TruncatedHeader),
        (&[0; 4096][..], DamageKind::ZeroPadding),
    ] {
        std::fs::write(&path, [&bytes[..], tail].concat()).unwrap();
        let (frames, error) = read_all(&path);
        assert_eq!(frames.len(), 75);
        let error = error.unwrap();
        assert_eq!(error.offset(), end as u64, "{error}");
        let damage = match &error {
            RecordError::Truncated { kind, .. } | RecordError::Corrupt { kind, .. } => kind.clone(),
            other => panic!("{other}"),
        };
        assert_eq!(damage, kind);
        assert_eq!(matches!(error, RecordError::Truncated { .. }), kind.is_truncation());
    }
}

/// A torn tail after a power loss: zeros past the last member. Cut off, and not saved aside.
#[test]
fn open_append_cuts_zero_padding_without_saving_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, bytes) = members_of(dir.path(), 25);
    std::fs::write(&path, [&bytes[..], &[0; 8192][..]].concat()).unwrap();
    let (writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    let repair = repair.unwrap();
    assert_eq!(repair.torn_tail().unwrap().kind, DamageKind::ZeroPadding);
    assert_eq!((repair.cut_bytes, repair.rewritten_frames, repair.kept_bytes), (8192, 0, 0));
    assert_eq!(writer.end_offset(), index.end());
}

/// Every frame a resynchronising reader gets, with every damage it reported.
fn read_resync(path: &std::path::Path) -> (Vec<record::FrameId>, Vec<record::Damage>) {
    let mut reader =
        RecordReader::open_with(path, ReadOptions { resync: true, ..ReadOptions::default() }).unwrap();
    let mut frames = Vec::new();
    let mut errors = 0;
    for frame in reader.by_ref() {
        match frame {
            Ok(f) => frames.push(record::FrameId { session_id: f.session_id, seq: f.seq }),
            Err(e) => {
                assert!(e.is_damage(), "{e}");
                errors += 1;
            }
        }
    }
    assert_eq!(errors, reader.damages().len(), "each damage is reported once");
    (frames, reader.damages().to_vec())
}

fn seqs(frames: &[record::FrameId]) -> Vec<u64> {
    frames.iter().map(|f| f.seq).collect()
}

/// Corruption in the middle (the defect: one flipped byte in a middle member, then the bridge
/// appended to the file and cut away every member after the damage). open_append keeps every
/// byte, reports the damage, and appends after the end; a resynchronising reader gets every
/// frame but the damaged member's.
#[test]
fn open_append_keeps_the_members_after_mid_file_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, mut bytes) = members_of(dir.path(), 25);
    let middle = index.members()[1].clone();
    bytes[(middle.offset + middle.len / 2) as usize] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    let repair = repair.unwrap();
    assert_eq!(repair.damages.len(), 1, "{repair:?}");
    assert_eq!(repair.damages[0].offset, middle.offset);
    assert_eq!(repair.damages[0].resumed_at, Some(middle.end()));
    assert_eq!((repair.cut_bytes, repair.rewritten_frames, repair.kept_bytes), (0, 0, middle.len));
    assert_eq!(repair.torn_tail(), None);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), bytes.len() as u64, "nothing is cut");
    assert_eq!(writer.index().frames(), 50, "the members on both sides are indexed");
    writer.append(&realistic::frame(0, 75)).unwrap();
    writer.close().unwrap();
    assert_eq!(&std::fs::read(&path).unwrap()[..bytes.len()], &bytes[..], "the old bytes are untouched");

    let (frames, damages) = read_resync(&path);
    let expected: Vec<u64> = (0..25).chain(50..76).collect();
    assert_eq!(seqs(&frames), expected);
    assert_eq!(damages.len(), 1);
    assert_eq!((damages[0].offset, damages[0].resumed_at), (middle.offset, Some(middle.end())));
    // A reader that does not resynchronise still stops at the damage, as before.
    let (frames, error) = read_all(&path);
    assert_eq!(frames.len(), 25);
    assert!(matches!(error, Some(RecordError::Corrupt { .. })));
}

/// Garbage at the end that is not a torn member (bytes present but wrong): kept, not cut; new
/// members follow it and are read past it.
#[test]
fn open_append_keeps_a_corrupt_tail_and_appends_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, bytes) = members_of(dir.path(), 25);
    for tail in [&b"PK\x03\x04 not a member"[..], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff, 1, 2, 3][..]] {
        std::fs::write(&path, [&bytes[..], tail].concat()).unwrap();
        let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
        let repair = repair.unwrap();
        assert_eq!(repair.damages[0].offset, index.end());
        let torn = repair.damages[0].kind.is_truncation();
        if torn {
            // A member cut short is a torn tail: it is cut (it held no complete frame).
            assert_eq!((repair.cut_bytes, repair.kept_bytes), (tail.len() as u64, 0));
        } else {
            assert_eq!((repair.cut_bytes, repair.kept_bytes), (0, tail.len() as u64));
        }
        writer.append(&realistic::frame(0, 75)).unwrap();
        writer.close().unwrap();
        let (frames, damages) = read_resync(&path);
        assert_eq!(seqs(&frames), (0..76).collect::<Vec<_>>(), "{tail:?}");
        assert_eq!(damages.len(), usize::from(!torn));
    }
}

/// A member whose CRC is right but whose frames are not: a length past the member's end, or
/// bytes that do not decode. The frames before the bad one, in that member too, are yielded.
#[test]
fn bad_frames_inside_a_good_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let good = write_session(&path, RecordOptions::default(), 0, 0..10);
    let good_bytes = std::fs::read(&path).unwrap();
    let member = |records: &[&[u8]]| {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        for r in records {
            enc.write_all(r).unwrap();
        }
        enc.finish().unwrap()
    };
    let f10 = realistic::frame(0, 10).encode_length_delimited_to_vec();
    for (records, kind, decoded_only) in [
        (vec![&f10[..], &[0x05, 1, 2][..]], DamageKind::FrameOverrun { len: 5, available: 2 }, false),
        (vec![&f10[..], &[0x80][..]], DamageKind::BadFrameLength, false),
        (vec![&f10[..], &[0xff; 11][..]], DamageKind::BadFrameLength, false),
        (
            vec![&f10[..], &[0xff, 0xff, 0xff, 0xff, 0x0f][..]],
            DamageKind::FrameTooLarge { len: 0xffff_ffff },
            false,
        ),
        // Field 1 as a varint: prost refuses it.
        (vec![&f10[..], &[0x02, 0x08, 0x01][..]], DamageKind::BadFrame(String::new()), true),
    ] {
        std::fs::write(&path, [&good_bytes[..], &member(&records)].concat()).unwrap();
        let (frames, error) = read_all(&path);
        assert_eq!(frames.len(), 11, "{kind}");
        assert_frames(&frames, 0, 0);
        let Some(RecordError::Corrupt { offset, kind: found, frames_before, .. }) = error else {
            panic!("{error:?}");
        };
        assert_eq!(offset, good.end());
        assert_eq!(frames_before, 10);
        if let DamageKind::BadFrame(_) = kind {
            assert!(matches!(found, DamageKind::BadFrame(_)), "{found}");
        } else {
            assert_eq!(found, kind);
        }
        // The raw path does not decode, so a frame that only fails to decode passes there.
        let mut reader = RecordReader::open(&path).unwrap();
        let raw: Vec<_> = reader.raw_frames().collect();
        assert_eq!(raw.iter().filter(|r| r.is_ok()).count(), if decoded_only { 12 } else { 11 });
        assert_eq!(reader.damage().is_some(), !decoded_only);
        // The index scan walks frames' fields, so it does notice.
        let scanned = scan(&path).unwrap();
        assert_eq!(scanned.damages[0].offset, good.end());
        assert_eq!(scanned.index, good);
    }
}

/// Salvage on a corrupt member: like Python's gzip, the inflated frames come out before the
/// report (and only complete ones).
#[test]
fn salvage_yields_the_inflated_frames_of_a_crc_failed_member() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, mut bytes) = members_of(dir.path(), 25);
    let last = index.members()[2].clone();
    bytes[(last.end() - 8) as usize] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (frames, error) = read_with(&path, ReadOptions { salvage: true, ..ReadOptions::default() });
    assert_eq!(frames.len(), 75);
    assert_frames(&frames, 0, 0);
    assert!(matches!(error, Some(RecordError::Corrupt { kind: DamageKind::CrcMismatch { .. }, .. })));
    let mut reader =
        RecordReader::open_with(&path, ReadOptions { salvage: true, ..ReadOptions::default() }).unwrap();
    while let Some(Ok(_)) = reader.next() {}
    let damage = reader.damage().unwrap();
    assert_eq!((damage.frames_before, damage.frames_salvaged), (75 - last.frames, last.frames));
}

/// Every byte of the middle of five members flipped in turn: a resynchronising reader reports
/// the damage once, at the damaged member, and reads every frame of the members after it.
#[test]
fn resync_reads_on_after_a_flipped_byte_anywhere_in_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    for seq in 0..20 {
        writer.append(&realistic::frame(0, seq)).unwrap();
        if seq % 4 == 3 {
            writer.finish_member().unwrap();
        }
    }
    let index = writer.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let middle = index.members()[2].clone();
    let all: Vec<u64> = (0..20).collect();
    let without: Vec<u64> = (0..8).chain(12..20).collect();
    for at in middle.offset..middle.end() {
        let mut corrupt = bytes.clone();
        corrupt[at as usize] ^= 0x20;
        std::fs::write(&path, &corrupt).unwrap();
        let (frames, damages) = read_resync(&path);
        if damages.is_empty() {
            // Bytes gzip does not check (MTIME, XFL, OS, padding after the last block).
            assert_eq!(seqs(&frames), all, "flip at {at}");
            continue;
        }
        assert_eq!(seqs(&frames), without, "flip at {at}");
        assert_eq!(damages.len(), 1, "flip at {at}: {damages:?}");
        assert_eq!(
            (damages[0].offset, damages[0].resumed_at),
            (middle.offset, Some(middle.end())),
            "flip at {at}"
        );
        assert_eq!(damages[0].frames_before, 8);
    }
}

/// Garbage between members, a member cut short in the middle of the file, and two damaged
/// stretches: each reported once, every good member read.
#[test]
fn resync_skips_garbage_and_holes_between_members() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, bytes) = members_of(dir.path(), 25);
    let [a, b] = [0, 1].map(|i| index.members()[i].clone());
    let (a_end, b_mid, b_end) = (a.end() as usize, (b.offset + b.len / 2) as usize, b.end() as usize);
    let cases: Vec<(Vec<u8>, Vec<u64>, usize)> = vec![
        // Random bytes, and bytes that look like a gzip header, between two members.
        (
            [&bytes[..a_end], b"\x1f\x8b\x08garbage\x1f\x1f\x8b", &bytes[a_end..]].concat(),
            (0..75).collect(),
            1,
        ),
        // The second half of the middle member missing.
        ([&bytes[..b_mid], &bytes[b_end..]].concat(), (0..25).chain(50..75).collect(), 1),
        // Garbage, then the middle member cut short: one damaged stretch.
        (
            [&bytes[..a_end], b"xx", &bytes[a_end..b_mid], &bytes[b_end..]].concat(),
            (0..25).chain(50..75).collect(),
            1,
        ),
        // Two damaged stretches: garbage after the first member, the last member cut short
        // with a good copy of the first after it.
        (
            [&bytes[..a_end], b"xx", &bytes[a_end..b_end], &bytes[b_end..b_end + 40], &bytes[..a_end]]
                .concat(),
            (0..50).chain(0..25).collect(),
            2,
        ),
        // Garbage before the first member.
        ([&b"\x00\x01junk"[..], &bytes[..]].concat(), (0..75).collect(), 1),
    ];
    for (n, (file, expected, damaged)) in cases.into_iter().enumerate() {
        std::fs::write(&path, &file).unwrap();
        let (frames, damages) = read_resync(&path);
        assert_eq!(seqs(&frames), expected, "case {n}");
        assert_eq!(damages.len(), damaged, "case {n}: {damages:?}");
        assert!(damages.iter().all(|d| d.resumed_at.is_some()), "case {n}");
        let scanned = scan(&path).unwrap();
        assert_eq!(scanned.index.frames(), expected.len() as u64, "case {n}");
        assert_eq!(scanned.good_end(), file.len() as u64);
    }
}
