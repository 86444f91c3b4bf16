//! Any bytes as a recording file, read by the record crate's reader. Beyond "no panic", it
//! checks the reader's promises:
//! - a reported damage lies within the input (`complete_end <= offset <= detected_at <= len`);
//! - every yielded frame is under the frame limit, and decodes and re-encodes stably;
//! - the decoded iteration yields a prefix of the raw one, frame for frame, and the checked
//!   (default) read yields a prefix of the salvaging one;
//! - the rebuilt index describes contiguous members inside the input, with as many frames as
//!   the checked read yields from them;
//! - reading on after damage (resync) yields the checked read's frames first, reports each
//!   damaged stretch once, in file order, inside the input, and resumes past where it starts.
//!
//! The first byte picks how the rest is used: as the file itself, or (so that the fuzzer reaches
//! the frame parser without having to find gzip checksums) as the inflated content of gzip
//! members built here, split and cut where the input says.
#![no_main]

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use record::{MAX_FRAME_LEN, ReadOptions, RecordReader};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(rest, None);
    } else {
        // Members of the content split at up to three points, then the file cut (or not).
        let mut cuts: Vec<usize> = rest.iter().take(3).map(|&b| usize::from(b) * rest.len() / 256).collect();
        cuts.sort_unstable();
        let content = rest.get(3..).unwrap_or_default();
        let mut file = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([content.len()]) {
            let cut = cut.clamp(start, content.len());
            let mut enc = GzEncoder::new(Vec::new(), Compression::new(u32::from(mode >> 4) % 10));
            enc.write_all(&content[start..cut]).unwrap();
            file.extend(enc.finish().unwrap());
            start = cut;
        }
        let keep = if mode & 2 != 0 { file.len() * usize::from(mode >> 2 & 3) / 4 } else { file.len() };
        let whole = keep == file.len();
        file.truncate(keep);
        check(&file, whole.then_some(content));
    }
});

/// Reads `file` every way and checks the promises. `content`: the inflated bytes, when the
/// file is known to be whole gzip members of them.
fn check(file: &[u8], content: Option<&[u8]>) {
    let len = file.len() as u64;
    let options =
        |salvage, max_member_buffer| ReadOptions { salvage, max_member_buffer, ..ReadOptions::default() };

    let checked = raw(file, options(false, record::DEFAULT_MAX_MEMBER_BUFFER), len);
    let salvaged = raw(file, options(true, record::DEFAULT_MAX_MEMBER_BUFFER), len);
    assert!(checked.0.len() <= salvaged.0.len());
    assert_eq!(&salvaged.0[..checked.0.len()], &checked.0[..]);
    // A tiny member buffer streams members instead of checking them first: it may yield more
    // than the checked read, never something else.
    let streamed = raw(file, options(false, 64), len);
    let n = checked.0.len().min(streamed.0.len());
    assert_eq!(&streamed.0[..n], &checked.0[..n]);
    resync(file, len, &checked.0);

    if let Some(content) = content {
        // Whole members of known content: the frames are its records (as prost's varint
        // decoder splits them, overlong varints included), up to any bad one.
        let mut rest = content;
        for frame in &checked.0 {
            let len = prost::encoding::decode_varint(&mut rest).expect("a record's length") as usize;
            assert_eq!(&rest[..len], &frame[..]);
            rest = &rest[len..];
        }
        if checked.1.is_none() {
            assert!(rest.is_empty());
        }
    }

    // Decoded: a prefix of the raw frames, each stable through re-encoding.
    let mut reader = RecordReader::from_reader(file, "<fuzz>", ReadOptions::default());
    let mut decoded = 0;
    for frame in reader.by_ref() {
        let Ok(frame) = frame else { break };
        let bytes = frame.encode_to_vec();
        let again = TelemetryFrame::decode(&bytes[..]).expect("a frame's own encoding decodes");
        // Bytes, not values: a frame may hold NaN floats.
        assert_eq!(again.encode_to_vec(), bytes);
        let raw_again = TelemetryFrame::decode(checked.0[decoded].clone()).unwrap();
        assert_eq!(raw_again.encode_to_vec(), bytes);
        decoded += 1;
    }
    assert!(decoded <= checked.0.len());
    damage_within(&reader, len);

    // The index: contiguous members inside the input, holding the checked read's frames.
    let mut reader = RecordReader::from_reader(
        file,
        "<fuzz>",
        ReadOptions { build_index: true, ..ReadOptions::default() },
    );
    let indexed = reader.raw_frames().take_while(Result::is_ok).count();
    let index = reader.take_index();
    let mut end = 0;
    for member in &index {
        assert_eq!(member.offset, end);
        assert!(member.len >= 18, "a gzip member has a header and a trailer");
        assert_eq!(member.sessions.iter().map(|s| s.frames).sum::<u64>(), member.frames);
        end = member.end();
    }
    assert!(end <= len);
    assert_eq!(end, reader.complete_end());
    assert!(index.frames() <= indexed as u64);
    assert!(indexed <= checked.0.len());
}

/// Every raw frame of `file`, and the damage offset if reading stopped at one.
fn raw(file: &[u8], options: ReadOptions, len: u64) -> (Vec<prost::bytes::Bytes>, Option<u64>) {
    let mut reader = RecordReader::from_reader(file, "<fuzz>", options);
    let mut frames = Vec::new();
    let mut error = None;
    for frame in reader.raw_frames() {
        match frame {
            Ok(f) => {
                assert!(f.len() <= MAX_FRAME_LEN);
                frames.push(f);
            }
            Err(e) => {
                assert!(e.is_damage(), "reading a slice fails only with damage: {e}");
                error = Some(e.offset());
            }
        }
    }
    damage_within(&reader, len);
    assert_eq!(error, reader.damage().map(|d| d.offset));
    (frames, error)
}

fn damage_within<R: std::io::Read>(reader: &RecordReader<R>, len: u64) {
    assert!(reader.complete_end() <= len);
    if let Some(d) = reader.damage() {
        assert!(reader.complete_end() <= d.offset, "{d:?}");
        assert!(d.offset <= d.detected_at && d.detected_at <= len, "{d:?}, {len} bytes");
    }
}

/// Reads on after damage and checks what it reports.
fn resync(file: &[u8], len: u64, checked: &[prost::bytes::Bytes]) {
    let options = ReadOptions { resync: true, ..ReadOptions::default() };
    let mut reader = RecordReader::from_reader(file, "<fuzz>", options);
    let mut frames = Vec::new();
    let mut errors = 0;
    for frame in reader.raw_frames() {
        match frame {
            Ok(f) => frames.push(f),
            Err(e) => {
                assert!(e.is_damage(), "{e}");
                errors += 1;
            }
        }
    }
    assert!(frames.len() >= checked.len());
    assert_eq!(&frames[..checked.len()], checked, "the frames before the first damage are the same");
    let damages = reader.damages();
    assert_eq!(errors, damages.len(), "each damage is reported once");
    let mut after = 0;
    for (i, d) in damages.iter().enumerate() {
        assert!(after <= d.offset && d.offset <= d.detected_at && d.detected_at <= len, "{d:?}");
        match d.resumed_at {
            Some(at) => {
                assert!(at >= d.offset && at < len, "{d:?}");
                after = at;
            }
            None => assert_eq!(i, damages.len() - 1, "only the last damage runs to the end"),
        }
    }
}
