//! The member index: the writer's and the scan's agree, and it takes a reader straight to the
//! frames the bridge must re-send.

use prost::Message as _;
use record::{DamageKind, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter, scan};

use crate::{STEP_NS, assert_frames, read_with, realistic};

/// Two sessions, 3000 frames, members by age (1 s of frames at 333 Hz).
fn two_sessions(path: &std::path::Path) -> record::MemberIndex {
    let mut writer = RecordWriter::create(path, RecordOptions::default()).unwrap();
    let mut now = 0;
    for (n, seqs) in [(1u8, 0..1700u64), (2, 0..1300)] {
        for seq in seqs {
            now += STEP_NS;
            writer.tick(now).unwrap();
            writer.append(&realistic::frame(n, seq)).unwrap();
        }
    }
    writer.close().unwrap()
}

#[test]
fn the_scan_rebuilds_the_writers_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let index = two_sessions(&path);
    assert!(index.len() >= 9, "{} members", index.len());
    let scanned = scan(&path).unwrap();
    assert_eq!(scanned.index, index);
    assert_eq!(scanned.damages, []);
    assert_eq!(scanned.good_end(), index.end());
    // One member holds the session change.
    assert_eq!(index.members().iter().filter(|m| m.sessions.len() == 2).count(), 1);
    assert_eq!(index.frames(), 3000);
}

#[test]
fn reading_from_each_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let index = two_sessions(&path);
    let mut frames_after = index.frames();
    for member in &index {
        let mut reader = RecordReader::open_member(&path, member).unwrap();
        let first = reader.next().unwrap().unwrap();
        let id = member.first().unwrap();
        assert_eq!((first.session_id, first.seq), (id.session_id, id.seq));
        assert_eq!(reader.count() as u64 + 1, frames_after);
        frames_after -= member.frames;
    }
}

/// The bridge after a reconnect: the server has session 1 up to seq 1233 and session 2 up to
/// 99. Where to start reading, and what comes from there.
#[test]
fn resuming_after_an_ack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let index = two_sessions(&path);
    for (n, next_seq) in [(1u8, 1234u64), (2, 100), (1, 0), (2, 1299)] {
        let sid = realistic::session_id(n);
        let member = index.resume_point(&sid, next_seq).unwrap();
        assert_eq!(index.find(&sid, next_seq), Some(member));
        assert!(member.contains(&sid, next_seq));
        let mut reader = RecordReader::open_at(&path, member.offset).unwrap();
        let first_unacked =
            reader.by_ref().map(Result::unwrap).find(|f| f.session_id == sid && f.seq >= next_seq).unwrap();
        assert_eq!(first_unacked.encode_to_vec(), realistic::frame(n, next_seq).encode_to_vec());
        let rest: Vec<_> = reader.map(Result::unwrap).filter(|f| f.session_id == sid).collect();
        assert_frames(&rest, n, next_seq + 1);
    }
    // Everything acked: nothing to re-send from the file.
    assert_eq!(index.resume_point(&realistic::session_id(1), 1700), None);
    assert_eq!(index.resume_point(&realistic::session_id(3), 0), None);
}

/// The bridge reads its spool while the writer appends: bounded by the writer's end offset, the
/// member in progress is not mistaken for a torn tail.
#[test]
fn reading_up_to_the_writers_end_while_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    for seq in 0..400 {
        writer.append(&realistic::frame(0, seq)).unwrap();
    }
    writer.finish_member().unwrap();
    // 800 more: over 256 KiB, so one member is done and the next one is partly in the file.
    for seq in 400..1200 {
        writer.append(&realistic::frame(0, seq)).unwrap();
    }
    let end = writer.end_offset();
    assert!(std::fs::metadata(&path).unwrap().len() > end, "the open member is partly written");

    let (frames, error) = read_with(&path, ReadOptions { end: Some(end), ..ReadOptions::default() });
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len() as u64, writer.index().frames());
    let (_, error) = read_with(&path, ReadOptions::default());
    assert!(matches!(error, Some(RecordError::Truncated { offset, .. }) if offset == end));

    // From the second member to the end offset.
    let second = writer.index().members()[1].clone();
    let options = ReadOptions { start: second.offset, end: Some(end), ..ReadOptions::default() };
    let (frames, error) = read_with(&path, options);
    assert!(error.is_none());
    assert_eq!(frames.len() as u64, writer.index().frames() - writer.index().members()[0].frames);
    writer.close().unwrap();
}

#[test]
fn an_offset_that_is_not_a_member_start_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let index = two_sessions(&path);
    let inside = index.members()[1].offset + 100;
    let mut reader = RecordReader::open_at(&path, inside).unwrap();
    let err = reader.next().unwrap().unwrap_err();
    assert_eq!(err.offset(), inside);
    assert!(matches!(err, RecordError::Corrupt { kind: DamageKind::NotGzip { .. }, .. }), "{err}");
    assert!(reader.next().is_none(), "nothing after the report");
    // At the very end: a clean, empty read.
    assert!(RecordReader::open_at(&path, index.end()).unwrap().next().is_none());
}
