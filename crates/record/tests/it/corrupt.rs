//! Bytes that are present but wrong: every damage is reported with the damaged member's offset,
//! after every frame before it, and never panics.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message as _;
use record::{DamageKind, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter, scan};

use crate::{assert_frames, read_all, read_with, sample, write_session};

/// Three members of `per_member` frames.
fn members_of(dir: &std::path::Path, per_member: u64) -> (std::path::PathBuf, record::MemberIndex, Vec<u8>) {
    let path = dir.join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    for seq in 0..3 * per_member {
        writer.append(&sample::frame(0, seq)).unwrap();
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
    assert_eq!(repair.damage.kind, DamageKind::ZeroPadding);
    assert_eq!((repair.dropped_bytes, repair.dropped_frames, repair.saved_to), (8192, 0, None));
    assert_eq!(writer.end_offset(), index.end());
}

/// Corruption in the middle: open_append keeps the good part, and saves the cut part aside so
/// that the members after the damage are not destroyed.
#[test]
fn open_append_saves_a_corrupt_tail_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (path, index, mut bytes) = members_of(dir.path(), 25);
    let middle = index.members()[1].clone();
    bytes[(middle.end() - 8) as usize] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    let repair = repair.unwrap();
    assert!(matches!(repair.damage.kind, DamageKind::CrcMismatch { .. }));
    assert_eq!(repair.dropped_bytes, bytes.len() as u64 - middle.offset);
    // With salvage, the CRC-failed member's frames inflate whole: all of them count.
    assert_eq!(repair.dropped_frames, middle.frames);
    let saved = repair.saved_to.unwrap();
    assert_eq!(saved.file_name().unwrap().to_str().unwrap(), format!("rec.pb.gz.damaged-{}", middle.offset));
    assert_eq!(std::fs::read(&saved).unwrap(), &bytes[middle.offset as usize..]);
    let next = writer.index().last_frame().unwrap().seq + 1;
    writer.append(&sample::frame(0, next)).unwrap();
    writer.close().unwrap();
    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_frames(&frames, 0, 0);
    assert_eq!(frames.len() as u64, index.members()[0].frames + 1);

    // A second repair at the same offset does not overwrite the first one's copy.
    std::fs::write(&path, &bytes).unwrap();
    let (_, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    let again = repair.unwrap().saved_to.unwrap();
    assert_ne!(again, saved);
    assert!(saved.exists() && again.exists());
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
    let f10 = sample::frame(0, 10).encode_length_delimited_to_vec();
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
        assert_eq!(scanned.damage.unwrap().offset, good.end());
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
