//! Continuing a recording: after a clean close, and after a crash tore its last member at any
//! byte.

use prost::Message as _;
use record::{DamageKind, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter, scan};

use crate::{assert_frames, encodings, read_all, read_raw, realistic, write_session};

#[test]
fn append_after_close_continues_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let first = write_session(&path, RecordOptions::default(), 0, 0..1000);

    let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    assert_eq!(repair, None);
    assert_eq!(writer.index(), &first, "the index is rebuilt from the file");
    let last = writer.index().last_frame().unwrap();
    assert_eq!((last.session_id, last.seq), (realistic::session_id(0), 999));
    for seq in 1000..1500 {
        writer.append(&realistic::frame(0, seq)).unwrap();
    }
    let index = writer.close().unwrap();
    assert_eq!(&index.members()[..first.len()], first.members());
    assert_eq!(index.frames(), 1500);

    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_eq!(frames.len(), 1500);
    assert_frames(&frames, 0, 0);
    assert_eq!(scan(&path).unwrap().index, index);
}

#[test]
fn open_append_creates_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.pb.gz");
    let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
    assert!(repair.is_none() && writer.index().is_empty());
    writer.append(&realistic::frame(0, 0)).unwrap();
    writer.close().unwrap();
    assert_eq!(read_all(&path).0.len(), 1);
}

/// The recording a crash leaves, cut at every byte of its last member: the reader keeps every
/// earlier frame and reports the torn member at its offset; `open_append` cuts it off, says what
/// it dropped, and appending goes on to a file that reads back whole.
#[test]
fn a_last_member_torn_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let full_path = dir.path().join("full.pb.gz");
    let mut writer = RecordWriter::create(&full_path, RecordOptions::default()).unwrap();
    // Two complete members, then a last one of 6 frames (about 1.5 KB compressed). Small,
    // because every cut reads the file four times.
    for seqs in [0..4, 4..8, 8..14] {
        for seq in seqs {
            writer.append(&realistic::frame(0, seq)).unwrap();
        }
        writer.finish_member().unwrap();
    }
    let index = writer.close().unwrap();
    let full = std::fs::read(&full_path).unwrap();
    let last = index.members()[2].clone();
    assert_eq!(last.end(), full.len() as u64);
    let kept_frames = 8;
    let path = dir.path().join("cut.pb.gz");
    let expected = encodings(0, 0..20);
    let prefix_of_expected = |frames: &[prost::bytes::Bytes]| {
        frames.iter().zip(&expected).all(|(f, e)| f == e) && frames.len() <= expected.len()
    };

    let mut salvaged_max = 0;
    for cut in last.offset..last.end() {
        std::fs::write(&path, &full[..cut as usize]).unwrap();

        // Reading keeps the complete members and reports the torn one at its offset.
        let (frames, error) = read_raw(&path, ReadOptions::default());
        assert_eq!(frames.len(), kept_frames, "cut at {cut}");
        assert!(prefix_of_expected(&frames));
        if cut == last.offset {
            assert!(error.is_none(), "a cut at a member boundary is a clean end");
        } else {
            let Some(RecordError::Truncated { offset, detected_at, kind, frames_before, .. }) = error else {
                panic!("cut at {cut}: {error:?}");
            };
            assert_eq!(offset, last.offset, "cut at {cut}");
            assert_eq!(detected_at, cut, "the end was met at the cut");
            assert!(kind.is_truncation());
            assert_eq!(frames_before, kept_frames as u64);
        }

        // Salvaging also yields the torn member's frames that inflate completely before the cut.
        let (frames, error) = read_raw(&path, ReadOptions { salvage: true, ..ReadOptions::default() });
        assert!(prefix_of_expected(&frames));
        let salvaged = frames.len() - kept_frames;
        // All of them when only the trailer is cut.
        assert!(salvaged <= last.frames as usize, "cut at {cut}");
        salvaged_max = salvaged_max.max(salvaged);
        assert_eq!(error.is_some(), cut != last.offset);

        // open_append writes the torn member's complete frames again, then cuts it off.
        let (mut writer, repair) = RecordWriter::open_append(&path, RecordOptions::default()).unwrap();
        match repair {
            None => assert_eq!(cut, last.offset),
            Some(repair) => {
                assert_eq!(repair.torn_tail().unwrap().offset, last.offset);
                assert_eq!(repair.cut_bytes, cut - last.offset);
                assert_eq!(repair.rewritten_frames, salvaged as u64);
                assert_eq!(repair.kept_bytes, 0);
            }
        }
        let rewritten_len = writer.end_offset() - last.offset;
        assert_eq!(std::fs::metadata(&path).unwrap().len(), last.offset + rewritten_len);
        assert_eq!(rewritten_len == 0, salvaged == 0, "cut at {cut}");
        assert_eq!(writer.index().frames(), (kept_frames + salvaged) as u64);
        // The restarted writer goes on from the last frame in the file.
        let next = writer.index().last_frame().unwrap().seq + 1;
        for seq in next..next + 2 {
            writer.append(&realistic::frame(0, seq)).unwrap();
        }
        writer.finish_member().unwrap();
        drop(writer);
        let (frames, error) = read_raw(&path, ReadOptions::default());
        assert!(error.is_none(), "cut at {cut}: {error:?}");
        assert_eq!(frames.len(), kept_frames + salvaged + 2);
        assert!(prefix_of_expected(&frames[..kept_frames + salvaged]));
    }
    // A cut in the trailer leaves every frame of the member to salvage.
    assert_eq!(salvaged_max, last.frames as usize);
}

/// A cut inside an earlier member loses the members after it too: they cannot be found without
/// the damaged one's end.
#[test]
fn a_cut_before_the_last_member_drops_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let options = RecordOptions { member_max_bytes: 16 << 10, ..RecordOptions::default() };
    let index = write_session(&path, options, 0, 0..500);
    let second = &index.members()[1];
    let file = std::fs::read(&path).unwrap();
    std::fs::write(&path, &file[..(second.offset + second.len / 2) as usize]).unwrap();
    let mut reader = RecordReader::open(&path).unwrap();
    let good: Vec<_> = reader.raw_frames().take_while(|f| f.is_ok()).collect();
    assert_eq!(good.len() as u64, index.members()[0].frames);
    let damage = reader.damage().unwrap();
    assert_eq!((damage.offset, damage.kind.clone()), (second.offset, DamageKind::TruncatedData));
    assert_eq!(good[0].as_ref().unwrap(), &realistic::frame(0, 0).encode_to_vec());
}
