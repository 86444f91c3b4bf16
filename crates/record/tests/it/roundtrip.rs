//! Frames in, the same frames out: through many members, by age and by size, raw and decoded,
//! across a session change, from an empty recording, and through independent gzip readers.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use record::{
    DamageKind, MAX_FRAME_LEN, ReadOptions, RecordError, RecordOptions, RecordReader, RecordWriter, scan,
};

use crate::{TestClock, assert_frames, read_all, read_with, realistic, write_session};

#[test]
fn many_frames_through_many_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let options = RecordOptions { member_max_bytes: 16 << 10, ..RecordOptions::default() };
    let index = write_session(&path, options, 1, 0..6000);

    assert_eq!(index.frames(), 6000);
    assert!(index.len() > 300, "{} members", index.len());
    let mut next = 0;
    for member in &index {
        assert_eq!(member.offset, next, "members are contiguous");
        assert!(member.raw_len <= 16 << 10);
        next = member.end();
    }
    assert_eq!(next, std::fs::metadata(&path).unwrap().len());

    let (frames, error) = read_all(&path);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 6000);
    assert_frames(&frames, 1, 0);
    assert!(frames[0].session.is_some() && frames[1].session.is_none());

    // The raw path yields the frames' encodings, the bytes prost would produce.
    let mut reader = RecordReader::open(&path).unwrap();
    for (seq, raw) in reader.raw_frames().enumerate() {
        assert_eq!(raw.unwrap(), realistic::frame(1, seq as u64).encode_to_vec());
    }
    assert_eq!(reader.frames_read(), 6000);
    assert_eq!(reader.members_read(), index.len() as u64);
    assert_eq!(reader.complete_end(), next);
    assert!(reader.damage().is_none());
}

#[test]
fn members_are_cut_by_age_with_an_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let clock = TestClock::default();
    let options = RecordOptions { member_max_age: Duration::from_millis(50), ..RecordOptions::default() };
    let mut writer = RecordWriter::create(&path, options).unwrap().with_clock(clock.reader());
    for seq in 0..1000 {
        clock.set(seq * 3_000_000);
        writer.append(&realistic::frame(0, seq)).unwrap();
    }
    // A member is finished by the first append at which it is 50 ms old: 17 frames of 3 ms.
    let index = writer.index().clone();
    assert_eq!(index.len(), 1000 / 17);
    assert!(index.members().iter().all(|m| m.frames == 17));
    assert_eq!(writer.pending_frames(), 1000 % 17);
    // The end of the file is what readers can read while the writer goes on.
    assert_eq!(writer.end_offset(), index.end());
    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_eq!(frames.len(), 1000 - 1000 % 17);

    // No frames for a while: a tick alone finishes the member.
    clock.set(10_000_000_000);
    assert!(!writer.tick(1).unwrap(), "the clock never goes back: this tick is a no-op");
    assert!(writer.tick(10_000_000_000).unwrap());
    assert_eq!(writer.pending_frames(), 0);
    assert_eq!(read_all(&path).0.len(), 1000);
}

#[test]
fn members_are_cut_by_size_and_an_oversized_frame_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let options = RecordOptions { member_max_bytes: 4000, ..RecordOptions::default() };
    let mut writer = RecordWriter::create(&path, options).unwrap();
    for seq in 0..100 {
        let mut frame = realistic::frame(0, seq);
        if seq == 50 {
            frame.tyre_compound = "x".repeat(10_000);
        }
        writer.append(&frame).unwrap();
    }
    let index = writer.close().unwrap();
    assert_eq!(index.frames(), 100);
    let big = index.find(&realistic::session_id(0), 50).unwrap();
    assert_eq!(big.frames, 1);
    assert!(big.raw_len > 10_000);
    for member in index.members().iter().filter(|m| m.frames > 1) {
        assert!(member.raw_len <= 4000);
    }
    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_eq!(frames[50].tyre_compound.len(), 10_000);
}

#[test]
fn append_encoded_writes_the_same_file_as_append() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.pb.gz"), dir.path().join("b.pb.gz"));
    let mut wa = RecordWriter::create(&a, RecordOptions::default()).unwrap();
    let mut wb = RecordWriter::create(&b, RecordOptions::default()).unwrap();
    for seq in 0..3000 {
        let frame = realistic::frame(3, seq);
        wa.append(&frame).unwrap();
        wb.append_encoded(&frame.encode_to_vec()).unwrap();
        if seq % 1000 == 999 {
            wa.finish_member().unwrap();
            wb.finish_member().unwrap();
        }
    }
    assert_eq!(wa.close().unwrap(), wb.close().unwrap());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn append_encoded_refuses_bytes_that_are_not_a_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    writer.append(&realistic::frame(0, 0)).unwrap();
    // seq as a length-delimited field; a field running past the end; a group.
    for bad in [&[0x12, 0x01, 0x00][..], &[0x0a, 0x10, 0x01], &[0x0b, 0x0c]] {
        let err = writer.append_encoded(bad).unwrap_err();
        assert!(matches!(err, RecordError::InvalidFrame { .. }), "{err}");
        assert!(err.to_string().contains("rec.pb.gz"), "{err}");
    }
    // No reader would accept a frame over the limit, so no writer writes one.
    let mut frame = realistic::frame(0, 1);
    frame.tyre_compound = "x".repeat(MAX_FRAME_LEN);
    assert!(matches!(writer.append(&frame).unwrap_err(), RecordError::FrameTooLarge { .. }));
    let err = writer.append_encoded(&frame.encode_to_vec()).unwrap_err();
    assert!(matches!(err, RecordError::FrameTooLarge { .. }), "{err}");
    // The refused frames changed nothing.
    writer.append(&realistic::frame(0, 1)).unwrap();
    writer.close().unwrap();
    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_frames(&frames, 0, 0);
    assert_eq!(frames.len(), 2);
}

#[test]
fn a_session_change_in_the_middle_of_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
    for seq in 0..150 {
        writer.append(&realistic::frame(1, seq)).unwrap();
    }
    for seq in 0..100 {
        writer.append(&realistic::frame(2, seq)).unwrap();
    }
    let index = writer.close().unwrap();
    assert_eq!(index.len(), 1, "250 frames fit in one 256 KiB member");
    let member = &index.members()[0];
    assert_eq!(member.sessions.len(), 2);
    assert_eq!(
        (member.sessions[0].first_seq, member.sessions[0].last_seq, member.sessions[0].frames),
        (0, 149, 150)
    );
    assert_eq!(member.sessions[1].session_id, realistic::session_id(2));
    assert_eq!((member.sessions[1].first_seq, member.sessions[1].last_seq), (0, 99));
    assert!(index.find(&realistic::session_id(1), 149).is_some());
    assert!(index.find(&realistic::session_id(2), 0).is_some());
    assert!(index.find(&realistic::session_id(2), 100).is_none());

    let (frames, error) = read_all(&path);
    assert!(error.is_none());
    assert_eq!(frames.len(), 250);
    assert_frames(&frames[..150], 1, 0);
    assert_frames(&frames[150..], 2, 0);
    assert!(frames[150].session.is_some(), "the new session's first frame carries its metadata");
    assert_eq!(scan(&path).unwrap().index, index);
}

#[test]
fn an_empty_recording_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let index = RecordWriter::create(&path, RecordOptions::default()).unwrap().close().unwrap();
    assert!(index.is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    let (frames, error) = read_all(&path);
    assert!(frames.is_empty() && error.is_none());
    let scanned = scan(&path).unwrap();
    assert!(scanned.index.is_empty() && scanned.damages.is_empty());

    // An empty gzip member, as `gzip.compress(b"")` makes, is a member of no frames.
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(b"").unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let (frames, error) = read_all(&path);
    assert!(frames.is_empty() && error.is_none());
    let scanned = scan(&path).unwrap();
    assert_eq!(scanned.index.len(), 1);
    assert_eq!(scanned.index.members()[0].frames, 0);
    assert_eq!(scanned.index.last_frame(), None);
}

#[test]
fn dropping_the_writer_finishes_the_open_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    {
        let mut writer = RecordWriter::create(&path, RecordOptions::default()).unwrap();
        for seq in 0..10 {
            writer.append(&realistic::frame(0, seq)).unwrap();
        }
        assert_eq!(writer.pending_frames(), 10);
    }
    assert_eq!(read_all(&path).0.len(), 10);
}

/// A recording written by other tools: one gzip stream for everything (as the original C++
/// bridge and Python's `gzip.open(..., "wb")` write it), with gzip header fields we never write.
#[test]
fn a_single_member_recording_from_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let mut enc = flate2::GzBuilder::new()
        .filename("telemetry_record.pb")
        .comment("from the C++ bridge")
        .extra(vec![1, 2, 3])
        .mtime(1_700_000_000)
        .write(Vec::new(), Compression::new(6));
    for seq in 0..2000 {
        let frame = realistic::frame(4, seq);
        enc.write_all(&frame.encode_length_delimited_to_vec()).unwrap();
    }
    let file = enc.finish().unwrap();
    std::fs::write(&path, &file).unwrap();

    // Checked whole (the member is under the buffer limit) and streamed (it is over a smaller
    // one): the same frames.
    for max_member_buffer in [record::DEFAULT_MAX_MEMBER_BUFFER, 64 << 10] {
        let (frames, error) = read_with(&path, ReadOptions { max_member_buffer, ..ReadOptions::default() });
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 2000);
        assert_frames(&frames, 4, 0);
    }

    // Torn: the whole-member reader gives nothing of it; the streaming one gives what came
    // before the cut, then the report.
    std::fs::write(&path, &file[..file.len() / 2]).unwrap();
    let (frames, error) = read_all(&path);
    assert!(frames.is_empty());
    assert!(matches!(error, Some(RecordError::Truncated { offset: 0, .. })), "{error:?}");
    let options = ReadOptions { max_member_buffer: 64 << 10, ..ReadOptions::default() };
    let (frames, error) = read_with(&path, options);
    assert!(frames.len() > 500, "{}", frames.len());
    assert_frames(&frames, 4, 0);
    let Some(RecordError::Truncated { offset: 0, kind: DamageKind::TruncatedData, .. }) = error else {
        panic!("{error:?}");
    };
}

/// flate2's own multi-member reader, independent of our gzip parsing, reads our files.
#[test]
fn an_independent_gzip_reader_reads_our_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.pb.gz");
    let options = RecordOptions { member_max_bytes: 32 << 10, level: 6, ..RecordOptions::default() };
    let index = write_session(&path, options, 5, 0..2000);
    assert!(index.len() > 20);
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut inflated)
        .unwrap();
    let mut expected = Vec::new();
    for seq in 0..2000 {
        expected.extend(realistic::frame(5, seq).encode_length_delimited_to_vec());
    }
    assert_eq!(inflated, expected);
    assert_eq!(TelemetryFrame::decode_length_delimited(&inflated[..]).unwrap(), realistic::frame(5, 0));
}

#[test]
fn every_compression_level_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for level in 0..=9 {
        let path = dir.path().join(format!("rec{level}.pb.gz"));
        let options = RecordOptions { level, ..RecordOptions::default() };
        write_session(&path, options, 0, 0..500);
        let (frames, error) = read_all(&path);
        assert!(error.is_none(), "level {level}: {error:?}");
        assert_frames(&frames, 0, 0);
        assert_eq!(frames.len(), 500);
    }
}

#[test]
fn sample_frames_are_realistic() {
    // Every field is set (the load generator's frame): about 900 bytes, as a bridge sends.
    let len = realistic::frame(0, 12_345).encoded_len();
    assert!((850..=960).contains(&len), "{len} bytes");
}
